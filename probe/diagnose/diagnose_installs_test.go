package diagnose

import (
	"regexp"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

const installsFixtures = "testdata/obs/installs"

// TestDiagnoseInstalls table-tests agent.duplicate-install and the unit
// every fix names from the fixtures in testdata/obs/installs, written from
// installsScenarios with -update.
func TestDiagnoseInstalls(t *testing.T) {
	fixtureDir(t, installsFixtures, installsScenarios(t))
}

const (
	snapExe     = "/snap/amazon-ssm-agent/9565/amazon-ssm-agent"
	snapUnitLib = "/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service"
)

// withSnap adds the snap install (revision 9565, its unit enabled, its
// version) to o's agent; running starts an agent from it, pid 1300.
func withSnap(o *obs.Observations, version string, running bool) *obs.Observations {
	a := o.Agent
	a.Install = append(a.Install, agent.InstallEvidence{Kind: agent.KindSnap, Path: "/snap/amazon-ssm-agent/current", Detail: "revision 9565"},
		agent.InstallEvidence{Kind: agent.KindUnit, Path: snapUnitLib})
	a.Units = append(a.Units, agent.Unit{Path: snapUnitLib, Enabled: true})
	a.Versions = append(a.Versions, agent.VersionEvidence{Source: agent.SourceSnap, Version: version, Path: "/snap/amazon-ssm-agent/current/meta/snap.yaml"})
	if running {
		a.Running = true
		a.PIDs = append(a.PIDs, 1300)
		a.Agents = append(a.Agents, agent.Process{PID: 1300, Name: "amazon-ssm-agent", By: "exe", Exe: snapExe})
	}
	return o
}

// debRunning sets whether the deb's agent (pid 812, /usr/bin) runs.
func debRunning(o *obs.Observations, running bool) *obs.Observations {
	a := o.Agent
	a.PIDs, a.Agents, a.Running = nil, nil, false
	if running {
		a.Running, a.PIDs = true, []int{812}
		a.Agents = []agent.Process{{PID: 812, Name: "amazon-ssm-agent", By: "exe", Exe: agent.BinaryPath}}
	}
	return o
}

// snapOnly makes o a snap-only install (no deb, no /usr/bin binary).
func snapOnly(o *obs.Observations, running bool) *obs.Observations {
	a := o.Agent
	a.Install, a.Units, a.Versions, a.PIDs, a.Agents, a.Running = nil, nil, nil, nil, nil, false
	a.Install = []agent.InstallEvidence{{Kind: agent.KindBinary, Path: agent.SnapBinaryPath}}
	return withSnap(o, "3.3.1142.0", running)
}

func installsScenarios(t *testing.T) map[string]fixture {
	sc := map[string]fixture{}
	o := withSnap(debRunning(healthyEC2(t), true), "3.3.987.0", true)
	sc["snap-and-deb-both-running"] = opFx("The AMI's snap agent and a deb installed on top both run: a fail naming both units, keeping the snap (AWS's choice on Ubuntu 18.04 and later) and removing the deb.", o,
		wantFinding{ID: AgentDuplicateInstall, Severity: "fail", Text: []string{"unit snap.amazon-ssm-agent.amazon-ssm-agent (enabled)", "unit amazon-ssm-agent (enabled)", "pid 1300", "pid 812",
			"Keep the snap agent", "sudo systemctl disable --now amazon-ssm-agent && sudo dpkg -r amazon-ssm-agent", "sudo systemctl restart snap.amazon-ssm-agent.amazon-ssm-agent", "version 3.3.987.0"}})

	o = withSnap(debRunning(healthyEC2(t), true), "3.3.987.0", false)
	o.Logs = &journal.Result{Timeline: &journal.Timeline{VersionChanges: []journal.VersionChange{{Time: o.StartedAt.Add(-time.Hour), From: "3.3.1142.0", To: "3.3.987.0"}}}}
	sc["snap-and-deb-deb-runs"] = opFx("The deb's agent runs, the snap is installed but stopped, and the logs show a downgrade: a warn that keeps the running deb, removes the snap, and names the version change.", o,
		wantFinding{ID: AgentDuplicateInstall, Severity: "warn", Text: []string{"Keep the dpkg agent (amazon-ssm-agent)", "sudo snap remove amazon-ssm-agent", "sudo systemctl restart amazon-ssm-agent", "from 3.3.1142.0 to 3.3.987.0"}})

	o = withSnap(debRunning(healthyEC2(t), false), "3.3.1142.0", true)
	sc["snap-and-deb-snap-runs"] = opFx("The snap's agent runs, the deb is installed but stopped: a warn that removes the deb.", o,
		wantFinding{ID: AgentDuplicateInstall, Severity: "warn", Text: []string{"Keep the snap agent", "sudo dpkg -r amazon-ssm-agent"}})

	o = debRunning(healthyEC2(t), true)
	o.Agent.Install = append(o.Agent.Install[:0:0], agent.InstallEvidence{Kind: agent.KindSnap, Path: "/snap/amazon-ssm-agent/current", Detail: "revision 9565"})
	o.Agent.Agents = append(o.Agent.Agents, agent.Process{PID: 1300, Name: "amazon-ssm-agent", By: "exe", Exe: snapExe})
	o.Agent.PackageDBs = nil
	sc["two-running-no-package-db"] = opFx("Agents run from the snap and from /usr/bin, and no package database lists the agent (a copied binary): still two agents, a fail.", o,
		wantFinding{ID: AgentDuplicateInstall, Severity: "fail", Text: []string{"a running agent from /usr/bin/amazon-ssm-agent", "sudo rm -f /usr/bin/amazon-ssm-agent"}})

	o = debRunning(healthyEC2(t), true)
	o.Agent.Agents = append(o.Agent.Agents, agent.Process{PID: 1400, Name: "amazon-ssm-agent", By: "exe", Exe: "/usr/sbin/amazon-ssm-agent"})
	sc["usr-bin-and-usr-sbin-running"] = opFx("Agents run from /usr/bin and /usr/sbin, no snap: two agents, a fail that asks the package manager which to keep.", o,
		wantFinding{ID: AgentDuplicateInstall, Severity: "fail", Text: []string{"/usr/bin/amazon-ssm-agent, pid 812", "/usr/sbin/amazon-ssm-agent, pid 1400", "dpkg -S /usr/bin/amazon-ssm-agent /usr/sbin/amazon-ssm-agent"}})

	o = debRunning(healthyEC2(t), true)
	o.Agent.Agents[0].Unit = "amazon-ssm-agent.service"
	o.Agent.Agents = append(o.Agent.Agents, agent.Process{PID: 1400, Name: "amazon-ssm-agent", By: "exe", Exe: "/usr/sbin/amazon-ssm-agent", Unit: "rc-local.service"})
	sc["usr-bin-and-usr-sbin-running-units"] = opFx("Agents run from /usr/bin and /usr/sbin, each in its unit's control group: the finding names the unit each runs under.", o,
		wantFinding{ID: AgentDuplicateInstall, Severity: "fail", Text: []string{"/usr/bin/amazon-ssm-agent, pid 812, under unit amazon-ssm-agent.service", "/usr/sbin/amazon-ssm-agent, pid 1400, under unit rc-local.service"}})

	o = debRunning(healthyEC2(t), true)
	o.Agent.Agents = append(o.Agent.Agents, agent.Process{PID: 813, Name: "amazon-ssm-agent", By: "exe", Exe: agent.BinaryPath})
	sc["two-processes-one-binary"] = opFx("Two agent processes from the same binary (the core agent and its restart, or a fork): one install, no duplicate.", o)

	// Near misses: one agent, from either place.
	sc["snap-only"] = opFx("The snap alone, running: no duplicate.", snapOnly(healthyEC2(t), true))
	sc["deb-only"] = opFx("The deb alone, running: no duplicate.", debRunning(healthyEC2(t), true))

	// Every fix names the unit this host has.
	o = snapOnly(healthyEC2(t), true)
	withEvents(withInotify(o, 128, 2000), opEvent(o, journal.KindFilewatcherError, time.Minute, "2024-06-01 11:59:41.0070 ERROR [ssm-session-worker] [alice-0123456789abcdef0] filewatcher listener encountered error when start watcher: too many open files", "too many open files"))
	sc["snap-only-fix-unit"] = opFx("On a snap install, a fix written for the package's unit (restart, edit) names the snap's unit.", o,
		wantFinding{ID: HostInotifyExhausted, Severity: finding.SevFail, Text: []string{"then restart the agent: sudo systemctl restart snap.amazon-ssm-agent.amazon-ssm-agent"}})
	return sc
}

// packageUnitCommand finds a systemctl or journalctl command that names
// the package's unit itself; near misses (snap restart, dpkg -r, another
// unit, the log file) do not match.
var packageUnitCommand = regexp.MustCompile(`((?:systemctl (?:[a-z-]+ )+)|(?:journalctl -u ))amazon-ssm-agent(\.service)?($|[^-\w.]|\.\s|\.$)`)

// TestFixUnits: every fix that runs systemctl or journalctl on the agent's
// unit takes the unit from the fill (fixUnits), so on a snap install none
// still names the package's unit; the pattern itself is held to near misses.
func TestFixUnits(t *testing.T) {
	for _, c := range []struct {
		line  string
		names bool
	}{
		{"then sudo systemctl restart amazon-ssm-agent", true},
		{"sudo systemctl restart amazon-ssm-agent.", true},
		{"sudo systemctl edit amazon-ssm-agent, add [Service]", true},
		{"sudo systemctl enable --now amazon-ssm-agent.service; x", true},
		{"sudo journalctl -u amazon-ssm-agent -n 100", true},
		{"sudo snap restart amazon-ssm-agent", false},
		{"sudo dpkg -r amazon-ssm-agent", false},
		{"sudo systemctl restart amazon-ssm-agent-helper", false},
		{"sudo systemctl restart snap.amazon-ssm-agent.amazon-ssm-agent", false},
		{"sudo tail -n 100 /var/log/amazon/ssm/amazon-ssm-agent.log", false},
	} {
		if got := packageUnitCommand.MatchString(c.line); got != c.names {
			t.Errorf("%q: names the package's unit %v, want %v", c.line, got, c.names)
		}
	}
	cat := NewCatalog()
	for _, id := range AllIDs() {
		if id == AgentDuplicateInstall {
			continue // names both units itself
		}
		for _, line := range cat[id].RenderFix(finding.Fill{"unit": unitSnap}) {
			if packageUnitCommand.MatchString(line) {
				t.Errorf("%s: a fix names the package's unit where the fill gives %s: %q", id, unitSnap, line)
			}
		}
	}
}
