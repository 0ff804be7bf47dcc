package rootfs

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Flags of the descriptor-based opens: a directory to list or to look up
// a name in, a bare reference to stat, and the reopen for reading of what
// the bare reference showed to be a regular file. O_NONBLOCK and O_NOCTTY
// only matter should the fallback reopen (no /proc) meet a file swapped in
// meanwhile: it then neither waits nor takes a terminal.
const (
	dirFlags  = unix.O_DIRECTORY | unix.O_CLOEXEC
	pathFlags = unix.O_PATH | unix.O_CLOEXEC
	readFlags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
)

// procFDDir is where this process's descriptors can be reopened by number
// (proc(5), /proc/self/fd/N); a variable so that tests can take /proc away
// and exercise the fallback.
var procFDDir = "/proc/self/fd"

// isLiveRoot reports whether root, not empty, names the machine's own "/".
func isLiveRoot(root string) bool { return filepath.Clean(root) == "/" }

// livePath is the machine path of the host path p on the live root.
func livePath(p string) string { return path.Clean("/" + p) }

// rescueSupported: reading a volume under a root works on Linux.
func rescueSupported(string) error { return nil }

// openLiveDir opens the directory p for reading in batches.
func openLiveDir(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

func openRegular(p string) (*os.File, fs.FileInfo, error) {
	ph, err := openPath(p)
	if err != nil {
		return nil, nil, err
	}
	return reopenRegular(ph, func() (*os.File, error) { return os.OpenFile(p, readFlags, 0) })
}

// openRegularAt opens rel, resolved under root, for reading if it is a
// regular file (see FS.open).
func openRegularAt(root, rel string) (*os.File, fs.FileInfo, error) {
	ph, err := openAt(root, rel, pathFlags)
	if err != nil {
		return nil, nil, err
	}
	return reopenRegular(ph, func() (*os.File, error) { return openAt(root, rel, readFlags) })
}

// openPath opens the machine path p with O_PATH, following links: it
// reaches the inode without opening the file itself, so no device driver's
// open runs and a FIFO does not wait for a writer (open(2), O_PATH).
func openPath(p string) (*os.File, error) {
	fd, err := ignoringEINTR(func() (int, error) { return unix.Open(p, pathFlags, 0) })
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// reopenRegular checks the mode on ph, an O_PATH descriptor, and opens for
// reading only a regular file, through /proc/self/fd/N: the same inode the
// check saw, whatever happened to its path meanwhile. ph is closed. Without
// /proc (not mounted), or when that reopen is refused, it reopens by path
// with again, which then gives the real error, and refuses the result
// unless it is the same regular file; only that fallback could meet a file
// swapped in between the two opens, and its flags keep even that from
// blocking. Anything but a regular file is refused with ErrNotRegular
// without ever being opened for reading.
func reopenRegular(ph *os.File, again func() (*os.File, error)) (*os.File, fs.FileInfo, error) {
	defer ph.Close()
	fi, err := ph.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, notRegular(ph.Name(), fi)
	}
	proc := procFDDir + "/" + strconv.Itoa(int(ph.Fd()))
	fd, err := ignoringEINTR(func() (int, error) { return unix.Open(proc, readFlags, 0) })
	if err == nil {
		return os.NewFile(uintptr(fd), ph.Name()), fi, nil
	}
	if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EPERM) {
		return nil, nil, &fs.PathError{Op: "open", Path: ph.Name(), Err: err}
	}
	// /proc is missing, or refuses the reopen (a file this user may not
	// read, or a restricted /proc): the path, opened again, tells which.
	fh, err := again()
	if err != nil {
		return nil, nil, err
	}
	return stillSame(fh, fi, ph.Name())
}

// ignoringEINTR retries an open interrupted by a signal, as os.OpenFile does.
func ignoringEINTR(open func() (int, error)) (int, error) {
	for {
		fd, err := open()
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

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
