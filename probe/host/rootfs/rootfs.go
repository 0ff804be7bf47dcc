// Package rootfs reads a host's files under a configurable root directory,
// the probe's --root (docs/INTERFACE.md). Paths are resolved with chroot
// semantics: an absolute symbolic link found under the root points inside
// the root, never at the machine running the probe, so a volume mounted
// from a broken instance is read as that instance would read it.
//
// Every read is capped, and opens a file for reading only once the mode
// checked on an O_PATH descriptor says it is a regular file: a FIFO, socket
// or device planted at a well-known path can neither block the probe, nor
// feed it endless data, nor be opened on the machine running the probe (a
// watchdog, a tape, a terminal).
//
// On Windows only the live system is read (open_windows.go): a regular
// file is Lstat-ed before it is opened and must be the same file once
// open, and every read under another root fails with ErrRescueUnsupported.
package rootfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// maxSymlinkHops is the number of symbolic links one resolution follows
// before it gives up, the same limit Linux applies (MAXSYMLINKS, 40; see
// path_resolution(7)).
const maxSymlinkHops = 40

// ErrNotRegular is returned when a path that should name a regular file names
// a FIFO, socket, device or directory instead.
var ErrNotRegular = errors.New("not a regular file")

// ErrRescueUnsupported is returned on Windows for every read under a root
// other than the live system's (rescue reads a Linux volume on Linux).
var ErrRescueUnsupported = errors.New("reading a volume under a root directory (--root) is not supported on Windows; run the Linux build of ssm-probe to read a Linux volume, and run ssm-probe.exe on the Windows instance itself")

// ErrTooManyLinks is returned when resolving a path follows more than
// maxSymlinkHops symbolic links (ELOOP).
var ErrTooManyLinks = errors.New("too many levels of symbolic links")

// Problem is one recorded failure to read or parse a file: the path as the
// probed host names it, the closed error class and a human detail.
type Problem struct {
	Path   string         `json:"path"`
	Class  errclass.Class `json:"class"`
	Detail string         `json:"detail"`
}

// Class classifies an error returned by this package. It extends
// errclass.Of with ErrNotRegular and ErrTooManyLinks, which are Other, and
// ErrTooLarge, which is Malformed.
func Class(err error) errclass.Class {
	switch {
	case err == nil:
		return errclass.None
	case errors.Is(err, ErrTooLarge):
		return errclass.Malformed
	case errors.Is(err, ErrNotRegular), errors.Is(err, ErrTooManyLinks), errors.As(err, new(*OutsideError)):
		return errclass.Other
	}
	return errclass.Of(err)
}

// ProblemOf builds a Problem for the host path p from err.
func ProblemOf(p string, err error) Problem {
	return Problem{Path: p, Class: Class(err), Detail: err.Error()}
}

// ErrTooLarge is returned by ReadFile when the file holds more than the cap.
var ErrTooLarge = errors.New("file larger than the read cap")

// FS is a view of a host's file system rooted at Root. The zero value, and
// Root "/", read the running machine's own files.
type FS struct {
	Root string // the directory that stands for "/" on the probed host; "" means "/"
}

// IsLive reports whether the root is the running machine's own "/", so that
// live state (/proc, commands) belongs to the same host as the files.
// On Windows a root of "/" or `\` is the live system too.
func (f FS) IsLive() bool {
	return f.Root == "" || isLiveRoot(f.Root)
}

// Join returns the machine path of the host path p without resolving links,
// for messages and for callers that resolve nothing. On Windows the live
// path keeps a drive letter (C:\ProgramData\...) as it is.
func (f FS) Join(p string) string {
	if f.IsLive() {
		return livePath(p)
	}
	return filepath.Join(f.Root, path.Clean("/"+p))
}

// Resolve returns the machine path of the host path p with every symbolic
// link resolved under Root (chroot semantics: ".." never climbs above the
// root and absolute targets restart at the root). When a component is
// missing it returns the joined path and the Lstat error; when that component
// was reached through a link whose target was re-rooted (absolute, or
// climbing above the root) the error is an *OutsideError: the link points
// outside the volume, and nothing outside is ever opened. On the live root
// it returns p cleaned and lets the kernel resolve links.
//
// Resolve is for messages and for the descriptor-based reads of this
// package, which open what it returned with openat2 (or a component walk
// with O_NOFOLLOW), so a link swapped in meanwhile fails rather than leads
// out of the root.
func (f FS) Resolve(p string) (string, error) {
	if f.IsLive() {
		return livePath(p), nil
	}
	rel, err := f.resolve(p)
	return filepath.Join(filepath.Clean(f.Root), rel), err
}

// OutsideError reports a symbolic link under the root whose target, read
// inside the root, does not exist: on the machine running the probe it
// would name one of that machine's files, which is never read.
type OutsideError struct {
	Link   string // host path of the link
	Target string // its target, as written
}

func (e *OutsideError) Error() string {
	return fmt.Sprintf("%s is a symbolic link to %s, which points outside the volume; it was not followed", e.Link, clipTarget(e.Target))
}

// clipTarget caps a link target quoted in a message.
func clipTarget(t string) string {
	if len(t) > 120 {
		t = t[:120] + "…"
	}
	return fmt.Sprintf("%q", t)
}

// resolve returns the host path p with links resolved under the root, as a
// path relative to it ("" for the root itself).
func (f FS) resolve(p string) (string, error) {
	if err := rescueSupported(f.Root); err != nil {
		return "", err
	}
	root := filepath.Clean(f.Root)
	rest := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	var done []string // resolved components under root
	hops := 0
	var rerooted *OutsideError // the last link whose target restarted at, or climbed to, the root
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := filepath.Join(append([]string{root}, append(done, c)...)...)
		fi, err := os.Lstat(cur)
		if err != nil {
			// Keep the remaining components so the caller sees the full path.
			rel := filepath.Join(append(append([]string{}, done...), append([]string{c}, rest...)...)...)
			if rerooted != nil && errors.Is(err, fs.ErrNotExist) {
				return rel, rerooted
			}
			return rel, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		hops++
		if hops > maxSymlinkHops {
			return filepath.Join(done...), &fs.PathError{Op: "resolve", Path: cur, Err: ErrTooManyLinks}
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return filepath.Join(done...), err
		}
		link := "/" + strings.Join(append(append([]string{}, done...), c), "/")
		if strings.HasPrefix(target, "/") {
			done = done[:0]
			rerooted = &OutsideError{Link: link, Target: target}
		} else if climbs(target, len(done)) {
			rerooted = &OutsideError{Link: link, Target: target}
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(done...), nil
}

// climbs reports whether the relative link target, found depth components
// below the root, climbs above the root with "..".
func climbs(target string, depth int) bool {
	for _, c := range strings.Split(target, "/") {
		switch c {
		case "..":
			if depth == 0 {
				return true
			}
			depth--
		case "", ".":
		default:
			depth++
		}
	}
	return false
}

// Lstat stats the host path p without following a final symbolic link.
func (f FS) Lstat(p string) (fs.FileInfo, error) {
	if f.IsLive() {
		return os.Lstat(f.Join(p))
	}
	dir, base := path.Split(path.Clean("/" + p))
	d, err := f.openIn(dir, dirFlags)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return lstatAt(d, base)
}

// Stat stats the host path p after resolving links under Root.
func (f FS) Stat(p string) (fs.FileInfo, error) {
	if f.IsLive() {
		return os.Stat(f.Join(p))
	}
	fh, err := f.openIn(p, pathFlags)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return fh.Stat()
}

// Readlink returns the target of the symbolic link at host path p, unresolved.
func (f FS) Readlink(p string) (string, error) {
	if f.IsLive() {
		return os.Readlink(f.Join(p))
	}
	dir, base := path.Split(path.Clean("/" + p))
	d, err := f.openIn(dir, dirFlags)
	if err != nil {
		return "", err
	}
	defer d.Close()
	return readlinkAt(d, base)
}

// ReadDir lists the directory at host path p.
func (f FS) ReadDir(p string) ([]os.DirEntry, error) {
	if f.IsLive() {
		return os.ReadDir(f.Join(p))
	}
	d, err := f.openIn(p, dirFlags|os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	ents, err := d.ReadDir(-1)
	slices.SortFunc(ents, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, err
}

// OpenDir opens the directory at host path p for reading in batches
// (File.ReadDir(n)); the caller closes it.
func (f FS) OpenDir(p string) (*os.File, error) {
	if f.IsLive() {
		return openLiveDir(f.Join(p))
	}
	return f.openIn(p, dirFlags|os.O_RDONLY)
}

// openIn resolves the host path p under the root and opens the result
// with flags, never leaving the root (openAt: openat2 RESOLVE_IN_ROOT, or a
// component walk with O_NOFOLLOW).
func (f FS) openIn(p string, flags int) (*os.File, error) {
	rel, err := f.resolve(p)
	if err != nil {
		return nil, err
	}
	return openAt(filepath.Clean(f.Root), rel, flags)
}

// Exists reports whether the host path p exists after resolving links. Any
// error other than "not found" and a link out of the volume counts as
// existing, since something is there.
func (f FS) Exists(p string) bool {
	_, err := f.Stat(p)
	return err == nil || !errors.Is(err, fs.ErrNotExist) && !errors.As(err, new(*OutsideError))
}

// open opens the host path p for reading, refusing anything that is not a
// regular file. The path is first opened with O_PATH, which reaches the
// inode without opening it (no driver's open runs, a FIFO does not wait for
// a writer); the mode is checked on that descriptor, and only a regular
// file is then opened for reading, through the same descriptor (reopen). A
// device node on a rescue volume is so never opened on the rescuer's host,
// and there is no window between the check and the open.
func (f FS) open(p string) (*os.File, fs.FileInfo, error) {
	if f.IsLive() {
		return openRegular(f.Join(p))
	}
	rel, err := f.resolve(p)
	if err != nil {
		return nil, nil, err
	}
	return openRegularAt(filepath.Clean(f.Root), rel)
}

// OpenRegular opens the regular file at the machine path p (not under a
// root: an explicit path given by the operator, or --observations) without
// opening anything else: O_PATH, the mode checked on that descriptor, then
// a reopen for reading of a regular file only (see FS.open). Anything but a
// regular file is refused with ErrNotRegular, and a FIFO or device is never
// opened for reading, so nothing blocks.
// On Windows, which has no O_PATH, the path is Lstat-ed first, only a
// regular file is opened, and the opened handle must be that same file.
func OpenRegular(p string) (*os.File, fs.FileInfo, error) { return openRegular(p) }

// stillSame checks fh, opened by path after fi was seen there, to be the
// same regular file, and returns it with its mode; it is closed when not
// (the file was replaced between the two looks).
func stillSame(fh *os.File, fi fs.FileInfo, name string) (*os.File, fs.FileInfo, error) {
	now, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	if !now.Mode().IsRegular() {
		fh.Close()
		return nil, nil, notRegular(name, now)
	}
	if !os.SameFile(fi, now) {
		fh.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("the file was replaced while it was being opened")}
	}
	return fh, now, nil
}

// notRegular is the error for the descriptor fh whose mode is fi.
func notRegular(name string, fi fs.FileInfo) error {
	return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (mode %s)", ErrNotRegular, fi.Mode().Type())}
}

// ReadFile reads the regular file at host path p. It reads at most max
// bytes; when the file holds more it returns the first max bytes and an
// error wrapping ErrTooLarge. Files in /proc report size 0, so the cap is
// enforced on the bytes read, not on the reported size.
func (f FS) ReadFile(p string, max int64) ([]byte, error) {
	fh, _, err := f.open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, max+1))
	if err != nil {
		return b, &fs.PathError{Op: "read", Path: fh.Name(), Err: err}
	}
	if int64(len(b)) > max {
		return b[:max], &fs.PathError{Op: "read", Path: fh.Name(), Err: fmt.Errorf("%w of %d bytes", ErrTooLarge, max)}
	}
	return b, nil
}

// ReadTail reads at most the last max bytes of the regular file at host path
// p. When it skipped a head, truncated is true and the partial first line is
// dropped so the result starts at a line boundary.
func (f FS) ReadTail(p string, max int64) (data []byte, truncated bool, err error) {
	fh, fi, err := f.open(p)
	if err != nil {
		return nil, false, err
	}
	defer fh.Close()
	if size := fi.Size(); size > max {
		if _, err := fh.Seek(size-max, io.SeekStart); err != nil {
			return nil, false, &fs.PathError{Op: "seek", Path: fh.Name(), Err: err}
		}
		truncated = true
	}
	b, err := io.ReadAll(io.LimitReader(fh, max))
	if err != nil {
		return b, truncated, &fs.PathError{Op: "read", Path: fh.Name(), Err: err}
	}
	if truncated {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return b, truncated, nil
}

// OpenRegular opens the regular file at host path p for streaming; the
// caller caps what it reads and closes the file.
func (f FS) OpenRegular(p string) (*os.File, error) {
	fh, _, err := f.open(p)
	return fh, err
}
