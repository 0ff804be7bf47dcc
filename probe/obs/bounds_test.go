package obs_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/routes"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// healthy is a world as a run records it: six endpoints, two resolvers,
// one agent view and one address per endpoint.
func healthy() *obs.Observations {
	return probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").
		Answer("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
		Answer("169.254.169.253", errclass.None, []string{"10.0.1.X"}).
		Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
		Net("10.0.1.X", "ok").O
}

// winServers gives o a Windows DNS client whose one adapter lists n servers.
func winServers(o *obs.Observations, n int) {
	a := resolv.WinAdapter{Name: "Ethernet 2", Up: true}
	for i := range n {
		a.DNSServers = append(a.DNSServers, netip.AddrFrom4([4]byte{10, 0, 5, byte(i + 1)}))
	}
	o.OS, o.Resolv = obs.OSWindows, &obs.ResolvFacts{Windows: &resolv.WinClient{Adapters: []resolv.WinAdapter{a}}}
}

// TestCheckBounds: observations a run could have saved pass; each way a
// file can be larger than a run makes it is refused, and a near miss (at
// the limit) still passes.
func TestCheckBounds(t *testing.T) {
	ssm := "ssm.ap-northeast-1.amazonaws.com"
	addrs := func(o *obs.Observations, n int) {
		base := o.Net[0]
		o.Net = nil
		for i := range n {
			x := base
			x.Addr = netip.AddrFrom4([4]byte{10, 0, 1, byte(100 + i)})
			o.Net = append(o.Net, x)
		}
	}
	for _, tc := range []struct {
		name  string
		edit  func(o *obs.Observations)
		error string // "" when the observations must pass
	}{
		{"healthy", func(*obs.Observations) {}, ""},
		{"no plan", func(o *obs.Observations) { o.Plan, o.DNS, o.AgentDNS, o.Net = nil, nil, nil, nil }, ""},
		{"empty", func(o *obs.Observations) { *o = obs.Observations{} }, ""},
		{"nine endpoints", func(o *obs.Observations) {
			for _, h := range []string{"extra1.example", "extra2.example", "extra3.example"} {
				e := o.Plan.Endpoints[0]
				e.Host = h
				o.Plan.Endpoints = append(o.Plan.Endpoints, e)
			}
		}, "the plan lists 9 endpoints; a run plans at most 8"},
		{"record for an unplanned host", func(o *obs.Observations) { o.Net[0].Host = "evil.example" },
			`the addresses tried hold a record for "evil.example"`},
		{"records without a plan", func(o *obs.Observations) { o.Plan = nil }, "which the plan does not list"},
		{"sixteen addresses (the cap)", func(o *obs.Observations) { addrs(o, obs.MaxAddrsPerHost) }, ""},
		{"seventeen addresses", func(o *obs.Observations) { addrs(o, obs.MaxAddrsPerHost+1) },
			"the addresses tried hold more than 16 records for " + ssm},
		{"two agent views of one host", func(o *obs.Observations) { o.AgentDNS = append(o.AgentDNS, o.AgentDNS[0]) },
			"the agent-view lookups hold more than 1 records for " + ssm},
		{"more DNS answers than resolvers", func(o *obs.Observations) { o.DNS = append(o.DNS, o.DNS[0]) },
			"the DNS answers hold more than 2 records for " + ssm},
		{"two proxy tries of one host", func(o *obs.Observations) {
			o.Proxy = []obs.ProxyObs{{Service: "ssm", Host: ssm}, {Service: "ssm", Host: ssm}}
		}, "the proxy tries hold more than 1 records for " + ssm},
		{"two endpoints overridden to one host", func(o *obs.Observations) {
			// The agent's config may send two services to one host: each
			// endpoint is asked of every resolver, so the host holds twice
			// the answers.
			kms := o.Plan.Endpoints[5].Host
			o.Plan.Endpoints[5].Host = ssm
			for i := range o.DNS {
				if o.DNS[i].Host == kms {
					o.DNS[i].Host = ssm
				}
			}
			for i := range o.AgentDNS {
				if o.AgentDNS[i].Host == kms {
					o.AgentDNS[i].Host = ssm
				}
			}
			for i := range o.Net {
				if o.Net[i].Host == kms {
					o.Net[i].Host = ssm
					o.Net[i].Addr = netip.MustParseAddr("10.0.1.99")
				}
			}
		}, ""},
		{"a Windows adapter's DNS servers at the cap", func(o *obs.Observations) { winServers(o, winhost.MaxListItems) }, ""},
		{"a Windows adapter with one DNS server too many", func(o *obs.Observations) { winServers(o, winhost.MaxListItems+1) },
			"the DNS servers of an adapter number 65; a run keeps at most 64"},
		{"too many Windows adapters", func(o *obs.Observations) {
			o.OS, o.Resolv = obs.OSWindows, &obs.ResolvFacts{Windows: &resolv.WinClient{Adapters: make([]resolv.WinAdapter, winhost.MaxAdapters+1)}}
		}, "the adapters number 257; a run keeps at most 256"},
		{"too many persistent routes", func(o *obs.Observations) {
			o.OS, o.Resolv, o.Windows = obs.OSWindows, nil, &winhost.Facts{PersistentRoutes: make([]winhost.PersistentRoute, winhost.MaxPersistentRoutes+1)}
		}, "the persistent routes number 1025"},
		{"a Windows host's facts labelled Linux", func(o *obs.Observations) { winServers(o, 1); o.OS = "" },
			`a Linux host's observations (os "") hold a Windows host's facts`},
		{"a Linux host's facts labelled Windows", func(o *obs.Observations) { o.OS = obs.OSWindows },
			"a Windows host's observations hold a Linux host's facts"},
		{"an unknown system", func(o *obs.Observations) { o.OS = "plan9" }, `os "plan9" is neither`},
		{"too many routes", func(o *obs.Observations) {
			o.Routes = &routes.Facts{Routes: make([]routes.Route, routes.MaxRoutes+1)}
		}, "the routes number 4097"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := healthy()
			tc.edit(o)
			err := o.CheckBounds()
			switch {
			case tc.error == "" && err != nil:
				t.Fatalf("CheckBounds: %v; want nil", err)
			case tc.error != "" && (err == nil || !strings.Contains(err.Error(), tc.error)):
				t.Fatalf("CheckBounds: %v; want an error holding %q", err, tc.error)
			}
		})
	}
}
