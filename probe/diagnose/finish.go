package diagnose

import (
	"time"

	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// Finish diagnoses ob, the observations, and assembles the result; it
// touches nothing but ob. It is also the entry point for re-diagnosing
// saved observations.
func Finish(ob *obs.Observations, took time.Duration) *Result {
	cat := NewCatalog()
	in := newInput(&cat, ob)
	findings := diagnose(in)
	tl := timelineOf(ob)
	attachTimeline(findings, tl)
	return &Result{
		StartedAt: ob.StartedAt,
		Duration:  took,
		Verdict:   verdictOf(in, findings),
		Context:   contextOf(ob),
		Findings:  findings,
		Checks:    ob.Checks,
		Paths:     in.paths,
		Timeline:  tl,

		Observations: ob,
	}
}

// contextOf derives the report's context from the observations.
func contextOf(o *obs.Observations) Context {
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
		c.Resolvers.System = o.Resolv.SystemResolvers()
	}
	if a := o.Agent; a != nil {
		c.Agent.Version = a.Version
		if a.RunningChecked && bottlerocket(o) == nil { // on Bottlerocket the agent is not in this PID namespace
			running := a.Running
			c.Agent.Running = &running
		}
	}
	return c
}
