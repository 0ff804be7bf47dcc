// Package agentpath derives from the observations alone the per-endpoint
// views and the path the agent's own request takes (AgentPath), to which
// the rules and the verdict are held.
package agentpath

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// PathStage is one stage of the agent's way to an endpoint, in the order the
// agent goes through them: resolve the name (or hand it to the proxy), open
// TCP (or the proxy's CONNECT tunnel), complete TLS, get an HTTPS answer.
type PathStage string

// The stages of an agent path.
const (
	StageResolve PathStage = "resolve" // hosts file or DNS, the agent's way
	StageProxy   PathStage = "proxy"   // TCP to the agent's proxy and its answer to CONNECT
	StageTCP     PathStage = "tcp"     // TCP to the endpoint's address
	StageTLS     PathStage = "tls"     // the handshake and the chain
	StageHTTPS   PathStage = "https"   // an HTTP answer: the endpoint is reached
)

// PathState says whether the agent's path to an endpoint works.
type PathState string

// The path states. Unknown means a stage could not be checked: never ok.
const (
	PathOK      PathState = "ok"
	PathBroken  PathState = "broken"
	PathUnknown PathState = "unknown"
)

// AgentPath is what the agent itself would do to reach one planned
// endpoint, derived purely from the observations (AgentPaths): how its
// resolver gets the address, the addresses it would dial in order, and the
// last stage reached. The verdict is held to it: a required endpoint whose
// path is broken makes the run fail, whatever the rules said.
type AgentPath struct {
	Service  obs.Service `json:"service"`
	Host     string      `json:"host"`
	Required bool        `json:"required"`
	// Via is "direct", or the agent's proxy (scheme://host:port, never
	// credentials) when the agent sends this endpoint through it.
	Via string `json:"via"`
	// Source is how the name was turned into addresses: "hosts", "dns", or
	// "proxy" (the proxy resolves the name); empty when resolving failed.
	Source    string         `json:"source,omitempty"`
	HostsLine string         `json:"hosts_line,omitempty"` // "/etc/hosts line N" for Source hosts (on Windows, the hosts file's own path)
	Server    netip.AddrPort `json:"server,omitzero"`      // the nameserver that answered, or that failed
	FQDN      string         `json:"fqdn,omitempty"`       // the name that was answered, after search-list expansion
	Expanded  bool           `json:"expanded,omitempty"`   // FQDN is a search-list expansion, not the name itself
	Rcode     string         `json:"rcode,omitempty"`      // the failing reply's rcode, when one came
	// Adapter is, on Windows, the adapter whose DNS server answered, or
	// "NRPT rule KEY" when a rule's server did.
	Adapter string `json:"adapter,omitempty"`
	// Addrs are the addresses the agent would dial, in the order it dials
	// them, with what each reached.
	Addrs []PathAddr `json:"addrs,omitempty"`
	// Dialed is the address whose TCP connection the agent's request would
	// use: the first in order that connects. Go's dialer moves on to the next
	// address only when TCP fails; a TLS or HTTP failure ends the request.
	Dialed  netip.Addr     `json:"dialed,omitzero"`
	State   PathState      `json:"state"`
	Reached PathStage      `json:"reached,omitempty"` // the last stage that succeeded
	Failed  PathStage      `json:"failed,omitempty"`  // the stage that broke, or could not be checked
	Class   errclass.Class `json:"class,omitempty"`   // why it broke
	Detail  string         `json:"detail,omitempty"`  // the raw detail of the break
}

// PathAddr is one address of an agent path and how far it got.
type PathAddr struct {
	Addr    netip.Addr     `json:"addr"`
	Checked bool           `json:"checked"`           // a network check of it finished
	Reached PathStage      `json:"reached,omitempty"` // the last stage that succeeded
	Failed  PathStage      `json:"failed,omitempty"`
	Class   errclass.Class `json:"class,omitempty"`
	Detail  string         `json:"detail,omitempty"`
}

// OK reports whether the path reaches HTTPS.
func (p *AgentPath) OK() bool { return p.State == PathOK }

// SearchExpanded reports whether the agent's resolver answered a
// search-list expansion of the name, not the name itself (judged by
// dns.search-list-hijack, not by the other rules).
func (p *AgentPath) SearchExpanded() bool { return p.Source == "dns" && p.Expanded }

// RcodeFailed reports whether resolving broke on a reply with an error
// rcode: SERVFAIL, REFUSED, NOTIMP, FORMERR (judged by dns.resolver-error).
func (p *AgentPath) RcodeFailed() bool {
	return p.State == PathBroken && p.Failed == StageResolve && RcodeError(p.Class, p.Rcode)
}

// SilentFailed reports whether resolving broke with no usable reply at all
// (judged by dns.nameserver-unresponsive, never as a bypass).
func (p *AgentPath) SilentFailed() bool {
	return p.State == PathBroken && p.Failed == StageResolve && SilentClass(p.Class, p.Rcode)
}

// AgentPaths derives the agent path of every planned endpoint, required and
// optional, in plan order, from o and its views vs (Views(o)). It reads
// nothing else. A run without live checks, or without a plan, has no paths:
// the skipped checks already say why.
func AgentPaths(o *obs.Observations, vs []View) []AgentPath {
	if o == nil || !o.Live || o.Plan == nil || o.Plan.Problem != "" {
		return nil
	}
	out := make([]AgentPath, 0, len(vs))
	for i := range vs {
		out = append(out, pathOf(o, &vs[i]))
	}
	return out
}

// pathOf follows one endpoint the agent's way.
func pathOf(o *obs.Observations, v *View) AgentPath {
	p := AgentPath{Service: v.Endpoint.Service, Host: v.Endpoint.Host, Required: v.Endpoint.Required, Via: "direct"}
	if obs.AgentProxies(o, v.Endpoint.Host) {
		return proxyPath(p, v)
	}
	if !resolveStep(&p, v, whyNoStandIn(o, v.Endpoint.Host)) {
		return windowsAdapter(o, p)
	}
	p = windowsAdapter(o, p)
	p.Reached = StageResolve
	for _, a := range p.Addrs {
		if !a.Checked {
			return p.unknown(StageTCP, fmt.Sprintf("%s was not tried (the run's deadline or the address cap came first)", a.Addr))
		}
		if a.Failed == StageTCP {
			continue // Go's dialer tries the next address
		}
		p.Dialed = a.Addr
		p.Reached = a.Reached
		if a.Failed != "" {
			return p.broken(a.Failed, a.Class, a.Detail)
		}
		p.State = PathOK
		return p
	}
	first := p.Addrs[0]
	return p.broken(StageTCP, first.Class, first.Detail)
}

// whyNoStandIn says why the first system resolver that answered may not
// stand in for an agent-view lookup that did not finish, or "" when it
// may: on Windows, an NRPT rule with servers sends the name elsewhere
// than the adapters' servers, which are the plan's system resolvers.
func whyNoStandIn(o *obs.Observations, host string) string {
	if o.Resolv == nil || o.Resolv.Windows == nil {
		return ""
	}
	if r := o.Resolv.Windows.Rule(host); r != nil && len(r.Servers) > 0 {
		return fmt.Sprintf("the agent-view lookup did not finish, and NRPT rule %s sends the name to %s, not to the adapters' servers",
			r.Key, obs.JoinAddrs(r.Servers))
	}
	return ""
}

// windowsAdapter names, on Windows, the adapter of the path's nameserver
// when the agent view did not (a failed lookup, or a stand-in).
func windowsAdapter(o *obs.Observations, p AgentPath) AgentPath {
	if p.Adapter == "" && p.Server.IsValid() && o.Resolv != nil && o.Resolv.Windows != nil {
		p.Adapter = o.Resolv.Windows.AdapterOf(p.Server.Addr())
	}
	return p
}

// resolveStep fills how the agent's resolver answers; it returns false when
// the path ends there (broken or unknown). noStandIn, when set, says why no
// system resolver may stand in for an unfinished agent view.
func resolveStep(p *AgentPath, v *View, noStandIn string) bool {
	var addrs []netip.Addr
	switch a := v.Agent; {
	case a != nil && a.Answer.Class == errclass.None:
		p.Source, addrs = a.Answer.Source, a.Answer.Addrs
		if p.Source == "hosts" {
			p.HostsLine = a.Answer.Detail
		} else {
			p.Server, p.FQDN, p.Adapter = a.Answer.Server, a.Answer.FQDN, a.Answer.Adapter
			p.Expanded = p.FQDN != "" && !strings.EqualFold(strings.TrimSuffix(p.FQDN, "."), v.Endpoint.Host)
		}
	case a != nil && a.Answer.Class == errclass.Canceled:
		*p = p.unknown(StageResolve, "the agent-view lookup was cancelled")
		return false
	case a != nil && a.Answer.Unchecked:
		*p = p.unknown(StageResolve, a.Answer.Detail)
		return false
	case a != nil:
		q := failingQuery(&a.Answer)
		if q != nil {
			p.Server, p.Rcode, p.FQDN = q.Server, q.Rcode, q.Name
		}
		*p = p.broken(StageResolve, a.Answer.Class, a.Answer.Detail)
		return false
	case noStandIn != "":
		*p = p.unknown(StageResolve, noStandIn)
		return false
	default:
		// No agent-view lookup finished: the first system resolver that
		// answered stands in, as the agent asks it first (on Windows the
		// system resolvers are the adapters' servers, in the client's
		// order).
		for _, d := range v.System {
			if d.Class() == errclass.None {
				p.Source, p.Server, addrs = "dns", d.A.Server, d.Addrs()
				break
			}
		}
		if addrs == nil {
			*p = p.unknown(StageResolve, "the agent-view lookup did not finish")
			return false
		}
	}
	if len(addrs) == 0 {
		*p = p.broken(StageResolve, errclass.NoData, "no address")
		return false
	}
	for _, ad := range addrs {
		p.Addrs = append(p.Addrs, addrStep(v, ad))
	}
	return true
}

// failingQuery returns the exchange that decided a failed lookup: the last
// one of the failing class, else the last one made.
func failingQuery(a *resolv.AgentAnswer) *resolv.Answer {
	for i := len(a.Queries) - 1; i >= 0; i-- {
		if a.Queries[i].Class == a.Class {
			return &a.Queries[i]
		}
	}
	if n := len(a.Queries); n > 0 {
		return &a.Queries[n-1]
	}
	return nil
}

// addrStep reads what the network checks saw on one address.
func addrStep(v *View, a netip.Addr) PathAddr {
	pa := PathAddr{Addr: a}
	n := v.Net[a]
	if n == nil {
		return pa
	}
	pa.Checked = true
	switch stage, class := n.Failed(); stage {
	case obs.NetTCP:
		pa.Failed, pa.Class, pa.Detail = StageTCP, class, n.TCP.Detail
	case obs.NetTLS:
		pa.Reached, pa.Failed, pa.Class, pa.Detail = StageTCP, StageTLS, class, n.TLS.Detail
	case obs.NetHTTP:
		pa.Reached, pa.Failed, pa.Class, pa.Detail = StageTLS, StageHTTPS, class, n.HTTP.Detail
	default:
		switch {
		case n.Reached():
			pa.Reached = StageHTTPS
		case n.TLS != nil && n.TLS.OK:
			pa.Reached, pa.Failed, pa.Checked = StageTLS, StageHTTPS, false // the request did not run
		default:
			pa.Reached, pa.Failed, pa.Checked = StageTCP, StageTLS, false
		}
	}
	return pa
}

// proxyPath follows an endpoint the agent sends through its proxy.
func proxyPath(p AgentPath, v *View) AgentPath {
	p.Source = "proxy"
	x := v.Proxy
	if x == nil {
		p.Via = "proxy"
		return p.unknown(StageProxy, "the check through the agent's proxy did not finish")
	}
	p.Via = x.Proxy
	if p.Via == "" {
		p.Via = "proxy"
	}
	stage, class, detail := x.Failed()
	switch stage {
	case obs.ProxyNone:
		p.Reached, p.State = StageHTTPS, PathOK
		return p
	case obs.ProxyDial, obs.ProxyConnect:
		return p.broken(StageProxy, class, detail)
	case obs.ProxyTLS:
		p.Reached = StageProxy
		return p.broken(StageTLS, class, detail)
	default:
		p.Reached = StageTLS
		return p.broken(StageHTTPS, class, detail)
	}
}

func (p AgentPath) broken(at PathStage, class errclass.Class, detail string) AgentPath {
	p.State, p.Failed, p.Class, p.Detail = PathBroken, at, class, detail
	if p.Class == errclass.None {
		p.Class = errclass.Other
	}
	return p
}

func (p AgentPath) unknown(at PathStage, detail string) AgentPath {
	p.State, p.Failed, p.Detail = PathUnknown, at, detail
	return p
}

// Nameserver is the address of the nameserver that answered or failed,
// without its port; "" when none did.
func (p *AgentPath) Nameserver() string {
	if !p.Server.IsValid() {
		return ""
	}
	return p.Server.Addr().String()
}

// adapterNote is " (ADAPTER)" for a Windows path whose adapter is known,
// else "".
func (p *AgentPath) adapterNote() string {
	if p.Adapter == "" {
		return ""
	}
	return " (" + p.Adapter + ")"
}

// Line is the path in one line for the text report:
// name -> source -> address -> stage reached.
func (p *AgentPath) Line() string {
	src := p.Source
	switch {
	case p.Source == "hosts":
		src = "hosts file"
		if p.HostsLine != "" {
			src = p.HostsLine
		}
	case p.Source == "dns" && p.Server.IsValid():
		src = "dns " + p.Nameserver() + p.adapterNote()
		if p.Expanded {
			src += " as " + p.FQDN
		}
	case p.Source == "proxy":
		src = "proxy " + p.Via
	case p.Source == "":
		src = "resolve"
		if p.Server.IsValid() {
			src += " via " + p.Nameserver() + p.adapterNote()
		}
	}
	addr := "-"
	switch {
	case p.Dialed.IsValid():
		addr = p.Dialed.String()
	case len(p.Addrs) > 0:
		addr = p.Addrs[0].Addr.String()
		if len(p.Addrs) > 1 {
			addr += fmt.Sprintf(" (+%d)", len(p.Addrs)-1)
		}
	case p.Source == "proxy":
		addr = "tunnel"
	}
	var end string
	switch p.State {
	case PathOK:
		end = "https ok"
	case PathBroken:
		end = fmt.Sprintf("%s failed (%s)", p.Failed, p.Class)
		if p.Failed == StageResolve {
			end = fmt.Sprintf("failed (%s)", p.Class)
			if p.Rcode != "" {
				end = fmt.Sprintf("failed (%s)", p.Rcode)
			}
		}
	default:
		end = fmt.Sprintf("%s not checked", p.Failed)
	}
	if p.Source == "" && p.Failed == StageResolve {
		return fmt.Sprintf("%s -> %s -> %s", p.Host, src, end) // no address to show
	}
	return fmt.Sprintf("%s -> %s -> %s -> %s", p.Host, src, addr, end)
}
