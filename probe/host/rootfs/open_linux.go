package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Flags of the descriptor-based opens: a directory to list or to look up
// a name in, and a bare reference to stat.
const (
	dirFlags  = unix.O_DIRECTORY | unix.O_CLOEXEC
	pathFlags = unix.O_PATH | unix.O_CLOEXEC
)

// noOpenat2 is set once openat2 is found missing (ENOSYS: Linux before 5.6,
// or a seccomp filter that hides it); every later open walks.
var noOpenat2 atomic.Bool

// openAt opens rel, a path under root already resolved by FS.resolve, so
// that no symbolic link and no ".." is followed out of root even if the tree
// changes meanwhile: openat2(2) with RESOLVE_IN_ROOT (links and ".." stay
// under root) and RESOLVE_NO_SYMLINKS (rel holds none: one appearing now is
// refused), else a walk that opens each component with O_NOFOLLOW from its
// parent's descriptor.
func openAt(root, rel string, flags int) (*os.File, error) {
	rfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(rfd)
	name := filepath.Join(root, rel)
	if rel == "" || rel == "." {
		rel = "."
	}
	if !noOpenat2.Load() {
		fd, err := unix.Openat2(rfd, rel, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC),
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS})
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), name), nil
		case errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) && openat2Blocked():
			noOpenat2.Store(true)
		default:
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	return walkOpen(rfd, rel, name, flags)
}

// openat2Blocked reports whether openat2 itself is refused (a seccomp
// filter answering EPERM), by opening the root's "." with it.
func openat2Blocked() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC})
	if err == nil {
		unix.Close(fd)
		return false
	}
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS)
}

// walkOpen opens rel one component at a time from the root's descriptor,
// each with O_NOFOLLOW: a component that is a symbolic link fails with
// ELOOP (the intermediate ones) or is refused (the last), so nothing outside
// the root is reached.
func walkOpen(rfd int, rel, name string, flags int) (*os.File, error) {
	parts := strings.Split(rel, "/")
	dir := rfd
	closeDir := func() {
		if dir != rfd {
			unix.Close(dir)
		}
	}
	defer func() { closeDir() }()
	for i, c := range parts {
		if c == "" || c == "." {
			if i < len(parts)-1 {
				continue
			}
		}
		if c == ".." {
			return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EINVAL}
		}
		if i < len(parts)-1 {
			fd, err := unix.Openat(dir, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, &fs.PathError{Op: "open", Path: name, Err: err}
			}
			closeDir()
			dir = fd
			continue
		}
		fd, err := unix.Openat(dir, c, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		if flags&unix.O_PATH != 0 {
			// An O_PATH|O_NOFOLLOW open of a link succeeds on the link itself.
			var st unix.Stat_t
			if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				unix.Close(fd)
				return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.ELOOP}
			}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EINVAL}
}

// lstatAt stats name in the directory d without following a final link.
func lstatAt(d *os.File, name string) (fs.FileInfo, error) {
	if name == "" {
		return d.Stat()
	}
	fd, err := unix.Openat(int(d.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: filepath.Join(d.Name(), name), Err: err}
	}
	fh := os.NewFile(uintptr(fd), filepath.Join(d.Name(), name))
	defer fh.Close()
	return fh.Stat() // fstat of an O_PATH|O_NOFOLLOW descriptor: the link itself
}

// readlinkAt reads the target of the link name in the directory d.
func readlinkAt(d *os.File, name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(int(d.Fd()), name, buf)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: filepath.Join(d.Name(), name), Err: err}
	}
	return string(buf[:n]), nil
}
