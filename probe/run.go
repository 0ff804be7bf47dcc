package probe

import (
	"context"
	"time"
)

// offlineReason is the skip reason of every live check under an offline --root.
const offlineReason = "not checked: --root reads another machine's files; live checks need --live"

// factChecks lists the first phase: what the host's files and IMDS say.
// Checks are listed here explicitly, never registered from init.
func factChecks(cfg *Config) []Check {
	cs := []Check{resolvCheck(cfg)}
	if cfg.Live {
		cs = append(cs, imdsCheck(cfg))
	} else {
		cs = append(cs, skipped("imds", cfg.IMDSEndpoint, offlineReason))
	}
	return cs
}

// Run probes the host described by cfg and returns the diagnosed result. It
// returns within cfg.Deadline of its start even when a check blocks forever:
// checks still running at the deadline are recorded as timeouts.
func Run(ctx context.Context, cfg Config) *Result {
	cfg.normalize()
	start := cfg.Now()
	obs := &Observations{StartedAt: start, Root: cfg.Root, Live: cfg.Live, Offline: cfg.Offline, Region: cfg.Region}
	runCtx, cancel := context.WithDeadline(ctx, start.Add(cfg.Deadline-renderReserve))
	defer cancel()

	obs.Checks = append(obs.Checks, runChecks(runCtx, &cfg, obs, factChecks(&cfg))...)

	return Finish(obs, cfg.Now().Sub(start))
}

// Finish diagnoses obs and assembles the result; it touches nothing but obs.
// It is also the entry point for re-diagnosing saved observations.
func Finish(obs *Observations, took time.Duration) *Result {
	findings := Diagnose(obs)
	return &Result{
		StartedAt: obs.StartedAt,
		Duration:  took,
		Verdict:   verdict(findings, obs.Checks),
		Context:   contextOf(obs),
		Findings:  findings,
		Checks:    obs.Checks,
	}
}

// contextOf derives the report's context from the observations.
func contextOf(o *Observations) Context {
	c := Context{Mode: "hybrid", Region: o.Region, Domain: "amazonaws.com"}
	if o.Offline && !o.Live {
		c.Mode = "offline"
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
	return c
}
