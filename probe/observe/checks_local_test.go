//go:build linux

package observe

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// TestInotifyCheckLowerBound runs the inotify check on a planted process
// table. Exact counts pass; when an instance's watches could not all be
// counted (its fdinfo is a FIFO), the counts are lower bounds and the
// check warns and says so, whatever the counts: a lower bound far from a
// limit proves nothing.
func TestInotifyCheckLowerBound(t *testing.T) {
	for _, cut := range []bool{false, true} {
		cfg := testConfig(t)
		cfg.Live = true
		cfg.ProcDir = t.TempDir()
		put := func(rel, body string) {
			p := filepath.Join(cfg.ProcDir, rel)
			mustDo(t, os.MkdirAll(filepath.Dir(p), 0o755))
			mustDo(t, os.WriteFile(p, []byte(body), 0o644))
		}
		put("sys/fs/inotify/max_user_instances", "128\n")
		put("sys/fs/inotify/max_user_watches", "192540\n")
		put("sys/fs/file-nr", "1000\t0\t100000\n")
		put("812/status", "Name:\tamazon-ssm-agen\nUid:\t0\t0\t0\t0\n")
		put("812/comm", "amazon-ssm-agen\n")
		mustDo(t, os.MkdirAll(filepath.Join(cfg.ProcDir, "812/fd"), 0o755))
		for _, fd := range []string{"3", "4"} {
			mustDo(t, os.Symlink("anon_inode:inotify", filepath.Join(cfg.ProcDir, "812/fd", fd)))
			put("812/fdinfo/"+fd, "pos:\t0\ninotify wd:1 ino:1 sdev:103 mask:fc6\n")
		}
		if cut {
			p := filepath.Join(cfg.ProcDir, "812/fdinfo/4")
			mustDo(t, os.Remove(p))
			mustDo(t, syscall.Mkfifo(p, 0o644))
		}
		out := runOne(context.Background(), &cfg, inotifyCheck(&cfg))
		f := out.seen.Inotify
		if f == nil || f.RootInstances != 2 {
			t.Fatalf("cut %v: facts %+v", cut, f)
		}
		want := obs.StatusPass
		if cut {
			want = obs.StatusWarn
		}
		if out.Status != want || cut != strings.Contains(out.Reason, "lower bounds") {
			t.Errorf("cut %v: %s %q, want %s", cut, out.Status, out.Reason, want)
		}
	}
}
