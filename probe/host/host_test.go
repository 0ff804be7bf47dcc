package host

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// TestDetectEC2 runs DetectEC2 on each fixture tree, checks the verdict and
// the deciding file, and compares the whole identity with its golden file.
func TestDetectEC2(t *testing.T) {
	cases := []struct {
		name, verdict, decidedBy, instanceID string
	}{
		{"ec2-dmi", EC2Yes, "/sys/class/dmi/id/board_asset_tag", "i-0123456789abcdef0"},
		{"ec2-xen", EC2Yes, "/sys/hypervisor/uuid", ""},
		{"not-ec2", EC2No, "", ""},
		{"hybrid", EC2No, "", ""},
		{"offline", EC2Unknown, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := DetectEC2(rootfs.FS{Root: filepath.Join("testdata", "roots", c.name)})
			if id.Verdict != c.verdict || id.DecidedBy != c.decidedBy || id.InstanceID != c.instanceID {
				t.Errorf("got verdict %q by %q id %q; want %q by %q id %q", id.Verdict, id.DecidedBy, id.InstanceID, c.verdict, c.decidedBy, c.instanceID)
			}
			golden.JSON(t, filepath.Join("testdata", "golden", c.name+".ec2.want.json"), id)
		})
	}
}

// TestUnreadableIdentity checks that an identity file that cannot be read
// (here a directory) is recorded, and alone gives "unknown".
func TestUnreadableIdentity(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sys/class/dmi/id/sys_vendor"), 0o755); err != nil {
		t.Fatal(err)
	}
	id := DetectEC2(rootfs.FS{Root: root})
	if id.Verdict != EC2Unknown || len(id.Evidence) != 1 || !strings.HasPrefix(id.Evidence[0].Error, "other:") {
		t.Errorf("got %+v", id)
	}
}

func TestDiskFrom(t *testing.T) {
	cases := []struct {
		name string
		in   statfsResult
		want Disk
	}{
		{"ext4", statfsResult{Blocks: 1000, Bfree: 100, Bavail: 50, Files: 200, Ffree: 2, Frsize: 4096, Fsid: [2]int32{-1, 2}},
			Disk{Path: "/", Checked: true, FSID: "ffffffff00000002", TotalBytes: 4096000, FreeBytes: 409600, AvailBytes: 204800,
				FreePercent: 10, AvailPercent: 5, InodesKnown: true, TotalInodes: 200, FreeInodes: 2, FreeInodesPercent: 1}},
		{"btrfs reports no inodes", statfsResult{Blocks: 10, Bfree: 10, Bavail: 10, Frsize: 512},
			Disk{Path: "/", Checked: true, FSID: "0000000000000000", TotalBytes: 5120, FreeBytes: 5120, AvailBytes: 5120,
				FreePercent: 100, AvailPercent: 100}},
		{"empty", statfsResult{}, Disk{Path: "/", Checked: true, FSID: "0000000000000000"}},
	}
	for _, c := range cases {
		if got := diskFrom("/", c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

// TestInspect measures real file systems under fixture roots. The numbers
// depend on this machine, so only their consistency is checked.
func TestInspect(t *testing.T) {
	now := time.Date(2024, 6, 1, 1, 0, 0, 0, time.UTC)
	f := Inspect(context.Background(), Options{Root: filepath.Join("testdata", "roots", "ec2-dmi"), Now: func() time.Time { return now }})
	if len(f.Disks) != 2 {
		t.Fatalf("disks: %+v", f.Disks)
	}
	for _, d := range f.Disks {
		if !d.Checked || d.TotalBytes == 0 || d.FreeBytes > d.TotalBytes || d.AvailBytes > d.FreeBytes ||
			d.FreePercent < 0 || d.FreePercent > 100 || d.FSID == "" {
			t.Errorf("implausible disk %+v", d)
		}
	}
	if f.Disks[0].FSID != f.Disks[1].FSID {
		t.Errorf("both fixture paths are on one file system: %+v", f.Disks)
	}
	if f.EC2.Verdict != EC2Yes {
		t.Errorf("ec2: %+v", f.EC2)
	}
	want := &HostZone{Name: "Asia/Tokyo", Abbrev: "JST", OffsetSeconds: 9 * 3600, Source: "/etc/localtime"}
	if !reflect.DeepEqual(f.Clock.HostZone, want) || !f.Clock.Now.Equal(now) {
		t.Errorf("clock %+v zone %+v", f.Clock, f.Clock.HostZone)
	}

	off := Inspect(context.Background(), Options{Root: filepath.Join("testdata", "roots", "offline")})
	if !off.Disks[0].Checked || off.Disks[1].Checked || !strings.HasPrefix(off.Disks[1].Reason, "not checked: not-found") {
		t.Errorf("offline disks %+v", off.Disks)
	}
	if off.Clock.HostZone != nil || off.Clock.Now.IsZero() {
		t.Errorf("offline clock %+v", off.Clock)
	}
}

func TestHostZone(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]*HostZone{
		"ec2-xen": {Name: "Etc/UTC", Source: "/etc/timezone"},
		"not-ec2": {Source: "/etc/localtime", Error: "malformed: malformed time zone information"},
		"offline": nil,
	}
	for name, want := range cases {
		got := hostZone(rootfs.FS{Root: filepath.Join("testdata", "roots", name)}, now)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
}

// TestInspectLive runs on this machine's own root; it must not fail.
func TestInspectLive(t *testing.T) {
	f := Inspect(context.Background(), Options{})
	if len(f.Disks) != 2 || !f.Disks[0].Checked {
		t.Errorf("live disks %+v", f.Disks)
	}
}
