//go:build linux

package observe

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs/rootfstest"
)

// TestTimelineOfflineRoot probes a volume offline (--root) whose host is set
// to Tokyo time: the agent's zone-less log times are read in the volume's
// zone, and resolv.conf, rewritten half a minute before the first failure,
// is named on the headline finding.
func TestTimelineOfflineRoot(t *testing.T) {
	cfg := testConfig(t)
	cfg.Live, cfg.Offline, cfg.NoJournal, cfg.Since = false, true, true, 0
	root := cfg.Root
	rootfstest.CopyTree(t, "../../journal/testdata/timeline/resolv", root)
	rootfstest.CopyTree(t, "../host/testdata/roots/ec2-dmi/usr", filepath.Join(root, "usr"))
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
	res := run(context.Background(), cfg)
	tl := res.Timeline
	if tl == nil || !tl.Since.Equal(since) || tl.Zone != "Asia/Tokyo (UTC+09:00)" {
		t.Fatalf("timeline %+v", tl)
	}
	if len(tl.Changes) != 1 || tl.Changes[0].Path != "/etc/resolv.conf" {
		t.Errorf("changes %+v", tl.Changes)
	}
	var head *finding.Finding
	for i := range res.Findings {
		if res.Findings[i].Severity != finding.SevInfo {
			head = &res.Findings[i]
			break
		}
	}
	if head == nil || head.Since.IsZero() || len(head.ChangesBefore) != 1 || head.ChangesBefore[0].Path != "/etc/resolv.conf" {
		t.Errorf("headline finding %+v", head)
	}
}
