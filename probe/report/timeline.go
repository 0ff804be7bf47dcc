package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// maxTimelineChanges is how many host changes the text timeline names; the
// JSON report carries them all.
const maxTimelineChanges = 3

// TimelineLine is the short timeline the text report shows under the
// verdict, e.g. "last worked 18:57:03; failing since 19:01:00; changed
// before that: /etc/resolv.conf 19:00:00 (UTC)". Times are shown in UTC, with
// the date when it is not the day the failures began. It returns "" when
// there is no timeline.
func TimelineLine(tl *diagnose.Timeline) string {
	if tl == nil {
		return ""
	}
	ref := tl.Since
	if ref.IsZero() && tl.LastSuccess != nil {
		ref = tl.LastSuccess.Time
	}
	var killed string
	if n := len(tl.Kills); n > 0 {
		k := tl.Kills[n-1]
		if ref.IsZero() {
			ref = k.Time
		}
		killed = "killed " + clock(k.Time, ref) + " (" + killName(k) + ")"
		if n > 1 {
			killed += fmt.Sprintf(", %d kill lines in all", n)
		}
	}
	var parts []string
	if tl.LastSuccess != nil {
		parts = append(parts, "last worked "+clock(tl.LastSuccess.Time, ref)+" ("+successName(tl.LastSuccess.Kind)+")")
	} else if tl.NoSuccess != "" {
		parts = append(parts, "last worked: unknown, "+tl.NoSuccess)
	}
	if killed != "" {
		parts = append(parts, killed)
	}
	if tl.Since.IsZero() {
		if tl.LastSuccess == nil && killed == "" {
			return "" // neither a success nor a failure in the logs: nothing to date
		}
		if killed != "" && tl.LastSuccess == nil {
			return strings.Join(parts, "; ") + " (UTC)"
		}
		parts = append(parts, "no failure in the logs since")
		return strings.Join(parts, "; ") + " (UTC)"
	}
	first := tl.Failing[0]
	what := string(first.Kind)
	if first.Endpoint != "" {
		what += " to " + first.Endpoint
	}
	parts = append(parts, "failing since "+clock(tl.Since, ref)+" ("+what+")")
	if len(tl.Changes) == 0 {
		parts = append(parts, fmt.Sprintf("no change on the host in the %s before", humanDuration(tl.Since.Sub(tl.WindowFrom))))
	} else {
		var cs []string
		// The latest changes are the closest to the failures: name those.
		shown := tl.Changes[max(0, len(tl.Changes)-maxTimelineChanges):]
		for _, c := range shown {
			cs = append(cs, changeName(c.What)+" "+clock(c.Time, ref))
		}
		s := "changed before that: " + strings.Join(cs, ", ")
		if n := len(tl.Changes) - len(shown); n > 0 {
			s += fmt.Sprintf(" (and %d earlier)", n)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ") + " (UTC)"
}

// clock formats t in UTC, with its date when that differs from ref's.
func clock(t, ref time.Time) string {
	t, ref = t.UTC(), ref.UTC()
	if t.YearDay() == ref.YearDay() && t.Year() == ref.Year() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

// changeName shortens a change for the one-line timeline: the file, or the
// package event, without "modified".
func changeName(what string) string {
	what = strings.TrimSuffix(what, " modified")
	if i := strings.Index(what, " (-> "); i > 0 && strings.HasPrefix(what, "/") {
		return what[:i]
	}
	return what
}

// killName says who killed the agent, for the one-line timeline.
func killName(k journal.Kill) string {
	switch k.Cause {
	case journal.CauseOOM:
		return "OOM killer"
	case journal.CauseStartLimit:
		return "systemd gave up restarting it"
	}
	if k.Signal != "" {
		return "signal " + k.Signal
	}
	return "signal"
}

func successName(k journal.Kind) string {
	switch k {
	case journal.KindHealthPingOK:
		return "health ping"
	case journal.KindControlChannelUp:
		return "control channel"
	case journal.KindRegistered:
		return "registration"
	case journal.KindCredentialSource:
		return "credentials from ssm"
	}
	return string(k)
}

func humanDuration(d time.Duration) string {
	if d == time.Hour {
		return "hour"
	}
	return d.String()
}

func (t *textWriter) timeline(tl *diagnose.Timeline) {
	if s := TimelineLine(tl); s != "" {
		t.wrap("  ", "    ", s)
	}
}

// dated writes the headline finding's date: since when its failures run in
// the agent's logs, and the host changes in the window before.
func (t *textWriter) dated(ind string, f finding.Finding) {
	if f.Since.IsZero() {
		return
	}
	s := "Failing since " + f.Since.UTC().Format("2006-01-02 15:04:05") + " UTC (the agent's logs)"
	if len(f.ChangesBefore) == 0 {
		s += "; no change on the host in the hour before."
	} else {
		var cs []string
		for _, c := range f.ChangesBefore {
			cs = append(cs, changeName(c.What)+" at "+clock(c.Time, f.Since))
		}
		s += "; changed on the host just before: " + strings.Join(cs, ", ") + "."
	}
	t.wrap(ind, ind, s)
}
