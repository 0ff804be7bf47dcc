//go:build linux

package users

import (
	"os"
	"syscall"
)

// stRdonly is ST_RDONLY of statfs(2)'s f_flags.
const stRdonly = 0x1

// readOnlyMount reports whether the file system holding p is mounted
// read-only.
func readOnlyMount(p string) (bool, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(p, &st); err != nil {
		return false, &os.PathError{Op: "statfs", Path: p, Err: err}
	}
	return st.Flags&stRdonly != 0, nil
}
