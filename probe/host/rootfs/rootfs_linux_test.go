package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// tree builds a root holding regular files and symbolic links of every kind
// Resolve must handle.
func tree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"/etc/real.conf":     "real\n",
		"/opt/app/data.txt":  "data\n",
		"/var/log/big.log":   strings.Repeat("line-of-log\n", 100),
		"/var/log/noeol.log": "abc",
	}
	for p, c := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"/etc/abs.conf": "/etc/real.conf",            // absolute: must stay under root
		"/etc/rel.conf": "real.conf",                 // relative
		"/etc/escape":   "../../../../etc/real.conf", // climbs above root: clamped at root
		"/data":         "/opt/app",                  // directory link in the middle of a path
		"/loop/a":       "b",
		"/loop/b":       "a",
		"/etc/dangling": "/nowhere",
	}
	for p, target := range links {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestResolveAndRead(t *testing.T) {
	for _, walk := range []bool{false, true} {
		t.Run(map[bool]string{false: "openat2", true: "walk"}[walk], func(t *testing.T) {
			defer noOpenat2.Store(noOpenat2.Load())
			noOpenat2.Store(walk)
			testResolveAndRead(t)
		})
	}
}

func testResolveAndRead(t *testing.T) {
	root := tree(t)
	f := FS{Root: root}
	cases := []struct {
		path, want string
		class      errclass.Class
	}{
		{"/etc/real.conf", "real\n", errclass.None},
		{"/etc/abs.conf", "real\n", errclass.None},
		{"etc/rel.conf", "real\n", errclass.None},
		{"/etc/escape", "real\n", errclass.None},
		{"/../../etc/real.conf", "real\n", errclass.None},
		{"/data/data.txt", "data\n", errclass.None},
		{"/loop/a", "", errclass.Other},
		{"/etc/dangling", "", errclass.Other}, // re-rooted and missing: points outside the volume
		{"/missing/file", "", errclass.NotFound},
		{"/etc", "", errclass.Other}, // a directory is not a regular file
	}
	for _, c := range cases {
		b, err := f.ReadFile(c.path, 1024)
		if string(b) != c.want || Class(err) != c.class {
			t.Errorf("ReadFile(%q) = %q, %v (%s); want %q, class %q", c.path, b, err, Class(err), c.want, c.class)
		}
	}
	if rp, err := f.Resolve("/etc/abs.conf"); err != nil || rp != filepath.Join(root, "etc/real.conf") {
		t.Errorf("Resolve(/etc/abs.conf) = %q, %v", rp, err)
	}
	if !f.Exists("/etc/abs.conf") || f.Exists("/etc/dangling") {
		t.Errorf("Exists wrong")
	}
	if l, err := f.Readlink("/data"); err != nil || l != "/opt/app" {
		t.Errorf("Readlink(/data) = %q, %v", l, err)
	}
}

func TestReadCaps(t *testing.T) {
	f := FS{Root: tree(t)}
	b, err := f.ReadFile("/var/log/big.log", 100)
	if len(b) != 100 || !errors.Is(err, ErrTooLarge) || Class(err) != errclass.Malformed {
		t.Errorf("ReadFile over cap: %d bytes, %v", len(b), err)
	}
	b, trunc, err := f.ReadTail("/var/log/big.log", 30)
	// The last 30 bytes are a 6-byte partial line and two full lines; the
	// partial line is dropped.
	if err != nil || !trunc || string(b) != "line-of-log\nline-of-log\n" {
		t.Errorf("ReadTail = %q, %v, %v", b, trunc, err)
	}
	b, trunc, err = f.ReadTail("/var/log/noeol.log", 30)
	if err != nil || trunc || string(b) != "abc" {
		t.Errorf("ReadTail short = %q, %v, %v", b, trunc, err)
	}
}

func TestFIFODoesNotBlock(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := FS{Root: root}.ReadFile("/fifo", 10)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("err = %v, want ErrNotRegular", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadFile blocked on a FIFO")
	}
}

func TestLive(t *testing.T) {
	for root, live := range map[string]bool{"": true, "/": true, "//": true, "/mnt": false, "testdata": false} {
		if got := (FS{Root: root}).IsLive(); got != live {
			t.Errorf("IsLive(%q) = %v", root, got)
		}
	}
	if got := (FS{Root: "/mnt/vol"}).Join("etc/../etc/hosts"); got != "/mnt/vol/etc/hosts" {
		t.Errorf("Join = %q", got)
	}
	if _, err := (FS{}).Stat("/"); err != nil {
		t.Errorf("Stat(/) on live root: %v", err)
	}
}

// TestOutsideLinks plants links from the root to files and directories of
// the machine running the test, each holding a marker, and a link to
// /proc/self/environ: none may be read, each read says the link points
// outside the volume, and no error text carries the marker.
func TestOutsideLinks(t *testing.T) {
	const marker = "HOST-MARKER-7f3a"
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "secret"), []byte(marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(host, "logs"), 0o755)
	os.WriteFile(filepath.Join(host, "logs", "amazon-ssm-agent.log"), []byte(marker+"\n"), 0o644)
	root := t.TempDir()
	links := map[string]string{
		"/etc/resolv.conf":   filepath.Join(host, "secret"),
		"/etc/hosts":         "../../../../../../../../" + filepath.Join(host, "secret"),
		"/etc/environ":       "/proc/self/environ",
		"/var/log/amazon":    filepath.Join(host, "logs"),
		"/etc/nsswitch.conf": "/etc/indirect",
		"/etc/indirect":      filepath.Join(host, "secret"),
	}
	for p, target := range links {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	for _, walk := range []bool{false, true} {
		noOpenat2.Store(walk)
		f := FS{Root: root}
		for _, p := range []string{"/etc/resolv.conf", "/etc/hosts", "/etc/environ", "/etc/nsswitch.conf", "/var/log/amazon/amazon-ssm-agent.log"} {
			b, err := f.ReadFile(p, 1<<20)
			var oe *OutsideError
			if len(b) != 0 || !errors.As(err, &oe) || !strings.Contains(err.Error(), "points outside the volume") {
				t.Errorf("walk=%v ReadFile(%s) = %q, %v; want nothing and an OutsideError", walk, p, b, err)
			}
			if err != nil && strings.Contains(err.Error(), marker) {
				t.Errorf("error shows the marker: %v", err)
			}
		}
		if ents, err := f.ReadDir("/var/log/amazon"); err == nil || len(ents) > 0 {
			t.Errorf("walk=%v ReadDir through an outside link = %v, %v", walk, ents, err)
		}
	}
	noOpenat2.Store(false)
}
