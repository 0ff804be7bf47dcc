package resolv

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// twoResolvers starts a "corporate" resolver on 127.0.0.1 and a "VPC"
// resolver on 127.0.0.2, on the same port.
func twoResolvers(t *testing.T, corp, vpc resolvtest.Zone) (c, v *resolvtest.Server) {
	s := resolvtest.StartSamePort(t, addrs("127.0.0.1", "127.0.0.2"), []resolvtest.Zone{corp, vpc})
	return s[0], s[1]
}

func conf(t *testing.T, text string) *Conf {
	c := ParseConf(strings.NewReader(text), "test-resolv.conf")
	if len(c.Problems) > 0 {
		t.Fatalf("test resolv.conf has problems: %v", c.Problems)
	}
	return c
}

func hostsFrom(t *testing.T, text string) *Hosts {
	path := t.TempDir() + "/hosts"
	writeFile(t, path, text)
	return ReadHosts(path)
}

func nssFrom(t *testing.T, text string) *NSSwitch {
	path := t.TempDir() + "/nsswitch.conf"
	writeFile(t, path, text)
	return ReadNSSwitch(path)
}

// TestCorporateVersusVPC is the domain-joined case: the configured (corporate)
// resolver answers the endpoint with a public address while AmazonProvidedDNS
// answers with the interface endpoint's private address.
func TestCorporateVersusVPC(t *testing.T) {
	corp, vpc := twoResolvers(t,
		resolvtest.Zone{endpoint: {Addrs: addrs("52.46.1.10")}},
		resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5", "10.0.2.5")}})
	c := conf(t, "nameserver 127.0.0.1\n")
	opt := AgentOptions{Port: corp.Addr.Port(), Timeout: testTimeout}
	got := AgentLookup(context.Background(), endpoint, c, nil, nil, opt)
	if got.Class != errclass.None || got.Source != "dns" || got.Server != corp.Addr ||
		!reflect.DeepEqual(got.Addrs, addrs("52.46.1.10")) || got.FQDN != endpoint+"." {
		t.Errorf("agent answer %+v, want 52.46.1.10 from %s", got, corp.Addr)
	}
	direct := Query(context.Background(), vpc.Addr, endpoint, dns.TypeA, QueryOptions{Timeout: testTimeout})
	if !reflect.DeepEqual(direct.Addrs, addrs("10.0.1.5", "10.0.2.5")) {
		t.Errorf("VPC resolver answered %v", direct.Addrs)
	}
	if vpc.Total() != 1 || corp.Total() != 2 {
		t.Errorf("queries: corp %d (want 2: A and AAAA), vpc %d (want 1)", corp.Total(), vpc.Total())
	}
}

func TestAgentLookup(t *testing.T) {
	tests := []struct {
		name      string
		conf      string
		hosts     string
		nss       string
		corp, vpc resolvtest.Zone // served on 127.0.0.1 and 127.0.0.2
		lookup    string
		want      AgentAnswer // Name, Detail and Queries are checked separately
		queries   [2]int      // queries seen by 127.0.0.1 and 127.0.0.2
		exchanges int         // len(Queries)
	}{
		{
			name:   "hosts pin wins with files first",
			conf:   "nameserver 127.0.0.1\n",
			hosts:  "10.9.9.9 ssm.us-east-1.amazonaws.com\n",
			nss:    "hosts: files dns\n",
			corp:   resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}},
			lookup: "SSM.us-east-1.amazonaws.com.",
			want:   AgentAnswer{Order: OrderFilesDNS, Source: "hosts", Addrs: addrs("10.9.9.9")},
		},
		{
			name:   "dns first ignores the pin while DNS answers",
			conf:   "nameserver 127.0.0.1\n",
			hosts:  "10.9.9.9 ssm.us-east-1.amazonaws.com\n",
			nss:    "hosts: dns files\n",
			corp:   resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}},
			lookup: endpoint,
			want: AgentAnswer{Order: OrderDNSFiles, Source: "dns", Server: onPort("127.0.0.1"), FQDN: endpoint + ".",
				Addrs: addrs("10.0.1.5")},
			queries: [2]int{2, 0}, exchanges: 2,
		},
		{
			name:    "dns first falls back to the pin on NXDOMAIN",
			conf:    "nameserver 127.0.0.1\n",
			hosts:   "10.9.9.9 ssm.us-east-1.amazonaws.com\n",
			nss:     "hosts: dns files\n",
			lookup:  endpoint,
			want:    AgentAnswer{Order: OrderDNSFiles, Source: "hosts", Addrs: addrs("10.9.9.9")},
			queries: [2]int{2, 0}, exchanges: 2,
		},
		{
			name:   "files only never asks DNS",
			conf:   "nameserver 127.0.0.1\n",
			nss:    "hosts: files\n",
			corp:   resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}},
			lookup: endpoint,
			want:   AgentAnswer{Order: OrderFiles, Class: errclass.NXDomain},
		},
		{
			name:   "silent first nameserver, second answers",
			conf:   "nameserver 127.0.0.1\nnameserver 127.0.0.2\n",
			corp:   resolvtest.Zone{"*": {Silent: true}},
			vpc:    resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5", "fd00:1::5")}},
			lookup: endpoint,
			want: AgentAnswer{Order: OrderFilesDNS, Source: "dns", Server: onPort("127.0.0.2"), FQDN: endpoint + ".",
				Addrs: addrs("10.0.1.5", "fd00:1::5")},
			queries: [2]int{2, 2}, exchanges: 4,
		},
		{
			name:    "NXDOMAIN from the first nameserver ends the search",
			conf:    "nameserver 127.0.0.1\nnameserver 127.0.0.2\n",
			corp:    resolvtest.Zone{endpoint: {Rcode: dns.RcodeNameError}},
			vpc:     resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}},
			lookup:  endpoint,
			want:    AgentAnswer{Order: OrderFilesDNS, Class: errclass.NXDomain},
			queries: [2]int{2, 0}, exchanges: 2,
		},
		{
			name:    "NODATA for both types",
			conf:    "nameserver 127.0.0.1\nnameserver 127.0.0.2\n",
			corp:    resolvtest.Zone{endpoint: {}},
			vpc:     resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}},
			lookup:  endpoint,
			want:    AgentAnswer{Order: OrderFilesDNS, Class: errclass.NoData},
			queries: [2]int{2, 0}, exchanges: 2,
		},
		{
			name:   "SERVFAIL moves on to the next nameserver",
			conf:   "nameserver 127.0.0.1\nnameserver 127.0.0.2\n",
			corp:   resolvtest.Zone{endpoint: {Rcode: dns.RcodeServerFailure}},
			vpc:    resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}},
			lookup: endpoint,
			want: AgentAnswer{Order: OrderFilesDNS, Source: "dns", Server: onPort("127.0.0.2"), FQDN: endpoint + ".",
				Addrs: addrs("10.0.1.5")},
			queries: [2]int{2, 2}, exchanges: 4,
		},
		{
			name:   "every nameserver silent",
			conf:   "nameserver 127.0.0.1\nnameserver 127.0.0.2\noptions attempts:2\n",
			corp:   resolvtest.Zone{"*": {Silent: true}},
			vpc:    resolvtest.Zone{"*": {Silent: true}},
			lookup: endpoint,
			want:   AgentAnswer{Order: OrderFilesDNS, Class: errclass.Timeout},
			// Go makes 8 exchanges; each (server, question) is asked once.
			queries: [2]int{2, 2}, exchanges: 8,
		},
		{
			name:   "search list and ndots",
			conf:   "nameserver 127.0.0.1\nsearch ec2.internal\n",
			corp:   resolvtest.Zone{"ssm.ec2.internal": {Addrs: addrs("10.0.7.7")}},
			lookup: "ssm",
			want: AgentAnswer{Order: OrderFilesDNS, Source: "dns", Server: onPort("127.0.0.1"), FQDN: "ssm.ec2.internal.",
				Addrs: addrs("10.0.7.7")},
			queries: [2]int{2, 0}, exchanges: 2,
		},
		{
			name:   "ndots:5 tries the search list first",
			conf:   "nameserver 127.0.0.1\nsearch corp.example\noptions ndots:5\n",
			corp:   resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}},
			lookup: endpoint,
			want: AgentAnswer{Order: OrderFilesDNS, Source: "dns", Server: onPort("127.0.0.1"), FQDN: endpoint + ".",
				Addrs: addrs("10.0.1.5")},
			queries: [2]int{4, 0}, exchanges: 4,
		},
		{
			name:   "rotate starts the AAAA question at the second server",
			conf:   "nameserver 127.0.0.1\nnameserver 127.0.0.2\noptions rotate single-request\n",
			corp:   resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}},
			vpc:    resolvtest.Zone{endpoint: {Addrs: addrs("fd00:1::5")}},
			lookup: endpoint,
			want: AgentAnswer{Order: OrderFilesDNS, Source: "dns", Server: onPort("127.0.0.1"), FQDN: endpoint + ".",
				Addrs: addrs("10.0.1.5", "fd00:1::5")},
			queries: [2]int{1, 1}, exchanges: 2,
		},
		{
			name:   "use-vc asks over TCP",
			conf:   "nameserver 127.0.0.1\noptions use-vc\n",
			corp:   resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}},
			lookup: endpoint,
			want: AgentAnswer{Order: OrderFilesDNS, Source: "dns", Server: onPort("127.0.0.1"), FQDN: endpoint + ".",
				Addrs: addrs("10.0.1.5")},
			queries: [2]int{2, 0}, exchanges: 2,
		},
		{
			name:   "invalid name",
			conf:   "nameserver 127.0.0.1\n",
			lookup: "bad..name",
			want:   AgentAnswer{Order: OrderFilesDNS, Class: errclass.Malformed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			corp, vpc := twoResolvers(t, tt.corp, tt.vpc)
			port := corp.Addr.Port()
			var h *Hosts
			if tt.hosts != "" {
				h = hostsFrom(t, tt.hosts)
			}
			var n *NSSwitch
			if tt.nss != "" {
				n = nssFrom(t, tt.nss)
			}
			c := conf(t, tt.conf)
			opt := AgentOptions{Port: port, Timeout: testTimeout}
			start := time.Now()
			got := AgentLookup(context.Background(), tt.lookup, c, h, n, opt)
			took := time.Since(start)
			// Worst case: every candidate name × every server times out
			// once, for A and AAAA in parallel; repeated attempts reuse the
			// first answer.
			budget := testTimeout * time.Duration(len(c.NameList(tt.lookup, ""))*len(c.EffectiveNameservers()))
			if took > budget+testSlack {
				t.Errorf("took %v, budget %v", took, budget)
			}
			want := tt.want
			want.Name = tt.lookup
			want.Server = atPort(want.Server, corp.Addr.Port())
			if got.Source != "hosts" && (got.Class == errclass.None) != (got.Detail == "") {
				t.Errorf("class %q with detail %q", got.Class, got.Detail)
			}
			if len(got.Queries) != tt.exchanges {
				t.Errorf("%d exchanges, want %d: %+v", len(got.Queries), tt.exchanges, got.Queries)
			}
			for _, q := range got.Queries {
				if q.UsedTCP != c.Options.UseVC {
					t.Errorf("exchange %+v: UsedTCP %v, want %v", q, q.UsedTCP, c.Options.UseVC)
				}
			}
			want.Detail, want.Queries = got.Detail, got.Queries
			want.Wait, want.ExchangeTimeout, want.Attempts, want.Stalls = got.Wait, got.ExchangeTimeout, got.Attempts, got.Stalls
			if !reflect.DeepEqual(got, want) {
				t.Errorf("AgentLookup(%q)\n got %+v\nwant %+v", tt.lookup, got, want)
			}
			if q := [2]int{corp.Total(), vpc.Total()}; q != tt.queries {
				t.Errorf("servers saw %v queries, want %v", q, tt.queries)
			}
		})
	}
}

// TestAgentLookupHonoursConfTimeout checks that resolv.conf's timeout and
// attempts give the agent's computed wait, while the probe itself waits at
// most that timeout once (timeout:1 attempts:1).
func TestAgentLookupHonoursConfTimeout(t *testing.T) {
	srv := resolvtest.Start(t, resolvtest.Zone{"*": {Silent: true}})
	c := conf(t, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
	got := AgentLookup(context.Background(), endpoint+".", c, nil, nil, AgentOptions{Port: srv.Addr.Port()})
	if got.Class != errclass.Timeout || got.Wait != time.Second || got.ExchangeTimeout != time.Second || got.Attempts != 1 {
		t.Errorf("class %s, wait %v (timeout %v, attempts %d), want timeout, 1s", got.Class, got.Wait, got.ExchangeTimeout, got.Attempts)
	}
	if q := got.Queries[0]; q.RTT < time.Second {
		t.Errorf("probe waited %v on the silent server, want its whole 1 s timeout", q.RTT)
	}
}

// TestAgentLookupWait checks the computed wait of the agent's resolver
// (net/dnsclient_unix.go): a silent first nameserver costs resolv.conf's
// timeout per question before the second answers, and silence everywhere
// costs timeout × servers × attempts, while the probe waits one short
// timeout per (server, question).
func TestAgentLookupWait(t *testing.T) {
	tests := []struct {
		name     string
		conf     string
		corp     resolvtest.Zone
		wantWait time.Duration
		class    errclass.Class
		stalls   []AgentStall
		summary  string
	}{
		{
			name:     "first nameserver silent",
			conf:     "nameserver 127.0.0.1\nnameserver 127.0.0.2\n",
			corp:     resolvtest.Zone{"*": {Silent: true}},
			wantWait: 5 * time.Second,
			stalls:   []AgentStall{{Server: onPort("127.0.0.1"), Timeouts: 1, Wait: 5 * time.Second, Next: onPort("127.0.0.2")}},
			summary:  "the agent waits 5s per lookup on 127.0.0.1:PORT before it tries 127.0.0.2:PORT (resolv.conf timeout:5 attempts:2)",
		},
		{
			name:     "every nameserver silent, timeout:3 attempts:3",
			conf:     "nameserver 127.0.0.1\nnameserver 127.0.0.2\noptions timeout:3 attempts:3\n",
			corp:     resolvtest.Zone{"*": {Silent: true}},
			wantWait: 18 * time.Second,
			class:    errclass.Timeout,
			stalls: []AgentStall{{Server: onPort("127.0.0.1"), Timeouts: 3, Wait: 9 * time.Second, Next: onPort("127.0.0.2")},
				{Server: onPort("127.0.0.2"), Timeouts: 3, Wait: 9 * time.Second, Next: onPort("127.0.0.1")}},
			summary: "the agent waits 9s per lookup on 127.0.0.1:PORT, then 9s on 127.0.0.2:PORT (resolv.conf timeout:3 attempts:3), 18s in all, and then fails",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vpcZone := resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}}
			if tt.class == errclass.Timeout {
				vpcZone = resolvtest.Zone{"*": {Silent: true}}
			}
			corp, vpc := twoResolvers(t, tt.corp, vpcZone)
			port := corp.Addr.String()[len("127.0.0.1:"):]
			got := AgentLookup(context.Background(), endpoint, conf(t, tt.conf), nil, nil,
				AgentOptions{Port: corp.Addr.Port(), Timeout: testTimeout})
			if got.Class != tt.class {
				t.Errorf("class %s, want %q (%s)", got.Class, tt.class, got.Detail)
			}
			// The measured round trips of the answered exchanges are added
			// too: a few milliseconds at most on loopback.
			if got.Wait < tt.wantWait || got.Wait > tt.wantWait+testTimeout {
				t.Errorf("wait %v, want %v", got.Wait, tt.wantWait)
			}
			for i := range tt.stalls {
				tt.stalls[i].Server = atPort(tt.stalls[i].Server, corp.Addr.Port())
				tt.stalls[i].Next = atPort(tt.stalls[i].Next, corp.Addr.Port())
			}
			if !reflect.DeepEqual(got.Stalls, tt.stalls) {
				t.Errorf("stalls %+v, want %+v", got.Stalls, tt.stalls)
			}
			summary := strings.ReplaceAll(tt.summary, "PORT", port)
			if s := got.StallSummary(); s != summary {
				t.Errorf("summary %q, want %q", s, summary)
			}
			// Each (server, question) is asked once by the probe.
			if corp.Total() != 2 || vpc.Total() > 2 {
				t.Errorf("servers saw %d and %d queries, want 2 and at most 2", corp.Total(), vpc.Total())
			}
		})
	}
}

func TestAgentLookupNoNameservers(t *testing.T) {
	// Without nameservers Go asks 127.0.0.1 and ::1; point the port at a
	// loopback server so the test stays on loopback.
	srv := resolvtest.Start(t, resolvtest.Zone{endpoint: {Addrs: addrs("10.0.1.5")}})
	got := AgentLookup(context.Background(), endpoint, conf(t, "search ec2.internal\n"), nil, nil,
		AgentOptions{Port: srv.Addr.Port(), Timeout: testTimeout, Attempts: 1})
	if got.Class != errclass.None || got.Server != srv.Addr || !reflect.DeepEqual(got.Addrs, addrs("10.0.1.5")) {
		t.Errorf("got %+v", got)
	}
}

// onPort is addr on the test servers' port, which is known only when they
// run: port 0 here, set by atPort.
func onPort(addr string) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(addr), 0) }

// atPort sets the port of an onPort address; the zero address stays zero.
func atPort(a netip.AddrPort, port uint16) netip.AddrPort {
	if !a.IsValid() {
		return a
	}
	return netip.AddrPortFrom(a.Addr(), port)
}
