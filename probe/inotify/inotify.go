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

// Bounds of one scan.
const (
	MaxProcs      = 4096    // processes looked at
	MaxFDs        = 200000  // descriptors looked at, over all processes
	MaxFdinfo     = 1 << 20 // an fdinfo lists every watch, about 100 bytes each
	MaxHolders    = 5       // processes listed as the largest holders
	inotifyTarget = "anon_inode:inotify"
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
	Truncated        bool     `json:"truncated,omitempty"`  // the bounds stopped the scan: counts are lower bounds
	Unreadable       int      `json:"unreadable,omitempty"` // processes whose fd directory could not be read (not root): counts are lower bounds
	Holders          []Holder `json:"holders,omitempty"`    // the largest holders of uid 0, most instances first
	Problems         []string `json:"problems,omitempty"`
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
func Read(ctx context.Context, procDir string) *Facts {
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
		h, n, ok := scanProc(filepath.Join(procDir, e.Name()), MaxFDs-fds)
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
			holders = append(holders, h)
		}
	}
	sort.SliceStable(holders, func(i, j int) bool { return holders[i].Instances > holders[j].Instances })
	if len(holders) > MaxHolders {
		holders = holders[:MaxHolders]
	}
	f.Holders = holders
	return f
}

// scanProc counts the inotify instances and watches of one process, reading
// at most budget descriptors; it returns how many it looked at, and false
// when its fd directory could not be read.
func scanProc(dir string, budget int) (Holder, int, bool) {
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
		return h, 0, errors.Is(err, os.ErrNotExist) // a process that exited meanwhile is not a gap
	}
	n := 0
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
		if b, err := readSmall(filepath.Join(dir, "fdinfo", e.Name())); err == nil {
			h.Watches += CountWatches(b)
		}
	}
	return h, n, true
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

// CountWatches counts the watches in an inotify descriptor's fdinfo.
func CountWatches(b []byte) int { return bytes.Count(b, []byte("inotify wd:")) }

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

// readSmall reads at most MaxFdinfo bytes of a /proc file. /proc files
// report size 0, so the read is capped rather than sized; O_NONBLOCK and the
// mode check keep a FIFO planted in a test tree from blocking.
func readSmall(p string) ([]byte, error) {
	fh, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	return io.ReadAll(io.LimitReader(fh, MaxFdinfo))
}
