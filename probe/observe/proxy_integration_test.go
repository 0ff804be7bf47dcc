//go:build linux

package observe

import (
	"encoding/json"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/agent/agenttest"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	netlab "github.com/ssm-probe/ssm-probe/probe/lab"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/prefs/prefstest"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// fakeAgentProc writes a /proc tree under the lab's root with one running
// amazon-ssm-agent whose environment is env, and points the config at it.
func (l *lab) fakeAgentProc(env ...string) {
	root := l.cfg.Root
	writeFile(l.t, root, "usr/bin/amazon-ssm-agent", "#!/bin/sh\n")
	l.cfg.ProcDir = filepath.Join(root, "proc")
	agenttest.Write(l.t, l.cfg.ProcDir, agenttest.Agent(4242, env...))
}

// proxyLab serves the endpoints over TLS on 127.0.1.x and a CONNECT proxy
// on 127.0.0.9 that knows them (or, refusing, knows none). The names
// resolve, for a direct dial, to 127.77.0.x where nothing listens: only the
// proxy path works, as in a network whose only way out is the proxy.
func proxyLab(t *testing.T, refusing bool) *lab {
	l := newLab(t, "127.0.0.1")
	vpce := addrs("127.0.1")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(addrs("127.77.0"))})
	l.endpoints(vpce, l.ca, 0)
	known := vpce
	if refusing {
		known = nil
	}
	addr := startProxy(l, known, nil)
	l.fakeAgentProc("PATH=/usr/bin", "https_proxy=http://"+addr.String(), "no_proxy=localhost,169.254.169.254")
	return l
}

// startProxy runs the lab's CONNECT proxy on 127.0.0.9 at l's port, with
// tunnels to the services' names in hosts; onConnect, when set, sees every
// CONNECT target. It stops when the test ends.
func startProxy(l *lab, hosts map[string]netip.Addr, onConnect func(string)) netip.AddrPort {
	l.t.Helper()
	p := &netlab.Proxy{Hosts: map[string]netip.Addr{}, Port: l.cfg.EndpointPort, OnConnect: onConnect}
	for s, a := range hosts {
		p.Hosts[svcHost(s)] = a
	}
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.9"), uint16(l.port))
	stop, err := p.Listen(addr)
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(stop)
	return addr
}

func TestProxyWorks(t *testing.T) {
	l := proxyLab(t, false)
	res, _ := l.run()
	wantIDs(t, res)
	var via int
	for _, c := range res.Checks {
		if c.Name == "proxy" {
			if c.Status != obs.StatusPass {
				t.Errorf("proxy check %s: %s %s", c.Target, c.Status, c.Reason)
			}
			via++
		}
	}
	if via != len(services6) {
		t.Errorf("%d endpoints tried through the proxy, want all %d", via, len(services6))
	}
}

func TestProxyRefuses(t *testing.T) {
	l := proxyLab(t, true)
	res, _ := l.run()
	wantIDs(t, res, "net.proxy-failed/fail")
}

func TestProxyWithoutIMDSExclusion(t *testing.T) {
	l := proxyLab(t, false)
	l.fakeAgentProc("https_proxy=http://127.0.0.9:" + strconv.Itoa(l.port))
	res, _ := l.run()
	wantIDs(t, res, "net.proxy-imds-not-excluded/warn")
}

func TestNoProxyMatch(t *testing.T) {
	for _, tc := range []struct {
		list, host string
		want       bool
	}{
		{"169.254.169.254", "169.254.169.254", true},
		{"169.254.0.0/16", "169.254.169.254", true},
		{"*", "ssm.us-east-1.amazonaws.com", true},
		{"localhost,127.0.0.1", "169.254.169.254", false},
		{"amazonaws.com", "ssm.us-east-1.amazonaws.com", true},
		{".amazonaws.com", "ssm.us-east-1.amazonaws.com", true},
		{".amazonaws.com", "amazonaws.com", false},
		{"us-east-1.amazonaws.com:443", "ssm.us-east-1.amazonaws.com", true},
		{"notamazonaws.com", "ssm.amazonaws.com", false},
		{" SSM.US-EAST-1.AMAZONAWS.COM ", "ssm.us-east-1.amazonaws.com", true},
		{"", "169.254.169.254", false},
	} {
		if got := obs.NoProxyMatch(tc.list, tc.host); got != tc.want {
			t.Errorf("NoProxyMatch(%q, %q) = %v, want %v", tc.list, tc.host, got, tc.want)
		}
	}
}

// TestSignedCallsThroughAgentProxy checks that the signed calls go the
// way the agent's own do: through its HTTPS proxy with CONNECT. The names
// resolve to addresses where nothing listens, so only the proxy path can
// work; the proxy must see CONNECT to the ssm endpoint and the fake
// endpoint the signed request. When no_proxy covers the endpoint, the call
// goes direct (and fails here), and the check says why.
func TestSignedCallsThroughAgentProxy(t *testing.T) {
	for _, tc := range []struct {
		name, noProxy string
		viaProxy      bool
	}{
		{"proxied", "localhost,169.254.169.254", true},
		{"no_proxy covers ssm", "localhost,169.254.169.254,.amazonaws.com", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, "127.0.0.1")
			live := addrs("127.0.1")
			l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(addrs("127.77.0"))})
			fake := prefstest.New(prefstest.Config{Region: labRegion})
			var ips []netip.Addr
			for _, a := range live {
				ips = append(ips, a)
			}
			l.cfg.EndpointPort = prefstest.Start(t, fake, ips, l.ca)
			var mu sync.Mutex
			var connects []string
			addr := startProxy(l, live, func(target string) {
				mu.Lock()
				connects = append(connects, target)
				mu.Unlock()
			})
			// With credentials, which the proxy receives and no output shows.
			l.fakeAgentProc("PATH=/usr/bin", "https_proxy=http://probeuser:Pr0xyPassw0rd@"+addr.String(), "no_proxy="+tc.noProxy)
			// The temporary root stands for the live one: only the live
			// root's agent decides where signed calls go (TrustedForSigning).
			l.cfg.trustRoot = true
			res, _ := l.run()

			c := prefsCheck(res)
			if c == nil {
				t.Fatal("no prefs check")
			}
			po, _ := c.Detail.(*obs.PrefsObs)
			if po == nil || po.Document == nil {
				t.Fatalf("prefs check %s %s: no document call", c.Status, c.Reason)
			}
			ssmTarget := net.JoinHostPort(svcHost("ssm"), strconv.Itoa(l.cfg.EndpointPort))
			mu.Lock()
			sawSSM := slices.Contains(connects, ssmTarget)
			mu.Unlock()
			signed := 0
			for _, r := range fake.Requests() {
				if r.Signed && r.Valid {
					signed++
				}
			}
			if tc.viaProxy {
				if c.Status != obs.StatusPass || !strings.Contains(c.Reason, "through the agent's proxy http://"+addr.String()) {
					t.Errorf("prefs check %s: %s", c.Status, c.Reason)
				}
				if po.Document.Call.Proxy != "http://"+addr.String() || po.Proxy != "http://"+addr.String() {
					t.Errorf("call proxy %q, obs proxy %q", po.Document.Call.Proxy, po.Proxy)
				}
				if !sawSSM {
					t.Errorf("the proxy saw CONNECT %v, want %s among them", connects, ssmTarget)
				}
				if signed == 0 {
					t.Errorf("the endpoint verified no signed request: %+v", fake.Requests())
				}
			} else {
				if c.Status == obs.StatusPass || !strings.Contains(c.Reason, "no_proxy covers "+svcHost("ssm")) || po.Document.Call.Proxy != "" {
					t.Errorf("prefs check %s: %s (call proxy %q)", c.Status, c.Reason, po.Document.Call.Proxy)
				}
				if sawSSM || signed != 0 {
					t.Errorf("no_proxy covers ssm, yet the proxy saw %v and the endpoint %d signed requests", connects, signed)
				}
			}
			// Neither the report nor the observations carry a credential.
			b, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{imdstest.FakeSecretAccessKey, imdstest.FakeToken, imdstest.FakeAccessKeyID, "Authorization", "Signature=", "Pr0xyPassw0rd"} {
				if strings.Contains(string(b), secret) {
					t.Errorf("the report holds %q", secret)
				}
			}
		})
	}
}

// TestProxyOfAUserAgentNotUsed (D8b): the only amazon-ssm-agent is a copy
// of the agent binary that uid 1000 runs with its own https_proxy. That is
// not this host's agent: the run says the agent is not running (the agent
// check fails, agent.not-running), and not one of its connections goes
// through the user's proxy, the signed call included.
func TestProxyOfAUserAgentNotUsed(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	vpce := addrs("127.0.1")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(addrs("127.77.0"))})
	l.endpoints(vpce, l.ca, 0)
	var mu sync.Mutex
	var connects []string
	addr := startProxy(l, vpce, func(target string) {
		mu.Lock()
		connects = append(connects, target)
		mu.Unlock()
	})
	writeFile(l.t, l.cfg.Root, "usr/bin/amazon-ssm-agent", "#!/bin/sh\n")
	l.cfg.ProcDir = filepath.Join(l.cfg.Root, "proc")
	user := agenttest.Agent(4242, "https_proxy=http://alice:s3cret@"+addr.String(), "no_proxy=localhost,169.254.169.254")
	user.UID = 1000
	agenttest.Write(t, l.cfg.ProcDir, user)

	res, _ := l.run()
	mu.Lock()
	defer mu.Unlock()
	if len(connects) > 0 {
		t.Errorf("the user's proxy saw CONNECT to %v", connects)
	}
	for _, c := range res.Checks {
		switch {
		case c.Name == "proxy":
			t.Errorf("a proxy check ran, through the user's proxy: %s %s %s", c.Target, c.Status, c.Reason)
		case c.Name == obs.CheckAgent && (c.Status != obs.StatusFail || !strings.Contains(c.Reason, "pid 4242 (amazon-ssm-agent) runs as uid 1000")):
			t.Errorf("agent check %s: %s; want a fail that names the user's copy", c.Status, c.Reason)
		}
	}
	var notRunning bool
	for _, f := range res.Findings {
		notRunning = notRunning || f.ID == diagnose.AgentNotRunning
	}
	if !notRunning {
		t.Errorf("no %s finding; findings: %v", diagnose.AgentNotRunning, res.Findings)
	}
	if res.Observations.Agent.Proxy != nil {
		t.Errorf("the user's proxy was taken as the agent's: %+v", res.Observations.Agent.Proxy)
	}
}
