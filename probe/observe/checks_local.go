package observe

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/inotify"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/routes"
	"github.com/ssm-probe/ssm-probe/probe/users"
)

// usersCheck reads the local user database and whether the agent could
// create ssm-user (package users), for the Run As rules. What could not be
// read makes it warn, so "not checked" never reads as healthy.
func usersCheck(cfg *Config) Check {
	return Check{
		Name:   obs.CheckUsers,
		Target: users.PasswdPath,
		Run: func(ctx context.Context) Outcome {
			f := users.Inspect(ctx, cfg.Root)
			out := Outcome{Status: obs.StatusPass, seen: obs.Observations{Users: f}}
			var gaps []string
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

// liveOnly is a non-required skip for a check that needs the live host.
func liveOnly(name obs.CheckName, target string) Check {
	return Check{Name: name, Target: target, Run: func(context.Context) Outcome {
		return Outcome{Status: obs.StatusSkip, Reason: offlineReason}
	}}
}

// liveOutcome is the outcome of a live facts check that observed seen:
// skip when it could not look, warn when some files could not be read or
// gap says what was not seen, else pass.
func liveOutcome(seen obs.Observations, checked bool, reason string, problems []string, gap string) Outcome {
	out := Outcome{Status: obs.StatusPass, seen: seen}
	switch {
	case !checked:
		out.Status, out.Reason = obs.StatusSkip, reason
	case len(problems) > 0:
		out.Status, out.Reason = obs.StatusWarn, strings.Join(problems, "; ")
	case gap != "":
		out.Status, out.Reason = obs.StatusWarn, gap
	}
	return out
}

// procPath returns the machine path of p under the process table.
func procPath(cfg *Config, p string) string {
	if cfg.ProcDir != "" {
		return filepath.Join(cfg.ProcDir, p)
	}
	return filepath.Join("/proc", p)
}

// routesCheck reads the routes and addresses of both families (package
// routes), to tell an IPv6-only host and which interface takes an address
// the agent needs (net.local-route). Live only.
func routesCheck(cfg *Config) Check {
	target := "/proc/net/route, /proc/net/ipv6_route"
	if !cfg.Live || cfg.Offline {
		return liveOnly(obs.CheckRoutes, target)
	}
	return Check{
		Name:   obs.CheckRoutes,
		Target: target,
		Run: func(ctx context.Context) Outcome {
			f := routes.Read(ctx, procPath(cfg, "net"))
			return liveOutcome(obs.Observations{Routes: f}, f.Checked, f.Reason, f.Problems, "")
		},
	}
}

// inotifyCheck reads the inotify limits and how much of them the agent's
// user holds (package inotify). It needs the live process table: under an
// offline --root, /proc is this machine's, not the instance's.
func inotifyCheck(cfg *Config) Check {
	target := "/proc/sys/fs/inotify"
	if !cfg.Live || cfg.Offline {
		return liveOnly(obs.CheckInotify, target)
	}
	procDir := procPath(cfg, "")
	return Check{
		Name:   obs.CheckInotify,
		Target: target,
		Run: func(ctx context.Context) Outcome {
			f := inotify.Read(ctx, procDir)
			gap := ""
			if f.LowerBound() {
				gap = "the counts are lower bounds: " + strings.Join(f.Gaps(), "; ")
			}
			return liveOutcome(obs.Observations{Inotify: f}, f.Checked, f.Reason, f.Problems, gap)
		},
	}
}
