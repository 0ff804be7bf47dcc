package probe

import (
	"context"
	"time"
)

// Run probes the host described by cfg and returns the diagnosed result. It
// returns within cfg.Deadline of its start even when a check blocks forever:
// checks still running at the deadline are recorded as timeouts (Observe).
func Run(ctx context.Context, cfg Config) *Result {
	began := time.Now()
	o := Observe(ctx, cfg)
	return Finish(o, time.Since(began))
}

// RunLogs analyses the agent's logs only (ssm-probe logs): no network, no
// other checks. Its findings are never fail, since nothing live confirms
// that a fault in the logs is still present.
func RunLogs(ctx context.Context, cfg Config) *Result {
	began := time.Now()
	o := ObserveLogs(ctx, cfg)
	res := Finish(o, time.Since(began))
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
