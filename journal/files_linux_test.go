//go:build linux

package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// TestExplicitPathSources: every explicit path Scan is given ends as a
// source that says whether it was read. A missing path, an empty directory,
// a directory whose only entries are a FIFO, a socket and a link, and one
// whose only log lies deeper than the walk goes are recorded as missing
// with the reason, never dropped; the near misses beside them (a log nested
// as deep as the walk goes, a log next to a FIFO, the rolled set of
// testdata) are read, and the FIFO is not recorded.
func TestExplicitPathSources(t *testing.T) {
	dir := t.TempDir()
	mk := func(rel string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(rel string) {
		p := filepath.Join(dir, rel)
		mk(filepath.Dir(rel))
		if err := os.WriteFile(p, []byte("2024-03-01 10:00:00 INFO [ssm-agent-worker] started\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	empty, odd, deep, nested, beside := mk("empty"), mk("odd"), mk("deep"), mk("nested"), mk("beside")
	if err := syscall.Mkfifo(filepath.Join(odd, MainLog), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if err := syscall.Mknod(filepath.Join(odd, "sock"), syscall.S_IFSOCK|0o644, 0); err != nil {
		t.Skipf("mknod socket: %v", err)
	}
	if err := os.Symlink("/etc/hostname", filepath.Join(odd, ErrorsLog)); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(beside, ErrorsLog), 0o644); err != nil {
		t.Fatal(err)
	}
	write("beside/" + MainLog)
	write("deep/a/b/c/d/e/" + MainLog) // five levels of subdirectories: beyond maxDirDepth
	write("nested/a/b/c/d/" + MainLog) // four levels: read
	missing := filepath.Join(dir, "missing")
	rotated := filepath.Join("testdata", "rotated", AgentLogDir)
	for _, c := range []struct {
		path   string
		status Status
		reason string // in the one source's reason; "" for a path that is read
	}{
		{missing, StatusMissing, "no such file or directory"},
		{empty, StatusMissing, "no regular file in " + empty},
		{odd, StatusMissing, "its 3 entries are FIFOs, sockets, devices or links, which are never read"},
		{deep, StatusMissing, fmt.Sprintf("no regular file in %s (searched %d levels of subdirectories)", deep, maxDirDepth)},
		{nested, StatusRead, ""},
		{beside, StatusRead, ""},
		{rotated, StatusRead, ""},
	} {
		res := Scan(context.Background(), Options{Paths: []string{c.path}})
		if c.reason != "" {
			if len(res.Sources) != 1 || res.Sources[0].Name != c.path || res.Sources[0].Status != c.status ||
				!strings.Contains(res.Sources[0].Reason, c.reason) {
				t.Errorf("%s: sources %+v; want one %s source saying %q", c.path, res.Sources, c.status, c.reason)
			}
			continue
		}
		if len(res.Sources) == 0 {
			t.Errorf("%s: no source", c.path)
		}
		for _, s := range res.Sources {
			if s.Status != StatusRead {
				t.Errorf("%s: source %s is %s (%s), want read", c.path, s.Name, s.Status, s.Reason)
			}
		}
	}
}

// TestVolumeJournalNotRegular: a rescue volume whose journal directory
// holds a *.journal name that is a FIFO or a device node is not handed to
// journalctl (which could open it): the journal source is an error saying
// why. The same directory with a regular file there is handed over.
func TestVolumeJournalNotRegular(t *testing.T) {
	const machineID = "0123456789abcdef0123456789abcdef"
	nodes := map[string]func(p string) error{
		"fifo":   func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"device": func(p string) error { return syscall.Mknod(p, syscall.S_IFCHR|0o644, 1<<8|3) },
		"top": func(p string) error {
			return syscall.Mkfifo(filepath.Join(filepath.Dir(filepath.Dir(p)), "x.journal"), 0o644)
		},
		"regular": func(p string) error {
			return os.WriteFile(p, nil, 0o644)
		},
	}
	for name, mk := range nodes {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, journalDir, machineID)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := mk(filepath.Join(dir, "system.journal")); err != nil {
				t.Skipf("mknod: %v", err)
			}
			if name == "top" {
				if err := os.WriteFile(filepath.Join(dir, "system.journal"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			s := &scanner{opt: Options{Root: root}}
			_, err := s.containedJournal(journalDir)
			if refused := errors.Is(err, rootfs.ErrNotRegular); refused != (name != "regular") {
				t.Errorf("containedJournal: %v; refused %v, want %v", err, refused, name != "regular")
			}
		})
	}
}
