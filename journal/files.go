package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// AgentLogDir is where the agent writes its logs on Linux (docs/AGENT-FACTS.md,
// "Files and locations"), relative to the host root.
const AgentLogDir = "var/log/amazon/ssm"

// The agent's log files, in the order Scan reads them: the main log first,
// errors.log last because its entries repeat the main log's ERROR lines.
const (
	MainLog      = "amazon-ssm-agent.log"
	HibernateLog = "hibernate.log"
	ErrorsLog    = "errors.log"
)

// maxDirFiles caps how many files one explicit directory contributes, so a
// wrong argument (`ssm-probe logs /`) cannot make the scan walk a whole disk.
const maxDirFiles = 2000

// maxDirVisits caps how many files one explicit directory walk looks at,
// kept or not: a folder of a few hundred thousand rolled copies is walked,
// a whole disk is not.
const maxDirVisits = 500000

// maxDirDepth caps how deep an explicit directory is walked; support bundles
// nest the agent's logs two or three levels down.
const maxDirDepth = 4

// MaxRolledFiles caps the files of one rolled set that are considered: the
// newest by mtime, then by roll number. The agent keeps a handful of rolls
// (seelog's maxrolls); a directory of hundreds of thousands of rolled names
// must cost neither memory nor report size. The rest are counted in a note.
const MaxRolledFiles = 64

// logFile is one file of a rolled set.
type logFile struct {
	host  string // host path under the scan's root, for files of the default plan; "" for explicit paths
	path  string
	base  string // the set's name: the file name without a trailing .N
	roll  int    // N of a rolled file; -1 for the live file
	size  int64
	mtime time.Time
}

// splitRoll splits "errors.log.7" into ("errors.log", 7). A name without a
// numeric suffix is a live file (roll -1).
func splitRoll(name string) (string, int) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || i == len(name)-1 {
		return name, -1
	}
	n, err := strconv.Atoi(name[i+1:])
	if err != nil || n < 0 || name[i+1] == '+' {
		return name, -1
	}
	return name[:i], n
}

// sortRolls orders one set oldest first: rolled files by ascending N (the
// agent numbers a new roll highest N + 1, so the largest N is the newest
// roll, and numbers need not start at 1), then the live file.
func sortRolls(set []logFile) {
	slices.SortFunc(set, func(a, b logFile) int {
		ka, kb := a.roll, b.roll
		if ka < 0 {
			ka = int(^uint(0) >> 1)
		}
		if kb < 0 {
			kb = int(^uint(0) >> 1)
		}
		if ka != kb {
			if ka < kb {
				return -1
			}
			return 1
		}
		return strings.Compare(a.path, b.path)
	})
}

// rolledSet lists base and base.N in the host directory dir under fsys,
// oldest first, keeping the newest MaxRolledFiles; skipped counts the rest.
// The directory is read in batches, so memory stays bounded however many
// names it holds. It returns the directory's read error, if any; a missing
// directory gives fs.ErrNotExist.
func rolledSet(fsys rootfs.FS, dir, base string) (set []logFile, skipped int, err error) {
	d, err := fsys.OpenDir(dir)
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()
	machine := fsys.Join(dir)
	var odd string // a name of the set that is not a regular file
	for {
		ents, rerr := d.ReadDir(512)
		for _, e := range ents {
			b, n := splitRoll(e.Name())
			if b != base {
				continue
			}
			if !e.Type().IsRegular() {
				odd = e.Name()
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			set = append(set, logFile{host: path.Join(dir, e.Name()), path: filepath.Join(machine, e.Name()), base: base, roll: n, size: info.Size(), mtime: info.ModTime()})
			if len(set) > 2*MaxRolledFiles {
				set, skipped = newest(set, MaxRolledFiles), skipped+len(set)-MaxRolledFiles
			}
		}
		if rerr != nil || len(ents) == 0 {
			break
		}
	}
	if len(set) > MaxRolledFiles {
		skipped += len(set) - MaxRolledFiles
		set = newest(set, MaxRolledFiles)
	}
	if len(set) == 0 && odd != "" {
		return nil, 0, &fs.PathError{Op: "read", Path: filepath.Join(machine, odd), Err: rootfs.ErrNotRegular}
	}
	sortRolls(set)
	return set, skipped, nil
}

// newest keeps the n newest files of a set: latest mtime first, then the
// live file, then the highest roll number (the agent's newest roll).
func newest(set []logFile, n int) []logFile {
	slices.SortFunc(set, func(a, b logFile) int {
		if c := b.mtime.Compare(a.mtime); c != 0 {
			return c
		}
		ra, rb := a.roll, b.roll
		if ra < 0 {
			ra = int(^uint(0) >> 1)
		}
		if rb < 0 {
			rb = int(^uint(0) >> 1)
		}
		switch {
		case ra > rb:
			return -1
		case ra < rb:
			return 1
		}
		return strings.Compare(a.path, b.path)
	})
	if len(set) > n {
		set = set[:n]
	}
	return set
}

// skippedNote says how many rolled copies were left out.
func skippedNote(n int, base, dir string) string {
	return fmt.Sprintf("%d older rolled copies of %s in %s were not considered (the newest %d were)", n, base, dir, MaxRolledFiles)
}

// groupRank orders sets inside one directory: the agent's own logs first,
// in the order MainLog, HibernateLog, ErrorsLog, then other files by name.
func groupRank(base string) int {
	switch base {
	case MainLog:
		return 0
	case HibernateLog:
		return 1
	case ErrorsLog:
		return 2
	}
	return 3
}

// walkDir lists the regular files under dir (at most maxDirDepth levels, at
// most maxDirVisits files looked at), grouped into rolled sets of which the
// newest MaxRolledFiles are kept, and at most maxDirFiles files in all.
// Groups are ordered by directory, then by groupRank and name; each group
// oldest first. What it could not read (dir itself, a subdirectory, a file's
// metadata) is returned as unread sources, so that nothing the operator
// named passes for empty; notes say the rest (file cap reached, rolled
// copies skipped, an entry that vanished meanwhile, as rolled logs do).
// odd counts the entries that are neither regular files nor directories
// (FIFOs, sockets, devices, links), which are never opened.
func walkDir(root string) (out [][]logFile, notes []string, unread []Source, odd int) {
	type key struct{ dir, base string }
	groups := map[key][]logFile{}
	skipped := map[key]int{}
	var keys []key
	kept, visits := 0, 0
	capped := false
	problem := func(p string, err error) {
		if errors.Is(err, fs.ErrNotExist) {
			notes = append(notes, err.Error())
			return
		}
		unread = append(unread, unreadSource(p, err))
	}
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			problem(p, err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			if rel != "." && strings.Count(rel, string(filepath.Separator))+1 > maxDirDepth {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			odd++
			return nil
		}
		if visits++; visits > maxDirVisits || kept >= maxDirFiles {
			capped = true
			return fs.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			problem(p, err)
			return nil
		}
		b, n := splitRoll(d.Name())
		k := key{filepath.Dir(p), b}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], logFile{path: p, base: b, roll: n, size: info.Size(), mtime: info.ModTime()})
		kept++
		if g := groups[k]; len(g) > 2*MaxRolledFiles {
			// Prune as the walk goes, so memory stays bounded.
			skipped[k] += len(g) - MaxRolledFiles
			kept -= len(g) - MaxRolledFiles
			groups[k] = newest(g, MaxRolledFiles)
		}
		return nil
	})
	if capped {
		notes = append(notes, fmt.Sprintf("more than %d files under %s; the rest were not read", min(visits-1, maxDirFiles), root))
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.dir, b.dir); c != 0 {
			return c
		}
		if ra, rb := groupRank(a.base), groupRank(b.base); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.base, b.base)
	})
	out = make([][]logFile, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		if len(g) > MaxRolledFiles {
			skipped[k] += len(g) - MaxRolledFiles
			g = newest(g, MaxRolledFiles)
		}
		if skipped[k] > 0 {
			notes = append(notes, skippedNote(skipped[k], k.base, k.dir))
		}
		sortRolls(g)
		out = append(out, g)
	}
	return out, notes, unread, odd
}

// unreadSource records the explicit path p that could not be read: skipped
// when only root may read it, an error otherwise.
func unreadSource(p string, err error) Source {
	src := Source{Name: p, Kind: SourceFile, Status: StatusError, Class: rootfs.Class(err), Reason: err.Error()}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		src.Status = StatusMissing
	case src.Class == errclass.Permission:
		src.Status, src.Reason = StatusSkipped, NeedsRoot(p)
	}
	return src
}

// emptyDirSource records the explicit directory dir in which the walk found
// no regular file: nothing was looked at, which is not "no fault logged".
func emptyDirSource(dir string, odd int) Source {
	reason := fmt.Sprintf("no regular file in %s (searched %d levels of subdirectories)", dir, maxDirDepth)
	switch {
	case odd == 1:
		reason += "; the one entry in it is a FIFO, socket, device or link, which is never read"
	case odd > 1:
		reason += fmt.Sprintf("; its %d entries are FIFOs, sockets, devices or links, which are never read", odd)
	}
	return Source{Name: dir, Kind: SourceFile, Status: StatusMissing, Class: errclass.NotFound, Reason: reason}
}
