package probe

import (
	"net/netip"
	"sync"
)

// live is the network part of a run, started once the host's facts and
// the plan are known. Nothing in it waits for an unrelated stage:
//
//   - the proxy checks start at once: they CONNECT by name and need no
//     DNS answer;
//   - each endpoint name is asked of every resolver, and each of its
//     addresses is dialled (TCP, TLS, HTTPS) as soon as a resolver or the
//     agent view returns it, not when every name has its answers;
//   - the session preferences are read as soon as the agent view has
//     answered the names they use (ssm, s3, logs).
//
// The records come out in the order of the phased run: plan checks, DNS
// per endpoint, endpoint addresses in netTargets order, proxy, prefs.
type live struct {
	r   *runner
	cfg *Config
	p   *Plan

	mu        sync.Mutex // guards the fields below
	pre       []*batch
	dns       []*batch
	net       map[string]*batch // by netKey, for the final order
	netOrder  []string          // netKeys in the order their checks started
	proxy     *batch
	prefs     *batch
	prefsLeft int // agent-view checks the preferences wait for
}

// netKey names one endpoint address, as netTargets keys them.
func netKey(host string, a netip.Addr) string { return host + "|" + a.String() }

// prefsServices are the endpoint names whose agent answers the session
// preferences check uses (readPrefs).
var prefsServices = map[string]bool{"ssm": true, "s3": true, "logs": true}

// startLive starts the network checks of cfg's plan on r. The plan and
// the facts of phase 1 are in o, which r no longer writes to but which
// the checks started here do: every later read goes through r.read.
func startLive(r *runner, cfg *Config, o *Observations) *live {
	l := &live{r: r, cfg: cfg, p: o.Plan, net: map[string]*batch{}}
	l.pre = append(l.pre, r.start(planChecks(cfg, o), nil))
	if !cfg.Live || o.Plan.Problem != "" {
		return l
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.proxy = r.start(proxyChecks(cfg, o), nil)

	cache := newDNSCache(r.ctx, cfg)
	type group struct {
		e      Endpoint
		checks []Check
	}
	var groups []group
	for _, e := range l.p.Endpoints {
		cs := dnsChecksFor(cfg, l.p, o.Resolv, e, cache)
		if prefsServices[e.Service] {
			l.prefsLeft++ // its dns.agent check, the last of cs
		}
		groups = append(groups, group{e, cs})
	}
	if l.prefsLeft == 0 {
		l.startPrefs()
	}
	for _, g := range groups {
		e := g.e
		for i, c := range g.checks {
			agentView := i == len(g.checks)-1
			l.dns = append(l.dns, r.start([]Check{c}, func() {
				l.answered(e)
				if agentView && prefsServices[e.Service] {
					l.mu.Lock()
					l.prefsLeft--
					if l.prefsLeft == 0 {
						l.startPrefs()
					}
					l.mu.Unlock()
				}
			}))
		}
	}
	return l
}

// planChecks lists the checks that come before any name is asked: the
// agent's unread environment, and why no name is asked when none is.
func planChecks(cfg *Config, o *Observations) []Check {
	var cs []Check
	if a := o.Agent; cfg.Live && a != nil && a.Running && !a.ProxyChecked {
		cs = append(cs, agentEnvCheck(a))
	}
	switch p := o.Plan; {
	case !cfg.Live:
		cs = append(cs, skipped(CheckDNS, "endpoint names", offlineReason))
	case p.Problem != "":
		cs = append(cs, planProblemCheck(p))
	}
	return cs
}

// answered starts the endpoint checks of every address of e that no check
// covers yet, right after one of e's DNS checks returned.
func (l *live) answered(e Endpoint) {
	var ts, todo []netTarget
	proxied := false
	l.r.read(func(o *Observations) {
		ts = netTargets(&Plan{Endpoints: []Endpoint{e}}, o)
		proxied = agentProxies(o, e.Host)
	})
	if proxied {
		// The agent never dials this host itself: its calls go through the
		// proxy (the proxy check), and the proxy resolves the name.
		return
	}
	l.mu.Lock()
	for _, t := range ts {
		k := netKey(t.e.Host, t.addr)
		if _, ok := l.net[k]; !ok {
			l.net[k] = nil // claimed
			l.netOrder = append(l.netOrder, k)
			todo = append(todo, t)
		}
	}
	l.mu.Unlock()
	for _, t := range todo {
		b := l.r.start([]Check{netCheck(l.cfg, t)}, nil)
		l.mu.Lock()
		l.net[netKey(t.e.Host, t.addr)] = b
		l.mu.Unlock()
	}
}

// startPrefs starts the preferences check; l.mu is held (lock order:
// l.mu before the runner's).
func (l *live) startPrefs() {
	var cs []Check
	l.r.read(func(o *Observations) { cs = prefsChecks(l.cfg, o) })
	l.prefs = l.r.start(cs, nil)
}

// records returns every record in the phased order and gives each endpoint
// check every source of its address (an address may have been dialled on
// its first answer, before other resolvers returned it too). Call it after
// the runner's wait; o is then the run's final observations.
func (l *live) records(o *Observations) []CheckRecord {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []CheckRecord
	for _, b := range l.pre {
		out = append(out, b.records()...)
	}
	for _, b := range l.dns {
		out = append(out, b.records()...)
	}
	if l.p != nil {
		sources := map[string][]string{}
		for _, t := range netTargets(l.p, o) {
			k := netKey(t.e.Host, t.addr)
			sources[k] = t.sources
			if b := l.net[k]; b != nil {
				out = append(out, b.records()...)
				l.net[k] = nil
			}
		}
		for _, k := range l.netOrder { // beyond the final order's cap
			if b := l.net[k]; b != nil {
				out = append(out, b.records()...)
			}
		}
		for i := range o.Net {
			if s, ok := sources[netKey(o.Net[i].Host, o.Net[i].Addr)]; ok {
				o.Net[i].Sources = s
			}
		}
		for i := range out {
			if n, ok := out[i].Detail.(*NetObs); ok {
				if s, ok := sources[netKey(n.Host, n.Addr)]; ok {
					n.Sources = s
				}
			}
		}
	}
	out = append(out, l.proxy.records()...)
	out = append(out, l.prefs.records()...)
	return out
}
