package diagnose

import (
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/inotify"
)

// The kernel limits the agent's IPC needs.
const (
	HostInotifyExhausted finding.ID = "host.inotify-exhausted"
)

// inotifyFamily pairs the findings about inotify and file handles with the rules that raise them.
func inotifyFamily() family {
	return family{rules: []rule{diagnoseInotify}, entries: []finding.Entry{
		{ID: HostInotifyExhausted, Severity: finding.SevFail,
			Title: "The agent's workers run out of inotify instances or file descriptors",
			Fix: finding.FixLines(
				sysctlFix("instances", "fs.inotify.max_user_instances"),
				"{{if .nofile}}If root is far from that limit, the worker hit its own open-file limit instead: sudo systemctl edit {{or .unit \"amazon-ssm-agent\"}}, add [Service] LimitNOFILE=65536, then sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}{{end}}",
				sysctlFix("watches", "fs.inotify.max_user_watches"),
				sysctlFix("files", "fs.file-max"),
				"Find what holds the instances (the evidence lists the largest holders; for all: sudo find /proc/*/fd -lname anon_inode:inotify | cut -d/ -f3 | sort | uniq -c | sort -rn | head) and fix or restart it, then restart the agent: sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}"),
			Docs: []string{finding.DocTroubleshoot, finding.DocAgentStatus}},
	}}
}

// inotifyWarnUse is the share of a limit in use from which
// host.inotify-exhausted warns.
const inotifyWarnUse = 0.9

// diagnoseInotify reports host.inotify-exhausted: the agent's workers log
// "filewatcher listener encountered error when start watcher: too many
// open files" (aws/amazon-ssm-agent
// common/filewatcherbasedipc/filewatcherchannel.go:90), or the agent's user
// (root) holds 90% of fs.inotify.max_user_instances or max_user_watches, or
// the system 90% of its file handles (fs.file-nr). A count the scan could
// not finish is a lower bound: at 90% it still warns, and says "at least";
// below, it proves nothing, which the inotify check's warn says (never a
// silent pass). It is fail when the
// logs show the error within 15 minutes of the run, warn otherwise. The
// fix raises the limit and persists it under /etc/sysctl.d.
func diagnoseInotify(in *input) []finding.Finding {
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
	cat, o := in.cat, in.o
	logs := logSummary(o, journal.KindFilewatcherError)
	f := o.Inotify
	var ev []string
	fill := finding.Fill{}
	near := false
	lower := false
	if f != nil && f.Checked {
		lower = f.LowerBound()
		atLeast := ""
		if lower {
			atLeast = "at least "
		}
		ev = append(ev, fmt.Sprintf("inotify instances held by root: %s%d of fs.inotify.max_user_instances %d (%s%.0f%%)", atLeast, f.RootInstances, f.MaxUserInstances, atLeast, 100*f.InstancesUse()),
			fmt.Sprintf("inotify watches held by root: %s%d of fs.inotify.max_user_watches %d (%s%.0f%%)", atLeast, f.RootWatches, f.MaxUserWatches, atLeast, 100*f.WatchesUse()),
			fmt.Sprintf("file handles: %d of fs.file-max %d (fs.file-nr)", f.FilesAllocated, f.FilesMax))
		if lower {
			ev = append(ev, "the counts are lower bounds: "+strings.Join(f.Gaps(), "; "))
		}
		for _, h := range f.Holders {
			ev = append(ev, fmt.Sprintf("pid %d (%s) holds %d inotify instances, %d watches", h.PID, h.Comm, h.Instances, h.Watches))
		}
		if f.InstancesUse() >= inotifyWarnUse {
			near = true
			fill["instances"] = max(2*f.MaxUserInstances, 1024)
		}
		if f.WatchesUse() >= inotifyWarnUse {
			near = true
			fill["watches"] = max(2*f.MaxUserWatches, 524288)
		}
		if f.FilesUse() >= inotifyWarnUse {
			near = true
			fill["files"] = 2 * f.FilesMax
		}
	}
	if logs == nil && !near {
		return nil
	}
	if logs != nil {
		ev = append(ev, summaryEvidence(logs)...)
		if len(fill) == 0 {
			fill = inotifyLogFixes(logs, f)
		}
	}
	severity := finding.SevWarn
	summary := "The agent's user is close to a kernel limit the agent's IPC depends on: its workers talk through directories watched with inotify, and when the limit is reached they cannot start, so commands and sessions hang."
	if lower {
		summary = "The agent's user is at least this close to a kernel limit the agent's IPC depends on (the scan could not count everything, so the real use is higher): its workers talk through directories watched with inotify, and when the limit is reached they cannot start, so commands and sessions hang."
	}
	if recentLog(o, logs) {
		severity = finding.SevFail
		summary = "The agent's workers cannot start their IPC file watcher (" + strings.Join(logs.Values, "; ") + "), so commands and sessions hang. inotify_init fails with \"too many open files\" when the agent's user (root) has used up fs.inotify.max_user_instances, or the worker its open-file limit; adding a watch fails with \"no space left on device\" when max_user_watches is used up."
	} else if logs != nil {
		summary = "The agent's logs show its workers failing to start their IPC file watcher (" + strings.Join(logs.Values, "; ") + "), but not in the last 15 minutes. When it happens, commands and sessions hang."
	}
	return []finding.Finding{cat.NewAt(HostInotifyExhausted, severity, summary, ev, fill)}
}

// sysctlFix is the fix template line that raises sysctl key to the value
// of field now and persists it under /etc/sysctl.d; it is left out when
// the rule does not fill field.
func sysctlFix(field, key string) string {
	v := "{{." + field + "}}"
	return "{{if ." + field + "}}Raise " + key + ": sudo sysctl -w " + key + "=" + v + " && echo '" + key + " = " + v + "' | sudo tee -a /etc/sysctl.d/90-ssm-agent.conf >/dev/null && sudo sysctl --system{{end}}"
}

// inotifyLogFixes chooses the limit to raise from the error the logs name,
// when the live counts did not show which.
func inotifyLogFixes(logs *journal.Summary, f *inotify.Facts) finding.Fill {
	cur := func(v, def int64) int64 {
		if v > 0 {
			return max(2*v, def)
		}
		return def
	}
	var instances, watches int64 = 1024, 524288
	if f != nil {
		instances, watches = cur(f.MaxUserInstances, 1024), cur(f.MaxUserWatches, 524288)
	}
	fill := finding.Fill{}
	for _, v := range logs.Values {
		switch {
		case strings.Contains(v, "no space left on device"):
			fill["watches"] = watches
		case strings.Contains(v, "too many open files"):
			fill["instances"], fill["nofile"] = instances, true
		}
	}
	if len(fill) == 0 {
		fill["instances"] = instances
	}
	return fill
}
