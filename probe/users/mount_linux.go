//go:build linux

package users

import (
	"os"
	"syscall"
	"unsafe"
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

// fsIocGetflags is FS_IOC_GETFLAGS on 64-bit Linux (_IOR('f', 1, long));
// fsImmutableFl is FS_IMMUTABLE_FL, the chattr +i flag (ioctl_iflags(2)).
const (
	fsIocGetflags = 0x80086601
	fsImmutableFl = 0x00000010
)

// immutable reports whether the open file f carries the immutable
// attribute, which stops even root from replacing it.
func immutable(f *os.File) (bool, error) {
	var attr int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), fsIocGetflags, uintptr(unsafe.Pointer(&attr))); e != 0 {
		return false, &os.PathError{Op: "ioctl FS_IOC_GETFLAGS", Path: f.Name(), Err: e}
	}
	return attr&fsImmutableFl != 0, nil
}
