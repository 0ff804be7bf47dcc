package agentpath

import (
	"cmp"
	"net/netip"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// View gathers, for one planned endpoint, everything the DNS and
// network checks observed about it. Diagnosis rules read views, not the raw
// observation lists.
type View struct {
	Endpoint obs.Endpoint
	Agent    *obs.AgentDNSObs // nil when the agent-view lookup did not finish
	System   []*obs.DNSObs    // answers of the system resolvers
	VPC      []*obs.DNSObs    // answers of AmazonProvidedDNS
	Net      map[netip.Addr]*obs.NetObs
	Proxy    *obs.ProxyObs // the agent reaches this endpoint through its proxy
}

// Views builds one View per planned endpoint, in plan order. It indexes
// the records by host in one pass over each list, so its work grows with the
// number of records, not with records times endpoints: a replayed file with
// thousands of endpoints costs what it holds, once. Where a
// host has several agent-view or proxy records, the last one wins.
func Views(o *obs.Observations) []View {
	if o.Plan == nil {
		return nil
	}
	out := make([]View, len(o.Plan.Endpoints))
	at := make(map[string][]int, len(o.Plan.Endpoints)) // host -> views of that host
	for i, e := range o.Plan.Endpoints {
		out[i] = View{Endpoint: e, Net: map[netip.Addr]*obs.NetObs{}}
		at[e.Host] = append(at[e.Host], i)
	}
	for i := range o.AgentDNS {
		for _, j := range at[o.AgentDNS[i].Host] {
			out[j].Agent = &o.AgentDNS[i]
		}
	}
	for i := range o.DNS {
		d := &o.DNS[i]
		for _, j := range at[d.Host] {
			if d.Has(obs.RoleSystem) {
				out[j].System = append(out[j].System, d)
			}
			if d.Has(obs.RoleVPC) {
				out[j].VPC = append(out[j].VPC, d)
			}
		}
	}
	for i := range o.Proxy {
		for _, j := range at[o.Proxy[i].Host] {
			out[j].Proxy = &o.Proxy[i]
		}
	}
	for i := range o.Net {
		for _, j := range at[o.Net[i].Host] {
			out[j].Net[o.Net[i].Addr] = &o.Net[i]
		}
	}
	return out
}

// AgentAddrs returns the addresses the agent would dial: the agent view's
// when it finished, else the first system resolver that answered.
func (v *View) AgentAddrs() ([]netip.Addr, string) {
	if v.Agent != nil && v.Agent.Answer.Class == errclass.None {
		if v.Agent.Answer.Source == "hosts" {
			return v.Agent.Answer.Addrs, hostsFile(&v.Agent.Answer)
		}
		var src string
		if v.Agent.Answer.Server.IsValid() {
			src = v.Agent.Answer.Server.String()
		}
		return v.Agent.Answer.Addrs, src
	}
	for _, d := range v.System {
		if d.Class() == errclass.None {
			return d.Addrs(), d.Resolver.String()
		}
	}
	return nil, ""
}

// hostsFile names the hosts file that answered a: /etc/hosts on Linux; on
// Windows the file the answer names ("C:\Windows\System32\drivers\etc\hosts
// line 3" gives the path before " line").
func hostsFile(a *resolv.AgentAnswer) string {
	if a.Order == resolv.OrderWindows {
		return cmp.Or(a.HostsFile, "the hosts file")
	}
	return "/etc/hosts"
}

// FromHosts reports whether the agent's answer comes from the hosts file.
func (v *View) FromHosts() bool {
	return v.Agent != nil && v.Agent.Answer.Source == "hosts" && v.Agent.Answer.Class == errclass.None
}

// VPCAnswer returns the addresses AmazonProvidedDNS gave, and which
// resolver gave them; nil when none answered with addresses.
func (v *View) VPCAnswer() ([]netip.Addr, *obs.DNSObs) {
	for _, d := range v.VPC {
		if d.Class() == errclass.None {
			return d.Addrs(), d
		}
	}
	return nil, nil
}

// Reached reports whether any of addrs answered over HTTPS.
func (v *View) Reached(addrs []netip.Addr) bool {
	for _, a := range addrs {
		if n := v.Net[a]; n != nil && n.Reached() {
			return true
		}
	}
	return false
}

// Tried reports whether any of addrs has a network observation.
func (v *View) Tried(addrs []netip.Addr) bool {
	for _, a := range addrs {
		if v.Net[a] != nil {
			return true
		}
	}
	return false
}

// Silent reports whether d got no usable DNS answer at all: its A
// question got no reply that speaks (SilentClass), and d has neither
// addresses nor a NXDOMAIN or NODATA answer from its other question. A
// reply with an error rcode (SERVFAIL, REFUSED, NOTIMP, FORMERR) is speech:
// dns.resolver-error.
func Silent(d *obs.DNSObs) bool {
	if !SilentClass(d.A.Class, d.A.Rcode) {
		return false
	}
	return d.Class() != errclass.None && d.Class() != errclass.NXDomain && d.Class() != errclass.NoData
}

// rcodeClasses are the error classes of a DNS reply that carried an rcode
// other than NOERROR and NXDOMAIN: the resolver spoke, and refused or
// failed to resolve. A dns-error without an rcode is a reply that was not
// DNS at all, which counts as silence (views.go, silent).
func RcodeError(class errclass.Class, rcode string) bool {
	switch class {
	case errclass.ServFail, errclass.DNSRefused:
		return true
	case errclass.DNSError:
		return rcode != ""
	}
	return false
}

// SilentClass reports whether a failed lookup got no usable reply at all:
// a timeout, an unreachable or refusing server (ICMP), or replies that were
// not DNS answers (a dns-error without an rcode).
func SilentClass(c errclass.Class, rcode string) bool {
	switch c {
	case errclass.Timeout, errclass.Unreachable, errclass.Refused:
		return true
	case errclass.DNSError:
		return rcode == ""
	}
	return false
}
