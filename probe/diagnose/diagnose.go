// Package diagnose is the diagnosing layer: it turns obs.Observations into
// findings and assembles the catalog, the timeline and the Result. It
// observes nothing. Each family of findings (families, catalog.go) lives in
// its own diagnose_*.go, which declares the family's entries beside the
// rules that raise them; every rule reads one input (input.go): the
// observations with their views and agent paths, derived once. The helpers
// that several families use to describe what they found are in describe.go.
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
// (heldToPaths).
func Diagnose(ob *obs.Observations) []finding.Finding {
	cat := NewCatalog()
	return diagnose(newInput(&cat, ob))
}

// diagnose runs every family's rules on in, holds the findings to the agent
// paths, folds symptoms into their causes, and adds the safety net.
func diagnose(in *input) []finding.Finding {
	var fs []finding.Finding
	for _, f := range families() {
		for _, r := range f.rules {
			fs = append(fs, r(in)...)
		}
	}
	heldToPaths(in, fs)
	fs = in.cat.Settle(fs)
	if extra := unexplained(in, fs); len(extra) > 0 {
		fs = in.cat.Settle(append(fs, extra...))
	}
	fixUnits(in, fs)     // diagnose_installs.go
	windowsFixes(in, fs) // diagnose_winhost.go
	return fs
}

// ProbeIncomplete: a required check or agent path could not look.
const ProbeIncomplete finding.ID = "probe.incomplete"

// probeFamily pairs the findings about the probe's own view with the rules that raise them.
func probeFamily() family {
	return family{rules: []rule{diagnoseIncomplete}, entries: []finding.Entry{
		{ID: ProbeIncomplete, Severity: finding.SevInfo,
			Title: "Some required checks could not run",
			Fix:   "Run the probe as " + winOr("Administrator on the instance itself ("+winProbe+")", "root on the instance itself (sudo ssm-probe)") + ", with a longer --deadline if checks timed out."},
	}}
}

// diagnoseIncomplete names the required checks that could not look, so that
// an unknown verdict always says why.
func diagnoseIncomplete(in *input) []finding.Finding {
	cat, o := in.cat, in.o
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
	for _, p := range in.paths {
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
