package rootfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// TestOpenRegular opens, on the live system of every platform, a regular
// file given by its machine path, and refuses a directory and a missing
// file with their classes.
func TestOpenRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "report.json")
	if err := os.WriteFile(file, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fh, fi, err := OpenRegular(file)
	if err != nil {
		t.Fatalf("OpenRegular(%s): %v", file, err)
	}
	b, err := io.ReadAll(fh)
	fh.Close()
	if err != nil || string(b) != "{}\n" || fi.Size() != 3 {
		t.Errorf("read %q (size %d), %v", b, fi.Size(), err)
	}
	if _, _, err := OpenRegular(dir); !errors.Is(err, ErrNotRegular) || Class(err) != errclass.Other {
		t.Errorf("OpenRegular(directory) = %v, want ErrNotRegular", err)
	}
	if _, _, err := OpenRegular(filepath.Join(dir, "missing")); Class(err) != errclass.NotFound {
		t.Errorf("OpenRegular(missing) = %v (%s), want not found", err, Class(err))
	}
	// The live FS reads the same file by its machine path.
	if b, err := (FS{}).ReadFile(file, 100); err != nil || string(b) != "{}\n" {
		t.Errorf("FS{}.ReadFile(%s) = %q, %v", file, b, err)
	}
	if d, err := (FS{}).OpenDir(dir); err != nil {
		t.Errorf("OpenDir(%s): %v", dir, err)
	} else {
		d.Close()
	}
	if d, err := (FS{}).OpenDir(file); err == nil {
		d.Close()
		t.Errorf("OpenDir(regular file) succeeded")
	}
}
