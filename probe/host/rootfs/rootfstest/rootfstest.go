// Package rootfstest builds host roots for tests that run the probe with
// --root: it copies the fixture trees under testdata into a temporary
// root, keeping symbolic links as links so that package rootfs resolves
// them inside the root, as on a real mounted volume.
package rootfstest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// CopyTree copies the tree src into dst (merging with what is there),
// recreating symbolic links as links and files with mode 0644.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		out := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}
