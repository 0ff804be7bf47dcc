package probe

import (
	"context"

	"github.com/ssm-probe/ssm-probe/probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/imds"
)

// imdsCheck asks the instance metadata service for the instance's identity:
// region, instance, VPC CIDRs, instance profile (package imds). Each HTTP
// exchange is bounded by cfg.Timeout, so a black-holed or hop-limited IMDS
// costs at most a few attempts, never the whole deadline.
func imdsCheck(cfg *Config) Check {
	return Check{
		Name:     "imds",
		Target:   cfg.IMDSEndpoint,
		Required: true,
		Run: func(ctx context.Context) Outcome {
			id := imds.Fetch(ctx, imds.Options{
				Endpoint:    cfg.IMDSEndpoint,
				Timeout:     cfg.Timeout,
				Now:         cfg.Now,
				DialContext: cfg.Dialer.DialContext,
			})
			out := Outcome{Status: StatusPass, Detail: id, save: func(o *Observations) { o.IMDS = id }}
			switch {
			case id.Failure == imds.FailNone:
			case !id.Reachable:
				out.Status, out.Class, out.Reason = StatusFail, id.Class, "no TCP connection: "+id.Detail
			default:
				out.Status, out.Class, out.Reason = StatusFail, id.Class, string(id.Failure)
				if out.Class == errclass.None {
					out.Class = errclass.Other
				}
				if id.Detail != "" {
					out.Reason += ": " + id.Detail
				}
			}
			return out
		},
	}
}

// skipped returns a required check that records why it did not run: the
// verdict is then unknown unless a fail finding decides it.
func skipped(name, target, reason string) Check {
	return Check{Name: name, Target: target, Required: true, Run: func(context.Context) Outcome {
		return Outcome{Status: StatusSkip, Reason: reason}
	}}
}
