package diagnose

import (
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host/changes"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// ChangeWindow is how long before the failures began a change on the host
// is shown beside them: long enough for a change that takes effect at the
// agent's next health ping (every 5 minutes) or control-channel reconnect,
// short enough that the list stays a handful of lines.
const ChangeWindow = time.Hour

// changeGrace lets a change dated up to a second after the first failure
// count as before it: file times and the agent's log times come from one
// clock, but hibernate.log and older agents write whole seconds.
const changeGrace = time.Second

// noSuccess is said when the logs read hold no line that shows an endpoint
// answering; the probe does not guess when the agent last worked.
const noSuccess = "no success line (health ping, control channel, registration) in the agent's logs that were read"

// Timeline is the report's "timeline" object (additive to schema v1): from
// the agent's logs, when it last worked and since when it fails; from the
// host's file times, what changed in the window before that. A change is
// evidence, never a finding by itself.
type Timeline struct {
	Zone           string                  `json:"zone,omitempty"`            // the zone the agent's zone-less log times were read in
	LastSuccess    *journal.Mark           `json:"last_success"`              // null: see NoSuccess
	NoSuccess      string                  `json:"no_success,omitempty"`      // why LastSuccess is null
	Since          time.Time               `json:"since,omitzero"`            // when the current failures began; zero when the logs show none
	Failing        []journal.Run           `json:"failing"`                   // current runs per kind and endpoint, earliest first
	LastStart      *journal.Start          `json:"last_start,omitempty"`      // the agent's last start and its version
	VersionChanges []journal.VersionChange `json:"version_changes,omitempty"` // version changes between starts
	Kills          []journal.Kill          `json:"kills,omitempty"`           // the kernel's and systemd's kills of the agent, oldest first
	Boot           *changes.Boot           `json:"boot,omitempty"`
	ClockSync      *changes.ClockSync      `json:"clock_sync,omitempty"`
	WindowFrom     time.Time               `json:"window_from,omitzero"` // the changes shown are from WindowFrom to Since
	Changes        []changes.Change        `json:"changes"`              // host changes in the window, oldest first

	all []changes.Change // every dated host change, for the findings' own windows
}

// timelineOf builds the timeline from the observations; nil when neither
// the logs nor the host's files were read.
func timelineOf(o *obs.Observations) *Timeline {
	var all []changes.Change
	tl := &Timeline{Failing: []journal.Run{}, Changes: []changes.Change{}}
	if h := o.Host; h != nil && h.Changes != nil {
		all = h.Changes.Changes()
		tl.Boot, tl.ClockSync = h.Changes.Boot, h.Changes.ClockSync
	}
	var lt *journal.Timeline
	if o.Logs != nil {
		lt = o.Logs.Timeline
	}
	if lt == nil && o.Host == nil {
		return nil
	}
	tl.all = all
	if lt == nil {
		tl.NoSuccess = "the agent's logs were not read"
		if o.Logs != nil {
			tl.NoSuccess = "the saved observations carry no log timeline"
		}
		return tl
	}
	tl.Zone, tl.LastSuccess, tl.Since, tl.VersionChanges = lt.Zone, lt.LastSuccess, lt.Since, lt.VersionChanges
	tl.Failing = append(tl.Failing, lt.Failing...)
	tl.Kills = lt.Kills
	if tl.LastSuccess == nil {
		tl.NoSuccess = noSuccess
	}
	if n := len(lt.Starts); n > 0 {
		s := lt.Starts[n-1]
		tl.LastStart = &s
	}
	if !tl.Since.IsZero() {
		tl.WindowFrom = tl.Since.Add(-ChangeWindow)
		tl.Changes = changesBefore(all, tl.Since)
	}
	return tl
}

// changesBefore returns the changes from ChangeWindow before since to
// changeGrace after it, oldest first (all is oldest first).
func changesBefore(all []changes.Change, since time.Time) []changes.Change {
	out := []changes.Change{}
	if since.IsZero() {
		return out
	}
	from, to := since.Add(-ChangeWindow), since.Add(changeGrace)
	for _, c := range all {
		if !c.Time.Before(from) && !c.Time.After(to) {
			out = append(out, c)
		}
	}
	return out
}

// attachTimeline dates the headline finding, the first fail (else warn)
// finding, which is the root cause the report leads with: when its
// failures began and what changed on the host just before. When the
// finding names endpoints and the logs show failures to them, its since is
// the earliest of those runs; else the earliest run of all.
func attachTimeline(fs []finding.Finding, tl *Timeline) {
	if tl == nil || tl.Since.IsZero() {
		return
	}
	for i := range fs {
		f := &fs[i]
		if f.Severity != finding.SevFail && f.Severity != finding.SevWarn {
			continue
		}
		f.Since = tl.Since
		for _, r := range tl.Failing { // earliest first
			if r.Endpoint != "" && namesService(f, r.Endpoint) {
				f.Since = r.Since
				break
			}
		}
		f.ChangesBefore = changesBefore(tl.all, f.Since)
		return
	}
}

// namesService reports whether f names an endpoint of service svc.
func namesService(f *finding.Finding, svc string) bool {
	for _, h := range f.Endpoints {
		if journal.ServiceOf(h) == svc {
			return true
		}
	}
	return false
}
