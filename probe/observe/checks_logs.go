package observe

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// DefaultSince is how far back the agent's logs are read (docs/INTERFACE.md).
const DefaultSince = 24 * time.Hour

// logsCheck reads the agent's rolled log files and its journal (or the
// explicit cfg.LogPaths) through package journal, and summarises what the
// pattern catalog recognises. It needs no network. It stops after budget;
// what it read by then is kept, and the reason says how far it got.
func logsCheck(cfg *Config, budget time.Duration) Check {
	target := "agent logs under " + cfg.Root
	if len(cfg.LogPaths) > 0 {
		target = strings.Join(cfg.LogPaths, ", ")
	}
	return Check{
		Name:   obs.CheckLogs,
		Target: target,
		// Required: logs the probe may not read (not root) could hold the
		// fault a root run finds, so such a run must end unknown, not ok.
		// Logs that do not exist are an answer: the check then passes.
		Required: true,
		Run: func(ctx context.Context) Outcome {
			opt := journal.Options{Root: cfg.Root, Paths: cfg.LogPaths, Journal: len(cfg.LogPaths) == 0 && !cfg.NoJournal,
				JournalctlPath: cfg.JournalctlPath, Location: logZone(cfg)}
			if cfg.Windows != nil {
				// The Windows agent logs under %ProgramData%; there is no journal.
				opt.LogDir, opt.Journal = windowsLogDir(cfg.Windows), false
			}
			if cfg.Since > 0 {
				opt.Since = cfg.Now().Add(-cfg.Since)
			}
			sctx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			r := journal.Scan(sctx, opt)
			outOfTime := sctx.Err() != nil && ctx.Err() == nil
			out := Outcome{Status: obs.StatusPass, seen: obs.Observations{Logs: r}}
			// The default locations missing is an answer (no agent log on this
			// host); a path the operator named that is missing, holds no
			// regular file or could not be read is not: nothing was looked at.
			explicit := len(cfg.LogPaths) > 0
			var read, other, denied, unread []string
			var unreadClass errclass.Class
			for _, s := range r.Sources {
				switch {
				case s.Status == journal.StatusRead, s.Status == journal.StatusPartial:
					read = append(read, s.Name)
				case s.Class == errclass.Permission:
					denied = append(denied, s.Name)
				case explicit && (s.Status == journal.StatusMissing || s.Status == journal.StatusError):
					if unreadClass == errclass.None {
						unreadClass = s.Class
					}
					unread = append(unread, s.Reason)
				case s.Status == journal.StatusMissing:
				default:
					other = append(other, fmt.Sprintf("%s %s: %s", s.Name, s.Status, s.Reason))
				}
			}
			out.Reason = fmt.Sprintf("read %d source(s), %d MB, %d kind(s) of event", len(read), r.BytesRead>>20, len(r.Events))
			var sysUnread []string
			if kl := r.Kills; kl != nil {
				// The system logs read for kills of the agent: one that
				// could not be read is said, not taken as "no kill".
				for _, s := range kl.Sources {
					switch s.Status {
					case journal.StatusRead, journal.StatusPartial, journal.StatusMissing:
					default:
						sysUnread = append(sysUnread, fmt.Sprintf("%s %s: %s", s.Name, s.Status, s.Reason))
					}
				}
				if n := len(kl.Kills); n > 0 {
					out.Reason += fmt.Sprintf("; %d kill line(s) of the agent in the system logs", n)
				}
			}
			if len(other) > 0 {
				out.Status = obs.StatusWarn
				out.Reason += "; " + strings.Join(other, "; ")
			}
			if r.BudgetExhausted {
				// Part of the logs was never looked at: say so, never a plain pass.
				out.Status = obs.StatusWarn
				out.Reason += "; byte budget exhausted: older log data was not read"
			}
			if outOfTime {
				// The scan's own budget ran out (the live checks go on).
				out.Status = obs.StatusWarn
				out.Reason += fmt.Sprintf("; time budget of %v ran out after %d of %d MB planned: the rest was not read",
					budget.Round(time.Millisecond), r.BytesRead>>20, r.BytesPlanned>>20)
			}
			switch {
			case len(denied) > 0:
				// Some of the agent's logs exist but may not be read: what
				// they say is unknown, whatever the others say.
				out.Status, out.Class = obs.StatusSkip, errclass.Permission
				out.Reason = "not checked: needs root to read " + strings.Join(denied, ", ") + " (permission denied)"
			case len(unread) > 0:
				// A path named on the command line was not looked at: what it
				// holds is unknown, whatever the other paths say.
				out.Status, out.Class = obs.StatusSkip, unreadClass
				out.Reason = "not checked: " + strings.Join(unread, "; ")
				if len(read) > 0 {
					out.Reason += fmt.Sprintf(" (%d other source(s) read)", len(read))
				}
			case len(read) == 0 && outOfTime:
				out.Status, out.Reason = obs.StatusSkip, fmt.Sprintf("not checked: the log scan's time budget of %v ran out before any log was read", budget.Round(time.Millisecond))
			case len(read) == 0 && len(other) > 0:
				out.Status, out.Reason = obs.StatusSkip, "not checked: no agent log could be read ("+strings.Join(other, "; ")+")"
			case len(read) == 0:
				out.Reason = "no agent log exists: nothing to match"
			}
			if len(sysUnread) > 0 {
				// The agent's own logs decide the check; a system log that
				// could not be read is said beside them.
				if out.Status == obs.StatusPass {
					out.Status = obs.StatusWarn
				}
				out.Reason += "; system logs not read for kills of the agent: " + strings.Join(sysUnread, "; ")
			}
			return out
		},
	}
}

// logZone is the zone of the agent's zone-less log timestamps: cfg.Location
// when set; else the zone the probed root is set to (its /etc/localtime, read
// under --root), since the agent runs under systemd without TZ and writes
// that zone's local time; else the probe's own zone. A volume from a host in
// Tokyo read on a UTC rescue host is so read in Tokyo time.
func logZone(cfg *Config) *time.Location {
	if cfg.Location != nil {
		return cfg.Location
	}
	if loc := host.Zone(rootfs.FS{Root: cfg.Root}); loc != nil {
		return loc
	}
	return time.Local
}
