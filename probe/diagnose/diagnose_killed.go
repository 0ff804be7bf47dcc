package diagnose

import (
	"fmt"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// AgentKilled: the kernel or systemd killed the agent (docs/FINDINGS.md,
// "Agent and host").
const AgentKilled finding.ID = "agent.killed"

// AgentOOMProtected is the first agent version whose unit files set
// OOMScoreAdjust (docs/AGENT-FACTS.md, "Killed agents").
const AgentOOMProtected = "3.3.4364.0"

// killCluster is how close kill lines must be to tell of one kill: the
// kernel's lines, systemd's OOM line, its exit line and its result come
// within a second or two of each other.
const killCluster = time.Minute

// killedFamily pairs agent.killed with its rule.
func killedFamily() family {
	return family{rules: []rule{diagnoseKilled}, entries: []finding.Entry{
		{ID: AgentKilled, Severity: finding.SevFail,
			Title: "The SSM Agent was killed",
			Fix: finding.FixLines(
				"{{if .oom}}Give the host more memory: a larger instance type, or swap (sudo fallocate -l 2G /swapfile && sudo chmod 600 /swapfile && sudo mkswap /swapfile && sudo swapon /swapfile, and a line in /etc/fstab); see what uses it: ps -eo pid,rss,comm --sort=-rss | head{{end}}",
				"{{if .oom}}Keep the OOM killer off the agent: sudo systemctl edit {{.unit}}, add the lines [Service] and OOMScoreAdjust=-1000, then sudo systemctl daemon-reload; agent "+AgentOOMProtected+" and later set this in their unit files, so update the agent{{if .version}} (now {{.version}}){{end}}{{else}}Find what sent the signal: sudo journalctl -u {{.unit}} -k --since \"{{.since}}\" (another service, a script, or a crash: a core dump in coredumpctl list){{end}}",
				"{{if not .running}}{{if .startLimit}}sudo systemctl reset-failed {{.unit}} && {{end}}sudo systemctl start {{.unit}}{{end}}"),
			Docs: []string{finding.DocAgentStatus, finding.DocAgentLogs}},
	}}
}

// diagnoseKilled names a kill of the agent that the kernel or systemd
// logged within --since (journal.KillLog): a fail when the agent is not
// running and was not started after its last kill (agent.not-running folds
// into it); a warn when it runs again, or when a worker was killed while it
// runs; a warn when the process table was not read (--root) and the logs
// show no start after the kill.
func diagnoseKilled(in *input) []finding.Finding {
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
	o := in.o
	if o.Logs == nil || o.Logs.Kills == nil || len(o.Logs.Kills.Kills) == 0 || (o.Agent != nil && !o.Agent.Installed) {
		return nil
	}
	kl := o.Logs.Kills
	// No agent facts (ssm-probe logs) reads like a process table not read.
	a := o.Agent
	if a == nil {
		a = &agent.Facts{}
	}
	var core, workers []journal.Kill
	for _, k := range kl.Kills {
		if k.By == "systemd" || k.Process == agentComm {
			core = append(core, k)
		} else {
			workers = append(workers, k)
		}
	}
	running := a.RunningChecked && a.Running
	notRunning := a.RunningChecked && !a.Running
	if len(core) == 0 {
		if !running {
			return nil
		}
		// The core agent starts its workers again; a session or command
		// that was running was cut.
		w := workers[len(workers)-1]
		ev := killEvidence(workers, w.Time)
		return []finding.Finding{in.cat.NewAt(AgentKilled, finding.SevWarn,
			fmt.Sprintf("The OOM killer killed the agent's %s (pid %d) at %s%s: the session or command it served was cut off. The agent runs and starts its workers again.",
				w.Process, w.PID, stamp(w.Time), memoryOf(ev.kills)),
			ev.lines, killFill(o, ev, true))}
	}
	last := core[len(core)-1]
	restart, restarted := kl.StartedAfter(last.Time)
	if !restarted && o.Logs.Timeline != nil {
		for _, s := range o.Logs.Timeline.Starts {
			if s.Time.After(last.Time) {
				restart, restarted = s.Time, true
				break
			}
		}
	}
	ev := killEvidence(kl.Kills, last.Time)
	how := ev.how()
	switch {
	case notRunning && !restarted:
		summary := fmt.Sprintf("The SSM Agent is not running because %s at %s%s, and nothing started it again", how, stamp(ev.first), memoryOf(ev.kills))
		if ev.startLimit {
			summary += ": systemd gave up restarting it (Start request repeated too quickly)"
		}
		return []finding.Finding{in.cat.New(AgentKilled, summary+". Session Manager cannot reach this host.", ev.lines, killFill(o, ev, false))}
	case notRunning:
		// Started again after its last kill, and stopped since: the kill
		// is not why it is down now.
		return nil
	case running:
		summary := fmt.Sprintf("The SSM Agent was killed: %s at %s%s", how, stamp(ev.first), memoryOf(ev.kills))
		if restarted {
			summary += fmt.Sprintf(", and started again at %s", stamp(restart))
		}
		summary += ". It runs now, but it will be killed again while the cause remains, and every session it held was cut."
		return []finding.Finding{in.cat.NewAt(AgentKilled, finding.SevWarn, summary, ev.lines, killFill(o, ev, true))}
	case !restarted:
		// The process table was not read (a rescue volume, or the logs
		// alone).
		summary := fmt.Sprintf("The logs show that %s at %s%s, and no start of the agent after it in the logs read; whether it runs now was not checked (the process table was not read).", how, stamp(ev.first), memoryOf(ev.kills))
		return []finding.Finding{in.cat.NewAt(AgentKilled, finding.SevWarn, summary, ev.lines, killFill(o, ev, false))}
	}
	return nil
}

// agentComm is the core agent's name as the kernel prints it.
const agentComm = "amazon-ssm-agen"

// killEv is one kill told by the lines about it.
type killEv struct {
	kills      []journal.Kill // the lines within killCluster of the last one
	lines      []string
	first      time.Time
	oom        bool
	startLimit bool
	signal     string
	count      int // earlier kills (lines more than killCluster apart) within --since
}

// killEvidence gathers the lines of the kill at last (those within
// killCluster before it), and counts the earlier kills.
func killEvidence(kills []journal.Kill, last time.Time) killEv {
	ev := killEv{first: last}
	for _, k := range kills {
		if k.Time.After(last) || last.Sub(k.Time) > killCluster {
			continue
		}
		ev.kills = append(ev.kills, k)
		if k.Time.Before(ev.first) {
			ev.first = k.Time
		}
		switch k.Cause {
		case journal.CauseOOM:
			ev.oom = true
		case journal.CauseStartLimit:
			ev.startLimit = true
		case journal.CauseSignal:
			if ev.signal == "" {
				ev.signal = k.Signal
			}
		}
		ev.lines = append(ev.lines, fmt.Sprintf("%s %s: %s (%s)", stamp(k.Time), k.By, k.Text, k.Source))
	}
	var prev time.Time
	for _, k := range kills { // oldest first
		if !k.Time.Before(ev.first) {
			break
		}
		if prev.IsZero() || k.Time.Sub(prev) > killCluster {
			ev.count++
		}
		prev = k.Time
	}
	if ev.count > 0 {
		ev.lines = append(ev.lines, fmt.Sprintf("%d earlier kill(s) of the agent or its workers in the logs read, the first at %s", ev.count, stamp(kills[0].Time)))
	}
	return ev
}

// how says who killed the agent.
func (ev killEv) how() string {
	switch {
	case ev.oom:
		return "the kernel's OOM killer killed it"
	case ev.signal != "" && ev.signal != "signal" && ev.signal != "core-dump":
		return "its main process was killed by signal " + ev.signal
	case ev.signal == "core-dump" || strings.Contains(ev.signal, "SEGV") || strings.Contains(ev.signal, "ABRT"):
		return "it crashed"
	case ev.startLimit:
		return "it kept failing"
	}
	return "it was killed by a signal"
}

// memoryOf gives the kernel's memory figures of the kill, as " (kernel:
// total-vm:…, anon-rss:…)".
func memoryOf(kills []journal.Kill) string {
	for _, k := range kills {
		if k.Memory != "" {
			return fmt.Sprintf(" (the kernel's figures for %s, pid %d: %s)", k.Process, k.PID, k.Memory)
		}
	}
	return ""
}

// stamp formats a log time.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

// killFill fills agent.killed's fix: the unit, whether the OOM killer did
// it, whether systemd gave up, the agent's version when it lacks the unit
// files' OOM protection.
func killFill(o *obs.Observations, ev killEv, running bool) finding.Fill {
	unit := unitPackage
	f := finding.Fill{"oom": ev.oom, "startLimit": ev.startLimit, "running": running,
		"since": ev.first.Add(-time.Minute).Format("2006-01-02 15:04:05")}
	if o.Agent != nil {
		unit, _ = agentUnit(o.Agent)
		if v, err := o.Agent.ParsedVersion(); err == nil && !v.AtLeast(AgentOOMProtected) {
			f["version"] = v.String()
		}
	} else if kl := o.Logs.Kills; kl != nil {
		// The unit systemd named, when no agent facts say which runs.
		for _, k := range kl.Kills {
			if k.Unit != "" {
				unit = strings.TrimSuffix(k.Unit, ".service")
			}
		}
	}
	f["unit"] = unit
	return f
}
