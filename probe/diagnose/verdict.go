package diagnose

import (
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// ProbeUnexplained is the safety net of the verdict: a required endpoint's
// path is broken and no rule names why.
const (
	ProbeUnexplained finding.ID = "probe.unexplained"
)

// verdictFamily holds the safety net's finding; unexplained raises it after
// the rules have run and settled, so it lists no rule.
func verdictFamily() family {
	return family{entries: []finding.Entry{
		{ID: ProbeUnexplained, Severity: finding.SevFail,
			Title: "The agent's path to an endpoint is broken for a reason no rule knows",
			Fix: finding.FixLines(
				"Follow the evidence: it names the endpoint, the stage where the agent's path stops (resolve, proxy, tcp, tls, https), the error class and the raw detail.",
				"Please report it with the saved observations (ssm-probe --format json > report.json), so that a rule can name this cause: https://github.com/ssm-probe/ssm-probe/issues"),
			Docs: []string{finding.DocTroubleshoot}},
	}}
}

// The verdict is held to the agent's own path (AgentPaths): the rules
// explain a break, they do not decide whether there is one.
//
//   - A required endpoint whose path is broken makes the run fail, and some
//     fail finding names it; when no rule does, probe.unexplained does.
//   - A required endpoint whose path could not be followed to the end makes
//     the run unknown, never ok.
//   - A fail finding about DNS or the network path of endpoints whose paths
//     all reach HTTPS contradicts what the agent would see: it is lowered to
//     warn, and says so.

// verdictOf reaches the run's verdict: fail when any finding fails or a
// required path is broken; unknown when a required check or path could not
// look (a skipped, timed-out or broken check is never taken as healthy);
// else warn or ok from the findings.
func verdictOf(in *input, findings []finding.Finding) finding.Verdict {
	var warn bool
	for _, f := range findings {
		switch f.Severity {
		case finding.SevFail:
			return finding.VerdictFail
		case finding.SevWarn:
			warn = true
		}
	}
	unknown := false
	for _, p := range in.paths {
		switch {
		case !p.Required:
		case p.State == agentpath.PathBroken:
			return finding.VerdictFail
		case p.State != agentpath.PathOK:
			unknown = true
		}
	}
	for _, c := range in.o.Checks {
		if c.Required && !c.Status.Checked() {
			unknown = true
		}
	}
	switch {
	case unknown:
		return finding.VerdictUnknown
	case warn:
		return finding.VerdictWarn
	}
	return finding.VerdictOK
}

// pathFamily reports whether id judges how endpoint names resolve or are
// reached, so that the agent's path can contradict it. The clock and the
// proxy's no_proxy for IMDS are not about the path.
func pathFamily(id finding.ID) bool {
	if id == NetClockSkew || id == NetProxyIMDSNotExcluded {
		return false
	}
	return strings.HasPrefix(string(id), "dns.") || strings.HasPrefix(string(id), "net.")
}

// heldToPaths lowers the fail findings that the paths contradict (before
// folding, so a lowered finding no longer explains a real fail).
func heldToPaths(in *input, fs []finding.Finding) {
	allRequiredOK, anyRequired := true, false
	for _, p := range in.paths {
		if p.Required {
			anyRequired = true
			allRequiredOK = allRequiredOK && p.OK()
		}
	}
	for i := range fs {
		f := &fs[i]
		if f.Severity != finding.SevFail || !pathFamily(f.ID) {
			continue
		}
		if _, imds := in.imdsCaptured(); f.ID == NetLocalRoute && imds {
			continue // IMDS is on the agent's way to credentials, which no endpoint path shows
		}
		var works []string
		contradicted := len(f.Endpoints) > 0
		for _, h := range f.Endpoints {
			p := in.byHost[h]
			if p == nil || !p.OK() {
				contradicted = false
				break
			}
			works = append(works, p.Line())
		}
		if len(f.Endpoints) == 0 && anyRequired && allRequiredOK {
			contradicted = true
			for _, p := range in.paths {
				if p.Required {
					works = append(works, p.Line())
				}
			}
		}
		if !contradicted {
			continue
		}
		f.Severity = finding.SevWarn
		f.Summary += " The agent's own path works, though, so this does not stop Session Manager today."
		for _, w := range works {
			f.Evidence = append(f.Evidence, "agent path: "+w)
		}
	}
}

// unexplained is probe.unexplained: a required endpoint whose path is
// broken, and that no fail finding names. It is a safety net: the failure is
// real (the agent's path is broken), but no rule knows its cause.
func unexplained(in *input, fs []finding.Finding) []finding.Finding {
	var ev, hosts []string
	for _, p := range in.paths {
		if !p.Required || p.State != agentpath.PathBroken {
			continue
		}
		named := false
		for i := range fs {
			if fs[i].Severity == finding.SevFail && fs[i].Names(p.Host) {
				named = true
				break
			}
		}
		if named {
			continue
		}
		hosts = append(hosts, p.Host)
		s := fmt.Sprintf("%s: the %s stage failed (%s)", p.Line(), p.Failed, p.Class)
		if p.Detail != "" {
			s += ": " + p.Detail
		}
		ev = append(ev, s)
	}
	if len(ev) == 0 {
		return nil
	}
	f := in.cat.New(ProbeUnexplained,
		fmt.Sprintf("The agent's path to %s is broken, and none of the probe's rules explains why. Session Manager cannot work until it is fixed; the evidence shows where the path stops.", strings.Join(hosts, ", ")),
		ev)
	f.About(hosts...)
	return []finding.Finding{f}
}
