package probe

import (
	"fmt"
	"strings"
)

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

// verdict reaches the run's verdict: fail when any finding fails or a
// required path is broken; unknown when a required check or path could not
// look (a skipped, timed-out or broken check is never taken as healthy);
// else warn or ok from the findings.
func verdict(findings []Finding, checks []CheckRecord, paths []AgentPath) Verdict {
	var warn bool
	for _, f := range findings {
		switch f.Severity {
		case SevFail:
			return VerdictFail
		case SevWarn:
			warn = true
		}
	}
	unknown := false
	for _, p := range paths {
		switch {
		case !p.Required:
		case p.State == PathBroken:
			return VerdictFail
		case p.State != PathOK:
			unknown = true
		}
	}
	for _, c := range checks {
		if c.Required && !c.Status.Checked() {
			unknown = true
		}
	}
	switch {
	case unknown:
		return VerdictUnknown
	case warn:
		return VerdictWarn
	}
	return VerdictOK
}

// pathFamily reports whether id judges how endpoint names resolve or are
// reached, so that the agent's path can contradict it. The clock and the
// proxy's no_proxy for IMDS are not about the path.
func pathFamily(id ID) bool {
	if id == NetClockSkew || id == NetProxyIMDSNotExcluded {
		return false
	}
	return strings.HasPrefix(string(id), "dns.") || strings.HasPrefix(string(id), "net.")
}

// heldToPaths lowers the fail findings that the paths contradict (before
// folding, so a lowered finding no longer explains a real fail).
func heldToPaths(fs []Finding, paths []AgentPath) {
	byHost := map[string]*AgentPath{}
	allRequiredOK, anyRequired := true, false
	for i := range paths {
		p := &paths[i]
		byHost[p.Host] = p
		if p.Required {
			anyRequired = true
			allRequiredOK = allRequiredOK && p.OK()
		}
	}
	for i := range fs {
		f := &fs[i]
		if f.Severity != SevFail || !pathFamily(f.ID) {
			continue
		}
		var works []string
		contradicted := len(f.Endpoints) > 0
		for _, h := range f.Endpoints {
			p := byHost[h]
			if p == nil || !p.OK() {
				contradicted = false
				break
			}
			works = append(works, p.Line())
		}
		if len(f.Endpoints) == 0 && anyRequired && allRequiredOK {
			contradicted = true
			for _, p := range paths {
				if p.Required {
					works = append(works, p.Line())
				}
			}
		}
		if !contradicted {
			continue
		}
		f.Severity = SevWarn
		f.Summary += " The agent's own path works, though, so this does not stop Session Manager today."
		for _, w := range works {
			f.Evidence = append(f.Evidence, "agent path: "+w)
		}
	}
}

// unexplained is probe.unexplained: a required endpoint whose path is
// broken, and that no fail finding names. It is a safety net: the failure is
// real (the agent's path is broken), but no rule knows its cause.
func unexplained(cat *Catalog, fs []Finding, paths []AgentPath) []Finding {
	var ev, hosts []string
	for _, p := range paths {
		if !p.Required || p.State != PathBroken {
			continue
		}
		named := false
		for i := range fs {
			if fs[i].Severity == SevFail && fs[i].names(p.Host) {
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
	f := cat.New(ProbeUnexplained,
		fmt.Sprintf("The agent's path to %s is broken, and none of the probe's rules explains why. Session Manager cannot work until it is fixed; the evidence shows where the path stops.", strings.Join(hosts, ", ")),
		ev)
	f.about(hosts...)
	return []Finding{f}
}
