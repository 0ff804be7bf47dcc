// Package inotify reads how much of the kernel's inotify and file-handle
// limits are in use. The agent and its workers talk through directories
// watched with inotify (aws/amazon-ssm-agent
// common/filewatcherbasedipc/filewatcherchannel.go:88, fsnotify.NewWatcher):
// when the agent's user has used up fs.inotify.max_user_instances,
// inotify_init1 fails with EMFILE ("too many open files"), and when it has
// used up max_user_watches, adding a watch fails with ENOSPC; commands and
// sessions then hang.
//
// Everything is read from a process table directory (/proc on the live
// host): the sysctls under sys/fs, and, for a bounded number of processes,
// which descriptors are inotify instances (fd links to anon_inode:inotify)
// and how many watches each holds (the "inotify wd:" lines of fdinfo).
package inotify

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Bounds of one scan. An inotify descriptor's fdinfo lists every watch on
// a line of its own (about 120 bytes), so it is streamed and counted, never
// held: 180,000 watches make a 21 MB fdinfo. What the bounds (or the
// run's deadline) leave unread makes the counts lower bounds, and the
// facts say so (LowerBound).
const (
	MaxProcs        = 4096      // processes looked at
	MaxFDs          = 200000    // descriptors looked at, over all processes
	MaxFdinfoBytes  = 512 << 20 // fdinfo bytes streamed, over all processes: about 4.5 million watches
	MaxSmallFile    = 64 << 10  // status, comm and the sysctls
	MaxHolders      = 5         // processes listed as the largest holders
	inotifyTarget   = "anon_inode:inotify"
	watchLinePrefix = "inotify wd:"
)

// Holder is one process holding inotify instances.
type Holder struct {
	PID       int    `json:"pid"`
	Comm      string `json:"comm,omitempty"`
	UID       int    `json:"uid"`
	Instances int    `json:"instances"`
	Watches   int    `json:"watches"`
}

// Facts is what Read found. Limits that could not be read are 0 with a
// note in Problems.
type Facts struct {
	Checked          bool     `json:"checked"`
	Reason           string   `json:"reason,omitempty"` // why not checked
	MaxUserInstances int64    `json:"max_user_instances,omitempty"`
	MaxUserWatches   int64    `json:"max_user_watches,omitempty"`
	FilesAllocated   int64    `json:"files_allocated,omitempty"` // fs.file-nr, first field
	FilesMax         int64    `json:"files_max,omitempty"`       // fs.file-nr, third field
	RootInstances    int      `json:"root_instances"`            // inotify instances of uid 0, the agent's user
	RootWatches      int      `json:"root_watches"`
	Procs            int      `json:"procs_scanned"`
	Truncated        bool     `json:"truncated,omitempty"`    // the bounds stopped the scan: counts are lower bounds
	Unreadable       int      `json:"unreadable,omitempty"`   // processes whose fd directory could not be read (not root): counts are lower bounds
	WatchesCut       int      `json:"watches_cut,omitempty"`  // root's inotify instances whose fdinfo was not read to the end (byte bound, deadline, read error): watches are a lower bound
	FdinfoBytes      int64    `json:"fdinfo_bytes,omitempty"` // fdinfo bytes streamed
	Holders          []Holder `json:"holders,omitempty"`      // the largest holders of uid 0, most instances first
	Problems         []string `json:"problems,omitempty"`
}

// LowerBound reports whether the counts are lower bounds: the scan stopped
// at a bound or the deadline, some processes' descriptors could not be
// read, or some instances' watches could not all be counted. A lower bound
// near a limit is still near it; one far from it proves nothing.
func (f *Facts) LowerBound() bool { return f.Truncated || f.Unreadable > 0 || f.WatchesCut > 0 }

// Gaps says, one phrase each, why the counts are lower bounds; nil when
// they are exact.
func (f *Facts) Gaps() []string {
	var out []string
	if f.Truncated {
		out = append(out, fmt.Sprintf("the scan stopped after %d processes (bounds: %d processes, %d descriptors, or the deadline)", f.Procs, MaxProcs, MaxFDs))
	}
	if f.Unreadable > 0 {
		out = append(out, fmt.Sprintf("the descriptors of %d processes could not be read (needs root)", f.Unreadable))
	}
	if f.WatchesCut > 0 {
		out = append(out, fmt.Sprintf("the watches of %d inotify instances could not all be counted (fdinfo not read to the end: %d bytes bound, the deadline, or a read error)", f.WatchesCut, MaxFdinfoBytes))
	}
	return out
}

// InstancesUse and WatchesUse are the fractions of the per-user limits the
// agent's user (root) holds; 0 when a limit is unknown.
func (f *Facts) InstancesUse() float64 { return frac(int64(f.RootInstances), f.MaxUserInstances) }
func (f *Facts) WatchesUse() float64   { return frac(int64(f.RootWatches), f.MaxUserWatches) }
func (f *Facts) FilesUse() float64     { return frac(f.FilesAllocated, f.FilesMax) }

func frac(n, max int64) float64 {
	if max <= 0 {
		return 0
	}
	return float64(n) / float64(max)
}

// Read reads the limits and scans the process table under procDir.
func Read(ctx context.Context, procDir string) *Facts { return read(ctx, procDir, MaxFdinfoBytes) }

// read is Read with a bound on the fdinfo bytes streamed.
func read(ctx context.Context, procDir string, fdinfoBudget int64) *Facts {
	if notHere != "" {
		return &Facts{Reason: notHere}
	}
	f := &Facts{Checked: true}
	var err error
	if f.MaxUserInstances, err = readInt(filepath.Join(procDir, "sys/fs/inotify/max_user_instances")); err != nil {
		f.Problems = append(f.Problems, err.Error())
	}
	if f.MaxUserWatches, err = readInt(filepath.Join(procDir, "sys/fs/inotify/max_user_watches")); err != nil {
		f.Problems = append(f.Problems, err.Error())
	}
	if b, err := readSmall(filepath.Join(procDir, "sys/fs/file-nr")); err != nil {
		f.Problems = append(f.Problems, err.Error())
	} else if a, m, err := ParseFileNr(b); err != nil {
		f.Problems = append(f.Problems, "sys/fs/file-nr: "+err.Error())
	} else {
		f.FilesAllocated, f.FilesMax = a, m
	}
	ents, err := os.ReadDir(procDir)
	if err != nil {
		f.Checked, f.Reason = false, "not checked: "+err.Error()
		return f
	}
	fds := 0
	sc := &scan{ctx: ctx, budget: fdinfoBudget}
	var holders []Holder
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if ctx.Err() != nil || f.Procs == MaxProcs || fds >= MaxFDs {
			f.Truncated = true
			break
		}
		f.Procs++
		h, n, cut, ok := sc.proc(filepath.Join(procDir, e.Name()), MaxFDs-fds)
		fds += n
		if !ok {
			f.Unreadable++
		}
		if h.Instances == 0 {
			continue
		}
		h.PID = pid
		if h.UID == 0 {
			f.RootInstances += h.Instances
			f.RootWatches += h.Watches
			f.WatchesCut += cut
			holders = append(holders, h)
		}
	}
	f.FdinfoBytes = fdinfoBudget - sc.budget
	sort.SliceStable(holders, func(i, j int) bool { return holders[i].Instances > holders[j].Instances })
	if len(holders) > MaxHolders {
		holders = holders[:MaxHolders]
	}
	f.Holders = holders
	return f
}

// scan is the state of one Read: its context and the fdinfo bytes it may
// still stream.
type scan struct {
	ctx    context.Context
	budget int64
}

// proc counts the inotify instances and watches of one process, reading
// at most budget descriptors; it returns how many it looked at, how many
// of its instances' watches could not all be counted, and false when its
// fd directory could not be read.
func (sc *scan) proc(dir string, budget int) (Holder, int, int, bool) {
	var h Holder
	h.UID = -1
	if b, err := readSmall(filepath.Join(dir, "status")); err == nil {
		h.UID = ParseStatusUID(b)
	}
	if b, err := readSmall(filepath.Join(dir, "comm")); err == nil {
		h.Comm = strings.TrimSpace(string(b))
	}
	fdDir := filepath.Join(dir, "fd")
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return h, 0, 0, errors.Is(err, os.ErrNotExist) // a process that exited meanwhile is not a gap
	}
	n, cut := 0, 0
	for _, e := range ents {
		if n == budget {
			break
		}
		n++
		target, err := os.Readlink(filepath.Join(fdDir, e.Name()))
		if err != nil || target != inotifyTarget {
			continue
		}
		h.Instances++
		w, complete := sc.fdinfo(filepath.Join(dir, "fdinfo", e.Name()))
		h.Watches += w
		if !complete {
			cut++
		}
	}
	return h, n, cut, true
}

// fdinfo streams one inotify descriptor's fdinfo and counts its watches
// within what is left of the scan's byte budget. complete is false when
// it could not be read to the end; a descriptor closed meanwhile (ENOENT)
// holds no watch and is complete.
func (sc *scan) fdinfo(p string) (watches int, complete bool) {
	fh, err := openRegular(p)
	if err != nil {
		return 0, errors.Is(err, os.ErrNotExist)
	}
	defer fh.Close()
	w, n, complete, err := countWatches(sc.ctx, fh, sc.budget)
	sc.budget -= n
	return w, complete && err == nil
}

// ParseFileNr parses fs.file-nr: allocated, unused and maximum handles.
func ParseFileNr(b []byte) (allocated, max int64, err error) {
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return 0, 0, fmt.Errorf("want 3 fields, got %d", len(f))
	}
	if allocated, err = strconv.ParseInt(f[0], 10, 64); err != nil {
		return 0, 0, errors.New("allocated is not a number")
	}
	if max, err = strconv.ParseInt(f[2], 10, 64); err != nil {
		return 0, 0, errors.New("maximum is not a number")
	}
	return allocated, max, nil
}

// ParseStatusUID returns the real UID of a /proc/<pid>/status, or -1.
func ParseStatusUID(b []byte) int {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Uid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if uid, err := strconv.Atoi(f[0]); err == nil {
					return uid
				}
			}
			return -1
		}
	}
	return -1
}

// CountWatches counts the watches in an inotify descriptor's fdinfo: the
// lines that start with "inotify wd:" (fs/notify/fdinfo.c,
// inotify_fdinfo).
func CountWatches(b []byte) int {
	n, _, _, _ := countWatches(context.Background(), bytes.NewReader(b), int64(len(b))+1)
	return n
}

// countWatches streams r, counting the lines that start with "inotify wd:",
// and stops after budget bytes or when ctx is done. It holds one buffer,
// whatever the size of r: a line longer than the buffer is read in pieces,
// and only its first piece is looked at. complete reports whether r was
// read to its end; read is how many bytes were read.
func countWatches(ctx context.Context, r io.Reader, budget int64) (watches int, read int64, complete bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	prefix := []byte(watchLinePrefix)
	atStart := true
	for lines := 0; ; lines++ {
		if lines%1024 == 0 && ctx.Err() != nil {
			return watches, read, false, ctx.Err()
		}
		if read >= budget {
			// Whether anything is left is learnt by reading one byte more.
			if _, err := br.Peek(1); err == io.EOF {
				return watches, read, true, nil
			}
			return watches, read, false, nil
		}
		piece, err := br.ReadSlice('\n')
		if over := int64(len(piece)) > budget-read; over {
			// What lies beyond the budget is not counted, not even the
			// start of a line.
			piece = piece[:budget-read]
			read += int64(len(piece))
			if atStart && bytes.HasPrefix(piece, prefix) {
				watches++
			}
			return watches, read, false, nil
		}
		read += int64(len(piece))
		if atStart && bytes.HasPrefix(piece, prefix) {
			watches++
		}
		atStart = len(piece) > 0 && piece[len(piece)-1] == '\n'
		switch err {
		case nil, bufio.ErrBufferFull:
		case io.EOF:
			return watches, read, true, nil
		default:
			return watches, read, false, err
		}
	}
}

func readInt(p string) (int64, error) {
	b, err := readSmall(p)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: not a number", p)
	}
	return n, nil
}

// readSmall reads at most MaxSmallFile bytes of a /proc file. /proc files
// report size 0, so the read is capped rather than sized.
func readSmall(p string) ([]byte, error) {
	fh, err := openRegular(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, MaxSmallFile))
}

// openRegular opens a /proc file for reading; O_NONBLOCK and the mode
// check keep a FIFO planted in a test tree from blocking.
func openRegular(p string) (*os.File, error) {
	fh, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := fh.Stat(); err != nil || !fi.Mode().IsRegular() {
		fh.Close()
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	return fh, nil
}
