package observe

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// dnsAttempts is how often a direct query is sent, hedged, inside one
// --timeout before a resolver is called silent: one lost UDP datagram must
// not make a finding (the second send goes at --timeout/2), and Go and
// glibc also default to 2 (resolv.conf(5)).
const dnsAttempts = 2

// agentLookupBudget caps the agent-view lookup, in --timeouts. The lookup
// never sleeps the agent's own timeouts (it computes them, see
// resolv.AgentAnswer.Wait) and reuses the direct answers, so it takes about
// one --timeout; only a silent server together with a search list whose
// names are not asked directly makes it ask in turn.
const agentLookupBudget = 2

// agentPrefetchShare sets when the agent view stops following the agent's
// order one exchange at a time and asks everything it may still need at
// once: after --timeout/20 (100 ms at the default), far above a healthy
// resolver's answer (under 10 ms in a VPC), so a healthy host sends no
// extra query, and early enough that a silent server costs one --timeout
// in all.
const agentPrefetchShare = 20

// ResolverRoles merges the system and VPC resolver lists, keeping order and
// giving an address asked in both roles one entry with both.
func ResolverRoles(p *obs.Plan) ([]netip.Addr, map[netip.Addr][]string) {
	var order []netip.Addr
	roles := map[netip.Addr][]string{}
	add := func(as []netip.Addr, role string) {
		for _, a := range as {
			if _, seen := roles[a]; !seen {
				order = append(order, a)
			}
			roles[a] = append(roles[a], role)
		}
	}
	add(p.System, obs.RoleSystem)
	add(p.VPC, obs.RoleVPC)
	return order, roles
}

// dnsCache answers each (server, name, type, transport) once per run: the
// direct checks and the agent view share it, so the agent view waits for
// no answer twice. The first asker sends the query; the others wait for it.
// Queries run under the run's context, never an asker's, so an asker that
// gives up (the agent view's prefetch, once its walk is over) cannot leave
// a cancelled answer for the others; each query ends within one --timeout.
type dnsCache struct {
	ctx     context.Context
	qopt    resolv.QueryOptions
	answers resolv.Answers
}

func newDNSCache(ctx context.Context, cfg *Config) *dnsCache {
	return &dnsCache{ctx: ctx, qopt: resolv.QueryOptions{Timeout: cfg.Timeout, Attempts: dnsAttempts, Dial: cfg.Dialer.DialContext}}
}

// ask returns the answer of server for name and qtype, asking it at most
// once per run.
func (c *dnsCache) ask(server netip.AddrPort, name string, qtype uint16, tcp bool) resolv.Answer {
	return c.answers.Get(server, name, qtype, tcp, func() resolv.Answer {
		q := c.qopt
		q.TCP = tcp
		return resolv.Query(c.ctx, server, name, qtype, q)
	})
}

// dnsChecksFor lists the checks of one endpoint name: one per resolver,
// then the agent view, which reuses their answers through cache.
func dnsChecksFor(cfg *Config, p *obs.Plan, f *obs.ResolvFacts, e obs.Endpoint, cache *dnsCache) []Check {
	var cs []Check
	addrs, roles := ResolverRoles(p)
	for _, r := range addrs {
		r, rl := r, roles[r]
		server := netip.AddrPortFrom(r, uint16(cfg.DNSPort))
		cs = append(cs, Check{
			Name:     obs.CheckDNS,
			Target:   fmt.Sprintf("%s via %s (%s)", e.Host, r, strings.Join(rl, "+")),
			Required: e.Required,
			Run: func(ctx context.Context) Outcome {
				d := &obs.DNSObs{Service: e.Service, Host: e.Host, Resolver: r, Roles: rl}
				var wg sync.WaitGroup
				wg.Add(2)
				go func() { defer wg.Done(); d.A = cache.ask(server, e.Host, dns.TypeA, false) }()
				go func() { defer wg.Done(); d.AAAA = cache.ask(server, e.Host, dns.TypeAAAA, false) }()
				wg.Wait()
				out := Outcome{Status: obs.StatusPass, Class: d.Class(), seen: obs.Observations{DNS: []obs.DNSObs{*d}}}
				switch out.Class {
				case errclass.None:
					out.Reason = obs.JoinAddrs(d.Addrs())
				case errclass.NoData, errclass.NXDomain:
					out.Status, out.Reason = obs.StatusFail, fmt.Sprintf("%s answered %s", r, strings.ToUpper(string(out.Class)))
				default:
					out.Status, out.Reason = obs.StatusFail, d.A.Detail
				}
				return out
			},
		})
	}
	cs = append(cs, Check{
		Name:     obs.CheckAgentDNS,
		Target:   e.Host + " as the agent resolves it",
		Required: e.Required,
		Run: func(ctx context.Context) Outcome {
			ctx, cancel := context.WithTimeout(ctx, agentLookupBudget*cfg.Timeout)
			defer cancel()
			var conf *resolv.Conf
			var hosts *resolv.Hosts
			var nss *resolv.NSSwitch
			if f != nil {
				// The agent asks what resolv.conf names, the stub included.
				conf, hosts, nss = f.Conf, f.Hosts, f.NSSwitch
			}
			useVC := conf != nil && conf.Options.UseVC
			opt := resolv.AgentOptions{
				Port: uint16(cfg.DNSPort), Timeout: cfg.Timeout, Dial: cfg.Dialer.DialContext,
				Prefetch: cfg.Timeout / agentPrefetchShare,
				Ask: func(_ context.Context, server netip.AddrPort, fqdn string, qtype uint16) resolv.Answer {
					return cache.ask(server, fqdn, qtype, useVC)
				}}
			var ans resolv.AgentAnswer
			if f != nil && f.Windows != nil {
				// On Windows the agent's lookups go through the Windows
				// DNS client (GetAddrInfoW), over UDP first.
				useVC = false
				ans = resolv.WinLookup(ctx, e.Host, f.Windows, opt)
			} else {
				ans = resolv.AgentLookup(ctx, e.Host, conf, hosts, nss, opt)
			}
			a := &obs.AgentDNSObs{Service: e.Service, Host: e.Host, Answer: ans}
			out := Outcome{Status: obs.StatusPass, Class: ans.Class, seen: obs.Observations{AgentDNS: []obs.AgentDNSObs{*a}}}
			switch {
			case ans.Unchecked:
				out.Status, out.Reason = obs.StatusSkip, ans.Detail
			case ans.Class != errclass.None:
				out.Status, out.Reason = obs.StatusFail, ans.Detail
			default:
				out.Reason = fmt.Sprintf("%s from %s", obs.JoinAddrs(ans.Addrs), ans.Source)
			}
			if s := ans.StallSummary(); s != "" {
				out.Reason += "; " + s
			}
			return out
		},
	})
	return cs
}
