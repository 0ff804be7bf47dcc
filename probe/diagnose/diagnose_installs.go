package diagnose

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// AgentDuplicateInstall: the snap and a deb/rpm agent are both installed,
// or two agents run from different install paths (docs/FINDINGS.md,
// "Agent and host").
const AgentDuplicateInstall finding.ID = "agent.duplicate-install"

// DocAgentSnap is AWS's page on the snap agent of Ubuntu, which recommends
// the snap on Ubuntu Server 18.04 and later.
const DocAgentSnap = "https://docs.aws.amazon.com/systems-manager/latest/userguide/agent-install-ubuntu-64-snap.html"

// snapPrefix is where the snap's revisions are mounted.
const snapPrefix = "/snap/amazon-ssm-agent/"

// installsFamily pairs agent.duplicate-install with its rule.
func installsFamily() family {
	return family{rules: []rule{diagnoseDuplicateInstall}, entries: []finding.Entry{
		{ID: AgentDuplicateInstall, Severity: finding.SevWarn,
			Title: "Two SSM Agents are installed",
			Fix: finding.FixLines(
				"Remove the {{.REMOVE}} agent: {{.removeCmd}}",
				"Then restart the one that stays, so that it alone holds the instance's identity and channels: sudo systemctl restart {{.KEEP_UNIT}}",
				"Check that one agent runs: ps -eo pid,args | grep '[a]mazon-ssm-agent'; and that the console shows the node online: aws ssm describe-instance-information --filters Key=InstanceIds,Values={{.INSTANCE_ID}}{{.regionFlag}}"),
			Docs: []string{DocAgentSnap, finding.DocAgentInstall}},
	}}
}

// install is one of the two agent installations.
type install struct {
	name    string // "snap" or the package system (dpkg, rpm) or "binary"
	unit    string
	paths   []string // the evidence
	version string
	pids    []int
}

// diagnoseDuplicateInstall names two agent installations on one host: the
// snap (/snap/amazon-ssm-agent) beside a deb or rpm package, or running
// agents from both install paths. Both running is a fail: two agents hold
// one identity and fight over its channels, so sessions drop and come back.
// Only one running, or none, is a warn: the other one starts at the next
// boot, refresh or update. The one that goes is the one not running; when
// both or neither run, the snap stays on a dpkg host (AWS recommends it on
// Ubuntu 18.04 and later) and the package stays on an rpm host.
func diagnoseDuplicateInstall(in *input) []finding.Finding {
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
	o := in.o
	a := o.Agent
	if a == nil || !a.Installed {
		return nil
	}
	snap := &install{name: "snap", unit: unitSnap}
	pkg := &install{unit: unitPackage}
	for _, e := range a.Install {
		switch e.Kind {
		case agent.KindSnap:
			snap.paths = append(snap.paths, e.Path+" "+e.Detail)
		case agent.KindDpkg, agent.KindRPM:
			pkg.name = e.Kind
			pkg.paths = append(pkg.paths, fmt.Sprintf("%s lists %s (%s)", e.Path, agent.PackageName, e.Detail))
		}
	}
	for _, v := range a.Versions {
		switch v.Source {
		case agent.SourceSnap:
			snap.version = v.Version
		case agent.SourceDpkg, agent.SourceRPM:
			pkg.version = v.Version
		}
	}
	for _, p := range a.Agents {
		switch {
		case p.Excluded != "":
		case strings.HasPrefix(p.Exe, snapPrefix):
			snap.pids = append(snap.pids, p.PID)
		case p.Exe != "":
			pkg.pids = append(pkg.pids, p.PID)
			if pkg.name == "" {
				pkg.name = "binary"
				pkg.paths = append(pkg.paths, "a running agent from "+p.Exe)
			}
		}
	}
	if len(snap.paths) == 0 && len(snap.pids) > 0 {
		snap.paths = append(snap.paths, "a running agent from "+snapPrefix)
	}
	if len(snap.paths) == 0 {
		return twoBinaries(in, a)
	}
	if pkg.name == "" {
		return nil
	}
	both := len(snap.pids) > 0 && len(pkg.pids) > 0
	keep, remove := snap, pkg
	switch {
	case len(pkg.pids) > 0 && len(snap.pids) == 0:
		keep, remove = pkg, snap
	case len(snap.pids) > 0 && len(pkg.pids) == 0:
	case pkg.name == agent.KindRPM:
		keep, remove = pkg, snap
	}
	var ev []string
	for _, s := range []*install{snap, pkg} {
		line := fmt.Sprintf("%s agent: %s; unit %s", s.name, strings.Join(s.paths, "; "), s.unit)
		if u := unitOf(a, s.unit); u != nil {
			switch {
			case u.Masked:
				line += " (masked)"
			case u.Enabled:
				line += " (enabled)"
			default:
				line += " (not enabled)"
			}
		}
		if s.version != "" {
			line += "; version " + s.version
		}
		if len(s.pids) > 0 {
			line += fmt.Sprintf("; running, pid %s", joinInts(s.pids))
		} else if a.RunningChecked {
			line += "; not running"
		}
		ev = append(ev, line)
	}
	if lt := o.Logs; lt != nil && lt.Timeline != nil {
		for _, vc := range lt.Timeline.VersionChanges {
			ev = append(ev, fmt.Sprintf("the agent's logs show its version change from %s to %s at %s", vc.From, vc.To, stamp(vc.Time)))
		}
	}
	sev := finding.SevWarn
	summary := fmt.Sprintf("Two SSM Agents are installed: the snap and a %s one. Only one runs now, but the other starts again at the next boot, snap refresh or package update, and then both hold this instance's identity.", pkg.name)
	if both {
		sev = finding.SevFail
		summary = fmt.Sprintf("Two SSM Agents run at once, the snap's (%s) and the %s one (%s): they hold one identity and take its channels from each other, so sessions drop, and commands and the node's status come and go.", unitSnap, pkg.name, unitPackage)
	} else if a.RunningChecked && len(snap.pids)+len(pkg.pids) == 0 {
		summary = fmt.Sprintf("Two SSM Agents are installed: the snap and a %s one; whichever starts next, the other may start with it.", pkg.name)
	}
	summary += fmt.Sprintf(" Keep the %s agent (%s) and remove the %s one.", keep.name, keep.unit, remove.name)
	return []finding.Finding{in.cat.NewAt(AgentDuplicateInstall, sev, summary, ev, agentFill(o), finding.Fill{
		"REMOVE": remove.name, "KEEP_UNIT": keep.unit, "removeCmd": removeCommand(remove)})}
}

// twoBinaries names agents running from two install paths neither of
// which is the snap's (/usr/bin and /usr/sbin, or a copy): a fail, as two
// agents run; which one the package owns is for the package manager to say.
func twoBinaries(in *input, a *agent.Facts) []finding.Finding {
	byExe := map[string][]int{}
	units := map[string][]string{} // the units whose control groups hold them
	var exes []string
	for _, p := range a.Agents {
		if p.Excluded != "" || p.Exe == "" || strings.HasPrefix(p.Exe, snapPrefix) {
			continue
		}
		if _, ok := byExe[p.Exe]; !ok {
			exes = append(exes, p.Exe)
		}
		byExe[p.Exe] = append(byExe[p.Exe], p.PID)
		if p.Unit != "" && !slices.Contains(units[p.Exe], p.Unit) {
			units[p.Exe] = append(units[p.Exe], p.Unit)
		}
	}
	if len(exes) < 2 {
		return nil
	}
	var ev []string
	for _, e := range exes {
		line := fmt.Sprintf("an agent runs from %s, pid %s", e, joinInts(byExe[e]))
		if len(units[e]) > 0 {
			line += ", under unit " + strings.Join(units[e], ", ")
		}
		ev = append(ev, line)
	}
	summary := fmt.Sprintf("Two SSM Agents run at once, from %s: they hold one identity and take its channels from each other, so sessions drop, and commands and the node's status come and go. Keep the one the agent's package owns and remove the other.", strings.Join(exes, " and "))
	owner := "dpkg -S"
	if packageSystem(a) == agent.KindRPM {
		owner = "rpm -qf"
	}
	return []finding.Finding{in.cat.NewAt(AgentDuplicateInstall, finding.SevFail, summary, ev, agentFill(in.o), finding.Fill{
		"REMOVE":    "unpackaged",
		"KEEP_UNIT": unitPackage,
		"removeCmd": fmt.Sprintf("find which binary the package owns (%s %s), then stop the other's process (sudo kill PID) and delete that binary, and any unit or script that starts it", owner, strings.Join(exes, " "))})}
}

// removeCommand is the command that removes one installation, stopping
// and disabling its unit first.
func removeCommand(s *install) string {
	switch s.name {
	case "snap":
		return "sudo snap remove amazon-ssm-agent"
	case agent.KindDpkg:
		return "sudo systemctl disable --now " + s.unit + " && sudo dpkg -r " + agent.PackageName
	case agent.KindRPM:
		return "sudo systemctl disable --now " + s.unit + " && sudo rpm -e " + agent.PackageName
	}
	return "sudo systemctl disable --now " + s.unit + " && sudo rm -f " + agent.BinaryPath
}

// unitOf returns the agent's unit named name, or nil.
func unitOf(a *agent.Facts, name string) *agent.Unit {
	for i := range a.Units {
		if strings.TrimSuffix(path.Base(a.Units[i].Path), ".service") == name {
			return &a.Units[i]
		}
	}
	return nil
}

func joinInts(n []int) string {
	s := make([]string, len(n))
	for i, v := range n {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}

// runningUnit returns the unit of the agent that runs, judged by its
// binary's path: the snap's for /snap/amazon-ssm-agent/…, the package's
// otherwise; ok is false when no running agent's binary is known, or
// agents run from both.
func runningUnit(a *agent.Facts) (unit string, ok bool) {
	for _, p := range a.Agents {
		if p.Excluded != "" || p.Exe == "" {
			continue
		}
		u := unitPackage
		if strings.HasPrefix(p.Exe, snapPrefix) {
			u = unitSnap
		}
		if unit != "" && unit != u {
			return "", false
		}
		unit = u
	}
	return unit, unit != ""
}

// fixUnits makes every fix that names the agent's unit ({{or .unit
// "amazon-ssm-agent"}} in the fix templates) name the unit the agent runs
// under: on a snap install, snap.amazon-ssm-agent.amazon-ssm-agent. This
// is the one place that knows which unit this host has; the rules leave
// the unit to it. agent.duplicate-install names both units itself and is
// left as it is.
func fixUnits(in *input, fs []finding.Finding) {
	if in.o.Agent == nil {
		return
	}
	unit, snap := agentUnit(in.o.Agent)
	if !snap || unit != unitSnap {
		return
	}
	for i := range fs {
		if fs[i].ID != AgentDuplicateInstall {
			in.cat.Refill(&fs[i], finding.Fill{"unit": unitSnap})
		}
	}
}
