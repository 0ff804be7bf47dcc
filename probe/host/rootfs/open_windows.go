package rootfs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// On Windows only the live system is read: there is no O_PATH, openat2 or
// O_NOFOLLOW component walk to keep a read inside a mounted volume, and
// rescue of a Windows volume is not supported. The flags below only exist
// so that the shared code builds; the opens under a root that use them are
// refused by rescueSupported first.
const (
	dirFlags  = 0
	pathFlags = 0
	readFlags = os.O_RDONLY
)

// isLiveRoot reports whether root, not empty, names the live system: "/",
// "\" and their repetitions (filepath.Clean("/") is `\` on Windows).
func isLiveRoot(root string) bool { return strings.Trim(root, `/\`) == "" }

// livePath is the machine path of p on the live system. A path with a
// drive letter or a UNC prefix (C:\ProgramData\Amazon\SSM\Logs\...) is kept
// as it is, cleaned; any other path is taken from the root of the current
// drive, as "/" + p is on Linux.
func livePath(p string) string {
	if filepath.VolumeName(p) != "" {
		return filepath.Clean(p)
	}
	return filepath.Clean(`\` + strings.TrimLeft(p, `/\`))
}

// rescueSupported refuses every root but the live one.
func rescueSupported(root string) error {
	return fmt.Errorf("%s: %w", root, ErrRescueUnsupported)
}

// openLiveDir opens the directory p for reading in batches, refusing
// anything that is not a directory.
func openLiveDir(p string) (*os.File, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if !fi.IsDir() {
		fh.Close()
		return nil, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOTDIR}
	}
	return fh, nil
}

// openRegular opens the regular file p for reading: its mode is first read
// without opening it (Lstat), so a device (NUL, CON, COM1), a pipe, a
// directory or a reparse point is refused and never opened; then the file
// is opened and its handle must still be a regular file, the same one
// (os.SameFile), or the file was replaced meanwhile and is refused.
func openRegular(p string) (*os.File, fs.FileInfo, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, notRegular(p, fi)
	}
	fh, err := os.OpenFile(p, readFlags, 0)
	if err != nil {
		return nil, nil, err
	}
	return stillSame(fh, fi, p)
}

// The reads under a root: unreachable past rescueSupported, refused again
// here should a caller ever get this far.

func openRegularAt(root, rel string) (*os.File, fs.FileInfo, error) {
	return nil, nil, rescueSupported(root)
}

func openAt(root, rel string, flags int) (*os.File, error) {
	return nil, rescueSupported(root)
}

func lstatAt(d *os.File, name string) (fs.FileInfo, error) {
	return nil, rescueSupported(d.Name())
}

func readlinkAt(d *os.File, name string) (string, error) {
	return "", rescueSupported(d.Name())
}
