package observe

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// imdsCheck asks the instance metadata service for the instance's identity:
// region, instance, VPC CIDRs, instance profile (package imds). Each HTTP
// exchange is bounded by cfg.Timeout, so a black-holed or hop-limited IMDS
// costs at most a few attempts, never the whole deadline.
func imdsCheck(cfg *Config) Check {
	return Check{
		Name:     obs.CheckIMDS,
		Target:   cfg.IMDSEndpoint,
		Required: true,
		Run: func(ctx context.Context) Outcome {
			id := imds.Fetch(ctx, imds.Options{
				Endpoint:    cfg.IMDSEndpoint,
				Timeout:     cfg.Timeout,
				Now:         cfg.Now,
				DialContext: cfg.Dialer.DialContext,
			})
			out := Outcome{Status: obs.StatusPass, seen: obs.Observations{IMDS: id}}
			stalled := stalledBodies(id)
			switch {
			case id.Failure == imds.FailNone && len(stalled) > 0:
				// Some answers came, others' bodies never did: not a pass.
				out.Status, out.Class = obs.StatusWarn, errclass.Timeout
				out.Reason = "the bodies of " + strings.Join(stalled, ", ") + " timed out after their headers"
			case id.Failure == imds.FailNone:
			case len(stalled) > 0 && id.Access == imds.AccessNone:
				out.Status, out.Class = obs.StatusFail, errclass.Timeout
				out.Reason = "IMDS answers with headers but its bodies time out (" + strings.Join(stalled, ", ") + ")"
			case !id.Reachable:
				out.Status, out.Class, out.Reason = obs.StatusFail, id.Class, "no TCP connection: "+id.Detail
			default:
				out.Status, out.Class, out.Reason = obs.StatusFail, id.Class, string(id.Failure)
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

// stalledBodies lists, in order, the metadata paths whose answer came with
// status 200 but whose body timed out or broke off.
func stalledBodies(id *imds.Identity) []string {
	var out []string
	for p, r := range id.Fields {
		if r.Status == http.StatusOK && r.Class != errclass.None && r.Class != errclass.Malformed {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// skipped returns a required check that records why it did not run: the
// verdict is then unknown unless a fail finding decides it.
func skipped(name obs.CheckName, target, reason string) Check {
	return Check{Name: name, Target: target, Required: true, Run: func(context.Context) Outcome {
		return Outcome{Status: obs.StatusSkip, Reason: reason}
	}}
}
