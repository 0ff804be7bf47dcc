package probe

import (
	"context"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/host"
)

// agentCheck gathers the agent's facts from files under the root and, on
// the live host, from /proc and `amazon-ssm-agent -version` (package agent).
func agentCheck(cfg *Config) Check {
	return Check{
		Name:     "agent",
		Target:   "amazon-ssm-agent",
		Required: true,
		Run: func(ctx context.Context) Outcome {
			opt := agent.Options{Root: cfg.Root, Timeout: cfg.Timeout, Exec: cfg.Live && !cfg.Offline}
			if cfg.ProcDir != "" {
				opt.ProcDir = cfg.ProcDir
			}
			f := agent.Inspect(ctx, opt)
			out := Outcome{Status: StatusPass, Detail: f, save: func(o *Observations) { o.Agent = f }}
			switch {
			case !f.Installed:
				out.Status, out.Reason = StatusFail, "not installed"
			case f.RunningChecked && !f.Running:
				out.Status, out.Reason = StatusFail, "installed, not running"
			case !f.RunningChecked:
				out.Status, out.Reason = StatusWarn, f.RunningReason
			}
			return out
		},
	}
}

// hostCheck reads the host's EC2 identity (DMI, hypervisor), disk space and
// inodes, and clock (package host).
func hostCheck(cfg *Config) Check {
	return Check{
		Name:   "host",
		Target: cfg.Root,
		Run: func(ctx context.Context) Outcome {
			f := host.Inspect(ctx, host.Options{Root: cfg.Root, Now: cfg.Now})
			return Outcome{Status: StatusPass, Detail: f, save: func(o *Observations) { o.Host = f }}
		},
	}
}
