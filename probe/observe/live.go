package observe

import (
	"net/netip"
	"slices"
	"sync"

	"github.com/ssm-probe/ssm-probe/probe/obs"
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
//
// The phase is handed the facts and the plan as a value (facts), which no
// check writes; each follow-up reads what the checks before it observed as
// a value too (runner.seen), and finish hands the phase's observations on.
type live struct {
	r     *runner
	cfg   *Config
	p     *obs.Plan
	facts obs.Observations // phase 1 and the plan: read-only here

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

// startLive starts the network checks of cfg's plan on r. facts holds
// the facts of phase 1 and the plan.
func startLive(r *runner, cfg *Config, facts obs.Observations) *live {
	l := &live{r: r, cfg: cfg, p: facts.Plan, facts: facts, net: map[string]*batch{}}
	o := &l.facts
	l.pre = append(l.pre, r.start(planChecks(cfg, o), nil))
	if !cfg.Live || o.Plan.Problem != "" {
		return l
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.proxy = r.start(proxyChecks(cfg, o), nil)

	cache := newDNSCache(r.ctx, cfg)
	type group struct {
		e      obs.Endpoint
		checks []Check
	}
	var groups []group
	for _, e := range l.p.Endpoints {
		cs := dnsChecksFor(cfg, l.p, o.Resolv, e, cache)
		if slices.Contains(obs.PrefsServices(), e.Service) { // readPrefs uses its agent answer
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
			l.dns = append(l.dns, r.start([]Check{c}, func(obs.Observations) {
				l.answered(e)
				if agentView && slices.Contains(obs.PrefsServices(), e.Service) {
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
func planChecks(cfg *Config, o *obs.Observations) []Check {
	var cs []Check
	if a := o.Agent; cfg.Live && a != nil && a.Running && !a.ProxyChecked {
		cs = append(cs, agentEnvCheck(a))
	}
	switch p := o.Plan; {
	case !cfg.Live:
		cs = append(cs, skipped(obs.CheckDNS, "endpoint names", offlineReason))
	case p.Problem != "":
		cs = append(cs, planProblemCheck(p))
	}
	return cs
}

// answered starts the endpoint checks of every address of e that no check
// covers yet, right after one of e's DNS checks returned.
func (l *live) answered(e obs.Endpoint) {
	var todo []netTarget
	l.mu.Lock()
	o := l.sofar()
	l.mu.Unlock()
	ts := netTargets(&obs.Plan{Endpoints: []obs.Endpoint{e}}, &o)
	if obs.AgentProxies(&o, e.Host) {
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

// sofar returns the facts and what every check of the phase has observed
// so far, as a new value; l.mu is held (lock order: l.mu before the
// runner's).
func (l *live) sofar() obs.Observations {
	bs := append(append(slices.Clone(l.pre), l.dns...), l.proxy)
	for _, k := range l.netOrder {
		bs = append(bs, l.net[k])
	}
	o := l.facts
	o.Add(l.r.seen(bs...))
	return o
}

// startPrefs starts the preferences check; l.mu is held.
func (l *live) startPrefs() {
	o := l.sofar()
	l.prefs = l.r.start(prefsChecks(l.cfg, &o), nil)
}

// finish returns every record in the phased order, and what the phase
// observed in that order, after giving each endpoint observation every
// source of its address (an address may have been dialled on its first
// answer, before other resolvers returned it too). The sources are set
// once, in the value the runner keeps, which the endpoint check's record
// shows too. Call it after the runner's wait.
func (l *live) finish() ([]obs.CheckRecord, obs.Observations) {
	if l == nil {
		return nil, obs.Observations{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	order := append(slices.Clone(l.pre), l.dns...)
	if l.p != nil {
		all := l.sofar()
		sources := map[string][]string{}
		netDone := map[string]bool{}
		for _, t := range netTargets(l.p, &all) {
			k := netKey(t.e.Host, t.addr)
			sources[k] = t.sources
			if b := l.net[k]; b != nil && !netDone[k] {
				order = append(order, b)
				netDone[k] = true
			}
		}
		for _, k := range l.netOrder { // beyond the final order's cap
			if b := l.net[k]; b != nil && !netDone[k] {
				order = append(order, b)
				netDone[k] = true
			}
		}
		l.r.update(func(s *obs.Observations) {
			for i := range s.Net {
				if src, ok := sources[netKey(s.Net[i].Host, s.Net[i].Addr)]; ok {
					s.Net[i].Sources = src
				}
			}
		}, order...)
	}
	order = append(order, l.proxy, l.prefs)
	var out []obs.CheckRecord
	for _, b := range order {
		out = append(out, b.records()...)
	}
	return out, l.r.seen(order...)
}
