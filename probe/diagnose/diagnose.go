// Package diagnose is the diagnosing layer: it turns obs.Observations into
// findings (its rules for the agent, host, logs, registration, KMS,
// inotify and run-as, and the reachability rules of diagnose/reach), and
// assembles the catalog, the timeline and the Result. It observes nothing.
package diagnose

import (
	"fmt"

	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// Diagnose turns observations into findings. It is pure: it reads only ob,
// the observations, touches nothing, and returns the same findings for the
// same input, sorted fail, warn, info, with downstream symptoms folded into
// their root causes (Catalog.Settle), and held to the agent's own paths
// (heldToPaths). Each family of rules lives in its own diagnose_*.go,
// here or in package
func Diagnose(ob *obs.Observations) []finding.Finding {
	fs, _ := diagnose(ob)
	return fs
}

// diagnose is Diagnose that also returns the agent paths it held the
// findings to.
func diagnose(ob *obs.Observations) ([]finding.Finding, []agentpath.AgentPath) {
	cat := NewCatalog()
	paths := agentpath.AgentPaths(ob)
	var fs []finding.Finding
	for _, rule := range []func(*finding.Catalog, *obs.Observations) []finding.Finding{
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
		fs = append(fs, rule(&cat, ob)...)
	}
	heldToPaths(fs, paths)
	fs = cat.Settle(fs)
	if extra := unexplained(&cat, fs, paths); len(extra) > 0 {
		fs = cat.Settle(append(fs, extra...))
	}
	return fs, paths
}

// ProbeIncomplete: a required check or agent path could not look.
const ProbeIncomplete finding.ID = "probe.incomplete"

// probeEntries are the findings about the probe's own view (diagnose.go).
var probeEntries = []finding.Entry{
	{ID: ProbeIncomplete, Severity: finding.SevInfo,
		Title: "Some required checks could not run",
		Fix:   "Run the probe as root on the instance itself (sudo ssm-probe), with a longer --deadline if checks timed out."},
}

// diagnoseIncomplete names the required checks that could not look, so that
// an unknown verdict always says why.
func diagnoseIncomplete(cat *finding.Catalog, o *obs.Observations) []finding.Finding {
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
	for _, p := range agentpath.AgentPaths(o) {
		if p.Required && p.State == agentpath.PathUnknown {
			ev = append(ev, fmt.Sprintf("agent path %s: %s", p.Line(), p.Detail))
		}
	}
	if len(ev) == 0 {
		return nil
	}
	return []finding.Finding{cat.New(ProbeIncomplete,
		fmt.Sprintf("%d required check(s) or agent path(s) could not look, so their part of the picture is unknown; the probe does not count them as healthy.", len(ev)),
		ev)}
}
