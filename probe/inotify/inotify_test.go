package inotify

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// TestParsers runs each parser on testdata/<parser>/*.in against its golden
// *.want.json.
func TestParsers(t *testing.T) {
	parsers := map[string]func([]byte) any{
		"fdinfo": func(b []byte) any { return CountWatches(b) },
		"status": func(b []byte) any { return ParseStatusUID(b) },
		"filenr": func(b []byte) any {
			a, m, err := ParseFileNr(b)
			e := ""
			if err != nil {
				e = err.Error()
			}
			return map[string]any{"allocated": a, "max": m, "error": e}
		},
	}
	golden.Parsers(t, "testdata", parsers)
}

func put(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeProc builds a process table: the limits, and processes whose fd links
// point at inotify instances or at files.
func fakeProc(t *testing.T, maxInstances int, procs map[int][2]int) string {
	t.Helper()
	dir := t.TempDir()
	put(t, filepath.Join(dir, "sys/fs/inotify/max_user_instances"), strconv.Itoa(maxInstances)+"\n")
	put(t, filepath.Join(dir, "sys/fs/inotify/max_user_watches"), "8192\n")
	put(t, filepath.Join(dir, "sys/fs/file-nr"), "1000\t0\t100000\n")
	for pid, p := range procs { // p: uid, instances
		pd := filepath.Join(dir, strconv.Itoa(pid))
		put(t, filepath.Join(pd, "status"), "Name:\tx\nUid:\t"+strconv.Itoa(p[0])+"\t0\t0\t0\n")
		put(t, filepath.Join(pd, "comm"), "proc"+strconv.Itoa(pid)+"\n")
		if err := os.MkdirAll(filepath.Join(pd, "fd"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/var/log/syslog", filepath.Join(pd, "fd", "0")); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= p[1]; i++ {
			if err := os.Symlink(inotifyTarget, filepath.Join(pd, "fd", strconv.Itoa(i))); err != nil {
				t.Fatal(err)
			}
			put(t, filepath.Join(pd, "fdinfo", strconv.Itoa(i)), "pos:\t0\ninotify wd:1 ino:1\ninotify wd:2 ino:2\ninotify wd:3 ino:3\n")
		}
	}
	put(t, filepath.Join(dir, "self"), "not a process")
	return dir
}

func TestRead(t *testing.T) {
	dir := fakeProc(t, 128, map[int][2]int{812: {0, 3}, 900: {0, 120}, 1500: {1000, 40}, 1600: {0, 0}})
	f := Read(context.Background(), dir)
	if !f.Checked || f.MaxUserInstances != 128 || f.MaxUserWatches != 8192 || f.FilesAllocated != 1000 || f.FilesMax != 100000 {
		t.Fatalf("limits: %+v", f)
	}
	if f.RootInstances != 123 || f.RootWatches != 369 || f.Procs != 4 || f.Truncated {
		t.Errorf("counts: root instances %d watches %d procs %d truncated %v", f.RootInstances, f.RootWatches, f.Procs, f.Truncated)
	}
	if len(f.Holders) != 2 || f.Holders[0].PID != 900 || f.Holders[0].Comm != "proc900" || f.Holders[1].PID != 812 {
		t.Errorf("holders: %+v", f.Holders)
	}
	if u := f.InstancesUse(); u < 0.96 || u > 0.97 {
		t.Errorf("instances use %v", u)
	}
}

func TestReadMissing(t *testing.T) {
	f := Read(context.Background(), filepath.Join(t.TempDir(), "none"))
	if f.Checked || f.Reason == "" || len(f.Problems) != 3 {
		t.Errorf("%+v", f)
	}
}

func TestReadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if f := Read(ctx, fakeProc(t, 128, map[int][2]int{812: {0, 1}})); !f.Truncated || f.Procs != 0 {
		t.Errorf("%+v", f)
	}
}
