//go:build linux

package observe

import (
	"context"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// TestWindowsDNSPlanAndAgentView is the domain-joined Windows host on
// loopback: "Ethernet 2" points at two domain controllers (127.0.0.2 and
// 127.0.0.3) that answer the endpoint's public address, while
// AmazonProvidedDNS (127.0.0.1), on no adapter, answers the interface
// endpoint's private one. The plan's system resolvers are the adapter's
// servers; the agent view follows the Windows DNS client to the first
// domain controller. A near miss adds an NRPT rule that sends the AWS
// names to AmazonProvidedDNS: the agent view then asks it, and the plan
// is unchanged.
func TestWindowsDNSPlanAndAgentView(t *testing.T) {
	const host = "ssm.us-east-1.amazonaws.com"
	private, public := []netip.Addr{netip.MustParseAddr("10.0.1.5")}, []netip.Addr{netip.MustParseAddr("52.46.1.10")}
	ips := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.4")}
	tests := []struct {
		name      string
		nrpt      []resolv.NRPTRule
		down      bool // a second adapter, down, lists 127.0.0.4
		server    netip.Addr
		adapter   string
		rule      string
		addrs     []netip.Addr
		vpcAsked  int // questions AmazonProvidedDNS saw: 2 from its direct check
		dc1, dc2  int
		downAsked int
	}{
		{name: "domain controllers", server: ips[1], adapter: "Ethernet 2", addrs: public, vpcAsked: 2, dc1: 2, dc2: 2},
		{name: "adapter down is no system resolver", down: true, server: ips[1], adapter: "Ethernet 2", addrs: public, vpcAsked: 2, dc1: 2, dc2: 2},
		{name: "NRPT rule to AmazonProvidedDNS",
			nrpt:   []resolv.NRPTRule{{Key: "{AWS}", Source: resolv.NRPTPolicy, Namespaces: []string{".amazonaws.com"}, Servers: ips[:1]}},
			server: ips[0], adapter: "NRPT rule {AWS}", rule: "{AWS}", addrs: private, vpcAsked: 2, dc1: 2, dc2: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := resolvtest.StartSamePort(t, ips, []resolvtest.Zone{
				{host: {Addrs: private}},
				{host: {Addrs: public}},
				{host: {Addrs: public}},
				{"*": {Silent: true}},
			})
			cfg := testConfig(t)
			cfg.Region, cfg.DNSPort, cfg.VPCDNS = "us-east-1", int(srv[0].Addr.Port()), ips[:1]
			cfg.Timeout = 300 * time.Millisecond
			win := &resolv.WinClient{Adapters: []resolv.WinAdapter{{Name: "Ethernet 2", Index: 6, Metric: 15, Up: true, DNSServers: ips[1:3]}}, NRPT: tt.nrpt}
			if tt.down {
				win.Adapters = append(win.Adapters, resolv.WinAdapter{Name: "Ethernet 3", Index: 9, Metric: 25, DNSServers: ips[3:]})
			}
			o := &obs.Observations{OS: "windows", Resolv: &obs.ResolvFacts{Windows: win}}
			p := BuildPlan(&cfg, o)
			if !reflect.DeepEqual(p.System, ips[1:3]) || !reflect.DeepEqual(p.VPC, ips[:1]) {
				t.Fatalf("plan: system %v, vpc %v; want %v and %v", p.System, p.VPC, ips[1:3], ips[:1])
			}
			var e obs.Endpoint
			for _, pe := range p.Endpoints {
				if pe.Host == host {
					e = pe
				}
			}
			if e.Host == "" {
				t.Fatalf("no %s in the plan: %+v", host, p.Endpoints)
			}
			ctx := context.Background()
			cache := newDNSCache(ctx, &cfg)
			checks := dnsChecksFor(&cfg, p, o.Resolv, e, cache)
			if len(checks) != 4 || checks[3].Name != obs.CheckAgentDNS {
				t.Fatalf("%d checks, want three resolvers and the agent view", len(checks))
			}
			outs := make([]Outcome, len(checks))
			done := make(chan int)
			for i, c := range checks {
				go func() { outs[i] = c.Run(ctx); done <- i }()
			}
			for range checks {
				<-done
			}
			for i, want := range [][]netip.Addr{public, public, private} {
				d := outs[i].seen.DNS[0]
				if !reflect.DeepEqual(d.Addrs(), want) {
					t.Errorf("%s: %v, want %v", checks[i].Target, d.Addrs(), want)
				}
			}
			a := outs[3].seen.AgentDNS[0].Answer
			wantServer := netip.AddrPortFrom(tt.server, uint16(cfg.DNSPort))
			if a.Order != resolv.OrderWindows || a.Class != errclass.None || a.Server != wantServer || a.Adapter != tt.adapter ||
				a.NRPTRule != tt.rule || !reflect.DeepEqual(a.Addrs, tt.addrs) || a.Source != "dns" {
				t.Errorf("agent view %+v\nwant %s (%s, rule %q) answering %v", a, wantServer, tt.adapter, tt.rule, tt.addrs)
			}
			if outs[3].Status != obs.StatusPass {
				t.Errorf("agent view %s: %s", outs[3].Status, outs[3].Reason)
			}
			// The agent view reuses the direct answers: each server is
			// asked each question once.
			if got := [4]int{srv[0].Total(), srv[1].Total(), srv[2].Total(), srv[3].Total()}; got != [4]int{tt.vpcAsked, tt.dc1, tt.dc2, tt.downAsked} {
				t.Errorf("queries %v, want %v", got, [4]int{tt.vpcAsked, tt.dc1, tt.dc2, tt.downAsked})
			}
		})
	}
}

// TestLinuxPlanIgnoresWindowsFields: without Windows facts the plan's
// system resolvers still come from resolv.conf.
func TestLinuxPlanIgnoresWindowsFields(t *testing.T) {
	cfg := testConfig(t)
	cfg.Region = "us-east-1"
	ns := netip.MustParseAddr("10.0.0.2")
	o := &obs.Observations{Resolv: &obs.ResolvFacts{Conf: &resolv.Conf{Nameservers: []resolv.Nameserver{{Addr: ns}}}}}
	if p := BuildPlan(&cfg, o); !reflect.DeepEqual(p.System, []netip.Addr{ns}) {
		t.Errorf("system %v, want %v", p.System, ns)
	}
}
