package winhost

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// TestNRPTRuleCaps: a rule's lists are kept to MaxListItems, and a value
// full of garbage gives a few problems, not one per item; a rule within
// the caps (the near miss) keeps everything and says nothing.
func TestNRPTRuleCaps(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	addr := func(i int) string { return fmt.Sprintf("10.9.%d.%d", i/250, i%250+1) }
	cases := []struct {
		name               string
		namespaces         []string
		servers            string
		wantNS, wantSrv    int
		wantProblems       int
		wantProblemContain string
	}{
		{"within the caps", []string{".amazonaws.com"}, strings.Join(many(MaxListItems, addr), ";"), 1, MaxListItems, 0, ""},
		{"too many servers", []string{"."}, strings.Join(many(MaxListItems+5, addr), ";"), 1, MaxListItems, 1, "only the first 64 kept"},
		{"garbage servers", []string{"."}, strings.Join(many(10000, func(int) string { return "x" }), ";"), 1, 0, 4, "9997 more values"},
		{"too many namespaces", many(MaxListItems+1, func(i int) string { return fmt.Sprintf(".n%d.example", i) }), "10.0.0.2", MaxListItems, 1, 1, "namespaces, only the first"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := &Key{Values: map[string]Value{
				"Name":              {Type: RegMultiSZ, Strings: c.namespaces},
				"GenericDNSServers": {Type: RegSZ, String: c.servers},
				"ConfigOptions":     {Type: RegDWORD, Number: configGenericDNS},
			}}
			r := parseNRPTRule("{rule}", "policy", k)
			if len(r.Namespaces) != c.wantNS || len(r.Servers) != c.wantSrv || len(r.Problems) != c.wantProblems {
				t.Fatalf("%d namespaces, %d servers, problems %q", len(r.Namespaces), len(r.Servers), r.Problems)
			}
			if c.wantProblemContain != "" && !strings.Contains(strings.Join(r.Problems, "\n"), c.wantProblemContain) {
				t.Errorf("problems %q lack %q", r.Problems, c.wantProblemContain)
			}
		})
	}
}

// TestAdapterListCaps: an adapter's DNS servers are kept to MaxListItems,
// with one problem; the near miss at the cap has none.
func TestAdapterListCaps(t *testing.T) {
	for _, n := range []int{MaxListItems, MaxListItems + 1} {
		a := Adapter{Name: "Ethernet", Up: true}
		for i := range n {
			a.DNSServers = append(a.DNSServers, netip.AddrFrom4([4]byte{10, 9, byte(i / 250), byte(i%250 + 1)}))
		}
		var problems []string
		out := dnsAdapters(&Recorded{}, []Adapter{a}, &problems)
		if len(out) != 1 || len(out[0].DNSServers) != min(n, MaxListItems) || len(problems) != n-MaxListItems {
			t.Errorf("%d servers: kept %d, problems %q", n, len(out[0].DNSServers), problems)
		}
	}
}
