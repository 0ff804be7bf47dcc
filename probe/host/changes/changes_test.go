package changes

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo on hosts without zoneinfo

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs/rootfstest"
)

var t0 = time.Date(2024, 3, 1, 19, 0, 0, 0, time.UTC)

// fixtureRoot copies testdata/root and dates its files: resolv.conf's link
// target a minute before t0, the rest earlier; it adds a wtmp with two boots.
func fixtureRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	rootfstest.CopyTree(t, "testdata/root", root)
	for p, at := range map[string]time.Time{
		"run/systemd/resolve/stub-resolv.conf":                        t0.Add(-time.Minute),
		"run/systemd/resolve/resolv.conf":                             t0.Add(-time.Minute),
		"etc/hosts":                                                   t0.Add(-48 * time.Hour),
		"etc/nsswitch.conf":                                           t0.Add(-48 * time.Hour),
		"etc/amazon/ssm/amazon-ssm-agent.json":                        t0.Add(-3 * time.Hour),
		"etc/systemd/system/amazon-ssm-agent.service.d/override.conf": t0.Add(-2 * time.Hour),
		"usr/bin/amazon-ssm-agent":                                    t0.Add(-30 * time.Second),
		"lib/systemd/system/amazon-ssm-agent.service":                 t0.Add(-30 * time.Second),
		"var/log/dpkg.log":                                            t0,
		"var/log/yum.log":                                             t0,
	} {
		if err := os.Chtimes(filepath.Join(root, p), at, at); err != nil {
			t.Fatal(err)
		}
	}
	var w []byte
	for _, r := range []struct {
		typ int32
		at  time.Time
	}{{utBootTime, t0.Add(-72 * time.Hour)}, {7, t0.Add(-71 * time.Hour)}, {utBootTime, t0.Add(-5 * time.Hour)}, {8, t0.Add(-4 * time.Hour)}} {
		rec := make([]byte, utmpSize)
		binary.LittleEndian.PutUint32(rec, uint32(r.typ))
		binary.LittleEndian.PutUint32(rec[utmpTVOffset:], uint32(r.at.Unix()))
		w = append(w, rec...)
	}
	if err := os.WriteFile(filepath.Join(root, "var/log/wtmp"), w, 0o644); err != nil {
		t.Fatal(err)
	}
	clock := filepath.Join(root, "var/lib/systemd/timesync/clock")
	if err := os.MkdirAll(filepath.Dir(clock), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(clock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(clock, t0.Add(-20*time.Minute), t0.Add(-20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestRead reads the fixture volume offline: file times through links,
// the three package logs (dpkg.log in the host's zone), the last boot from
// wtmp, and the changes in time order.
func TestRead(t *testing.T) {
	root := fixtureRoot(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	f := Read(rootfs.FS{Root: root}, Options{Location: tokyo})
	if len(f.Problems) != 0 {
		t.Errorf("problems %+v", f.Problems)
	}
	byPath := map[string]File{}
	for _, fl := range f.Files {
		byPath[fl.Path] = fl
	}
	rc := byPath["/etc/resolv.conf"]
	if !rc.ModTime.Equal(t0.Add(-time.Minute)) || rc.Target != "../run/systemd/resolve/stub-resolv.conf" || rc.LinkTime.IsZero() || rc.Role != "resolver" {
		t.Errorf("resolv.conf %+v", rc)
	}
	if d := byPath["/etc/systemd/system/amazon-ssm-agent.service.d/override.conf"]; d.Role != "agent-unit" || !d.ModTime.Equal(t0.Add(-2*time.Hour)) {
		t.Errorf("drop-in %+v", d)
	}
	if _, ok := byPath["/etc/amazon/ssm/seelog.xml"]; ok {
		t.Error("an absent file is listed")
	}
	jst := func(s string) time.Time {
		v, _ := time.ParseInLocation("2006-01-02 15:04:05", s, tokyo)
		return v.UTC()
	}
	want := []Package{
		{Time: jst("2024-02-28 09:00:00"), Action: "install", Version: "3.2.582.0", Source: "/var/log/yum.log:1"},
		{Time: jst("2024-03-01 17:00:01"), Action: "install", Version: "3.3.987.0-1", Source: "/var/log/dpkg.log:2"},
		{Time: jst("2024-03-01 18:00:00"), Action: "upgrade", Version: "3.3.987.0", Source: "/var/log/yum.log:2"},
		{Time: jst("2024-03-01 18:59:30"), Action: "upgrade", Version: "3.3.1142.0-1", Source: "/var/log/dpkg.log:5"},
		{Time: t0.Add(-30 * time.Minute), Action: "upgrade", Version: "3.3.1142.0", Source: "/var/log/dnf.rpm.log:1"},
	}
	if !reflect.DeepEqual(f.Packages, want) {
		t.Errorf("packages\n got %+v\nwant %+v", f.Packages, want)
	}
	if f.Boot == nil || !f.Boot.Time.Equal(t0.Add(-5*time.Hour)) || f.Boot.Source != "/var/log/wtmp" {
		t.Errorf("boot %+v", f.Boot)
	}
	if c := f.ClockSync; c == nil || c.Synchronized != nil || !c.LastSync.Equal(t0.Add(-20*time.Minute)) || c.Source != "/var/lib/systemd/timesync/clock" {
		t.Errorf("clock sync %+v (offline: no synchronized flag, the last sync from timesyncd's clock file)", c)
	}
	ch := f.Changes()
	for i := 1; i < len(ch); i++ {
		if ch[i].Time.Before(ch[i-1].Time) {
			t.Fatalf("changes out of order: %+v", ch)
		}
	}
	var resolv *Change
	for i := range ch {
		if ch[i].Path == "/etc/resolv.conf" && ch[i].Time.Equal(t0.Add(-time.Minute)) {
			resolv = &ch[i]
		}
	}
	if resolv == nil || resolv.What != "/etc/resolv.conf (-> ../run/systemd/resolve/stub-resolv.conf) modified" {
		t.Errorf("no resolv.conf change in %+v", ch)
	}
}

// TestReadLive reads this machine's own root: it must not fail, and the
// boot time comes from /proc/stat.
func TestReadLive(t *testing.T) {
	f := Read(rootfs.FS{}, Options{})
	if f.Boot == nil || f.Boot.Source != "/proc/stat" || f.Boot.Time.After(time.Now()) {
		t.Errorf("boot %+v", f.Boot)
	}
}

func TestParsers(t *testing.T) {
	utc := time.UTC
	for _, c := range []struct {
		name  string
		parse func(string, *time.Location, int) (Package, bool)
		line  string
		want  Package
		ok    bool
	}{
		{"dpkg upgrade", parseDpkg, "2024-03-01 18:59:30 upgrade amazon-ssm-agent:arm64 3.3.987.0-1 3.3.1142.0-1", Package{Time: t0.Add(-30 * time.Second), Action: "upgrade", Version: "3.3.1142.0-1"}, true},
		{"dpkg remove", parseDpkg, "2024-03-01 19:00:00 remove amazon-ssm-agent:amd64 3.3.1142.0-1 <none>", Package{Time: t0, Action: "remove", Version: "3.3.1142.0-1"}, true},
		{"dpkg status", parseDpkg, "2024-03-01 19:00:00 status installed amazon-ssm-agent:amd64 3.3.1142.0-1", Package{}, false},
		{"dpkg other package", parseDpkg, "2024-03-01 19:00:00 upgrade amazon-ssm-agent-helper:amd64 1 2", Package{}, false},
		{"dpkg bad time", parseDpkg, "2024-13-01 19:00:00 upgrade amazon-ssm-agent:amd64 1 2", Package{}, false},
		{"yum erased", parseYum, "Mar 01 19:00:00 Erased: amazon-ssm-agent-3.3.1142.0-1.x86_64", Package{Time: t0, Action: "remove", Version: "3.3.1142.0"}, true},
		{"yum short", parseYum, "Mar 01", Package{}, false},
		{"yum other", parseYum, "Mar 01 19:00:00 Updated: amazon-ssm-agent-plugin-1-1.x86_64", Package{}, false},
		{"dnf install", parseDnf, "2024-03-01T19:00:00+0000 SUBDEBUG Installed: amazon-ssm-agent-3.3.1142.0-1.x86_64", Package{Time: t0, Action: "install", Version: "3.3.1142.0"}, true},
		{"dnf upgraded (old half)", parseDnf, "2024-03-01T19:00:00+0000 SUBDEBUG Upgraded: amazon-ssm-agent-3.3.987.0-1.x86_64", Package{}, false},
	} {
		got, ok := c.parse(c.line, utc, 2024)
		got.Time = got.Time.UTC()
		if ok != c.ok || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v %v, want %+v %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestBootParsers(t *testing.T) {
	if got, ok := parseBtime([]byte("cpu  1 2 3\nbtime 1709319600\nprocesses 9\n")); !ok || !got.Equal(t0) {
		t.Errorf("btime %v %v", got, ok)
	}
	for _, b := range [][]byte{nil, []byte("btime x\n"), []byte("btime -1\n")} {
		if _, ok := parseBtime(b); ok {
			t.Errorf("btime from %q", b)
		}
	}
	if _, ok := lastBoot(make([]byte, 3*utmpSize)); ok {
		t.Error("boot from empty records")
	}
}
