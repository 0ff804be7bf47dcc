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
		noServer := !c.Unreadable && (c.Missing || len(c.Nameservers) == 0)
		switch {
		case c.Missing:
			summary = c.Path + " does not exist: Go programs such as the SSM agent then ask a DNS server on the local host (127.0.0.1:53 and [::1]:53), which usually is not there."
		case c.Unreadable:
			summary = c.Path + " could not be read by the probe, so which nameservers the agent asks is unknown."
		case len(c.Nameservers) == 0:
			summary = c.Path + " names no nameserver (it is empty, or has no nameserver line): Go programs such as the SSM agent then ask 127.0.0.1:53 and [::1]:53, which usually is not there."
		}
		var broken []string
		if noServer {
			broken = brokenAtResolve(o, true)
		}
		var fixes []string
		if len(broken) > 0 {
			// The agent's own lookups fail for it: this is the root cause.
			summary += fmt.Sprintf(" The agent's lookups of %s fail because of it.", strings.Join(broken, ", "))
			for _, p := range AgentPaths(o) {
				if p.Required && p.State == PathBroken && p.Failed == StageResolve {
					ev = append(ev, "agent path: "+p.Line()+": "+p.Detail)
				}
			}
			fixes = append(fixes, fmt.Sprintf("Restore %s with the VPC resolver: echo 'nameserver %s' | sudo tee %s (or let DHCP rewrite it: sudo dhclient -r && sudo dhclient, or sudo systemctl restart systemd-networkd / NetworkManager); then sudo systemctl restart amazon-ssm-agent",
				c.Path, vpcResolverAddr(o), c.Path))
		}
		f := cat.New(HostResolvConf, summary, ev, fixes...)
		if len(broken) > 0 {
			f.Severity = SevFail
			f.about(broken...)
		}
		out = append(out, f)
	}
	return out
}

// vpcResolverAddr is the VPC resolver to name in a fix: the plan's first
// AmazonProvidedDNS address, else the link-local one every VPC has.
func vpcResolverAddr(o *Observations) string {
	if o.Plan != nil && len(o.Plan.VPC) > 0 {
		return o.Plan.VPC[0].String()
	}
	return "169.254.169.253"
}

func upstreamPath(f *ResolvFacts) string {
	if f.Upstream != nil {
		return f.Upstream.Path
	}
	return "the systemd-resolved upstream file"
}
