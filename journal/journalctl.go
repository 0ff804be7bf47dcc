package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// JournalctlTimeout caps one journalctl run. journalctl without --follow
// ends by itself; the cap guards against a journal on a hung mount. Reading
// the agent's unit from a large journal takes seconds, not minutes.
const JournalctlTimeout = 60 * time.Second

// maxStderrBytes caps what is kept of journalctl's standard error.
const maxStderrBytes = 4 << 10

// AgentUnits are the unit names the agent runs as (docs/AGENT-FACTS.md, "Files and locations (Linux)"):
// the rpm/deb unit and the snap's.
var agentUnits = []string{"amazon-ssm-agent.service", "snap.amazon-ssm-agent.amazon-ssm-agent.service"}

// journalTarget says which journal to read.
type journalTarget struct {
	name string // Source.Name
	host string // host path of the directory under Options.Root; resolved into dir when read
	dir  string // --directory; "" with file "" = the system journal
	file string // --file
}

// unitJournal picks the journal under Root: the system journal when Root is
// "/", else Root/var/log/journal (the persistent journal of a mounted
// volume; a stopped host's /run is empty).
func (s *scanner) unitJournal() *journalTarget {
	if filepath.Clean(s.opt.Root) == "/" {
		return &journalTarget{name: "journal"}
	}
	dir := filepath.Join(s.opt.Root, journalDir)
	return &journalTarget{name: "journal:" + dir, host: journalDir}
}

// journalDir is the persistent journal, relative to the host root
// (systemd-journald.service(8)).
const journalDir = "/var/log/journal"

// containedJournal resolves the host directory host under the scan's root
// and checks that neither it nor the machine-ID directories and files in it
// hold a symbolic link: journald writes none, and journalctl (or
// sd_journal) would follow one out of the volume. It returns the machine
// path to give journalctl.
func (s *scanner) containedJournal(host string) (string, error) {
	fsys := s.fsys()
	dir, err := fsys.Resolve(host)
	if err != nil {
		return "", err
	}
	if _, err := fsys.Stat(host); err != nil {
		return "", err
	}
	ents, err := fsys.ReadDir(host)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		p := path.Join(host, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			return "", &fs.PathError{Op: "read", Path: p, Err: errJournalLink}
		}
		if isJournalFile(e.Name()) && !e.Type().IsRegular() {
			return "", &fs.PathError{Op: "read", Path: p, Err: errJournalNotRegular}
		}
		if !e.IsDir() {
			continue
		}
		sub, err := fsys.ReadDir(p)
		if err != nil {
			return "", err
		}
		for _, f := range sub {
			if f.Type()&fs.ModeSymlink != 0 {
				return "", &fs.PathError{Op: "read", Path: path.Join(p, f.Name()), Err: errJournalLink}
			}
			if isJournalFile(f.Name()) && !f.Type().IsRegular() {
				// sd-journal passes over such a name by its directory-entry
				// type only where the file system reports one, and checks
				// a file's mode only once it has opened it.
				return "", &fs.PathError{Op: "read", Path: path.Join(p, f.Name()), Err: errJournalNotRegular}
			}
		}
	}
	return dir, nil
}

// systemJournalDenied reports whether the running machine has a system
// journal file (systemd-journald.service(8): /var/log/journal/<machine-id>/
// or /run/log/journal/<machine-id>/system.journal) and none may be read by
// this process, and names the first.
func systemJournalDenied() (string, bool) {
	var first string
	for _, pat := range []string{"/var/log/journal/*/system.journal", "/run/log/journal/*/system.journal"} {
		m, _ := filepath.Glob(pat)
		for _, p := range m {
			fh, _, err := rootfs.OpenRegular(p)
			if err == nil {
				fh.Close()
				return "", false
			}
			if first == "" && errors.Is(err, fs.ErrPermission) {
				first = p
			}
		}
	}
	return first, first != ""
}

// errJournalNotRegular refuses a journal directory that holds a journal
// file name that is not a regular file (a FIFO, socket or device node).
var errJournalNotRegular = fmt.Errorf("%w in the volume's journal directory; the journal was not read, so that no device of this machine is opened", rootfs.ErrNotRegular)

// errJournalLink refuses a journal directory that holds a symbolic link.
var errJournalLink = errors.New("a symbolic link in the volume's journal directory; the journal was not read, so that nothing outside the volume is")

// readJournal reads the agent unit's messages from the journal with the
// configured reader.
func (s *scanner) readJournal(ctx context.Context, it *planItem) {
	t := it.journal
	it.src.Name, it.src.Kind = t.name, SourceJournal
	if t.host != "" {
		dir, err := s.containedJournal(t.host)
		if err != nil {
			it.src.Status, it.src.Class, it.src.Reason = StatusMissing, rootfs.Class(err), "no persistent journal: "+err.Error()
			switch {
			case it.src.Class == errclass.Permission:
				it.src.Status, it.src.Reason = StatusSkipped, NeedsRoot(t.name[len("journal:"):])
			case !errors.Is(err, fs.ErrNotExist):
				it.src.Status = StatusError
			}
			return
		}
		t.dir = dir
	}
	if t.host == "" && t.dir == "" && t.file == "" {
		if p, denied := systemJournalDenied(); denied {
			// journalctl would show this user's journal only, and call it
			// the system's: the agent's messages would be missing unseen.
			it.src.Status, it.src.Class, it.src.Reason = StatusSkipped, errclass.Permission, NeedsRoot(p)
			return
		}
	}
	if s.budget <= 0 {
		it.src.Status, it.src.Reason = StatusSkipped, "byte budget exhausted"
		s.res.BudgetExhausted = true
		return
	}
	it.agg, it.tl = &Aggregator{}, newTimelineAcc(journalPos)
	jr := &journalReader{s: s, src: &it.src, to: sink{it.agg, it.tl}}
	switch s.opt.JournalReader {
	case "journalctl":
		jr.journalctl(ctx, t)
	case "sdjournal":
		if !haveSDJournal {
			it.src.Status, it.src.Class, it.src.Reason = StatusSkipped, errclass.Other, "sdjournal is not built in (needs cgo on linux); use journalctl"
			return
		}
		jr.sdjournal(ctx, t)
	case "":
		if haveSDJournal {
			jr.sdjournal(ctx, t)
			if it.src.Status != StatusError {
				return
			}
			note := it.src.Reason
			it.src = Source{Name: t.name, Kind: SourceJournal}
			it.agg, it.tl = &Aggregator{}, newTimelineAcc(journalPos)
			jr = &journalReader{s: s, src: &it.src, to: sink{it.agg, it.tl}}
			s.res.Notes = append(s.res.Notes, "sdjournal failed ("+note+"); read the journal with journalctl")
		}
		jr.journalctl(ctx, t)
	default:
		it.src.Status, it.src.Class, it.src.Reason = StatusError, errclass.Other, "unknown journal reader "+strconv.Quote(s.opt.JournalReader)
	}
}

// journalReader feeds journal messages into the assembler of one source.
type journalReader struct {
	s     *scanner
	src   *Source
	to    sink
	asm   *Assembler
	bytes int64
	over  bool // the byte budget ran out
}

// message adds one journal message. A message may hold several lines.
func (j *journalReader) message(msg []byte, cursor string, usec uint64) bool {
	if j.asm == nil {
		var cur string
		where := func() string { return journalPos(pos{cursor: cur}) }
		j.asm = NewAssembler(j.s.opt.Location, func(e *Entry) bool {
			cur = e.Cursor
			j.s.entry(j.src, e, span{}, j.s.m, j.to, where)
			return true
		})
	}
	j.bytes += int64(len(msg))
	if j.bytes > j.s.budget {
		j.over = true
		return false
	}
	var t time.Time
	if usec > 0 {
		t = time.UnixMicro(int64(usec)).In(j.location())
	}
	truncated := false
	if len(msg) > MaxLineBytes {
		msg, truncated = msg[:MaxLineBytes], true
	}
	for _, line := range bytes.Split(bytes.TrimRight(msg, "\n"), []byte("\n")) {
		j.src.Lines++
		if !j.asm.Line(bytes.TrimRight(line, "\r"), LineMeta{Cursor: cursor, Time: t, Truncated: truncated}) {
			return false
		}
	}
	return true
}

func (j *journalReader) location() *time.Location {
	if j.s.opt.Location != nil {
		return j.s.opt.Location
	}
	return time.Local
}

// finish flushes the assembler and accounts the bytes.
func (j *journalReader) finish() {
	if j.asm != nil {
		j.asm.Flush()
	}
	j.src.Bytes = j.bytes
	j.s.budget -= j.bytes
	if j.over {
		j.src.Status, j.src.Reason = StatusPartial, "byte budget exhausted"
		j.s.res.BudgetExhausted = true
	}
}

// journalctlArgs builds the command line: JSON output (journalctl(1),
// "-o json": one object per line, fields over 4096 bytes shown as null
// unless --all), the agent's units, --directory or --file, and --since as
// "@<unix seconds>" (systemd.time(7)).
func (j *journalReader) journalctlArgs(t *journalTarget) []string {
	args := []string{"--output=json", "--no-pager", "--quiet",
		"--output-fields=MESSAGE"}
	for _, u := range agentUnits {
		args = append(args, "--unit="+u)
	}
	if t.dir != "" {
		args = append(args, "--directory="+t.dir)
	}
	if t.file != "" {
		args = append(args, "--file="+t.file)
	}
	if !j.s.opt.Since.IsZero() {
		args = append(args, "--since=@"+strconv.FormatInt(j.s.opt.Since.Unix(), 10))
	}
	return args
}

// journalRecord is the part of a `journalctl -o json` object we use.
// MESSAGE is a string, an array of byte values when it is not valid UTF-8,
// or null when it is larger than 4096 bytes (journalctl(1), "json").
type journalRecord struct {
	Cursor   string          `json:"__CURSOR"`
	Realtime string          `json:"__REALTIME_TIMESTAMP"`
	Message  json.RawMessage `json:"MESSAGE"`
}

// journalctlCmd prepares journalctl (path, or journalctl on PATH) with
// args: no pager, no colours, its stderr kept up to maxStderrBytes.
func journalctlCmd(ctx context.Context, path string, args []string) (*exec.Cmd, *cappedBuffer) {
	if path == "" {
		path = "journalctl"
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "SYSTEMD_LOG_COLOR=0")
	stderr := &cappedBuffer{max: maxStderrBytes}
	cmd.Stderr = stderr
	return cmd, stderr
}

// journalctl reads the journal by running journalctl.
func (j *journalReader) journalctl(ctx context.Context, t *journalTarget) {
	defer j.finish()
	ctx, cancel := context.WithTimeout(ctx, JournalctlTimeout)
	defer cancel()
	cmd, stderr := journalctlCmd(ctx, j.s.opt.JournalctlPath, j.journalctlArgs(t))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		j.src.Status, j.src.Class, j.src.Reason = StatusError, errclass.Other, err.Error()
		return
	}
	if err := cmd.Start(); err != nil {
		j.src.Status, j.src.Class, j.src.Reason = StatusSkipped, errclass.Of(err), "cannot run journalctl: "+err.Error()
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			j.src.Class = errclass.NotFound
		}
		return
	}
	bad := 0
	_, rerr := ReadLines(stdout, MaxLineBytes*2, func(line []byte, truncated bool) bool {
		var rec journalRecord
		if truncated || json.Unmarshal(line, &rec) != nil {
			bad++
			j.bytes += int64(len(line))
			return true
		}
		msg, ok := decodeMessage(rec.Message)
		if !ok {
			bad++
			return true
		}
		usec, _ := strconv.ParseUint(rec.Realtime, 10, 64)
		return j.message(msg, rec.Cursor, usec)
	})
	if j.over {
		cancel() // stop journalctl; we have what the budget allows
	}
	_, _ = io.Copy(io.Discard, stdout)
	werr := cmd.Wait()
	j.src.Malformed += bad
	errText := strings.TrimSpace(stderr.String())
	switch {
	case j.over:
		// finish records the budget.
	case ctx.Err() != nil:
		j.src.Status, j.src.Class, j.src.Reason = StatusPartial, errclass.Of(ctx.Err()), "journalctl stopped: "+ctx.Err().Error()
	case j.src.Entries == 0 && permissionHint(errText):
		// journalctl(1): users outside the systemd-journal and adm
		// groups see only their own journal, and it says so on stderr.
		j.src.Status, j.src.Class, j.src.Reason = StatusSkipped, errclass.Permission, "no permission to read the system journal (run as root or in group systemd-journal): "+firstLine(errText)
	case werr != nil && j.src.Entries == 0:
		j.src.Status, j.src.Class, j.src.Reason = StatusError, errclass.Other, fmt.Sprintf("journalctl: %v: %s", werr, firstLine(errText))
	case rerr != nil:
		j.src.Status, j.src.Class, j.src.Reason = StatusPartial, errclass.Of(rerr), rerr.Error()
	default:
		j.src.Status = StatusRead
		if werr != nil {
			j.src.Reason = fmt.Sprintf("journalctl: %v: %s", werr, firstLine(errText))
		}
	}
}

// permissionHint reports whether journalctl's stderr says it could not open
// journal files for lack of permission.
func permissionHint(stderr string) bool {
	return strings.Contains(stderr, "insufficient permissions") ||
		strings.Contains(stderr, "not seeing messages from other users") ||
		strings.Contains(stderr, "Permission denied")
}

// decodeMessage turns a MESSAGE value into bytes.
func decodeMessage(raw json.RawMessage) ([]byte, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return nil, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		return []byte(s), true
	}
	var vals []int
	if json.Unmarshal(raw, &vals) != nil {
		return nil, false
	}
	b := make([]byte, len(vals))
	for i, v := range vals {
		b[i] = byte(v)
	}
	return b, true
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// cappedBuffer keeps the first max bytes written to it and drops the rest.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string { return c.buf.String() }

// journalPos names a journal entry by its cursor.
func journalPos(p pos) string { return "journal:" + p.cursor }
