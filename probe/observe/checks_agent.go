package observe

import (
	"context"
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// agentCheck gathers the agent's facts from files under the root and, on
// the live host, from /proc and `amazon-ssm-agent -version` (package agent).
func agentCheck(cfg *Config) Check {
	return Check{
		Name:     obs.CheckAgent,
		Target:   "amazon-ssm-agent",
		Required: true,
		Run: func(ctx context.Context) Outcome {
			opt := agent.Options{Root: cfg.Root, Timeout: cfg.Timeout, Exec: cfg.Live && !cfg.Offline}
			if cfg.ProcDir != "" {
				opt.ProcDir = cfg.ProcDir
			}
			f := agent.Inspect(ctx, opt)
			out := Outcome{Status: obs.StatusPass, seen: obs.Observations{Agent: f}}
			unread := obs.Unreadable(f.Problems)
			switch {
			case !f.Installed && len(unread) == 0:
				out.Status, out.Reason = obs.StatusFail, "not installed"
			case f.RunningChecked && !f.Running:
				out.Status, out.Reason = obs.StatusFail, "installed, not running"
			case len(unread) > 0:
				// What could not be read may hold the answer (an override,
				// the identity, the registration): never a pass, never a
				// warn that reads as an answer.
				out.Status, out.Class = obs.StatusSkip, errclass.Permission
				out.Reason = "not checked: needs root to read " + strings.Join(unread, ", ")
				if !f.RunningChecked && f.RunningReason != "" {
					// Why the process table said nothing (hidepid, an
					// agent that could not be verified) is said too.
					out.Reason += "; " + f.RunningReason
				}
			case !f.RunningChecked:
				// An offline root has no process table: the check did not
				// look, which is a skip, never an answer.
				out.Status, out.Reason = obs.StatusSkip, f.RunningReason
				if f.HidePID != "" {
					out.Class = errclass.Permission
				}
			default:
				out.Reason = "running"
			}
			// What the scan saw under the agent's names but did not count is
			// said here; an impostor beside the running agent makes a warn.
			var seen []string
			for _, p := range f.Excluded {
				seen = append(seen, p.Why())
				if p.Excluded == agent.ExcludedNotAgentBinary && out.Status == obs.StatusPass {
					out.Status = obs.StatusWarn
				}
			}
			if len(seen) > 0 {
				out.Reason += "; not counted: " + strings.Join(seen, "; ")
			} else if out.Status == obs.StatusPass {
				out.Reason = ""
			}
			return out
		},
	}
}

// hostCheck reads the host's EC2 identity (DMI, hypervisor), disk space and
// inodes, and clock (package host). What could not be read is named in the
// reason, and makes the status warn, so that "not checked" never reads as
// healthy; an absent /var/lib/amazon/ssm (no agent state yet) is not a gap.
func hostCheck(cfg *Config) Check {
	return Check{
		Name:   obs.CheckHost,
		Target: cfg.Root,
		Run: func(ctx context.Context) Outcome {
			f := host.Inspect(ctx, host.Options{Root: cfg.Root, Now: cfg.Now})
			out := Outcome{Status: obs.StatusPass, seen: obs.Observations{Host: f}}
			var gaps []string
			if f.EC2.Verdict == host.EC2Unknown {
				gaps = append(gaps, "EC2 identity "+f.EC2.Reason)
			}
			for _, d := range f.Disks {
				if !d.Checked && !d.Absent {
					gaps = append(gaps, d.Path+": "+d.Reason)
				}
			}
			for _, p := range f.Problems {
				gaps = append(gaps, fmt.Sprintf("%s: %s: %s", p.Path, p.Class, p.Detail))
			}
			if len(gaps) > 0 {
				out.Status, out.Reason = obs.StatusWarn, strings.Join(gaps, "; ")
			}
			return out
		},
	}
}

// agentEnvCheck records that the running agent's environment could not be
// read, which hides whether the agent goes direct or through a proxy. It
// looks at nothing new: it turns the agent facts' "not checked" into a
// required record of its own, so that a run without the privilege to read
// /proc/<pid>/environ ends unknown rather than ok. It is listed only when
// the agent runs and its environment was not read.
func agentEnvCheck(f *agent.Facts) Check {
	target := "/proc/<pid>/environ"
	if len(f.PIDs) > 0 {
		target = fmt.Sprintf("/proc/%d/environ", f.PIDs[0])
	}
	for _, ev := range f.Install {
		if ev.Kind == KindService {
			// Windows: the agent's environment is its service's
			// Environment value and the proxies it adds.
			target = "the AmazonSSMAgent service's Environment and proxy settings"
		}
	}
	return Check{
		Name:     obs.CheckAgentProxy,
		Target:   target,
		Required: true,
		Run: func(context.Context) Outcome {
			return Outcome{Status: obs.StatusSkip, Class: errclass.Permission,
				Reason: f.ProxyReason + "; whether the agent uses a proxy is unknown"}
		},
	}
}
