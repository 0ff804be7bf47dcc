package probe

import (
	"fmt"
	"strings"
)

// Diagnose turns observations into findings. It is pure: it reads only obs,
// touches nothing, and returns the same findings for the same input, sorted
// fail, warn, info, with downstream symptoms folded into their root causes
// (Catalog.settle), and held to the agent's own paths (verdict.go). Each
// family of rules lives in its own diagnose_*.go.
func Diagnose(obs *Observations) []Finding {
	fs, _ := diagnose(obs)
	return fs
}

// diagnose is Diagnose that also returns the agent paths it held the
// findings to.
func diagnose(obs *Observations) ([]Finding, []AgentPath) {
	cat := NewCatalog()
	paths := AgentPaths(obs)
	var fs []Finding
	for _, rule := range []func(*Catalog, *Observations) []Finding{
		diagnoseResolvConf,
		diagnoseIMDS,
		diagnoseIAM,
		diagnoseAgent,
		diagnoseHost,
		diagnoseDNS,
		diagnoseResolverError,
		diagnoseSearchListHijack,
		diagnoseNet,
		diagnoseProxy,
		diagnoseLogs,
		diagnosePrefs,
		diagnoseIncomplete,
	} {
		fs = append(fs, rule(&cat, obs)...)
	}
	heldToPaths(fs, paths)
	fs = cat.settle(fs)
	if extra := unexplained(&cat, fs, paths); len(extra) > 0 {
		fs = cat.settle(append(fs, extra...))
	}
	return fs, paths
}

// diagnoseIncomplete names the required checks that could not look, so that
// an unknown verdict always says why.
func diagnoseIncomplete(cat *Catalog, o *Observations) []Finding {
	var ev []string
	for _, c := range o.Checks {
		if c.Required && !c.Status.Checked() {
			s := fmt.Sprintf("%s %s: %s", c.Name, c.Target, c.Status)
			if c.Reason != "" {
				s += " (" + c.Reason + ")"
			}
			ev = append(ev, s)
		}
	}
	for _, p := range AgentPaths(o) {
		if p.Required && p.State == PathUnknown {
			ev = append(ev, fmt.Sprintf("agent path %s: %s", p.Line(), p.Detail))
		}
	}
	if len(ev) == 0 {
		return nil
	}
	return []Finding{cat.New(ProbeIncomplete,
		fmt.Sprintf("%d required check(s) or agent path(s) could not look, so their part of the picture is unknown; the probe does not count them as healthy.", len(ev)),
		ev)}
}

// diagnoseResolvConf reports the systemd-resolved stub (info) and the
// problems of resolv.conf that change how names resolve.
func diagnoseResolvConf(cat *Catalog, o *Observations) []Finding {
	f := o.Resolv
	if f == nil || f.Conf == nil {
		return nil
	}
	var out []Finding
	c := f.Conf
	if c.IsStub() {
		up := "none could be read"
		if f.Upstream != nil && len(f.Upstream.Nameservers) > 0 {
			up = strings.Join(f.systemResolvers(), ", ")
		}
		out = append(out, cat.New(DNSStubResolver,
			fmt.Sprintf("%s names the systemd-resolved stub; it forwards to the upstream servers in %s: %s. The probe asks those directly.",
				c.Path, upstreamPath(f), up), nil))
	}
	if ev := describeProblems(c); len(ev) > 0 || c.Missing || len(c.Nameservers) == 0 {
		summary := fmt.Sprintf("%s has %d problem(s).", c.Path, len(c.Problems))
		switch {
		case c.Missing:
			summary = c.Path + " does not exist: Go programs such as the SSM agent then ask a DNS server on the local host (127.0.0.1:53), which usually is not there."
		case len(c.Nameservers) == 0:
			summary = c.Path + " names no nameserver: Go programs such as the SSM agent then ask 127.0.0.1:53."
		}
		out = append(out, cat.New(HostResolvConf, summary, ev))
	}
	return out
}

func upstreamPath(f *ResolvFacts) string {
	if f.Upstream != nil {
		return f.Upstream.Path
	}
	return "the systemd-resolved upstream file"
}
