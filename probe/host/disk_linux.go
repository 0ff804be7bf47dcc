//go:build linux

package host

import (
	"os"
	"syscall"
)

// statfs calls statfs(2) on the machine path p.
func statfs(p string) (statfsResult, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(p, &st); err != nil {
		return statfsResult{}, &os.PathError{Op: "statfs", Path: p, Err: err}
	}
	fr := uint64(st.Frsize)
	if fr == 0 {
		fr = uint64(st.Bsize)
	}
	return statfsResult{
		Blocks: st.Blocks, Bfree: st.Bfree, Bavail: st.Bavail,
		Files: st.Files, Ffree: st.Ffree, Frsize: fr,
		Fsid: [2]int32{st.Fsid.X__val[0], st.Fsid.X__val[1]},
	}, nil
}
