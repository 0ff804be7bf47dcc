//go:build linux

package inotify

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"

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

// watchLine is one watch line of an inotify fdinfo as the kernel writes it
// (fs/notify/fdinfo.c): about 120 bytes.
func watchLine(wd int) string {
	return fmt.Sprintf("inotify wd:%d ino:%x sdev:10300001 mask:fce ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:%016x\n", wd, 0x1a2b00+wd, wd)
}

// bigFdinfo is the fdinfo of an instance holding watches watches, with
// near misses between them: an indented watch line, a line without the
// colon, and, every 20,000 watches, a line longer than the reader's buffer
// whose second piece starts with "inotify wd:" (not a line start).
func bigFdinfo(watches int) string {
	var b strings.Builder
	b.WriteString("pos:\t0\nflags:\t02004000\nmnt_id:\t15\nino:\t1057\n")
	for i := 1; i <= watches; i++ {
		b.WriteString(watchLine(i))
		if i%20000 == 0 {
			b.WriteString(" " + watchLine(i))
			b.WriteString("inotify wd " + strconv.Itoa(i) + " ino:1\n")
			b.WriteString(strings.Repeat("x", 64<<10) + watchLine(i))
		}
	}
	return b.String()
}

// TestReadLargeFdinfo counts every watch of a 180,000-watch instance (a
// 21 MB fdinfo; the old 1 MiB read counted about 8,800) with 192,540
// allowed: 93 %, exactly, and not a lower bound.
func TestReadLargeFdinfo(t *testing.T) {
	const watches, limit = 180000, 192540
	dir := fakeProc(t, 128, map[int][2]int{812: {0, 1}, 900: {1000, 1}})
	put(t, filepath.Join(dir, "sys/fs/inotify/max_user_watches"), strconv.Itoa(limit)+"\n")
	body := bigFdinfo(watches)
	if len(body) < 20<<20 {
		t.Fatalf("fixture is only %d bytes", len(body))
	}
	put(t, filepath.Join(dir, "812", "fdinfo", "1"), body)
	f := Read(context.Background(), dir)
	if f.RootWatches != watches || f.RootInstances != 1 || f.LowerBound() || f.WatchesCut != 0 {
		t.Fatalf("root watches %d (want %d), instances %d, lower bound %v (cut %d, gaps %v)", f.RootWatches, watches, f.RootInstances, f.LowerBound(), f.WatchesCut, f.Gaps())
	}
	if u := f.WatchesUse(); u < 0.93 || u > 0.94 {
		t.Errorf("watches use %v, want 0.93", u)
	}
	if f.FdinfoBytes != int64(len(body))+int64(len("pos:\t0\ninotify wd:1 ino:1\ninotify wd:2 ino:2\ninotify wd:3 ino:3\n")) {
		t.Errorf("streamed %d fdinfo bytes", f.FdinfoBytes)
	}
}

// TestCountWatchesShortReads counts the same fdinfo read whole, one byte
// at a time and in halves: the reader's pieces never change the count.
func TestCountWatchesShortReads(t *testing.T) {
	body := bigFdinfo(20000)
	for name, r := range map[string]io.Reader{
		"whole":    strings.NewReader(body),
		"one byte": iotest.OneByteReader(strings.NewReader(body)),
		"halves":   iotest.HalfReader(strings.NewReader(body)),
	} {
		n, read, complete, err := countWatches(context.Background(), r, int64(len(body))+1)
		if n != 20000 || read != int64(len(body)) || !complete || err != nil {
			t.Errorf("%s: %d watches, %d bytes, complete %v, %v", name, n, read, complete, err)
		}
	}
}

// TestReadFdinfoBudget cuts the stream at byte bounds around the last
// watch line: below it the instance is cut and the count a lower bound;
// at the end of the file, or beyond, it is exact.
func TestReadFdinfoBudget(t *testing.T) {
	body := bigFdinfo(1000)
	dir := fakeProc(t, 128, map[int][2]int{812: {0, 1}})
	put(t, filepath.Join(dir, "812", "fdinfo", "1"), body)
	last := watchLine(1000)
	cases := []struct {
		budget  int64
		watches int
		cut     bool
	}{
		{0, 0, true},
		{int64(len(body) - len(last)), 999, true},
		{int64(len(body) - 1), 1000, true}, // the last line started: counted, but the file is not read to its end
		{int64(len(body)), 1000, false},
		{int64(len(body)) + 1, 1000, false},
	}
	for _, c := range cases {
		f := read(context.Background(), dir, c.budget)
		if f.RootWatches != c.watches || (f.WatchesCut > 0) != c.cut || f.LowerBound() != c.cut {
			t.Errorf("budget %d: %d watches, cut %d, lower bound %v; want %d watches, cut %v", c.budget, f.RootWatches, f.WatchesCut, f.LowerBound(), c.watches, c.cut)
		}
		if c.cut && !strings.Contains(strings.Join(f.Gaps(), "; "), "1 inotify instances") {
			t.Errorf("budget %d: gaps %v do not name the cut instance", c.budget, f.Gaps())
		}
	}
}

// TestReadFdinfoUnreadable: an inotify descriptor whose fdinfo is not a
// regular file (planted FIFO) is a cut instance, not zero watches; one
// whose fdinfo is gone (closed meanwhile) is not.
func TestReadFdinfoUnreadable(t *testing.T) {
	dir := fakeProc(t, 128, map[int][2]int{812: {0, 2}})
	fifo := filepath.Join(dir, "812", "fdinfo", "1")
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "812", "fdinfo", "2")); err != nil {
		t.Fatal(err)
	}
	f := Read(context.Background(), dir)
	if f.RootInstances != 2 || f.RootWatches != 0 || f.WatchesCut != 1 || !f.LowerBound() {
		t.Errorf("%+v", f)
	}
}

// TestLowerBound: every way the scan falls short makes the counts lower
// bounds, with a reason.
func TestLowerBound(t *testing.T) {
	for _, f := range []Facts{{Truncated: true}, {Unreadable: 3}, {WatchesCut: 1}} {
		if !f.LowerBound() || len(f.Gaps()) != 1 {
			t.Errorf("%+v: lower bound %v, gaps %v", f, f.LowerBound(), f.Gaps())
		}
	}
	if f := (Facts{Checked: true, RootWatches: 5}); f.LowerBound() || f.Gaps() != nil {
		t.Errorf("exact counts reported as lower bounds: %v", f.Gaps())
	}
}
