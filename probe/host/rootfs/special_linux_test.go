package rootfs

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// freeMajor returns a device major number in [lo, hi] that /proc/devices
// does not list under section ("Character devices:" or "Block devices:"):
// opening a node with it reaches no driver and fails (ENXIO), so an open
// for reading is observable as that error. 0 when there is none.
func freeMajor(t *testing.T, section string, lo, hi uint32) uint32 {
	t.Helper()
	b, err := os.ReadFile("/proc/devices")
	if err != nil {
		return 0
	}
	used := map[uint32]bool{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasSuffix(line, ":"):
			in = line == section
		case in && line != "":
			if n, err := strconv.ParseUint(strings.Fields(line)[0], 10, 32); err == nil {
				used[uint32(n)] = true
			}
		}
	}
	for m := hi; m >= lo; m-- {
		if !used[m] {
			return m
		}
	}
	return 0
}

// special is one node that is not a regular file, made with mknod(2).
type special struct {
	name string
	mode uint32
	dev  uint64
}

// specials makes, in dir, a character device with /dev/null's numbers, a
// character and a block device with numbers no driver owns, a FIFO and a
// socket, and returns them. It needs root (mknod of devices).
func specials(t *testing.T, dir string) []special {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mknod of device nodes needs root")
	}
	nodes := []special{
		{"null", unix.S_IFCHR | 0o666, unix.Mkdev(1, 3)},
		{"fifo", unix.S_IFIFO | 0o666, 0},
		{"socket", unix.S_IFSOCK | 0o666, 0},
	}
	if m := freeMajor(t, "Character devices:", 234, 254); m != 0 {
		nodes = append(nodes, special{"chr-nodriver", unix.S_IFCHR | 0o666, unix.Mkdev(m, 7)})
	}
	if m := freeMajor(t, "Block devices:", 240, 254); m != 0 {
		nodes = append(nodes, special{"blk-nodriver", unix.S_IFBLK | 0o666, unix.Mkdev(m, 7)})
	}
	for _, n := range nodes {
		if err := unix.Mknod(filepath.Join(dir, n.name), n.mode, int(n.dev)); err != nil {
			t.Fatalf("mknod %s: %v", n.name, err)
		}
	}
	return nodes
}

// openWatch reports IN_OPEN for the files of one directory. The kernel
// queues the event inside open(2) itself, so the events of a call are all
// there when it returns: no waiting. O_PATH opens are not reported
// (fsnotify_file skips FMODE_PATH), which is what tells a bare reference
// from an open for reading.
type openWatch struct{ fd int }

func newOpenWatch(t *testing.T, dir string) *openWatch {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_OPEN); err != nil {
		t.Skipf("inotify watch: %v", err)
	}
	return &openWatch{fd: fd}
}

// opened returns the names opened since the last call.
func (w *openWatch) opened(t *testing.T) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(w.fd, buf)
		if errors.Is(err, unix.EAGAIN) || n <= 0 {
			return got
		}
		if err != nil {
			t.Fatalf("read inotify: %v", err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
			if ev.Mask&unix.IN_OPEN != 0 {
				got[string(bytes.TrimRight(name, "\x00"))] = true
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
}

// TestSpecialFilesNeverOpened: a device node, FIFO or socket on a rescue
// volume (FS with a root, by openat2 and by the component walk, with /proc
// and without it) and at an explicit machine path (OpenRegular, the live
// FS) is refused as not a regular file and is never opened for reading:
// no IN_OPEN event names it, and a device no driver owns does not fail
// with ENXIO, as any open of it would. The regular file beside them is
// read and seen opened, so the watch does see real opens.
func TestSpecialFilesNeverOpened(t *testing.T) {
	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	nodes := specials(t, vol)
	if err := os.WriteFile(filepath.Join(vol, "regular"), []byte("regular\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newOpenWatch(t, vol)
	// A kernel that reported O_PATH opens would make the watch useless:
	// check that it does not, on the regular file.
	if fd, err := unix.Open(filepath.Join(vol, "regular"), unix.O_PATH|unix.O_CLOEXEC, 0); err == nil {
		unix.Close(fd)
	}
	if w.opened(t)["regular"] {
		t.Skip("this kernel reports O_PATH opens to inotify; the watch cannot tell them apart")
	}

	reads := map[string]func(name string) ([]byte, error){
		"volume": func(name string) ([]byte, error) { return FS{Root: vol}.ReadFile("/"+name, 64) },
		"volume-tail": func(name string) ([]byte, error) {
			b, _, err := FS{Root: vol}.ReadTail("/"+name, 64)
			return b, err
		},
		"volume-stream": func(name string) ([]byte, error) { return read64(FS{Root: vol}.OpenRegular("/" + name)) },
		"live":          func(name string) ([]byte, error) { return FS{}.ReadFile(filepath.Join(vol, name), 64) },
		"explicit": func(name string) ([]byte, error) {
			fh, _, err := OpenRegular(filepath.Join(vol, name))
			return read64(fh, err)
		},
	}
	for _, walk := range []bool{false, true} {
		for _, noProc := range []bool{false, true} {
			for how, read := range reads {
				name := how + map[bool]string{false: "/openat2", true: "/walk"}[walk] + map[bool]string{false: "/proc", true: "/no-proc"}[noProc]
				t.Run(name, func(t *testing.T) {
					defer noOpenat2.Store(noOpenat2.Load())
					noOpenat2.Store(walk)
					if noProc {
						defer func(old string) { procFDDir = old }(procFDDir)
						procFDDir = filepath.Join(dir, "no-proc")
					}
					w.opened(t) // drop earlier events
					for _, n := range nodes {
						b, err := read(n.name)
						if !errors.Is(err, ErrNotRegular) || len(b) > 0 {
							t.Errorf("%s (mode %o): %q, %v; want ErrNotRegular", n.name, n.mode&unix.S_IFMT, b, err)
						}
					}
					if got := w.opened(t); len(got) > 0 {
						t.Errorf("opened for reading: %v", got)
					}
					b, err := read("regular")
					if err != nil || string(b) != "regular\n" {
						t.Errorf("regular file: %q, %v", b, err)
					}
					if !w.opened(t)["regular"] {
						t.Errorf("the regular file's open was not seen: the watch proves nothing")
					}
				})
			}
		}
	}
}

// read64 reads up to 64 bytes of an opened file and closes it.
func read64(fh *os.File, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b := make([]byte, 64)
	n, err := fh.Read(b)
	return b[:n], err
}
