package probe

import (
	"fmt"
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
		diagnoseRegistration,
		diagnoseRunAs,
		diagnoseKMS,
		diagnoseInotify,
		diagnoseIPv6Only,
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

// ProbeIncomplete: a required check or agent path could not look.
const ProbeIncomplete ID = "probe.incomplete"

// probeEntries are the findings about the probe's own view (diagnose.go).
var probeEntries = []Entry{
	{ID: ProbeIncomplete, Severity: SevInfo,
		Title: "Some required checks could not run",
		Fix:   "Run the probe as root on the instance itself (sudo ssm-probe), with a longer --deadline if checks timed out."},
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
