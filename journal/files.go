package journal

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
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

// maxDirDepth caps how deep an explicit directory is walked; support bundles
// nest the agent's logs two or three levels down.
const maxDirDepth = 4

// logFile is one file of a rolled set.
type logFile struct {
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

// rolledSet lists base and base.N in dir, oldest first. It returns the
// directory's read error, if any; a missing directory gives fs.ErrNotExist.
func rolledSet(dir, base string) ([]logFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var set []logFile
	for _, e := range ents {
		b, n := splitRoll(e.Name())
		if b != base || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		set = append(set, logFile{path: filepath.Join(dir, e.Name()), base: base, roll: n, size: info.Size(), mtime: info.ModTime()})
	}
	sortRolls(set)
	return set, nil
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

// walkDir lists the regular files under dir (at most maxDirFiles, at most
// maxDirDepth levels), grouped into rolled sets. Groups are ordered by
// directory, then by groupRank and name; each group oldest first. It returns
// the problems it met as notes ("permission denied on …", "file cap reached").
func walkDir(root string) ([][]logFile, []string) {
	var files []logFile
	var notes []string
	capped := false
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			notes = append(notes, err.Error())
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
			return nil
		}
		if len(files) >= maxDirFiles {
			capped = true
			return fs.SkipAll
		}
		info, err := d.Info()
		if err != nil {
			notes = append(notes, err.Error())
			return nil
		}
		b, n := splitRoll(d.Name())
		files = append(files, logFile{path: p, base: b, roll: n, size: info.Size(), mtime: info.ModTime()})
		return nil
	})
	if capped {
		notes = append(notes, "more than "+strconv.Itoa(maxDirFiles)+" files under "+root+"; the rest were not read")
	}
	type key struct{ dir, base string }
	groups := map[key][]logFile{}
	var keys []key
	for _, f := range files {
		k := key{filepath.Dir(f.path), f.base}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], f)
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
	out := make([][]logFile, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		sortRolls(g)
		out = append(out, g)
	}
	return out, notes
}
