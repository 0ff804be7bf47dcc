// Package probetest holds the test helpers that several probe packages'
// tests share: the scenario builder for observations (Scen) and identity
// fixtures. Only tests import it.
package probetest

import (
	"net/netip"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// Scen builds observations for one scenario in a VPC 10.0.0.0/16 (unless
// cidrs is emptied), region ap-northeast-1.
type Scen struct {
	O *obs.Observations
}

var (
	vpcBase2 = netip.MustParseAddr("10.0.0.2")
	linkDNS  = netip.MustParseAddr("169.254.169.253")
)

func NewScen(system []string, cidrs ...string) *Scen {
	o := &obs.Observations{Live: true}
	o.IMDS = &imds.Identity{Endpoint: "http://169.254.169.254", Reachable: true, Access: imds.AccessV2,
		Region: "ap-northeast-1", InstanceID: "i-0abc", VPCID: "vpc-0abc", VPCCIDRs: cidrs}
	conf := &resolv.Conf{Path: "/etc/resolv.conf"}
	for i, s := range system {
		conf.Nameservers = append(conf.Nameservers, resolv.Nameserver{Addr: netip.MustParseAddr(s), Line: i + 1})
	}
	o.Resolv = &obs.ResolvFacts{Conf: conf, Hosts: &resolv.Hosts{Path: "/etc/hosts"}}
	p := &obs.Plan{Region: "ap-northeast-1", RegionSource: "imds", Domain: "amazonaws.com", DomainSource: "partition"}
	for _, c := range cidrs {
		p.VPCCIDRs = append(p.VPCCIDRs, netip.MustParsePrefix(c))
	}
	for _, s := range system {
		p.System = append(p.System, netip.MustParseAddr(s))
	}
	if len(cidrs) > 0 {
		p.VPC = []netip.Addr{vpcBase2, linkDNS}
	}
	for _, e := range obs.Services() {
		e.Host = string(e.Service) + ".ap-northeast-1.amazonaws.com"
		p.Endpoints = append(p.Endpoints, e)
	}
	o.Plan = p
	return &Scen{O: o}
}

// Answer records resolver r's answer for every endpoint (or only those in
// only): addresses, or a class (nodata, nxdomain, timeout).
func (s *Scen) Answer(r string, class errclass.Class, addrs []string, only ...string) *Scen {
	ra := netip.MustParseAddr(r)
	var roles []string
	for _, a := range s.O.Plan.System {
		if a == ra {
			roles = append(roles, obs.RoleSystem)
		}
	}
	for _, a := range s.O.Plan.VPC {
		if a == ra {
			roles = append(roles, obs.RoleVPC)
		}
	}
	for _, e := range s.O.Plan.Endpoints {
		if len(only) > 0 && !contains(only, string(e.Service)) {
			continue
		}
		d := obs.DNSObs{Service: e.Service, Host: e.Host, Resolver: ra, Roles: roles}
		d.A = resolv.Answer{Server: netip.MustParseAddrPort(r + ":53"), Name: e.Host + ".", Type: "A", Class: class, Attempts: 1}
		d.AAAA = resolv.Answer{Server: netip.MustParseAddrPort(r + ":53"), Name: e.Host + ".", Type: "AAAA", Class: class, Attempts: 1}
		if class == errclass.None {
			d.A.Rcode = "NOERROR"
			d.AAAA.Class = errclass.NoData
			for _, a := range addrs {
				d.A.Addrs = append(d.A.Addrs, netip.MustParseAddr(svcAddr(a, string(e.Service))))
			}
		}
		s.O.DNS = append(s.O.DNS, d)
	}
	return s
}

// Agent records the agent-view answer for every endpoint: from DNS server
// r, or from the hosts file when r is "hosts".
func (s *Scen) Agent(r string, class errclass.Class, addrs []string, only ...string) *Scen {
	for _, e := range s.O.Plan.Endpoints {
		if len(only) > 0 && !contains(only, string(e.Service)) {
			continue
		}
		a := resolv.AgentAnswer{Name: e.Host, Order: resolv.OrderFilesDNS, Source: "dns", Class: class}
		if r == "hosts" {
			a.Source, a.Detail = "hosts", "/etc/hosts line 3"
		} else {
			a.Server = netip.MustParseAddrPort(r + ":53")
		}
		if class == errclass.None {
			for _, x := range addrs {
				a.Addrs = append(a.Addrs, netip.MustParseAddr(svcAddr(x, string(e.Service))))
			}
		} else {
			a.Source = ""
		}
		s.O.AgentDNS = append(s.O.AgentDNS, obs.AgentDNSObs{Service: e.Service, Host: e.Host, Answer: a})
	}
	return s
}

// Net records the outcome of trying addr (per service) for each endpoint:
// "ok", "timeout", "refused", "untrusted", or "skew:N".
func (s *Scen) Net(addr string, outcome string, only ...string) *Scen {
	for _, e := range s.O.Plan.Endpoints {
		if len(only) > 0 && !contains(only, string(e.Service)) {
			continue
		}
		n := obs.NetObs{Service: e.Service, Host: e.Host, Addr: netip.MustParseAddr(svcAddr(addr, string(e.Service))), Port: 443,
			Sources: []string{"agent"}}
		switch outcome {
		case "timeout":
			n.TCP = obs.Stage{Class: errclass.Timeout, Detail: "dial tcp: i/o timeout", DurationMS: 2000}
		case "refused":
			n.TCP = obs.Stage{Class: errclass.Refused, Detail: "connect: connection refused", DurationMS: 1}
		case "untrusted":
			n.TCP = obs.Stage{OK: true, DurationMS: 1}
			n.TLS = &obs.TLSStage{Stage: obs.Stage{Class: errclass.TLSUntrusted, Detail: "x509: certificate signed by unknown authority"},
				Issuer: "CN=Corp TLS Inspection CA,O=Example Corp"}
		default:
			n.TCP = obs.Stage{OK: true, DurationMS: 1}
			n.TLS = &obs.TLSStage{Stage: obs.Stage{OK: true}, Version: "TLS 1.3", Issuer: "CN=Amazon RSA 2048 M02,O=Amazon,C=US"}
			n.HTTP = &obs.HTTPStage{Stage: obs.Stage{OK: true}, Status: 400, Date: "Sun, 22 Nov 2026 10:00:00 GMT", ErrorType: "UnknownOperationException"}
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
		s.O.Net = append(s.O.Net, n)
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

// Proxied gives the running agent an https_proxy with noProxy, and records
// each endpoint tried through it: "ok" or "refused" (the proxy answers 403
// to CONNECT).
func Proxied(s *Scen, noProxy, outcome string) *Scen {
	s.O.Agent = &agent.Facts{Installed: true, Version: "3.3.1142.0", RunningChecked: true, Running: true, PIDs: []int{812},
		ProxyChecked: true, Proxy: &agent.ProxyEnv{Vars: []agent.ProxyVar{{Name: "https_proxy", Value: "http://10.0.9.20:3128"},
			{Name: "no_proxy", Value: noProxy}}, HTTPSProxy: "http://10.0.9.20:3128", NoProxy: noProxy}}
	for _, e := range s.O.Plan.Endpoints {
		p := obs.ProxyObs{Service: e.Service, Host: e.Host, Proxy: "http://10.0.9.20:3128", Scheme: "http",
			Dial: obs.Stage{OK: true, DurationMS: 1}}
		if outcome == "refused" {
			p.Connect = &obs.HTTPStage{Stage: obs.Stage{Class: errclass.HTTPStatus, Detail: "the proxy answered 403 Forbidden"}, Status: 403}
		} else {
			p.Connect = &obs.HTTPStage{Stage: obs.Stage{OK: true}, Status: 200}
			p.TLS = &obs.TLSStage{Stage: obs.Stage{OK: true}, Issuer: "CN=Amazon RSA 2048 M02,O=Amazon,C=US"}
			p.HTTP = &obs.HTTPStage{Stage: obs.Stage{OK: true}, Status: 400, ErrorType: "UnknownOperationException"}
		}
		s.O.Proxy = append(s.O.Proxy, p)
	}
	return s
}

// Stubbed makes resolv.conf name the systemd-resolved stub, with the
// scenario's system resolvers as its upstreams.
func Stubbed(s *Scen) *Scen {
	up := s.O.Resolv.Conf
	up.Path = resolv.ResolvedUpstreamConf
	s.O.Resolv.Upstream = up
	s.O.Resolv.Conf = &resolv.Conf{Path: "/etc/resolv.conf", Nameservers: []resolv.Nameserver{
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

// AgentFail records a failed agent-view lookup for every endpoint (or only
// those in only): resolver r answered class with rcode.
func (s *Scen) AgentFail(r string, class errclass.Class, rcode string, only ...string) *Scen {
	for _, e := range s.O.Plan.Endpoints {
		if len(only) > 0 && !contains(only, string(e.Service)) {
			continue
		}
		q := resolv.Answer{Server: netip.MustParseAddrPort(r + ":53"), Name: e.Host + ".", Type: "A", Rcode: rcode, Class: class, Attempts: 1,
			Detail: "the server answered " + rcode}
		if rcode == "" {
			q.Detail = "read udp: " + string(class)
		}
		a := resolv.AgentAnswer{Name: e.Host, Order: resolv.OrderFilesDNS, Class: class, Detail: q.Detail, Queries: []resolv.Answer{q}}
		s.O.AgentDNS = append(s.O.AgentDNS, obs.AgentDNSObs{Service: e.Service, Host: e.Host, Answer: a})
	}
	return s
}

// Rcode records resolver r answering every endpoint with an error rcode.
func (s *Scen) Rcode(r string, class errclass.Class, rcode string) *Scen {
	s.Answer(r, class, nil)
	for i := range s.O.DNS {
		d := &s.O.DNS[i]
		if d.Resolver == netip.MustParseAddr(r) {
			d.A.Rcode, d.AAAA.Rcode = rcode, rcode
		}
	}
	return s
}

// Expanded records agent-view answers that came from the search domain
// domain: the agent asked HOST.domain. first and r answered addrs.
func (s *Scen) Expanded(r, domain string, ndots int, addrs []string) *Scen {
	s.O.Resolv.Conf.Search = []string{domain}
	s.O.Resolv.Conf.Options.Ndots = ndots
	s.Agent(r, errclass.None, addrs)
	for i := range s.O.AgentDNS {
		s.O.AgentDNS[i].Answer.FQDN = s.O.AgentDNS[i].Host + "." + domain + "."
	}
	return s
}

// NoNameservers empties resolv.conf (or removes it when missing).
func (s *Scen) NoNameservers(missing bool) *Scen {
	s.O.Resolv.Conf = &resolv.Conf{Path: "/etc/resolv.conf", Missing: missing,
		Options: resolv.Options{Ndots: 1, Timeout: 5, Attempts: 2}}
	s.O.Plan.System = nil
	return s
}

// TCPOther records a TCP failure of a class no rule knows.
func (s *Scen) TCPOther(addr string) *Scen {
	s.Net(addr, "refused")
	for i := range s.O.Net {
		s.O.Net[i].TCP = obs.Stage{Class: errclass.Other, Detail: "connect: protocol not available", DurationMS: 1}
	}
	return s
}
