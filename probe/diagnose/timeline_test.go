package diagnose

import (
	"reflect"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/host/changes"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// TestChangesBefore is the window table: from ChangeWindow before the
// first failure to changeGrace after it, bounds included, oldest first.
func TestChangesBefore(t *testing.T) {
	since := time.Date(2024, 3, 1, 19, 1, 0, 0, time.UTC)
	at := func(d time.Duration) changes.Change { return changes.Change{Time: since.Add(d), What: d.String()} }
	all := []changes.Change{
		at(-ChangeWindow - time.Second), // just outside
		at(-ChangeWindow),               // the window's start
		at(-10 * time.Minute),
		at(-time.Minute),
		at(0),           // the same moment
		at(changeGrace), // log precision
		at(changeGrace + time.Millisecond),
		at(time.Hour), // after: not a cause
	}
	for _, c := range []struct {
		name  string
		all   []changes.Change
		since time.Time
		want  []string
	}{
		{"window", all, since, []string{"-1h0m0s", "-10m0s", "-1m0s", "0s", "1s"}},
		{"no since", all, time.Time{}, nil},
		{"no changes", nil, since, nil},
		{"all before", all[:1], since, nil},
	} {
		var got []string
		for _, ch := range changesBefore(c.all, c.since) {
			got = append(got, ch.What)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// TestTimelineOf dates the headline finding only, and says so when the
// logs hold no success line.
func TestTimelineOf(t *testing.T) {
	since := time.Date(2024, 3, 1, 19, 1, 0, 0, time.UTC)
	resolv := changes.File{Path: "/etc/resolv.conf", Role: "resolver", ModTime: since.Add(-time.Minute)}
	old := changes.File{Path: "/etc/hosts", Role: "hosts", ModTime: since.Add(-48 * time.Hour)}
	ob := &obs.Observations{
		Host: &host.Facts{Changes: &changes.Facts{Files: []changes.File{old, resolv}}},
		Logs: &journal.Result{Timeline: &journal.Timeline{Since: since, Failing: []journal.Run{{Kind: journal.KindDNSError, Since: since}},
			Starts: []journal.Start{{Version: "3.3.987.0"}, {Version: "3.3.1142.0"}}}},
	}
	tl := timelineOf(ob)
	if tl.LastSuccess != nil || tl.NoSuccess != noSuccess || tl.LastStart.Version != "3.3.1142.0" {
		t.Errorf("timeline %+v", tl)
	}
	if len(tl.Changes) != 1 || tl.Changes[0].Path != "/etc/resolv.conf" || !tl.WindowFrom.Equal(since.Add(-ChangeWindow)) {
		t.Errorf("changes %+v from %v", tl.Changes, tl.WindowFrom)
	}
	fs := []finding.Finding{{ID: DNSStubResolver, Severity: finding.SevInfo}, {ID: DNSResolverBypassesVPC, Severity: finding.SevFail}, {ID: NetEndpointBlocked, Severity: finding.SevFail}}
	attachTimeline(fs, tl)
	if !fs[1].Since.Equal(since) || len(fs[1].ChangesBefore) != 1 || !fs[0].Since.IsZero() || !fs[2].Since.IsZero() {
		t.Errorf("findings %+v", fs)
	}
	// A finding about ssmmessages is dated by the ssmmessages run.
	later := since.Add(4 * time.Minute)
	ob.Logs.Timeline.Failing = append(ob.Logs.Timeline.Failing, journal.Run{Kind: journal.KindEndpointTimeout, Endpoint: "ssmmessages", Since: later})
	fs = []finding.Finding{{ID: NetEndpointBlocked, Severity: finding.SevFail, Endpoints: []string{"ssmmessages.us-east-1.amazonaws.com"}}}
	attachTimeline(fs, timelineOf(ob))
	if !fs[0].Since.Equal(later) || len(fs[0].ChangesBefore) != 1 {
		t.Errorf("endpoint finding %+v", fs[0])
	}
	if timelineOf(&obs.Observations{}) != nil {
		t.Error("a timeline from nothing")
	}
	if tl := timelineOf(&obs.Observations{Host: &host.Facts{}}); tl == nil || tl.NoSuccess == "" || len(tl.Changes) != 0 {
		t.Errorf("no logs: %+v", tl)
	}
}
