package journal

import (
	"context"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo on hosts without zoneinfo

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// utc parses a UTC time of the fixtures.
func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("2006-01-02 15:04:05.9999", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTimelineFiles dates the rolled fixture of a host whose resolver
// changed: INFO health pings (the one before the first error worked), a
// DEBUG ping answer, the control channel, two starts with an upgrade,
// errors.log repeating the main log, and hibernate.log's second-precision
// lines.
func TestTimelineFiles(t *testing.T) {
	res := Scan(context.Background(), Options{Root: "testdata/timeline/resolv", Location: time.UTC})
	tl := res.Timeline
	golden.JSON(t, "testdata/timeline/resolv.want.json", tl)
	if tl.LastSuccess == nil || !tl.LastSuccess.Time.Equal(utc(t, "2024-03-01 18:57:03")) || !tl.LastSuccess.Inferred || tl.LastSuccess.Endpoint != "ssm" {
		t.Errorf("last success %+v, want the inferred 18:57:03 ping", tl.LastSuccess)
	}
	if want := utc(t, "2024-03-01 19:01:00.5"); !tl.Since.Equal(want) {
		t.Errorf("since %v, want %v", tl.Since, want)
	}
	if want := []VersionChange{{Time: utc(t, "2024-03-01 18:00:00.0031"), From: "3.3.987.0", To: "3.3.1142.0"}}; !reflect.DeepEqual(tl.VersionChanges, want) {
		t.Errorf("version changes %+v, want %+v", tl.VersionChanges, want)
	}
	got := map[runKey]Run{}
	for _, r := range tl.Failing {
		got[runKey{r.Kind, r.Endpoint}] = r
	}
	for k, since := range map[runKey]string{
		{KindControlChannelError, "ssmmessages"}: "2024-03-01 19:01:00.5",
		{KindDNSError, "ssmmessages"}:            "2024-03-01 19:01:00.5",
		{KindDNSError, "ssm"}:                    "2024-03-01 19:02:03.1",
		{KindAPIError, "ssm"}:                    "2024-03-01 19:02:03.1",
		{KindHibernating, "ssm"}:                 "2024-03-01 19:20:00",
	} {
		if r, ok := got[k]; !ok || !r.Since.Equal(utc(t, since)) {
			t.Errorf("run %v: %+v, want since %s", k, r, since)
		}
	}
	if r := got[runKey{KindAPIError, "ssm"}]; r.Count != 3 || !r.After.Equal(utc(t, "2024-03-01 18:57:03")) {
		t.Errorf("ssm api-error run %+v: want 3 failures after the 18:57:03 ping (errors.log repeats are not counted)", r)
	}
}

// TestTimelineLocalZone reads the same zone-less timestamps as Tokyo time,
// as the probe does when the host's /etc/localtime says so: every time moves
// nine hours earlier in UTC.
func TestTimelineLocalZone(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	res := Scan(context.Background(), Options{Root: "testdata/timeline/resolv", Location: tokyo})
	if want := utc(t, "2024-03-01 10:01:00.5"); !res.Timeline.Since.Equal(want) {
		t.Errorf("since %v, want %v", res.Timeline.Since.UTC(), want)
	}
	if res.Timeline.Zone != "Asia/Tokyo (UTC+09:00)" {
		t.Errorf("zone %q", res.Timeline.Zone)
	}
}

// TestTimelineJournal dates an agent 2.x journal (everything in the unit's
// journal), made by systemd-journal-remote from testdata/journal/timeline.export:
// a DEBUG ping answer, timeouts, and a restart into a new version.
func TestTimelineJournal(t *testing.T) {
	needJournalctl(t)
	root := journalRootOf(t, "timeline")
	res := Scan(context.Background(), Options{Root: root, Journal: true, JournalReader: "journalctl", JournalctlPath: journalctlBin, Location: time.UTC})
	tl := res.Timeline
	if tl.LastSuccess == nil || tl.LastSuccess.Kind != KindHealthPingOK || tl.LastSuccess.Inferred || !tl.LastSuccess.Time.Equal(utc(t, "2024-03-02 08:00:03")) {
		t.Errorf("last success %+v", tl.LastSuccess)
	}
	if !tl.Since.Equal(utc(t, "2024-03-02 08:10:05")) {
		t.Errorf("since %v", tl.Since)
	}
	if len(tl.Starts) != 2 || len(tl.VersionChanges) != 1 || tl.VersionChanges[0].To != "2.3.1319.0" {
		t.Errorf("starts %+v changes %+v", tl.Starts, tl.VersionChanges)
	}
}

// TestTimelineNoSuccess: logs with failures only give runs that follow no
// success, and no last success, rather than a guess.
func TestTimelineNoSuccess(t *testing.T) {
	res := Scan(context.Background(), Options{Paths: []string{filepath.Join("testdata/session-logging-s3-head")}, Location: time.UTC})
	tl := res.Timeline
	if tl.LastSuccess != nil || len(tl.Failing) == 0 {
		t.Fatalf("timeline %+v", tl)
	}
	for _, r := range tl.Failing {
		if !r.After.IsZero() {
			t.Errorf("run %+v follows a success", r)
		}
	}
}

// TestBuildTimelineAcrossSources: a success in one source cuts a run that
// another source holds, at the first failure after it.
func TestBuildTimelineAcrossSources(t *testing.T) {
	at := func(m int) time.Time { return time.Date(2024, 3, 1, 19, m, 0, 0, time.UTC) }
	timeout := Event{Kind: KindEndpointTimeout, Fields: Fields{Hosts: []string{"ssmmessages.us-east-1.amazonaws.com"}}}
	cases := []struct {
		name      string
		successAt int // minute of the control channel's success in source b; -1: none
		since     time.Time
		count     int
		after     time.Time
	}{
		{"no success", -1, at(0), 4, time.Time{}},
		{"success before all", 0, at(1), 3, at(0)}, // the failure at :00 is not after it
		{"success inside", 2, at(3), 1, at(2)},
		{"success after all", 9, time.Time{}, 0, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := func(p pos) string { return "f:" + strconv.Itoa(p.line) }
			a, b := newTimelineAcc(name), newTimelineAcc(name)
			for _, m := range []int{0, 1, 2, 3} {
				a.add(timeout, at(m), pos{line: m})
			}
			if c.successAt >= 0 {
				b.add(Event{Kind: KindControlChannelUp}, at(c.successAt), pos{line: 1})
			}
			tl := buildTimeline([]*timelineAcc{a, b}, time.UTC)
			if c.since.IsZero() {
				if len(tl.Failing) != 0 {
					t.Fatalf("runs %+v, want none", tl.Failing)
				}
				return
			}
			if len(tl.Failing) != 1 {
				t.Fatalf("runs %+v", tl.Failing)
			}
			r := tl.Failing[0]
			if !r.Since.Equal(c.since) || r.Count != c.count || !r.After.Equal(c.after) || r.Endpoint != "ssmmessages" {
				t.Errorf("run %+v, want since %v count %d after %v", r, c.since, c.count, c.after)
			}
		})
	}
}

// TestEnds is the table of which success ends which run.
func TestEnds(t *testing.T) {
	for _, c := range []struct {
		s    Kind
		key  runKey
		want bool
	}{
		{KindHealthPingOK, runKey{KindEndpointTimeout, "ssm"}, true},
		{KindHealthPingOK, runKey{KindEndpointTimeout, "ssmmessages"}, false},
		{KindControlChannelUp, runKey{KindControlChannelError, "ssmmessages"}, true},
		{KindControlChannelUp, runKey{KindDNSError, ""}, true},
		{KindControlChannelUp, runKey{KindCredentialsError, ""}, true},
		{KindCredentialsReady, runKey{KindCredentialsError, ""}, true},
		{KindCredentialsReady, runKey{KindDNSError, ""}, false},
		{KindCredentialsReady, runKey{KindEndpointTimeout, "ssm"}, false},
		{KindRegistered, runKey{KindAccessDenied, "ssm"}, true},
		{KindHealthPingOK, runKey{KindSessionLoggingBlocked, "s3"}, false},
	} {
		if got := ends(c.s, c.key); got != c.want {
			t.Errorf("ends(%s, %v) = %v, want %v", c.s, c.key, got, c.want)
		}
	}
}

// TestTimelineRunCap: a run of more distinct failure seconds than a source
// keeps, cut by a success found in another source after the last kept
// second, begins at or before its latest failure (approx).
func TestTimelineRunCap(t *testing.T) {
	t0 := time.Date(2024, 3, 1, 19, 0, 0, 0, time.UTC)
	timeout := Event{Kind: KindEndpointTimeout, Fields: Fields{Hosts: []string{"ssm.us-east-1.amazonaws.com"}}}
	name := func(p pos) string { return "f:" + strconv.Itoa(p.line) }
	a, b := newTimelineAcc(name), newTimelineAcc(name)
	for i := range maxRunTimes + 44 {
		a.add(timeout, t0.Add(time.Duration(i)*time.Second), pos{line: i + 1})
	}
	b.add(Event{Kind: KindHealthPingOK}, t0.Add(280*time.Second), pos{line: 1})
	tl := buildTimeline([]*timelineAcc{a, b}, time.UTC)
	if len(tl.Failing) != 1 || !tl.Failing[0].Approx || !tl.Failing[0].Since.Equal(t0.Add(299*time.Second)) || tl.Failing[0].Source != "" {
		t.Errorf("runs %+v", tl.Failing)
	}
	// Cut inside the kept seconds, the start is exact.
	c := newTimelineAcc(name)
	c.add(Event{Kind: KindHealthPingOK}, t0.Add(100*time.Second+time.Millisecond), pos{line: 1})
	tl = buildTimeline([]*timelineAcc{a, c}, time.UTC)
	if r := tl.Failing[0]; r.Approx || !r.Since.Equal(t0.Add(101*time.Second)) || r.Count != maxRunTimes-101 {
		t.Errorf("run %+v", r)
	}
}
