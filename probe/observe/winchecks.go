package observe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
)

// The Windows agent's files (docs/AGENT-FACTS.md): its binary and
// configuration under %ProgramFiles%\Amazon\SSM, its logs under
// %ProgramData%\Amazon\SSM\Logs.
const (
	winAgentDir    = `\Amazon\SSM`
	winAgentExe    = `amazon-ssm-agent.exe`
	winAgentConfig = `amazon-ssm-agent.json`
	winLogDir      = `\Amazon\SSM\Logs`
)

// KindService is the install evidence of a Windows host: the service
// control manager knows the agent's service.
const KindService = "service"

// windowsFactChecks lists the first phase on a Windows host: the DNS
// client, the agent, the host (routes, service, proxy, clock, image) and
// IMDS as on Linux. The Linux-only checks (users, inotify, /proc routes)
// are not listed.
func windowsFactChecks(cfg *Config) []Check {
	w := newWinRead(cfg)
	cs := []Check{winResolvCheck(cfg, w), winAgentCheck(cfg, w), winHostCheck(cfg, w)}
	if cfg.Live {
		cs = append(cs, imdsCheck(cfg))
	} else {
		cs = append(cs, skipped(obs.CheckIMDS, cfg.IMDSEndpoint, offlineReason))
	}
	return cs
}

// winRead reads the Windows host's facts once per run, for the three
// checks that each report a part of them, in two parts: what the adapters
// tell (the DNS client and the routes), which the required DNS client
// check needs, and the rest (the service, the proxies, the time service,
// whose w32tm may take seconds), which the agent and host checks need. The
// first check to ask for a part reads it; the others wait for that read.
type winRead struct {
	cfg                *Config
	netOnce, hostOnce  sync.Once
	netFacts, hostPart *winhost.Facts
}

func newWinRead(cfg *Config) *winRead { return &winRead{cfg: cfg} }

// network is what the adapters tell.
func (w *winRead) network() *winhost.Facts {
	w.netOnce.Do(func() { w.netFacts = winhost.ReadNetwork(w.cfg.Windows) })
	return w.netFacts
}

// host is the rest, without the network part.
func (w *winRead) host(ctx context.Context) *winhost.Facts {
	w.hostOnce.Do(func() { w.hostPart = winhost.ReadHost(ctx, w.cfg.Windows, winhost.Options{Location: w.cfg.Location}) })
	return w.hostPart
}

// facts is every fact of the host.
func (w *winRead) facts(ctx context.Context) *winhost.Facts {
	return w.host(ctx).WithNetwork(w.network())
}

// winProgramFiles and winProgramData are the host's folders, with the
// Windows defaults when the variables are unset.
func winProgramFiles(src winhost.Source) string {
	return cmp.Or(src.Getenv("ProgramFiles"), `C:\Program Files`)
}

func winProgramData(src winhost.Source) string {
	return cmp.Or(src.Getenv("ProgramData"), `C:\ProgramData`)
}

// windowsLogDir is the agent's log directory on Windows.
func windowsLogDir(src winhost.Source) string { return winProgramData(src) + winLogDir }

// winResolvCheck reads the Windows DNS client's configuration (package
// winhost): the adapters' servers in the client's order, the NRPT, the
// suffixes and the hosts file. It is required, as resolv.conf is on Linux:
// without it no system resolver is known.
func winResolvCheck(cfg *Config, w *winRead) Check {
	return Check{
		Name:     obs.CheckResolvConf,
		Target:   "Windows DNS client",
		Required: true,
		Run: func(ctx context.Context) Outcome {
			h := w.network()
			c, err := h.DNS, h.AdaptersError()
			out := Outcome{Status: obs.StatusPass, seen: obs.Observations{Resolv: &obs.ResolvFacts{Windows: c, Hosts: c.Hosts}}}
			switch {
			case err != nil:
				out.Status, out.Class, out.Reason = obs.StatusSkip, winClass(err), "not checked: "+err.Error()
			case len(c.Adapters) == 0:
				out.Status, out.Class, out.Reason = obs.StatusFail, errclass.NotFound, "no network adapter has a DNS server"
			case len(c.Problems) > 0:
				out.Status, out.Class = obs.StatusWarn, errclass.Other
				out.Reason = fmt.Sprintf("%d problem(s): %s", len(c.Problems), c.Problems[0])
			}
			return out
		},
	}
}

// winClass is the error class of a Source's error.
func winClass(err error) errclass.Class {
	switch {
	case errors.Is(err, winhost.ErrAccessDenied):
		return errclass.Permission
	case errors.Is(err, winhost.ErrNotFound):
		return errclass.NotFound
	}
	return errclass.Of(err)
}

// winAgentCheck gathers the agent's facts on Windows: installed (the
// service, or the binary), its version (`amazon-ssm-agent.exe -version` on
// the live host, else the last startup line of its log), running (the
// service's state), its proxy (winhost's effective proxy, in the agent's
// order) and its configuration overrides (amazon-ssm-agent.json, with the
// Linux parser). Its status follows the Linux check's rules.
func winAgentCheck(cfg *Config, w *winRead) Check {
	return Check{
		Name:     obs.CheckAgent,
		Target:   winhost.ServiceName,
		Required: true,
		Run: func(ctx context.Context) Outcome {
			f := winAgentFacts(ctx, cfg, w.host(ctx))
			out := Outcome{Status: obs.StatusPass, seen: obs.Observations{Agent: f}}
			unread := obs.Unreadable(f.Problems)
			switch {
			case !f.Installed && len(unread) == 0 && f.RunningChecked:
				out.Status, out.Reason = obs.StatusFail, "not installed"
			case f.RunningChecked && f.Installed && !f.Running:
				out.Status, out.Reason = obs.StatusFail, "installed, not running"
			case !f.RunningChecked:
				out.Status, out.Class, out.Reason = obs.StatusSkip, errclass.Permission, f.RunningReason
			case len(unread) > 0:
				out.Status, out.Class = obs.StatusSkip, errclass.Permission
				out.Reason = "not checked: needs an administrator to read " + strings.Join(unread, ", ")
			}
			return out
		},
	}
}

// winAgentFacts reads the Windows agent's facts through cfg.Windows, with
// its service and proxy from the host's facts h.
func winAgentFacts(ctx context.Context, cfg *Config, h *winhost.Facts) *agent.Facts {
	src := cfg.Windows
	dir := winProgramFiles(src) + winAgentDir
	f := &agent.Facts{Root: cfg.Root}
	svc := h.Service
	f.RunningChecked, f.RunningReason = svc.Checked, svc.Reason
	f.Running = svc.Exists && svc.State == "running"
	if svc.Exists {
		f.Install = append(f.Install, agent.InstallEvidence{Kind: KindService, Path: winhost.ServiceName,
			Detail: fmt.Sprintf("state %s, start %s", svc.State, svc.StartType)})
	}
	bin := cmp.Or(serviceBinary(svc.BinaryPath), dir+`\`+winAgentExe)
	if _, _, err := src.ReadFile(bin, 1); err == nil {
		f.Install = append(f.Install, agent.InstallEvidence{Kind: agent.KindBinary, Path: bin})
	} else if !errors.Is(err, winhost.ErrNotFound) {
		f.Problems = append(f.Problems, rootfs.ProblemOf(bin, err))
	}
	f.Installed = len(f.Install) > 0

	// The version: -version on the live host, then the log's startup line.
	if f.Installed && cfg.Live && !cfg.Offline {
		vctx, cancel := context.WithTimeout(ctx, cmp.Or(cfg.Timeout, winhost.CommandTimeout))
		out, err := src.Run(vctx, bin, "-version")
		cancel()
		if v, ok := agent.VersionFromOutput(out); ok {
			f.Versions = append(f.Versions, agent.VersionEvidence{Source: agent.SourceExec, Version: v, Path: bin})
		} else if err != nil && !errors.Is(err, winhost.ErrNotFound) {
			f.Problems = append(f.Problems, rootfs.ProblemOf(bin, fmt.Errorf("-version: %w", err)))
		}
	}
	logPath := windowsLogDir(src) + `\` + "amazon-ssm-agent.log"
	if b, err := src.ReadTail(logPath, winhost.MaxLogTailBytes); err == nil {
		if ev, ok := agent.VersionFromLog(b); ok {
			ev.Path = logPath
			f.Versions = append(f.Versions, ev)
		}
	} else if !errors.Is(err, winhost.ErrNotFound) {
		f.Problems = append(f.Problems, rootfs.ProblemOf(logPath, err))
	}
	for _, ev := range f.Versions {
		if v, err := agent.ParseVersion(ev.Version); err == nil {
			f.Version, f.VersionSource = v.String(), ev.Source
			break
		}
	}

	p := h.Proxy
	f.ProxyChecked, f.ProxyReason, f.Proxy = p.Checked, p.Reason, p.AgentEnv()

	conf := dir + `\` + winAgentConfig
	switch b, trunc, err := src.ReadFile(conf, agent.MaxConfigBytes); {
	case errors.Is(err, winhost.ErrNotFound):
	case err != nil:
		f.Problems = append(f.Problems, rootfs.ProblemOf(conf, err))
	case trunc:
		f.Problems = append(f.Problems, rootfs.ProblemOf(conf, rootfs.ErrTooLarge))
	default:
		c, err := agent.ParseConfig(b)
		if err != nil {
			f.Problems = append(f.Problems, rootfs.Problem{Path: conf, Class: errclass.Malformed, Detail: err.Error()})
		}
		f.Config = c
	}
	return f
}

// serviceBinary is the agent's executable named by a service's command
// line, or "" when the line names another program (a wrapper, a copy under
// another name): the probe runs nothing but the agent's own binary. The
// path is the quoted one, or, unquoted, the text up to the first ".exe"
// (an unquoted "C:\Program Files\..." is not cut at its blank, which
// would name C:\Program).
func serviceBinary(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	exe := ""
	if rest, ok := strings.CutPrefix(cmd, `"`); ok {
		exe, _, _ = strings.Cut(rest, `"`)
	} else if i := strings.Index(strings.ToLower(cmd), ".exe"); i >= 0 {
		exe = cmd[:i+len(".exe")]
	}
	base := exe[strings.LastIndexAny(exe, `\/`)+1:]
	if !strings.EqualFold(base, winAgentExe) {
		return ""
	}
	return exe
}

// winHostCheck reads what the Windows host says beyond the DNS client
// (package winhost): its routes (also Observations.Routes), persistent
// routes, the agent's service, the proxies, the time service and the
// image state. What could not be read makes it warn; it is not required.
func winHostCheck(cfg *Config, wr *winRead) Check {
	src := cfg.Windows
	return Check{
		Name:   obs.CheckHost,
		Target: "Windows host",
		Run: func(ctx context.Context) Outcome {
			w := wr.facts(ctx)
			// The EC2 identity from the registry's SMBIOS strings, in the
			// host facts the Linux check fills from DMI.
			hf := &host.Facts{Root: cfg.Root, EC2: winhost.ReadEC2(src)}
			out := Outcome{Status: obs.StatusPass, seen: obs.Observations{Windows: w, Routes: w.Routes, Host: hf}}
			var gaps []string
			for _, g := range [][2]string{{"routes", w.Routes.Reason}, {"service", w.Service.Reason}, {"proxy", w.Proxy.Reason}, {"clock", w.Clock.Reason}, {"image", w.Image.Reason}} {
				if g[1] != "" {
					gaps = append(gaps, g[0]+": "+g[1])
				}
			}
			gaps = append(gaps, w.Problems...)
			if len(gaps) > 0 {
				out.Status, out.Reason = obs.StatusWarn, strings.Join(gaps, "; ")
			}
			return out
		},
	}
}
