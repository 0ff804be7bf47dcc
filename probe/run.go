package probe

import (
	"context"
	"time"
)

// offlineReason is the skip reason of every live check under an offline --root.
const offlineReason = "not checked: needs the live instance (--root reads another machine's files); run the probe on the instance, or add --live from a host in the same subnet"

// factChecks lists the first phase: what the host's files and IMDS say.
// Checks are listed here explicitly, never registered from init.
func factChecks(cfg *Config) []Check {
	cs := []Check{resolvCheck(cfg), agentCheck(cfg), hostCheck(cfg), usersCheck(cfg)}
	cs = append(cs, inotifyCheck(cfg), routesCheck(cfg))
	if cfg.Live {
		cs = append(cs, imdsCheck(cfg))
	} else {
		cs = append(cs, skipped("imds", cfg.IMDSEndpoint, offlineReason))
	}
	return cs
}

// planChecks lists the second phase: DNS for every planned name.
func planChecks(cfg *Config, o *Observations) []Check {
	p := o.Plan
	cs := []Check{logsCheck(cfg)} // the logs need no network: read them meanwhile
	if a := o.Agent; cfg.Live && a != nil && a.Running && !a.ProxyChecked {
		cs = append(cs, agentEnvCheck(a))
	}
	switch {
	case !cfg.Live:
		return append(cs, skipped("dns", "endpoint names", offlineReason))
	case p.Problem != "":
		return append(cs, Check{Name: "plan", Target: "endpoint names", Required: true, Run: func(context.Context) Outcome {
			return Outcome{Status: StatusSkip, Reason: "not checked: " + p.Problem}
		}})
	}
	return append(cs, dnsChecks(cfg, p, o.Resolv)...)
}

// Run probes the host described by cfg and returns the diagnosed result. It
// returns within cfg.Deadline of its start even when a check blocks forever:
// checks still running at the deadline are recorded as timeouts.
func Run(ctx context.Context, cfg Config) *Result {
	cfg.normalize()
	began := time.Now() // deadlines are real time; cfg.Now stamps the report
	obs := &Observations{StartedAt: cfg.Now(), Root: cfg.Root, Live: cfg.Live, Offline: cfg.Offline, Region: cfg.Region}
	runCtx, cancel := context.WithDeadline(ctx, began.Add(cfg.Deadline-renderReserve))
	defer cancel()

	// Phase 1: the host's files and IMDS.
	obs.Checks = append(obs.Checks, runChecks(runCtx, &cfg, obs, factChecks(&cfg))...)
	// Phase 2: the plan, then every name asked of every resolver.
	obs.Plan = buildPlan(&cfg, obs)
	obs.Checks = append(obs.Checks, runChecks(runCtx, &cfg, obs, planChecks(&cfg, obs))...)
	// Phase 3: every address any resolver returned, through TCP, TLS, HTTPS.
	if cfg.Live && obs.Plan.Problem == "" {
		net := append(netChecks(&cfg, obs.Plan, obs), proxyChecks(&cfg, obs)...)
		net = append(net, prefsChecks(&cfg, obs)...)
		obs.Checks = append(obs.Checks, runChecks(runCtx, &cfg, obs, net)...)
	}
	return Finish(obs, time.Since(began))
}

// RunLogs analyses the agent's logs only (ssm-probe logs): no network, no
// other checks. Its findings are never fail, since nothing live confirms
// that a fault in the logs is still present.
func RunLogs(ctx context.Context, cfg Config) *Result {
	cfg.normalize()
	cfg.Live = false
	began := time.Now()
	obs := &Observations{StartedAt: cfg.Now(), Root: cfg.Root, Offline: cfg.Offline}
	runCtx, cancel := context.WithDeadline(ctx, began.Add(cfg.Deadline-renderReserve))
	defer cancel()
	obs.Checks = runChecks(runCtx, &cfg, obs, []Check{logsCheck(&cfg)})
	res := Finish(obs, time.Since(began))
	res.Context.Mode = "offline"
	return res
}

// Finish diagnoses obs and assembles the result; it touches nothing but obs.
// It is also the entry point for re-diagnosing saved observations.
func Finish(obs *Observations, took time.Duration) *Result {
	findings, paths := diagnose(obs)
	tl := timelineOf(obs)
	attachTimeline(findings, tl)
	return &Result{
		StartedAt: obs.StartedAt,
		Duration:  took,
		Verdict:   verdict(findings, obs.Checks, paths),
		Context:   contextOf(obs),
		Findings:  findings,
		Checks:    obs.Checks,
		Paths:     paths,
		Timeline:  tl,

		Observations: obs,
	}
}

// contextOf derives the report's context from the observations.
func contextOf(o *Observations) Context {
	c := Context{Mode: "hybrid", Region: o.Region, Domain: "amazonaws.com"}
	if o.Offline && !o.Live {
		c.Mode = "offline"
	}
	if p := o.Plan; p != nil {
		c.Region, c.Domain = p.Region, p.Domain
		for _, a := range p.VPC {
			c.Resolvers.VPC = append(c.Resolvers.VPC, a.String())
		}
	}
	if id := o.IMDS; id != nil && id.InstanceID != "" {
		c.Mode = "ec2"
		c.InstanceID = id.InstanceID
		c.VPCCIDRs = append(c.VPCCIDRs, id.VPCCIDRs...)
		if c.Region == "" {
			c.Region = id.Region
		}
		if id.Domain != "" {
			c.Domain = id.Domain
		}
	}
	if o.Resolv != nil {
		c.Resolvers.System = o.Resolv.systemResolvers()
	}
	if a := o.Agent; a != nil {
		c.Agent.Version = a.Version
		if a.RunningChecked {
			running := a.Running
			c.Agent.Running = &running
		}
	}
	return c
}
