package diagnose

import (
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

const killedFixtures = "testdata/obs/killed"

// TestDiagnoseKilled table-tests agent.killed from the fixtures in
// testdata/obs/killed, written from killedScenarios with -update: the
// healthy EC2 instance of testdata/obs/identity whose system logs tell of
// a kill.
func TestDiagnoseKilled(t *testing.T) {
	fixtureDir(t, killedFixtures, killedScenarios(t))
}

// oomLines are the kernel's and systemd's lines of one OOM kill of the
// core agent, ago before the run.
func oomLines(o *obs.Observations, ago time.Duration, unit string) []journal.Kill {
	at := o.StartedAt.Add(-ago).UTC()
	return []journal.Kill{
		{Time: at, Source: "/var/log/messages:4", Cause: journal.CauseOOM, By: "kernel", Process: "amazon-ssm-agen", PID: 2468,
			Memory: "total-vm:1623456kB, anon-rss:412345kB, file-rss:0kB, shmem-rss:0kB",
			Text:   "Out of memory: Killed process 2468 (amazon-ssm-agen) total-vm:1623456kB, anon-rss:412345kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1208kB oom_score_adj:0"},
		{Time: at.Add(time.Second), Source: "/var/log/messages:6", Cause: journal.CauseOOM, By: "systemd", Unit: unit,
			Text: unit + ": A process of this unit has been killed by the OOM killer."},
		{Time: at.Add(time.Second), Source: "/var/log/messages:7", Cause: journal.CauseSignal, By: "systemd", Unit: unit, Signal: "9/KILL",
			Text: unit + ": Main process exited, code=killed, status=9/KILL"},
	}
}

// withKills gives o system logs holding kills and systemd starts.
func withKills(o *obs.Observations, kills []journal.Kill, starts ...time.Time) *obs.Observations {
	if o.Logs == nil {
		o.Logs = &journal.Result{Sources: []journal.Source{{Name: agent.AgentLogPath, Kind: journal.SourceFile, Status: journal.StatusRead}}}
	}
	o.Logs.Kills = &journal.KillLog{Kills: kills, Starts: starts,
		Sources: []journal.Source{{Name: "/var/log/messages", Kind: journal.SourceFile, Status: journal.StatusRead}}}
	return o
}

func notRunning(o *obs.Observations) *obs.Observations {
	o.Agent.Running, o.Agent.PIDs, o.Agent.Agents, o.Agent.Workers = false, nil, nil, nil
	return o
}

func killedScenarios(t *testing.T) map[string]fixture {
	sc := map[string]fixture{}
	unit := "amazon-ssm-agent.service"

	o := notRunning(healthyEC2(t))
	withKills(o, oomLines(o, 20*time.Minute, unit))
	sc["oom-killed-not-running"] = opFx("The OOM killer killed the core agent 20 minutes ago and nothing started it: agent.killed is the headline, agent.not-running folds into it.", o,
		wantFinding{ID: AgentKilled, Severity: "fail", Text: []string{"not running because the kernel's OOM killer killed it at", "anon-rss:412345kB",
			"OOMScoreAdjust=-1000", "sudo systemctl start amazon-ssm-agent", "A process of this unit has been killed by the OOM killer.", "3.3.4364.0"}})

	o = healthyEC2(t)
	k := oomLines(o, 2*time.Hour, unit)
	withKills(o, k, k[0].Time.Add(15*time.Minute))
	sc["oom-killed-restarted"] = opFx("Killed by the OOM killer two hours ago, started again by systemd 15 minutes later, running now: a warn with the same evidence, and no start command.", o,
		wantFinding{ID: AgentKilled, Severity: "warn", Text: []string{"started again at", "anon-rss:412345kB", "OOMScoreAdjust=-1000"}})

	o = healthyEC2(t)
	at := o.StartedAt.Add(-30 * time.Minute).UTC()
	withKills(o, []journal.Kill{{Time: at, Source: "journal:s=1", Cause: journal.CauseOOM, By: "kernel", Process: "ssm-session-wor", PID: 3001,
		Memory: "total-vm:812000kB, anon-rss:300000kB, file-rss:12kB, shmem-rss:0kB",
		Text:   "Out of memory: Killed process 3001 (ssm-session-wor) total-vm:812000kB, anon-rss:300000kB, file-rss:12kB, shmem-rss:0kB"}})
	sc["worker-killed-agent-running"] = opFx("The OOM killer killed a session worker while the agent runs: a warn naming the worker.", o,
		wantFinding{ID: AgentKilled, Severity: "warn", Text: []string{"ssm-session-wor (pid 3001)", "anon-rss:300000kB"}})

	o = notRunning(healthyEC2(t))
	at = o.StartedAt.Add(-10 * time.Minute).UTC()
	withKills(o, []journal.Kill{
		{Time: at, Source: "journal:s=2", Cause: journal.CauseSignal, By: "systemd", Unit: unit, Signal: "11/SEGV", Text: unit + ": Main process exited, code=dumped, status=11/SEGV"},
		{Time: at.Add(20 * time.Second), Source: "journal:s=3", Cause: journal.CauseStartLimit, By: "systemd", Unit: unit, Text: unit + ": Start request repeated too quickly."},
	})
	sc["crash-loop-start-limit"] = opFx("The agent crashed again and again until systemd gave up: a fail whose fix resets the unit's start limit before starting it, and asks who killed it rather than for memory.", o,
		wantFinding{ID: AgentKilled, Severity: "fail", Text: []string{"Start request repeated too quickly", "sudo systemctl reset-failed amazon-ssm-agent && sudo systemctl start amazon-ssm-agent", "coredumpctl"}})

	o = notRunning(healthyEC2(t))
	o.Agent.Units = []agent.Unit{{Path: "/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service", Enabled: true}}
	withKills(o, oomLines(o, 5*time.Minute, "snap.amazon-ssm-agent.amazon-ssm-agent.service"))
	sc["oom-killed-snap"] = opFx("A snap agent killed by the OOM killer: the fix names the snap's unit.", o,
		wantFinding{ID: AgentKilled, Severity: "fail", Text: []string{"sudo systemctl edit snap.amazon-ssm-agent.amazon-ssm-agent", "sudo systemctl start snap.amazon-ssm-agent.amazon-ssm-agent"}})

	o = healthyEC2(t)
	o.Agent.RunningChecked, o.Agent.Running, o.Agent.PIDs, o.Agent.Agents = false, false, nil, nil
	withKills(o, oomLines(o, 3*time.Hour, unit))
	sc["oom-killed-rescue"] = opFx("Under --root the process table is not read: a kill with no start after it is a warn that says what the logs show.", o,
		wantFinding{ID: AgentKilled, Severity: "warn", Text: []string{"no start of the agent after it"}})

	o = notRunning(healthyEC2(t))
	early := oomLines(o, 3*time.Hour, unit)
	withKills(o, append(early, oomLines(o, 20*time.Minute, unit)...), early[0].Time.Add(15*time.Minute))
	sc["oom-killed-twice"] = opFx("Killed three hours ago and started again, killed again 20 minutes ago and not started: a fail on the last kill that counts the earlier one.", o,
		wantFinding{ID: AgentKilled, Severity: "fail", Text: []string{"not running because the kernel's OOM killer killed it", "1 earlier kill(s) of the agent or its workers"}})

	o = healthyEC2(t)
	o.Agent = nil
	withKills(o, oomLines(o, 30*time.Minute, "snap.amazon-ssm-agent.amazon-ssm-agent.service"))
	sc["logs-only-oom"] = opFx("The logs alone (ssm-probe logs: no process table): a kill with no start after it is a warn, and the fix names the unit systemd named.", o,
		wantFinding{ID: AgentKilled, Severity: "warn", Text: []string{"no start of the agent after it", "sudo systemctl start snap.amazon-ssm-agent.amazon-ssm-agent"}})

	// Near misses.
	o = notRunning(healthyEC2(t))
	k = oomLines(o, 3*time.Hour, unit)
	withKills(o, k, k[0].Time.Add(15*time.Minute))
	sc["killed-restarted-then-stopped"] = opFx("Killed three hours ago, started again after it, not running now: the kill is not why it is down, so only agent.not-running.", o,
		wantFinding{ID: AgentNotRunning, Severity: "fail"})

	o = notRunning(healthyEC2(t))
	withKills(o, nil)
	sc["not-running-no-kill"] = opFx("Not running, and the system logs read hold no kill of the agent: agent.not-running alone.", o,
		wantFinding{ID: AgentNotRunning, Severity: "fail"})

	o = healthyEC2(t)
	o.Agent.Installed, o.Agent.Install = false, nil
	withKills(o, oomLines(o, 5*time.Minute, unit))
	sc["kill-lines-agent-not-installed"] = opFx("Kill lines of an agent that is no longer installed: agent.not-installed says what matters.", o,
		wantFinding{ID: AgentNotInstalled, Severity: "fail"})
	return sc
}
