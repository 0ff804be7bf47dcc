package observe

import (
	"context"
	"fmt"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// resolvCheck reads resolv.conf, and, when it names the systemd-resolved
// stub, the upstream servers the stub forwards to; then the hosts file and
// nsswitch.conf. File reads are capped and never block (package resolv).
func resolvCheck(cfg *Config) Check {
	return Check{
		Name:     obs.CheckResolvConf,
		Target:   cfg.ResolvConf,
		Required: true,
		Run: func(ctx context.Context) Outcome {
			// Read under the root, never out of it; paths in the record
			// are the host's own, not the --root mount.
			fsys := cfg.FS()
			f := &obs.ResolvFacts{
				Conf:     resolv.ReadConfIn(fsys, cfg.ResolvConf),
				Hosts:    resolv.ReadHostsIn(fsys, cfg.Hosts),
				NSSwitch: resolv.ReadNSSwitchIn(fsys, cfg.NSSwitch),
			}
			if f.Conf.IsStub() {
				f.Upstream = resolv.ReadConfIn(fsys, resolv.ResolvedUpstreamConf)
			}
			out := Outcome{Status: obs.StatusPass, seen: obs.Observations{Resolv: f}}
			switch c := f.Conf; {
			case c.Missing:
				out.Status, out.Class, out.Reason = obs.StatusFail, errclass.NotFound, cfg.ResolvConf+" does not exist"
			case c.Unreadable:
				// The file-level problem says why: permission, or not a
				// regular file (a FIFO, a device, a directory: malformed).
				out.Status, out.Class, out.Reason = obs.StatusFail, errclass.Permission, cfg.ResolvConf+" cannot be read"
				if len(c.Problems) > 0 && c.Problems[0].Line == 0 && c.Problems[0].Class != errclass.None {
					out.Class, out.Reason = c.Problems[0].Class, out.Reason+": "+c.Problems[0].Msg
				}
			case len(c.Nameservers) == 0:
				out.Status, out.Class, out.Reason = obs.StatusFail, errclass.Malformed, cfg.ResolvConf+" names no nameserver"
			case len(c.Problems) > 0:
				out.Status, out.Class = obs.StatusWarn, errclass.Malformed
				out.Reason = fmt.Sprintf("%d problem(s): %s", len(c.Problems), c.Problems[0].Msg)
			}
			return out
		},
	}
}
