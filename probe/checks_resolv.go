package probe

import (
	"context"
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// resolvCheck reads resolv.conf, and, when it names the systemd-resolved
// stub, the upstream servers the stub forwards to; then the hosts file and
// nsswitch.conf. File reads are capped and never block (package resolv).
func resolvCheck(cfg *Config) Check {
	return Check{
		Name:     CheckResolvConf,
		Target:   cfg.ResolvConf,
		Required: true,
		Run: func(ctx context.Context) Outcome {
			// Read under the root, never out of it; paths in the record
			// are the host's own, not the --root mount.
			fsys := cfg.FS()
			f := &ResolvFacts{
				Conf:     resolv.ReadConfIn(fsys, cfg.ResolvConf),
				Hosts:    resolv.ReadHostsIn(fsys, cfg.Hosts),
				NSSwitch: resolv.ReadNSSwitchIn(fsys, cfg.NSSwitch),
			}
			if f.Conf.IsStub() {
				f.Upstream = resolv.ReadConfIn(fsys, resolv.ResolvedUpstreamConf)
			}
			out := Outcome{Status: StatusPass, Detail: f, seen: Observations{Resolv: f}}
			switch c := f.Conf; {
			case c.Missing:
				out.Status, out.Class, out.Reason = StatusFail, errclass.NotFound, cfg.ResolvConf+" does not exist"
			case c.Unreadable:
				// The file-level problem says why: permission, or not a
				// regular file (a FIFO, a device, a directory: malformed).
				out.Status, out.Class, out.Reason = StatusFail, errclass.Permission, cfg.ResolvConf+" cannot be read"
				if len(c.Problems) > 0 && c.Problems[0].Line == 0 && c.Problems[0].Class != errclass.None {
					out.Class, out.Reason = c.Problems[0].Class, out.Reason+": "+c.Problems[0].Msg
				}
			case len(c.Nameservers) == 0:
				out.Status, out.Class, out.Reason = StatusFail, errclass.Malformed, cfg.ResolvConf+" names no nameserver"
			case len(c.Problems) > 0:
				out.Status, out.Class = StatusWarn, errclass.Malformed
				out.Reason = fmt.Sprintf("%d problem(s): %s", len(c.Problems), c.Problems[0].Msg)
			}
			return out
		},
	}
}

// systemResolvers returns systemAddrs as strings.
func (f *ResolvFacts) systemResolvers() []string {
	var out []string
	for _, a := range f.systemAddrs() {
		out = append(out, a.String())
	}
	return out
}

// describeProblems renders resolv.conf problems as evidence lines.
func describeProblems(c *resolv.Conf) []string {
	var ev []string
	for _, p := range c.Problems {
		s := c.Path
		if p.Line > 0 {
			s += fmt.Sprintf(":%d", p.Line)
		}
		s += ": " + p.Msg
		if t := strings.TrimSpace(p.Text); t != "" && !strings.Contains(p.Msg, t) {
			s += fmt.Sprintf(" (%q)", t)
		}
		ev = append(ev, s)
	}
	return ev
}
