package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// DefaultByteBudget is how many bytes Scan reads at most when
// Options.ByteBudget is 0: the agent's default rolled set is 6 × 30 MB main
// log plus 6 × 10 MB errors.log, so 512 MiB covers a full set with room.
const DefaultByteBudget = 512 << 20

// Options says what Scan reads.
type Options struct {
	Root           string         // host root for default locations ("/" when empty)
	Paths          []string       // explicit files or directories; when non-empty, only these are read (no unit journal)
	LogDir         string         // host path of the agent's log directory; "" is AgentLogDir. Set (Windows: %ProgramData%\Amazon\SSM\Logs), the system's kill lines are not read
	Journal        bool           // also read the systemd journal of amazon-ssm-agent (default sources only)
	JournalReader  string         // "journalctl", "sdjournal" (cgo builds only), or "" for sdjournal when built in, else journalctl
	JournalctlPath string         // "journalctl" (looked up in PATH) when empty
	Since          time.Time      // timed entries older than this are counted (Source.Old) but not matched; untimed entries are always matched; files last written before it are skipped; zero = no limit
	Location       *time.Location // zone of the agent's zone-less local timestamps (time.Local when nil)
	ByteBudget     int64          // bytes to read at most over all sources; 0 = DefaultByteBudget
	Catalog        *Catalog       // nil = DefaultCatalog()
}

// SourceKind tells files from the journal.
type SourceKind string

// The source kinds.
const (
	SourceFile    SourceKind = "file"
	SourceJournal SourceKind = "journal"
)

// Status is how far a source was read.
type Status string

// The statuses. "Not read" is never "healthy": every status but StatusRead
// carries a Reason.
const (
	StatusRead    Status = "read"    // read to its end
	StatusPartial Status = "partial" // read in part: the byte budget, a tail read, or cancellation
	StatusSkipped Status = "skipped" // deliberately not read (older than Since, budget, no permission, tool absent)
	StatusMissing Status = "missing" // does not exist
	StatusError   Status = "error"   // could not be read
)

// Source is one file or journal that Scan considered.
type Source struct {
	Name       string         `json:"name"`                 // file path, or "journal" / "journal:<dir or file>"
	Kind       SourceKind     `json:"kind"`                 // file or journal
	Status     Status         `json:"status"`               // read, partial, skipped, missing, error
	Reason     string         `json:"reason,omitempty"`     // why it is not StatusRead
	Class      errclass.Class `json:"class,omitempty"`      // the error class behind a skip or error
	Bytes      int64          `json:"bytes"`                // bytes read
	Lines      int            `json:"lines"`                // lines (journal: messages) read
	Entries    int            `json:"entries"`              // entries assembled
	Untimed    int            `json:"untimed,omitempty"`    // entries without a time (unknown formats)
	Malformed  int            `json:"malformed,omitempty"`  // entries that were truncated or hold invalid UTF-8 / NUL
	Old        int            `json:"old,omitempty"`        // entries before Options.Since, not matched
	Duplicates int            `json:"duplicates,omitempty"` // errors.log entries inside the main log's time span, not matched
	First      time.Time      `json:"first,omitzero"`       // earliest entry time
	Last       time.Time      `json:"last,omitzero"`        // latest entry time
}

// Result is what Scan found.
type Result struct {
	Sources         []Source  `json:"sources"`                 // every source considered, in reading order
	Events          []Summary `json:"events"`                  // one per kind seen, in Kinds order
	BytesRead       int64     `json:"bytes_read"`              // over all sources
	BytesPlanned    int64     `json:"bytes_planned,omitempty"` // of files, what the byte budget granted: BytesRead falls short of it when the scan stopped early
	BudgetExhausted bool      `json:"budget_exhausted"`        // some data was not read because of the byte budget
	Notes           []string  `json:"notes,omitempty"`         // problems that are not a source's (walk errors, caps)
	Timeline        *Timeline `json:"timeline"`                // when it last worked, since when it fails, starts and versions
	Kills           *KillLog  `json:"kills,omitempty"`         // the kernel's and systemd's words about killing the agent (default sources only); nil when no source holds one and none failed
}

// NeedsRoot is the reason of a source that the probe's user may not read.
func NeedsRoot(p string) string { return "needs root to read " + p + " (permission denied)" }

// fsys is the host's file system under Options.Root.
func (s *scanner) fsys() rootfs.FS { return rootfs.FS{Root: s.opt.Root} }

// scanner is the state of one Scan.
type scanner struct {
	opt    Options
	cat    *Catalog
	m      *Matcher   // for the journal, read on Scan's goroutine
	agg    Aggregator // the merged result
	res    *Result
	budget int64 // bytes still allowed
}

// Scan reads the sources Options names, oldest data first within each
// rolled set, and summarises what the catalog recognises. It never returns
// nil and never panics: every problem is recorded on its Source or in Notes.
// When the byte budget cannot cover every file, the newest data is kept:
// older rolls are skipped and the oldest file read is read from its tail.
// Files are read concurrently (up to maxWorkers); the result is merged in
// reading order and does not depend on scheduling. errors.log entries that
// fall inside the time span of amazon-ssm-agent.log in the same directory
// repeat main-log lines and are counted as Source.Duplicates, not matched.
func Scan(ctx context.Context, opt Options) (res *Result) {
	res = &Result{}
	defer func() {
		if r := recover(); r != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("internal error, scan stopped: %v", r))
		}
	}()
	if opt.Root == "" {
		opt.Root = "/"
	}
	if opt.ByteBudget <= 0 {
		opt.ByteBudget = DefaultByteBudget
	}
	cat := opt.Catalog
	if cat == nil {
		cat = DefaultCatalog()
	}
	s := &scanner{opt: opt, cat: cat, m: cat.NewMatcher(), res: res, budget: opt.ByteBudget}
	var plan []planItem
	if len(opt.Paths) > 0 {
		plan = s.planPaths()
	} else {
		plan = s.planDefault()
	}
	s.allocate(plan)
	for i := range plan {
		res.BytesPlanned += plan[i].alloc
	}
	s.readFiles(ctx, plan)
	for i := range plan {
		s.budget -= plan[i].src.Bytes
		if plan[i].partialTail {
			res.BudgetExhausted = true
		}
	}
	for i := range plan {
		if plan[i].journal != nil {
			if ctx.Err() != nil {
				plan[i].src = Source{Name: plan[i].journal.name, Kind: SourceJournal, Status: StatusSkipped, Class: errclass.Of(ctx.Err()), Reason: "scan stopped: " + ctx.Err().Error()}
				continue
			}
			s.readJournal(ctx, &plan[i])
		}
	}
	if ctx.Err() != nil {
		res.Notes = append(res.Notes, "scan cancelled: "+ctx.Err().Error())
	}
	var tls []*timelineAcc
	for i := range plan {
		res.Sources = append(res.Sources, plan[i].src)
		if plan[i].agg != nil {
			s.agg.Merge(plan[i].agg)
		}
		if plan[i].tl != nil {
			tls = append(tls, plan[i].tl)
		}
		res.BytesRead += plan[i].src.Bytes
	}
	res.Events = s.agg.Summaries()
	res.Timeline = buildTimeline(tls, opt.Location)
	if len(opt.Paths) == 0 && opt.LogDir == "" {
		res.Kills = s.scanKills(ctx)
		if kl := res.Kills; kl != nil && res.Timeline != nil {
			res.Timeline.Kills = kl.Kills
		}
	}
	return res
}

// maxWorkers caps how many files are read at once. Each worker holds a
// read buffer and an entry buffer (about 350 KiB), so memory stays constant.
const maxWorkers = 4

// readFiles reads the planned files on up to GOMAXPROCS workers, each with
// its own Matcher and Aggregator; Scan merges them in plan order, so the
// result does not depend on scheduling. errors.log files are read after the
// main logs of their directory, whose time span tells which of their
// entries are duplicates.
func (s *scanner) readFiles(ctx context.Context, plan []planItem) {
	var first, second []int
	for i := range plan {
		it := &plan[i]
		if it.journal != nil || it.src.Status != "" {
			continue
		}
		if it.file.base == ErrorsLog {
			second = append(second, i)
		} else {
			first = append(first, i)
		}
	}
	s.runFiles(ctx, plan, first, nil)
	spans := map[string]span{}
	for _, i := range first {
		if plan[i].file.base == MainLog {
			d := filepath.Dir(plan[i].file.path)
			sp := spans[d]
			sp.extend(plan[i].src.First, plan[i].src.Last)
			spans[d] = sp
		}
	}
	s.runFiles(ctx, plan, second, spans)
}

func (s *scanner) runFiles(ctx context.Context, plan []planItem, idx []int, spans map[string]span) {
	workers := min(runtime.GOMAXPROCS(0), maxWorkers, len(idx))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := s.cat.NewMatcher()
			for i := range next {
				it := &plan[i]
				it.agg = &Aggregator{}
				s.readFile(ctx, it, m, spans[filepath.Dir(it.file.path)])
			}
		}()
	}
	for _, i := range idx {
		next <- i
	}
	close(next)
	wg.Wait()
}

// span is the time range the main log covers in one directory; errors.log
// entries inside it repeat main log lines.
type span struct {
	first, last time.Time
}

func (sp *span) extend(first, last time.Time) {
	if first.IsZero() {
		return
	}
	if sp.first.IsZero() || first.Before(sp.first) {
		sp.first = first
	}
	if last.After(sp.last) {
		sp.last = last
	}
}

func (sp span) covers(t time.Time) bool {
	return !sp.first.IsZero() && !t.IsZero() && !t.Before(sp.first) && !t.After(sp.last)
}

// planItem is one source to read.
type planItem struct {
	src         Source
	file        logFile
	group       int   // files of one rolled set share a group
	alloc       int64 // bytes the budget grants this file
	journal     *journalTarget
	partialTail bool        // the budget granted only the file's tail
	agg         *Aggregator // events of this file, merged by Scan in plan order
	tl          *timelineAcc
}

// planDefault lists the agent's rolled sets under Root and, when asked, the
// unit's journal.
func (s *scanner) planDefault() []planItem {
	fsys := s.fsys()
	logDir := AgentLogDir
	if s.opt.LogDir != "" {
		logDir = s.opt.LogDir
	}
	dir := fsys.Join(logDir)
	var plan []planItem
	for g, base := range []string{MainLog, HibernateLog, ErrorsLog} {
		set, skipped, err := rolledSet(fsys, logDir, base)
		if skipped > 0 {
			s.res.Notes = append(s.res.Notes, skippedNote(skipped, base, dir))
		}
		if err != nil || len(set) == 0 {
			src := Source{Name: filepath.Join(dir, base), Kind: SourceFile, Status: StatusMissing, Class: errclass.NotFound, Reason: "no " + base + " or rolled copies in " + dir}
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				src.Status, src.Class, src.Reason = StatusError, rootfs.Class(err), err.Error()
				if src.Class == errclass.Permission {
					src.Status, src.Reason = StatusSkipped, NeedsRoot(dir)
				}
			}
			plan = append(plan, planItem{src: src, group: g})
			continue
		}
		for _, f := range set {
			plan = append(plan, planItem{file: f, group: g})
		}
	}
	if s.opt.Journal {
		plan = append(plan, planItem{journal: s.unitJournal()})
	}
	return plan
}

// planPaths lists explicit files and directories.
func (s *scanner) planPaths() []planItem {
	var plan []planItem
	g := 0
	for _, p := range s.opt.Paths {
		info, err := os.Stat(p)
		if err == nil && !info.IsDir() && !info.Mode().IsRegular() {
			// A FIFO, socket or device: opening it could block, and reading
			// it never ends. Refused before any open.
			err = &fs.PathError{Op: "read", Path: p, Err: fmt.Errorf("%w (mode %s): give a log file or a directory", rootfs.ErrNotRegular, info.Mode().Type())}
		}
		if err != nil {
			plan = append(plan, planItem{src: unreadSource(p, err), group: g})
			g++
			continue
		}
		if !info.IsDir() {
			if isJournalFile(p) {
				plan = append(plan, planItem{journal: &journalTarget{name: "journal:" + p, file: p}, group: g})
			} else {
				b, n := splitRoll(filepath.Base(p))
				plan = append(plan, planItem{file: logFile{path: p, base: b, roll: n, size: info.Size(), mtime: info.ModTime()}, group: g})
			}
			g++
			continue
		}
		groups, notes, unread, odd := walkDir(p)
		s.res.Notes = append(s.res.Notes, notes...)
		for _, src := range unread {
			plan = append(plan, planItem{src: src, group: g})
			g++
		}
		if len(groups) == 0 && len(unread) == 0 {
			plan = append(plan, planItem{src: emptyDirSource(p, odd), group: g})
			g++
		}
		for _, set := range groups {
			if isJournalFile(set[0].path) {
				for _, f := range set {
					plan = append(plan, planItem{journal: &journalTarget{name: "journal:" + f.path, file: f.path}, group: g})
				}
			} else {
				for _, f := range set {
					plan = append(plan, planItem{file: f, group: g})
				}
			}
			g++
		}
	}
	return plan
}

// isJournalFile reports whether p is a binary systemd journal file
// (systemd-journald.service(8): *.journal, and *.journal~ for files that
// were not closed cleanly).
func isJournalFile(p string) bool {
	return strings.HasSuffix(p, ".journal") || strings.HasSuffix(p, ".journal~")
}

// allocate grants the byte budget to files: rolled sets in plan order, each
// newest file first, so that when the budget runs out it is the oldest data
// that is left unread. Files last written before Since are skipped.
func (s *scanner) allocate(plan []planItem) {
	left := s.opt.ByteBudget
	// Walk groups in order, files within a group newest first.
	start := 0
	for start < len(plan) {
		end := start
		for end < len(plan) && plan[end].group == plan[start].group {
			end++
		}
		for i := end - 1; i >= start; i-- {
			it := &plan[i]
			if it.journal != nil || it.src.Status != "" {
				continue
			}
			it.src.Name, it.src.Kind = it.file.path, SourceFile
			if !s.opt.Since.IsZero() && it.file.mtime.Before(s.opt.Since) {
				it.src.Status, it.src.Reason = StatusSkipped, "last written "+it.file.mtime.Format(time.RFC3339)+", before --since"
				continue
			}
			if left <= 0 {
				it.src.Status, it.src.Reason = StatusSkipped, "byte budget exhausted"
				s.res.BudgetExhausted = true
				continue
			}
			it.alloc = min(it.file.size, left)
			left -= it.alloc
		}
		start = end
	}
}

// readFile reads one planned file, or its tail when the budget granted less
// than its size.
func (s *scanner) readFile(ctx context.Context, it *planItem, m *Matcher, dedupe span) {
	src := &it.src
	var f *os.File
	var err error
	if it.file.host != "" {
		f, err = s.fsys().OpenRegular(it.file.host) // under the root, never out of it
	} else {
		f, _, err = rootfs.OpenRegular(it.file.path) // non-blocking, regular files only
	}
	if err != nil {
		src.Status, src.Class, src.Reason = StatusError, rootfs.Class(err), err.Error()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			src.Status = StatusMissing
		case src.Class == errclass.Permission:
			src.Status, src.Reason = StatusSkipped, NeedsRoot(it.file.path)
		}
		return
	}
	defer f.Close()
	var offset int64
	if it.alloc < it.file.size {
		offset = it.file.size - it.alloc
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			src.Status, src.Class, src.Reason = StatusError, errclass.Of(err), err.Error()
			return
		}
		it.partialTail = true
	}
	cr := &ctxReader{ctx: ctx, r: io.LimitReader(f, it.alloc)}
	name := it.file.path
	at := func(p pos) string {
		if offset > 0 {
			return name + "@" + strconv.FormatInt(offset, 10) + ":" + strconv.Itoa(p.line)
		}
		return name + ":" + strconv.Itoa(p.line)
	}
	it.tl = newTimelineAcc(at)
	var line int // the line of the entry being matched, for where
	where := func() string { return at(pos{line: line}) }
	asm := NewAssembler(s.opt.Location, func(e *Entry) bool {
		line = e.Line
		s.entry(src, e, dedupe, m, sink{it.agg, it.tl}, where)
		return true
	})
	num := 0
	skipFirst := offset > 0 // the tail starts inside a line
	_, rerr := ReadLines(cr, MaxLineBytes, func(line []byte, truncated bool) bool {
		if skipFirst {
			skipFirst = false
			return true
		}
		num++
		return asm.Line(line, LineMeta{Num: num, Truncated: truncated})
	})
	asm.Flush()
	src.Lines = num
	src.Bytes = cr.n
	switch {
	case rerr != nil && ctx.Err() != nil:
		// The scan's time ran out: not a fault of the file.
		src.Status, src.Class = StatusPartial, errclass.Of(ctx.Err())
		src.Reason = "scan stopped (" + ctx.Err().Error() + ") after " + strconv.FormatInt(cr.n, 10) + " of " + strconv.FormatInt(it.alloc, 10) + " bytes"
		if cr.n == 0 {
			src.Status = StatusSkipped
		}
	case rerr != nil:
		src.Status, src.Class, src.Reason = StatusPartial, errclass.Of(rerr), rerr.Error()
		if cr.n == 0 {
			src.Status = StatusError
		}
	case offset > 0:
		src.Status, src.Reason = StatusPartial, "byte budget: read the last "+strconv.FormatInt(it.alloc, 10)+" of "+strconv.FormatInt(it.file.size, 10)+" bytes"
	default:
		src.Status = StatusRead
	}
}

// entry accounts one entry of a source and matches it.
func (s *scanner) entry(src *Source, e *Entry, dedupe span, m *Matcher, to sink, where func() string) {
	src.Entries++
	if e.Truncated || e.Invalid {
		src.Malformed++
	}
	if e.Time.IsZero() {
		src.Untimed++
	} else {
		if src.First.IsZero() || e.Time.Before(src.First) {
			src.First = e.Time
		}
		if e.Time.After(src.Last) {
			src.Last = e.Time
		}
		if !s.opt.Since.IsZero() && e.Time.Before(s.opt.Since) {
			src.Old++
			return
		}
		if dedupe.covers(e.Time) {
			src.Duplicates++
			return
		}
	}
	for _, ev := range m.Match(e.Text) {
		if ev.Kind != KindHealthPing { // a ping about to be sent: for the timeline only
			to.agg.Add(ev, e.Time, e.Text, where)
		}
		to.tl.add(ev, e.Time, pos{e.Line, e.Cursor})
	}
}

// sink is where one source's events go: the summaries and the timeline.
type sink struct {
	agg *Aggregator
	tl  *timelineAcc
}

// ctxReader stops reading when its context is done, and counts bytes.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	n   int64
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
