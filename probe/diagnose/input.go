package diagnose

import (
	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// input is what every rule reads: the observations and what diagnosis
// derives from them, derived once per diagnosis (newInput) and handed to
// every rule, the verdict and the safety net, so that no rule derives a
// view or a path again.
type input struct {
	cat    *finding.Catalog
	o      *obs.Observations
	views  []agentpath.View                // one per planned endpoint, in plan order
	paths  []agentpath.AgentPath           // the agent's path of each planned endpoint; none without live checks
	byHost map[string]*agentpath.AgentPath // paths by endpoint host
}

// newInput derives the views and the agent paths of o.
func newInput(cat *finding.Catalog, o *obs.Observations) *input {
	in := &input{cat: cat, o: o, views: agentpath.Views(o)}
	in.paths = agentpath.AgentPaths(o, in.views)
	in.byHost = make(map[string]*agentpath.AgentPath, len(in.paths))
	for i := range in.paths {
		in.byHost[in.paths[i].Host] = &in.paths[i]
	}
	return in
}

// hostOK reports whether host's agent path reaches HTTPS.
func (in *input) hostOK(host string) bool {
	p := in.byHost[host]
	return p != nil && p.OK()
}

// brokenAt reports whether host's agent path broke at stage.
func (in *input) brokenAt(host string, stage agentpath.PathStage) bool {
	p := in.byHost[host]
	return p != nil && p.State == agentpath.PathBroken && p.Failed == stage
}

// brokenAtResolve lists the hosts whose agent path breaks at resolving,
// of required endpoints only or of all.
func (in *input) brokenAtResolve(requiredOnly bool) []string {
	var hs []string
	for _, p := range in.paths {
		if p.State == agentpath.PathBroken && p.Failed == agentpath.StageResolve && (p.Required || !requiredOnly) {
			hs = append(hs, p.Host)
		}
	}
	return hs
}

// evidence gathers one finding's evidence lines and the endpoints it names.
type evidence struct {
	lines []string
	hosts []string
}

// add records lines about host.
func (e *evidence) add(host string, lines ...string) {
	e.lines = append(e.lines, lines...)
	e.hosts = append(e.hosts, host)
}

// found raises id at its catalog severity on e, naming e's endpoints; none
// when e holds no line.
func (in *input) found(id finding.ID, summary string, e evidence, fills ...finding.Fill) []finding.Finding {
	return in.foundAt(id, (*in.cat)[id].Severity, summary, e, fills...)
}

// foundAt is found at severity sev.
func (in *input) foundAt(id finding.ID, sev finding.Severity, summary string, e evidence, fills ...finding.Fill) []finding.Finding {
	if len(e.lines) == 0 {
		return nil
	}
	f := in.cat.NewAt(id, sev, summary, e.lines, fills...)
	f.About(e.hosts...)
	return []finding.Finding{f}
}
