package resolv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// winCase is one testdata/winlookup file: a Windows DNS client, what each
// server answers (recorded answers, no network), and the expected lookup.
type winCase struct {
	About   string                          `json:"about"`
	Lookup  string                          `json:"lookup"`
	Client  WinClient                       `json:"client"`
	Servers map[string]map[string]winRecord `json:"servers"` // server -> name (or "*") -> answer
	Want    struct {
		Class    errclass.Class `json:"class"`
		Source   string         `json:"source"`
		Server   string         `json:"server"`
		Adapter  string         `json:"adapter"`
		NRPTRule string         `json:"nrpt_rule"`
		FQDN     string         `json:"fqdn"`
		Addrs    []netip.Addr   `json:"addrs"`
		Detail   string         `json:"detail"`
		Wait     string         `json:"wait"`
		Stalls   []struct {
			Server   string `json:"server"`
			Adapter  string `json:"adapter"`
			Timeouts int    `json:"timeouts"`
			Wait     string `json:"wait"`
			Next     string `json:"next"`
		} `json:"stalls"`
		Summary   string   `json:"summary"`
		Asked     []string `json:"asked"`     // "server TYPE", in the order of AgentAnswer.Queries
		Unchecked bool     `json:"unchecked"` // the lookup could not be followed
	} `json:"want"`
}

// winRecord is how a server answers one name: addresses (A and AAAA
// sorted out by type), an rcode, or silence. A name the server does not
// list, and no "*", gets NXDOMAIN.
type winRecord struct {
	Addrs  []netip.Addr `json:"addrs"`
	Rcode  string       `json:"rcode"`
	Silent bool         `json:"silent"`
	// Unreachable is an ICMP error: no DNS reply, at once.
	Unreachable bool `json:"unreachable"`
}

// recordedRTT is the round trip of every recorded reply.
const recordedRTT = 5 * time.Millisecond

// fakeAsk answers from the recorded servers and counts each exchange.
func (c *winCase) fakeAsk(t *testing.T) (func(context.Context, netip.AddrPort, string, uint16) Answer, func() map[string]int) {
	var mu sync.Mutex
	seen := map[string]int{}
	ask := func(_ context.Context, server netip.AddrPort, fqdn string, qtype uint16) Answer {
		mu.Lock()
		seen[fmt.Sprintf("%s %s %s", server, dns.TypeToString[qtype], strings.ToLower(fqdn))]++
		mu.Unlock()
		a := Answer{Server: server, Name: fqdn, Type: dns.TypeToString[qtype], Attempts: 1, RTT: recordedRTT}
		if server.Port() != DefaultPort {
			t.Errorf("asked %s, not port 53", server)
		}
		zone, ok := c.Servers[server.Addr().String()]
		if !ok {
			t.Errorf("asked %s, which the case does not list", server)
		}
		r, ok := zone[strings.TrimSuffix(strings.ToLower(fqdn), ".")]
		if !ok {
			r, ok = zone["*"]
		}
		switch {
		case !ok || r.Rcode == "NXDOMAIN":
			a.Rcode, a.Class, a.Detail = "NXDOMAIN", errclass.NXDomain, "NXDOMAIN"
		case r.Unreachable:
			a.Class, a.Detail = errclass.Unreachable, "port unreachable"
		case r.Silent:
			a.Class, a.Detail, a.RTT = errclass.Timeout, "no reply", DefaultQueryTimeout
		case r.Rcode == "SERVFAIL":
			a.Rcode, a.Class, a.Detail = "SERVFAIL", errclass.ServFail, "SERVFAIL"
		default:
			a.Rcode = "NOERROR"
			for _, ad := range r.Addrs {
				if ad.Is4() == (qtype == dns.TypeA) {
					a.Addrs = append(a.Addrs, ad)
				}
			}
			if len(a.Addrs) == 0 {
				a.Class, a.Detail = errclass.NoData, "NOERROR without records"
			}
		}
		return a
	}
	return ask, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

func TestWinLookup(t *testing.T) {
	files, err := filepath.Glob("testdata/winlookup/*.json")
	if err != nil || len(files) < 20 {
		t.Fatalf("%d cases (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var c winCase
			dec := json.NewDecoder(strings.NewReader(string(b)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				t.Fatal(err)
			}
			if c.About == "" {
				t.Error("the case says nothing about itself")
			}
			ask, seen := c.fakeAsk(t)
			got := WinLookup(context.Background(), c.Lookup, &c.Client, AgentOptions{Ask: ask})
			w := c.Want
			if got.Order != OrderWindows || got.Name != c.Lookup {
				t.Errorf("order %q name %q", got.Order, got.Name)
			}
			if got.Class != w.Class || got.Source != w.Source || got.Adapter != w.Adapter || got.NRPTRule != w.NRPTRule ||
				got.FQDN != w.FQDN || !reflect.DeepEqual(got.Addrs, w.Addrs) {
				t.Errorf("got class %q source %q adapter %q rule %q fqdn %q addrs %v (%s)\nwant class %q source %q adapter %q rule %q fqdn %q addrs %v",
					got.Class, got.Source, got.Adapter, got.NRPTRule, got.FQDN, got.Addrs, got.Detail,
					w.Class, w.Source, w.Adapter, w.NRPTRule, w.FQDN, w.Addrs)
			}
			if got.Unchecked != w.Unchecked {
				t.Errorf("unchecked %v, want %v (%s)", got.Unchecked, w.Unchecked, got.Detail)
			}
			if s := addrPortString(got.Server); s != w.Server {
				t.Errorf("server %q, want %q", s, w.Server)
			}
			if w.Detail != "" && got.Detail != w.Detail {
				t.Errorf("detail %q, want %q", got.Detail, w.Detail)
			}
			if got.Class != errclass.None && got.Detail == "" {
				t.Errorf("class %q without a detail", got.Class)
			}
			if w.Wait != "" || got.Wait != 0 {
				if want := mustDuration(t, w.Wait); got.Wait != want {
					t.Errorf("wait %v, want %v", got.Wait, want)
				}
			}
			var stalls []string
			for _, s := range got.Stalls {
				stalls = append(stalls, fmt.Sprintf("%s %s %d %v %s", s.Server, s.Adapter, s.Timeouts, s.Wait, addrPortString(s.Next)))
			}
			var wantStalls []string
			for _, s := range w.Stalls {
				wantStalls = append(wantStalls, fmt.Sprintf("%s %s %d %v %s", s.Server, s.Adapter, s.Timeouts, mustDuration(t, s.Wait), s.Next))
			}
			if !reflect.DeepEqual(stalls, wantStalls) {
				t.Errorf("stalls\n %q\nwant\n %q", stalls, wantStalls)
			}
			if w.Summary != "" && got.StallSummary() != w.Summary {
				t.Errorf("summary\n %q\nwant\n %q", got.StallSummary(), w.Summary)
			}
			if (len(got.Stalls) == 0) != (got.StallSummary() == "") {
				t.Errorf("stalls %v, summary %q", got.Stalls, got.StallSummary())
			}
			var asked []string
			for _, q := range got.Queries {
				asked = append(asked, q.Server.Addr().String()+" "+q.Type)
			}
			if !reflect.DeepEqual(asked, w.Asked) {
				t.Errorf("asked %q, want %q", asked, w.Asked)
			}
			for k, n := range seen() {
				if n != 1 {
					t.Errorf("%s asked %d times, want once", k, n)
				}
			}
		})
	}
}

func addrPortString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestWinNameList checks the candidate names: as is for a multi-label
// name, suffixes for single labels, and devolution down to two labels.
func TestWinNameList(t *testing.T) {
	ad := []WinAdapter{{Name: "Ethernet", Up: true, Suffix: "ec2.internal"}}
	tests := []struct {
		c    *WinClient
		name string
		want []string
	}{
		{nil, endpoint, []string{endpoint + "."}},
		{&WinClient{PrimarySuffix: "corp.example.com"}, endpoint + ".", []string{endpoint + "."}},
		{&WinClient{PrimarySuffix: "corp.example.com", Adapters: ad}, endpoint, []string{endpoint + "."}},
		{&WinClient{PrimarySuffix: "corp.example.com", Adapters: ad, AppendToMultiLabel: true}, endpoint,
			[]string{endpoint + ".", endpoint + ".corp.example.com.", endpoint + ".ec2.internal."}},
		{&WinClient{PrimarySuffix: "a.corp.example.com", Devolution: true, Adapters: ad}, "ssm",
			[]string{"ssm.a.corp.example.com.", "ssm.corp.example.com.", "ssm.example.com.", "ssm.ec2.internal."}},
		{&WinClient{PrimarySuffix: "a.corp.example.com", Adapters: ad}, "ssm",
			[]string{"ssm.a.corp.example.com.", "ssm.ec2.internal."}},
		{&WinClient{PrimarySuffix: "corp.example.com", SearchList: []string{"x.example", "y.example."}, Devolution: true, Adapters: ad}, "ssm",
			[]string{"ssm.x.example.", "ssm.y.example."}},
		{&WinClient{}, "ssm", nil},
	}
	for _, tt := range tests {
		if got := tt.c.NameList(tt.name); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v NameList(%q) = %q, want %q", tt.c, tt.name, got, tt.want)
		}
	}
}

// TestWinRuleConflict: two rules for the same namespace conflict, and
// neither applies; the next most specific rule does.
func TestWinRuleConflict(t *testing.T) {
	c := &WinClient{NRPT: []NRPTRule{
		{Key: "a", Source: NRPTPolicy, Namespaces: []string{".amazonaws.com"}, Servers: addrs("10.0.0.1")},
		{Key: "b", Source: NRPTPolicy, Namespaces: []string{".AMAZONAWS.com."}, Servers: addrs("10.0.0.3")},
		{Key: "any", Source: NRPTPolicy, Namespaces: []string{"."}, Servers: addrs("10.0.0.2")},
	}}
	if r := c.Rule(endpoint); r == nil || r.Key != "any" {
		t.Errorf("rule %+v, want any", r)
	}
	if r := (&WinClient{NRPT: c.NRPT[:1]}).Rule("amazonaws.com"); r != nil {
		t.Errorf("the suffix rule .amazonaws.com covers amazonaws.com itself: %+v", r)
	}
	if r := (*WinClient)(nil).Rule(endpoint); r != nil {
		t.Errorf("nil client: %+v", r)
	}
}

// TestWinLookupLoopback runs the model against real DNS servers on
// loopback: two domain controllers on the first adapter, the first of
// them silent, and an NRPT rule that sends other names to a third server.
func TestWinLookupLoopback(t *testing.T) {
	srv := resolvtest.StartSamePort(t, addrs("127.0.0.1", "127.0.0.2", "127.0.0.3"), []resolvtest.Zone{
		{"*": {Silent: true}},
		{endpoint: {Addrs: addrs("52.46.1.10", "2600:1f18::10")}},
		{"ssm.corp.example.com": {Addrs: addrs("10.0.7.7")}},
	})
	c := &WinClient{
		Adapters: []WinAdapter{{Name: "Ethernet 2", Up: true, DNSServers: addrs("127.0.0.1", "127.0.0.2")}},
		NRPT:     []NRPTRule{{Key: "corp", Source: NRPTLocal, Namespaces: []string{".corp.example.com"}, Servers: addrs("127.0.0.3")}},
	}
	opt := AgentOptions{Port: srv[0].Addr.Port(), Timeout: testTimeout}
	start := time.Now()
	got := WinLookup(context.Background(), endpoint, c, opt)
	if took := time.Since(start); took > 2*testTimeout+testSlack {
		t.Errorf("took %v: the client's own waits must be computed, not slept", took)
	}
	if got.Class != errclass.None || got.Server != srv[1].Addr || got.Adapter != "Ethernet 2" ||
		!reflect.DeepEqual(got.Addrs, addrs("52.46.1.10", "2600:1f18::10")) {
		t.Errorf("got %+v", got)
	}
	if got.Wait < time.Second || got.Wait > time.Second+testTimeout {
		t.Errorf("wait %v, want the 1 s round on the silent server and the answer's round trip", got.Wait)
	}
	if len(got.Stalls) != 1 || got.Stalls[0].Server != srv[0].Addr || got.Stalls[0].Next != srv[1].Addr {
		t.Errorf("stalls %+v", got.Stalls)
	}
	if srv[0].Total() != 2 || srv[1].Total() != 2 || srv[2].Total() != 0 {
		t.Errorf("queries %d %d %d, want 2 2 0", srv[0].Total(), srv[1].Total(), srv[2].Total())
	}
	got = WinLookup(context.Background(), "ssm.corp.example.com", c, opt)
	if got.Class != errclass.None || got.Server != srv[2].Addr || got.NRPTRule != "corp" || got.Adapter != "NRPT rule corp" {
		t.Errorf("got %+v", got)
	}
}

// TestWinLookupPrefetch: three servers in one list, the first two
// silent. The client's rounds ask them in turn; with Prefetch the probe
// asks all of them at once past the delay, so it waits about one of its
// timeouts, not two, while the computed wait is the client's 1 s + 1 s.
func TestWinLookupPrefetch(t *testing.T) {
	srv := resolvtest.StartSamePort(t, addrs("127.0.0.1", "127.0.0.4", "127.0.0.2"), []resolvtest.Zone{
		{"*": {Silent: true}}, {"*": {Silent: true}},
		{endpoint: {Addrs: addrs("10.0.1.5", "fd00:1::5")}},
	})
	c := &WinClient{Adapters: []WinAdapter{{Name: "Ethernet", Up: true, DNSServers: addrs("127.0.0.1", "127.0.0.4", "127.0.0.2")}}}
	start := time.Now()
	got := WinLookup(context.Background(), endpoint, c, AgentOptions{Port: srv[0].Addr.Port(), Timeout: testTimeout, Prefetch: testTimeout / 10})
	if took := time.Since(start); took > testTimeout+testSlack {
		t.Errorf("took %v, want about one probe timeout (%v)", took, testTimeout)
	}
	if got.Class != errclass.None || got.Server != srv[2].Addr || got.Wait < 2*time.Second || got.Wait > 2*time.Second+testTimeout {
		t.Errorf("got %s from %s after %v, want an answer from %s after the client's 2 s", got.Class, got.Server, got.Wait, srv[2].Addr)
	}
	if len(got.Stalls) != 2 {
		t.Errorf("stalls %+v, want the two silent servers", got.Stalls)
	}
}

// TestWinServers: UpServers keeps the adapters that are up, in order and
// once each; AdapterOf names the first adapter listing a server, and
// AdaptersOf every adapter listing any of some servers.
func TestWinServers(t *testing.T) {
	c := &WinClient{Adapters: []WinAdapter{
		{Name: "Ethernet", Up: true, DNSServers: addrs("10.0.0.10", "10.0.0.11")},
		{Name: "Ethernet 3", DNSServers: addrs("10.9.9.9")},
		{Name: "Ethernet 2", Up: true, DNSServers: addrs("10.0.0.11", "10.0.0.2")},
	}}
	if got, want := c.UpServers(), addrs("10.0.0.10", "10.0.0.11", "10.0.0.2"); !reflect.DeepEqual(got, want) {
		t.Errorf("UpServers %v, want %v", got, want)
	}
	var names []string
	for _, a := range c.AdaptersOf(addrs("10.0.0.11", "10.9.9.9")) {
		names = append(names, a.Name)
	}
	if want := []string{"Ethernet", "Ethernet 3", "Ethernet 2"}; !reflect.DeepEqual(names, want) {
		t.Errorf("AdaptersOf %v, want %v", names, want)
	}
	if got := c.AdaptersOf(addrs("10.1.1.1")); got != nil {
		t.Errorf("AdaptersOf a server no adapter lists: %v", got)
	}
	for a, want := range map[string]string{"10.0.0.11": "Ethernet", "10.0.0.2": "Ethernet 2", "10.9.9.9": "Ethernet 3", "10.1.1.1": ""} {
		if got := c.AdapterOf(netip.MustParseAddr(a)); got != want {
			t.Errorf("AdapterOf(%s) = %q, want %q", a, got, want)
		}
	}
	if (*WinClient)(nil).UpServers() != nil || (*WinClient)(nil).AdapterOf(netip.MustParseAddr("10.0.0.2")) != "" {
		t.Error("a nil client has servers")
	}
}
