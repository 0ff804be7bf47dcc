package agentpath

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
	"github.com/ssm-probe/ssm-probe/resolv"
)

const winHosts = `C:\Windows\System32\drivers\etc\hosts`

// windows turns a scenario into a Windows host whose "Ethernet 2" lists
// the domain controllers 10.0.0.10 and 10.0.0.11, its agent answers made
// by the Windows DNS client, with the given NRPT rules.
func windows(s *probetest.Scen, nrpt ...resolv.NRPTRule) *probetest.Scen {
	s.O.OS = "windows"
	s.O.Resolv.Windows = &resolv.WinClient{
		Adapters: []resolv.WinAdapter{{Name: "Ethernet 2", Up: true, DNSServers: []netip.Addr{netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("10.0.0.11")}}},
		NRPT:     nrpt,
	}
	for i := range s.O.AgentDNS {
		a := &s.O.AgentDNS[i].Answer
		a.Order = resolv.OrderWindows
		if a.Source == "hosts" {
			a.Detail, a.HostsFile = winHosts+" line 3", winHosts
		}
		if a.Source == "dns" {
			a.Adapter = s.O.Resolv.Windows.AdapterOf(a.Server.Addr())
		}
	}
	return s
}

// TestAgentPathWindows: the path names the adapter whose server answered
// or failed, the Windows hosts file, and does not let a system resolver
// stand in for a name an NRPT rule sends elsewhere.
func TestAgentPathWindows(t *testing.T) {
	none := errclass.None
	host := "ssm.ap-northeast-1.amazonaws.com"
	dcs := func() *probetest.Scen {
		return probetest.NewScen([]string{"10.0.0.10", "10.0.0.11"}, "10.0.0.0/16").Answer("10.0.0.10", none, []string{"52.46.1.X"})
	}
	rule := resolv.NRPTRule{Key: "{AWS}", Source: resolv.NRPTPolicy, Namespaces: []string{".amazonaws.com"}, Servers: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}
	other := resolv.NRPTRule{Key: "{CORP}", Source: resolv.NRPTPolicy, Namespaces: []string{".corp.example.com"}, Servers: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}
	cases := []struct {
		name  string
		s     *probetest.Scen
		state PathState
		line  string
		addrs string // the source View.AgentAddrs names
	}{
		{"domain controller answers", windows(dcs().Agent("10.0.0.10", none, []string{"52.46.1.X"}).Net("52.46.1.X", "timeout")),
			PathBroken, host + " -> dns 10.0.0.10 (Ethernet 2) -> 52.46.1.11 -> tcp failed (timeout)", "10.0.0.10:53"},
		{"the lookup fails at a domain controller", windows(dcs().AgentFail("10.0.0.11", errclass.ServFail, "SERVFAIL")),
			PathBroken, host + " -> resolve via 10.0.0.11 (Ethernet 2) -> failed (SERVFAIL)", "10.0.0.10"},
		{"hosts file", windows(dcs().Agent("hosts", none, []string{"10.0.1.X"}).Net("10.0.1.X", "ok")),
			PathOK, host + ` -> ` + winHosts + ` line 3 -> 10.0.1.11 -> https ok`, winHosts},
		{"no agent view: the first adapter's server stands in", windows(dcs().Net("52.46.1.X", "ok")),
			PathOK, host + " -> dns 10.0.0.10 (Ethernet 2) -> 52.46.1.11 -> https ok", "10.0.0.10"},
		{"no agent view, an NRPT rule for another namespace: the stand-in holds", windows(dcs().Net("52.46.1.X", "ok"), other),
			PathOK, host + " -> dns 10.0.0.10 (Ethernet 2) -> 52.46.1.11 -> https ok", "10.0.0.10"},
		{"no agent view, an NRPT rule sends the name elsewhere: unknown", windows(dcs().Net("52.46.1.X", "ok"), rule),
			PathUnknown, host + " -> resolve -> resolve not checked", "10.0.0.10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vs := Views(c.s.O)
			p := AgentPaths(c.s.O, vs)[0]
			if p.State != c.state || p.Line() != c.line {
				t.Errorf("state %s, line %q\nwant %s, %q (%s)", p.State, p.Line(), c.state, c.line, p.Detail)
			}
			if c.state == PathUnknown && !strings.Contains(p.Detail, "NRPT rule {AWS} sends the name to 10.0.0.2") {
				t.Errorf("detail %q", p.Detail)
			}
			if _, src := vs[0].AgentAddrs(); src != c.addrs {
				t.Errorf("AgentAddrs source %q, want %q", src, c.addrs)
			}
		})
	}
}

// TestAgentPathWindowsUnread: an agent view that could not be followed
// (the adapters were not read) leaves the path unknown with its reason,
// never broken at resolve; the near miss, a lookup that failed on an
// adapter's server, is broken.
func TestAgentPathWindowsUnread(t *testing.T) {
	for _, unchecked := range []bool{true, false} {
		s := windows(probetest.NewScen([]string{"10.0.0.10"}, "10.0.0.0/16").AgentFail("10.0.0.10", errclass.Other, "x"))
		a := &s.O.AgentDNS[0].Answer
		a.Unchecked, a.Detail = unchecked, "not checked: the adapters' DNS servers could not be read (access denied)"
		p := AgentPaths(s.O, Views(s.O))[0]
		want := PathBroken
		if unchecked {
			want = PathUnknown
		}
		if p.State != want || p.Failed != StageResolve || p.Detail != a.Detail {
			t.Errorf("unchecked %v: state %s failed %s detail %q, want %s at resolve", unchecked, p.State, p.Failed, p.Detail, want)
		}
	}
}

// TestAgentPathLinuxUnchanged: the Linux hosts pin still reads
// /etc/hosts, and no adapter is named.
func TestAgentPathLinuxUnchanged(t *testing.T) {
	s := probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Agent("hosts", errclass.None, []string{"10.0.1.X"}).Net("10.0.1.X", "ok")
	vs := Views(s.O)
	if _, src := vs[0].AgentAddrs(); src != "/etc/hosts" {
		t.Errorf("source %q", src)
	}
	s = probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"}).Net("10.0.1.X", "ok")
	if p := AgentPaths(s.O, Views(s.O))[0]; p.Adapter != "" || p.Line() != "ssm.ap-northeast-1.amazonaws.com -> dns 10.0.0.2 -> 10.0.1.11 -> https ok" {
		t.Errorf("line %q, adapter %q", p.Line(), p.Adapter)
	}
}
