package probe

import (
	"net/netip"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// endpointView gathers, for one planned endpoint, everything the DNS and
// network checks observed about it. Diagnosis rules read views, not the raw
// observation lists.
type endpointView struct {
	e     Endpoint
	agent *AgentDNSObs // nil when the agent-view lookup did not finish
	sys   []*DNSObs    // answers of the system resolvers
	vpc   []*DNSObs    // answers of AmazonProvidedDNS
	net   map[netip.Addr]*NetObs
	proxy *ProxyObs // the agent reaches this endpoint through its proxy
}

// views builds one endpointView per planned endpoint, in plan order.
func views(o *Observations) []endpointView {
	if o.Plan == nil {
		return nil
	}
	var out []endpointView
	for _, e := range o.Plan.Endpoints {
		v := endpointView{e: e, net: map[netip.Addr]*NetObs{}}
		for i := range o.AgentDNS {
			if o.AgentDNS[i].Host == e.Host {
				v.agent = &o.AgentDNS[i]
			}
		}
		for i := range o.DNS {
			d := &o.DNS[i]
			if d.Host != e.Host {
				continue
			}
			if d.Has(RoleSystem) {
				v.sys = append(v.sys, d)
			}
			if d.Has(RoleVPC) {
				v.vpc = append(v.vpc, d)
			}
		}
		for i := range o.Proxy {
			if o.Proxy[i].Host == e.Host {
				v.proxy = &o.Proxy[i]
			}
		}
		for i := range o.Net {
			if o.Net[i].Host == e.Host {
				v.net[o.Net[i].Addr] = &o.Net[i]
			}
		}
		out = append(out, v)
	}
	return out
}

// agentAddrs returns the addresses the agent would dial: the agent view's
// when it finished, else the first system resolver that answered.
func (v *endpointView) agentAddrs() ([]netip.Addr, string) {
	if v.agent != nil && v.agent.Answer.Class == errclass.None {
		src := v.agent.Answer.Server
		if v.agent.Answer.Source == "hosts" {
			src = "/etc/hosts"
		}
		return v.agent.Answer.Addrs, src
	}
	for _, d := range v.sys {
		if d.Class() == errclass.None {
			return d.Addrs(), d.Resolver.String()
		}
	}
	return nil, ""
}

// fromHosts reports whether the agent's answer comes from the hosts file.
func (v *endpointView) fromHosts() bool {
	return v.agent != nil && v.agent.Answer.Source == "hosts" && v.agent.Answer.Class == errclass.None
}

// vpcAnswer returns the addresses AmazonProvidedDNS gave, and which
// resolver gave them; nil when none answered with addresses.
func (v *endpointView) vpcAnswer() ([]netip.Addr, *DNSObs) {
	for _, d := range v.vpc {
		if d.Class() == errclass.None {
			return d.Addrs(), d
		}
	}
	return nil, nil
}

// reached reports whether any of addrs answered over HTTPS.
func (v *endpointView) reached(addrs []netip.Addr) bool {
	for _, a := range addrs {
		if n := v.net[a]; n != nil && n.Reached() {
			return true
		}
	}
	return false
}

// tried reports whether any of addrs has a network observation.
func (v *endpointView) tried(addrs []netip.Addr) bool {
	for _, a := range addrs {
		if v.net[a] != nil {
			return true
		}
	}
	return false
}

// silent reports whether d got no usable DNS answer at all (timeout,
// refused, unreachable, or only replies that were not DNS answers to the
// question): the resolver did not speak. A reply with an error rcode
// (SERVFAIL, REFUSED, NOTIMP, FORMERR) is speech: dns.resolver-error.
func silent(d *DNSObs) bool {
	switch d.A.Class {
	case errclass.Timeout, errclass.Refused, errclass.Unreachable:
	case errclass.DNSError:
		if d.A.Rcode != "" {
			return false
		}
	default:
		return false
	}
	return d.Class() != errclass.None && d.Class() != errclass.NXDomain && d.Class() != errclass.NoData
}
