package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// TestParseOSRelease reads the os-release files of testdata/os-release,
// near misses included (a commented ID, a key with a blank, IDX=).
func TestParseOSRelease(t *testing.T) {
	for _, c := range []struct {
		file string
		want OSRelease
		br   bool
	}{
		{"bottlerocket", OSRelease{ID: "bottlerocket", VersionID: "1.29.0", Variant: "aws-k8s-1.31", Pretty: "Bottlerocket OS 1.29.0 (aws-k8s-1.31)"}, true},
		{"amzn2023", OSRelease{ID: "amzn", VersionID: "2023", Pretty: "Amazon Linux 2023.6.20241212"}, false},
		{"ubuntu", OSRelease{ID: "ubuntu", VersionID: "24.04", Pretty: "Ubuntu 24.04.1 LTS"}, false},
		{"near-miss", OSRelease{ID: "fedora", Pretty: `A "quoted" name`}, false},
	} {
		b, err := os.ReadFile(filepath.Join("testdata/os-release", c.file))
		if err != nil {
			t.Fatal(err)
		}
		got := ParseOSRelease(b)
		if got != c.want || got.Bottlerocket() != c.br {
			t.Errorf("%s: got %+v, want %+v (bottlerocket %v)", c.file, got, c.want, c.br)
		}
	}
	if r := ParseOSRelease([]byte("\x00\x01\xff\nID=\x00bottlerocket\n")); r.Bottlerocket() {
		t.Errorf("binary: %+v", r)
	}
}

// TestReadOSRelease reads os-release under a root: the host's, a
// Bottlerocket host container's view of the host (the admin container), a
// container that does not see the host, and hostile files.
func TestReadOSRelease(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata/os-release", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	write := func(root, p, content string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("host", func(t *testing.T) {
		root := t.TempDir()
		write(root, "usr/lib/os-release", read("bottlerocket"))
		r, probs := ReadOSRelease(rootfs.FS{Root: root})
		if !r.Bottlerocket() || r.Container || r.Path != "/usr/lib/os-release" || len(probs) != 0 {
			t.Errorf("%+v %v", r, probs)
		}
	})
	t.Run("admin-container", func(t *testing.T) {
		root := t.TempDir()
		write(root, "etc/os-release", read("amzn2023"))
		write(root, ".bottlerocket/rootfs/etc/os-release", read("bottlerocket"))
		r, _ := ReadOSRelease(rootfs.FS{Root: root})
		if !r.Bottlerocket() || !r.Container || r.Path != "/.bottlerocket/rootfs/etc/os-release" {
			t.Errorf("%+v", r)
		}
	})
	t.Run("other-container", func(t *testing.T) {
		root := t.TempDir()
		write(root, "etc/os-release", read("amzn2023"))
		write(root, ".bottlerocket/rootfs/etc/os-release", read("ubuntu"))
		r, _ := ReadOSRelease(rootfs.FS{Root: root})
		if r.Bottlerocket() || r.ID != "amzn" || r.Container {
			t.Errorf("%+v", r)
		}
	})
	t.Run("none", func(t *testing.T) {
		if r, probs := ReadOSRelease(rootfs.FS{Root: t.TempDir()}); r != nil || len(probs) != 0 {
			t.Errorf("%+v %v", r, probs)
		}
	})
	t.Run("huge", func(t *testing.T) {
		root := t.TempDir()
		write(root, "etc/os-release", "ID=bottlerocket\n"+strings.Repeat("X=y\n", 100<<10))
		r, probs := ReadOSRelease(rootfs.FS{Root: root})
		if r != nil || len(probs) != 1 {
			t.Errorf("%+v %v", r, probs)
		}
	})
	t.Run("link-out", func(t *testing.T) {
		root, out := t.TempDir(), t.TempDir()
		write(out, "os-release", read("bottlerocket"))
		if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(out, "os-release"), filepath.Join(root, "etc/os-release")); err != nil {
			t.Fatal(err)
		}
		r, probs := ReadOSRelease(rootfs.FS{Root: root})
		if r.Bottlerocket() || len(probs) == 0 {
			t.Errorf("followed a link out of the root: %+v %v", r, probs)
		}
	})
}
