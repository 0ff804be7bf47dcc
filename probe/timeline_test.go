package probe

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo on hosts without zoneinfo

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/host/changes"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs/rootfstest"
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
	obs := &Observations{
		Host: &host.Facts{Changes: &changes.Facts{Files: []changes.File{old, resolv}}},
		Logs: &journal.Result{Timeline: &journal.Timeline{Since: since, Failing: []journal.Run{{Kind: journal.KindDNSError, Since: since}},
			Starts: []journal.Start{{Version: "3.3.987.0"}, {Version: "3.3.1142.0"}}}},
	}
	tl := timelineOf(obs)
	if tl.LastSuccess != nil || tl.NoSuccess != noSuccess || tl.LastStart.Version != "3.3.1142.0" {
		t.Errorf("timeline %+v", tl)
	}
	if len(tl.Changes) != 1 || tl.Changes[0].Path != "/etc/resolv.conf" || !tl.WindowFrom.Equal(since.Add(-ChangeWindow)) {
		t.Errorf("changes %+v from %v", tl.Changes, tl.WindowFrom)
	}
	fs := []Finding{{ID: DNSStubResolver, Severity: SevInfo}, {ID: DNSResolverBypassesVPC, Severity: SevFail}, {ID: NetEndpointBlocked, Severity: SevFail}}
	attachTimeline(fs, tl)
	if !fs[1].Since.Equal(since) || len(fs[1].ChangesBefore) != 1 || !fs[0].Since.IsZero() || !fs[2].Since.IsZero() {
		t.Errorf("findings %+v", fs)
	}
	// A finding about ssmmessages is dated by the ssmmessages run.
	later := since.Add(4 * time.Minute)
	obs.Logs.Timeline.Failing = append(obs.Logs.Timeline.Failing, journal.Run{Kind: journal.KindEndpointTimeout, Endpoint: "ssmmessages", Since: later})
	fs = []Finding{{ID: NetEndpointBlocked, Severity: SevFail, Endpoints: []string{"ssmmessages.us-east-1.amazonaws.com"}}}
	attachTimeline(fs, timelineOf(obs))
	if !fs[0].Since.Equal(later) || len(fs[0].ChangesBefore) != 1 {
		t.Errorf("endpoint finding %+v", fs[0])
	}
	if timelineOf(&Observations{}) != nil {
		t.Error("a timeline from nothing")
	}
	if tl := timelineOf(&Observations{Host: &host.Facts{}}); tl == nil || tl.NoSuccess == "" || len(tl.Changes) != 0 {
		t.Errorf("no logs: %+v", tl)
	}
}

// TestTimelineOfflineRoot probes a volume offline (--root) whose host is set
// to Tokyo time: the agent's zone-less log times are read in the volume's
// zone, and resolv.conf, rewritten half a minute before the first failure,
// is named on the headline finding.
func TestTimelineOfflineRoot(t *testing.T) {
	cfg := testConfig(t)
	cfg.Live, cfg.Offline, cfg.NoJournal, cfg.Since = false, true, true, 0
	root := cfg.Root
	rootfstest.CopyTree(t, "../journal/testdata/timeline/resolv", root)
	rootfstest.CopyTree(t, "host/testdata/roots/ec2-dmi/usr", filepath.Join(root, "usr"))
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/usr/share/zoneinfo/Asia/Tokyo", filepath.Join(root, "etc/localtime")); err != nil {
		t.Fatal(err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2024, 3, 1, 19, 1, 0, 500e6, tokyo) // the log's first failure, in Tokyo time
	rc := filepath.Join(root, "etc/resolv.conf")
	if err := os.WriteFile(rc, []byte("nameserver 10.9.9.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(rc, since.Add(-30*time.Second), since.Add(-30*time.Second)); err != nil {
		t.Fatal(err)
	}
	res := Run(context.Background(), cfg)
	tl := res.Timeline
	if tl == nil || !tl.Since.Equal(since) || tl.Zone != "Asia/Tokyo (UTC+09:00)" {
		t.Fatalf("timeline %+v", tl)
	}
	if len(tl.Changes) != 1 || tl.Changes[0].Path != "/etc/resolv.conf" {
		t.Errorf("changes %+v", tl.Changes)
	}
	var head *Finding
	for i := range res.Findings {
		if res.Findings[i].Severity != SevInfo {
			head = &res.Findings[i]
			break
		}
	}
	if head == nil || head.Since.IsZero() || len(head.ChangesBefore) != 1 || head.ChangesBefore[0].Path != "/etc/resolv.conf" {
		t.Errorf("headline finding %+v", head)
	}
}
