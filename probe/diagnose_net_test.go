package probe

import (
	"net/netip"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/internal/golden"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/resolv"
)

const netFixtures = "testdata/obs/net"

// TestDiagnoseDNSAndNet table-tests the dns.* and net.* rules from the
// observation fixtures in testdata/obs/net (regenerate: go test -run
// TestDiagnoseDNSAndNet ./probe -update).
func TestDiagnoseDNSAndNet(t *testing.T) {
	if golden.Update() {
		for name, f := range netScenarios() {
			writeFixture(t, netFixtures, name, f)
		}
	}
	runFixtures(t, netFixtures)
}

// scen builds observations for one scenario in a VPC 10.0.0.0/16 (unless
// cidrs is emptied), region ap-northeast-1.
type scen struct {
	o *Observations
}

var (
	vpcBase2 = netip.MustParseAddr("10.0.0.2")
	linkDNS  = netip.MustParseAddr("169.254.169.253")
)

func newScen(system []string, cidrs ...string) *scen {
	o := &Observations{Live: true}
	o.IMDS = &imds.Identity{Endpoint: "http://169.254.169.254", Reachable: true, Access: imds.AccessV2,
		Region: "ap-northeast-1", InstanceID: "i-0abc", VPCID: "vpc-0abc", VPCCIDRs: cidrs}
	conf := &resolv.Conf{Path: "/etc/resolv.conf"}
	for i, s := range system {
		conf.Nameservers = append(conf.Nameservers, resolv.Nameserver{Addr: netip.MustParseAddr(s), Line: i + 1})
	}
	o.Resolv = &ResolvFacts{Conf: conf, Hosts: &resolv.Hosts{Path: "/etc/hosts"}}
	p := &Plan{Region: "ap-northeast-1", RegionSource: "imds", Domain: "amazonaws.com", DomainSource: "partition"}
	for _, c := range cidrs {
		p.VPCCIDRs = append(p.VPCCIDRs, netip.MustParsePrefix(c))
	}
	for _, s := range system {
		p.System = append(p.System, netip.MustParseAddr(s))
	}
	if len(cidrs) > 0 {
		p.VPC = []netip.Addr{vpcBase2, linkDNS}
	}
	for _, e := range services() {
		e.Host = e.Service + ".ap-northeast-1.amazonaws.com"
		p.Endpoints = append(p.Endpoints, e)
	}
	o.Plan = p
	return &scen{o: o}
}

// answer records resolver r's answer for every endpoint (or only those in
// only): addresses, or a class (nodata, nxdomain, timeout).
func (s *scen) answer(r string, class errclass.Class, addrs []string, only ...string) *scen {
	ra := netip.MustParseAddr(r)
	var roles []string
	for _, a := range s.o.Plan.System {
		if a == ra {
			roles = append(roles, RoleSystem)
		}
	}
	for _, a := range s.o.Plan.VPC {
		if a == ra {
			roles = append(roles, RoleVPC)
		}
	}
	for _, e := range s.o.Plan.Endpoints {
		if len(only) > 0 && !contains(only, e.Service) {
			continue
		}
		d := DNSObs{Service: e.Service, Host: e.Host, Resolver: ra, Roles: roles}
		d.A = resolv.Answer{Server: r + ":53", Name: e.Host + ".", Type: "A", Class: class, Attempts: 1}
		d.AAAA = resolv.Answer{Server: r + ":53", Name: e.Host + ".", Type: "AAAA", Class: class, Attempts: 1}
		if class == errclass.None {
			d.A.Rcode = "NOERROR"
			d.AAAA.Class = errclass.NoData
			for _, a := range addrs {
				d.A.Addrs = append(d.A.Addrs, netip.MustParseAddr(svcAddr(a, e.Service)))
			}
		}
		s.o.DNS = append(s.o.DNS, d)
	}
	return s
}

// agent records the agent-view answer for every endpoint: from DNS server
// r, or from the hosts file when r is "hosts".
func (s *scen) agent(r string, class errclass.Class, addrs []string, only ...string) *scen {
	for _, e := range s.o.Plan.Endpoints {
		if len(only) > 0 && !contains(only, e.Service) {
			continue
		}
		a := resolv.AgentAnswer{Name: e.Host, Order: resolv.OrderFilesDNS, Source: "dns", Server: r + ":53", Class: class}
		if r == "hosts" {
			a.Source, a.Server, a.Detail = "hosts", "", "/etc/hosts line 3"
		}
		if class == errclass.None {
			for _, x := range addrs {
				a.Addrs = append(a.Addrs, netip.MustParseAddr(svcAddr(x, e.Service)))
			}
		} else {
			a.Source = ""
		}
		s.o.AgentDNS = append(s.o.AgentDNS, AgentDNSObs{Service: e.Service, Host: e.Host, Answer: a})
	}
	return s
}

// net records the outcome of trying addr (per service) for each endpoint:
// "ok", "timeout", "refused", "untrusted", or "skew:N".
func (s *scen) net(addr string, outcome string, only ...string) *scen {
	for _, e := range s.o.Plan.Endpoints {
		if len(only) > 0 && !contains(only, e.Service) {
			continue
		}
		n := NetObs{Service: e.Service, Host: e.Host, Addr: netip.MustParseAddr(svcAddr(addr, e.Service)), Port: 443,
			Sources: []string{"agent"}}
		switch outcome {
		case "timeout":
			n.TCP = Stage{Class: errclass.Timeout, Detail: "dial tcp: i/o timeout", DurationMS: 2000}
		case "refused":
			n.TCP = Stage{Class: errclass.Refused, Detail: "connect: connection refused", DurationMS: 1}
		case "untrusted":
			n.TCP = Stage{OK: true, DurationMS: 1}
			n.TLS = &TLSStage{Stage: Stage{Class: errclass.TLSUntrusted, Detail: "x509: certificate signed by unknown authority"},
				Issuer: "CN=Corp TLS Inspection CA,O=Example Corp"}
		default:
			n.TCP = Stage{OK: true, DurationMS: 1}
			n.TLS = &TLSStage{Stage: Stage{OK: true}, Version: "TLS 1.3", Issuer: "CN=Amazon RSA 2048 M02,O=Amazon,C=US"}
			n.HTTP = &HTTPStage{Stage: Stage{OK: true}, Status: 400, Date: "Sun, 22 Nov 2026 10:00:00 GMT", ErrorType: "UnknownOperationException"}
			if len(outcome) > 5 && outcome[:5] == "skew:" {
				var v int64
				for _, c := range outcome[5:] {
					if c == '-' {
						continue
					}
					v = v*10 + int64(c-'0')
				}
				if outcome[5] == '-' {
					v = -v
				}
				n.HTTP.SkewSeconds = &v
			} else {
				zero := int64(0)
				n.HTTP.SkewSeconds = &zero
			}
		}
		s.o.Net = append(s.o.Net, n)
	}
	return s
}

// svcAddr maps a base address to a per-service one: "10.0.1.X" gives
// 10.0.1.11 for ssm, .12 for ssmmessages, and so on, so that each endpoint
// has its own addresses as in a real VPC.
func svcAddr(base, svc string) string {
	if len(base) < 2 || base[len(base)-1] != 'X' {
		return base
	}
	idx := map[string]string{"ssm": "11", "ssmmessages": "12", "ec2messages": "13", "s3": "14", "logs": "15", "kms": "16"}[svc]
	return base[:len(base)-1] + idx
}

// proxied gives the running agent an https_proxy with noProxy, and records
// each endpoint tried through it: "ok" or "refused" (the proxy answers 403
// to CONNECT).
func proxied(s *scen, noProxy, outcome string) *scen {
	s.o.Agent = &agent.Facts{Installed: true, Version: "3.3.1142.0", RunningChecked: true, Running: true, PIDs: []int{812},
		ProxyChecked: true, Proxy: &agent.ProxyEnv{Vars: []agent.ProxyVar{{Name: "https_proxy", Value: "http://10.0.9.20:3128"},
			{Name: "no_proxy", Value: noProxy}}, HTTPSProxy: "http://10.0.9.20:3128", NoProxy: noProxy}}
	for _, e := range s.o.Plan.Endpoints {
		p := ProxyObs{Service: e.Service, Host: e.Host, Proxy: "http://10.0.9.20:3128", Scheme: "http",
			Dial: Stage{OK: true, DurationMS: 1}}
		if outcome == "refused" {
			p.Connect = &HTTPStage{Stage: Stage{Class: errclass.HTTPStatus, Detail: "the proxy answered 403 Forbidden"}, Status: 403}
		} else {
			p.Connect = &HTTPStage{Stage: Stage{OK: true}, Status: 200}
			p.TLS = &TLSStage{Stage: Stage{OK: true}, Issuer: "CN=Amazon RSA 2048 M02,O=Amazon,C=US"}
			p.HTTP = &HTTPStage{Stage: Stage{OK: true}, Status: 400, ErrorType: "UnknownOperationException"}
		}
		s.o.Proxy = append(s.o.Proxy, p)
	}
	return s
}

// stubbed makes resolv.conf name the systemd-resolved stub, with the
// scenario's system resolvers as its upstreams.
func stubbed(s *scen) *scen {
	up := s.o.Resolv.Conf
	up.Path = resolv.ResolvedUpstreamConf
	s.o.Resolv.Upstream = up
	s.o.Resolv.Conf = &resolv.Conf{Path: "/etc/resolv.conf", Nameservers: []resolv.Nameserver{
		{Addr: netip.MustParseAddr("127.0.0.53"), Line: 1}}}
	return s
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func fx(comment string, s *scen, want ...wantFinding) fixture {
	return fixture{Comment: comment, Want: want, Observations: *s.o}
}

func w(id ID, sev Severity) wantFinding { return wantFinding{ID: id, Severity: sev} }

// netScenarios are the DNS x network situations of the lab's scenarios,
// and their healthy counterparts.
func netScenarios() map[string]fixture {
	none := errclass.None
	vpce := []string{"10.0.1.X"}
	pub := []string{"52.119.0.X"}
	return map[string]fixture{
		"healthy-vpc-endpoints": fx("Interface endpoints with private DNS; the host asks the VPC resolver; every endpoint answers.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("10.0.0.2", none, vpce).net("10.0.1.X", "ok")),
		"healthy-nat": fx("No endpoints; public addresses through a NAT gateway; all answer.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, pub).answer("169.254.169.253", none, pub).
				agent("10.0.0.2", none, pub).net("52.119.0.X", "ok")),
		"vpc-dns-resolution-off": fx("enableDnsSupport off; AmazonProvidedDNS silent at base+2 and 169.254.169.253.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", errclass.Timeout, nil).answer("169.254.169.253", errclass.Timeout, nil).
				agent("10.0.0.2", errclass.Timeout, nil),
			w(DNSVPCResolverSilent, SevFail)),
		"private-dns-not-in-effect": fx("Endpoints exist but names resolve public, and there is no NAT.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, pub).answer("169.254.169.253", none, pub).
				agent("10.0.0.2", none, pub).net("52.119.0.X", "timeout"),
			w(DNSEndpointResolvesPub, SevFail)),
		"endpoint-sg-no-443": fx("Names resolve to the interface endpoint, whose security group drops 443.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, []string{"10.0.4.X"}).answer("169.254.169.253", none, []string{"10.0.4.X"}).
				agent("10.0.0.2", none, []string{"10.0.4.X"}).net("10.0.4.X", "timeout"),
			w(NetEndpointBlocked, SevFail)),
		"private-dns-no-subnet": fx("Private DNS on, no subnet selected: NODATA.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", errclass.NoData, nil).answer("169.254.169.253", errclass.NoData, nil).
				agent("10.0.0.2", errclass.NoData, nil),
			w(DNSEndpointNoAddress, SevFail)),
		"domain-joined-public": fx("The AD DNS server does not forward to the VPC; it answers public addresses, there is no NAT.",
			newScen([]string{"10.0.9.9"}, "10.0.0.0/16").answer("10.0.9.9", none, []string{"203.0.113.X"}).
				answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("10.0.9.9", none, []string{"203.0.113.X"}).net("203.0.113.X", "timeout").net("10.0.1.X", "ok"),
			w(DNSResolverBypassesVPC, SevFail)),
		"domain-joined-nat-works": fx("AD DNS answers public, NAT still carries it: fragile, warn.",
			newScen([]string{"10.0.9.9"}, "10.0.0.0/16").answer("10.0.9.9", none, []string{"203.0.113.X"}).
				answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("10.0.9.9", none, []string{"203.0.113.X"}).net("203.0.113.X", "ok").net("10.0.1.X", "ok"),
			w(DNSResolverBypassesVPC, SevWarn)),
		"hosts-stale": fx("/etc/hosts pins the names to an old endpoint address.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("hosts", none, []string{"10.0.7.X"}).net("10.0.7.X", "timeout").net("10.0.1.X", "ok"),
			w(DNSHostsStale, SevFail)),
		"hosts-override": fx("/etc/hosts pins the names to the right addresses.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("hosts", none, vpce).net("10.0.1.X", "ok"),
			w(DNSHostsOverride, SevWarn)),
		"second-nameserver-silent": fx("resolv.conf lists a dead nameserver next to the VPC resolver.",
			newScen([]string{"10.0.0.2", "10.0.8.8"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("10.0.8.8", errclass.Timeout, nil).
				answer("169.254.169.253", none, vpce).agent("10.0.0.2", none, vpce).net("10.0.1.X", "ok"),
			w(DNSNameserverUnresponsive, SevWarn)),
		"connection-refused": fx("A local REJECT rule resets 443.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("10.0.0.2", none, vpce).net("10.0.1.X", "refused"),
			w(NetConnectionRefused, SevFail)),
		"tls-inspection": fx("A TLS-inspecting firewall presents its own CA.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, pub).answer("169.254.169.253", none, pub).
				agent("10.0.0.2", none, pub).net("52.119.0.X", "untrusted"),
			w(NetTLSFailed, SevFail)),
		"clock-skew-10min": fx("The endpoints' Date is 10 minutes behind the host.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("10.0.0.2", none, vpce).net("10.0.1.X", "skew:600"),
			w(NetClockSkew, SevFail)),
		"clock-skew-1min": fx("One minute off: warn.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("10.0.0.2", none, vpce).net("10.0.1.X", "skew:-60"),
			w(NetClockSkew, SevWarn)),
		"optional-s3-blocked": fx("Sessions work, but the s3 endpoint cannot be reached.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("10.0.0.2", none, vpce).net("10.0.1.X", "ok", "ssm", "ssmmessages", "ec2messages", "logs", "kms").
				net("10.0.1.X", "timeout", "s3"),
			w(NetOptionalEndpointUnreach, SevWarn)),
		"stub-resolver": fx("systemd-resolved stub: resolv.conf names 127.0.0.53, the upstream is the VPC resolver; healthy.",
			stubbed(newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("127.0.0.53", none, vpce).net("10.0.1.X", "ok")),
			w(DNSStubResolver, SevInfo)),
		"proxy-works": fx("The only way out is the agent's proxy, and it carries every endpoint; direct dials time out, which is not the agent's path.",
			proxied(newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, pub).answer("169.254.169.253", none, pub).
				agent("10.0.0.2", none, pub).net("52.119.0.X", "timeout"), "localhost,169.254.169.254", "ok")),
		"proxy-refuses": fx("The agent's proxy refuses CONNECT to the endpoints.",
			proxied(newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, pub).answer("169.254.169.253", none, pub).
				agent("10.0.0.2", none, pub).net("52.119.0.X", "timeout"), "localhost,169.254.169.254", "refused"),
			w(NetProxyFailed, SevFail)),
		"proxy-imds-not-excluded": fx("The proxy works, but no_proxy does not cover 169.254.169.254.",
			proxied(newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, pub).answer("169.254.169.253", none, pub).
				agent("10.0.0.2", none, pub).net("52.119.0.X", "timeout"), "localhost,127.0.0.1", "ok"),
			w(NetProxyIMDSNotExcluded, SevWarn)),
		"hybrid-no-route": fx("Not in a VPC (no CIDRs): public addresses time out.",
			newScen([]string{"192.0.2.53"}).answer("192.0.2.53", none, pub).agent("192.0.2.53", none, pub).net("52.119.0.X", "timeout"),
			w(NetNoRoute, SevFail)),
	}
}
