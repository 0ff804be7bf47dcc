package journal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// What the kernel and systemd say when the agent is killed (docs/AGENT-FACTS.md,
// "Killed agents"). The kernel names a task by its comm, cut to 15 bytes
// (TASK_COMM_LEN 16 with the NUL); systemd names the unit.

// SyslogFiles are the system logs read, under Options.Root, for the kernel's
// and systemd's lines about the agent: rsyslog's on rpm hosts (messages) and
// deb hosts (syslog, kern.log).
var SyslogFiles = []string{"/var/log/messages", "/var/log/syslog", "/var/log/kern.log"}

// MaxSyslogBytes is how much of the end of each system log is read.
const MaxSyslogBytes = 16 << 20

// maxKillJournalBytes caps what is read of the journal's kernel and unit
// messages.
const maxKillJournalBytes = 16 << 20

// MaxKills is how many kills a KillLog keeps (the latest).
const MaxKills = 16

// The causes of a Kill.
const (
	CauseOOM        = "oom-killer"  // the kernel's OOM killer (or systemd's 'oom-kill' result)
	CauseSignal     = "signal"      // the main process died of a signal
	CauseStartLimit = "start-limit" // systemd gave up restarting it
)

// agentComms are the agent's process names as the kernel prints them, cut
// to 15 bytes.
var agentComms = func() []string {
	var out []string
	for _, n := range []string{"amazon-ssm-agent", "ssm-agent-worker", "ssm-session-worker", "ssm-document-worker", "ssm-session-logger"} {
		out = append(out, n[:min(len(n), 15)])
	}
	return out
}()

// IsAgentComm reports whether a kernel task name is one of the agent's.
func IsAgentComm(comm string) bool { return slices.Contains(agentComms, comm) }

// Kill is one time the kernel or systemd says the agent was killed, or
// that systemd gave up restarting it.
type Kill struct {
	Time    time.Time `json:"time,omitzero"`
	Source  string    `json:"source"`            // path:line or journal:<cursor>
	Cause   string    `json:"cause"`             // CauseOOM, CauseSignal, CauseStartLimit
	By      string    `json:"by"`                // "kernel" or "systemd"
	Process string    `json:"process,omitempty"` // the kernel's task name (15 bytes at most)
	PID     int       `json:"pid,omitempty"`
	Memory  string    `json:"memory,omitempty"` // the kernel's figures, e.g. "total-vm:1234kB, anon-rss:…"
	Unit    string    `json:"unit,omitempty"`   // systemd's unit
	Signal  string    `json:"signal,omitempty"` // e.g. "9/KILL"
	Text    string    `json:"text"`             // the message, cut to MaxSampleBytes
}

// KillLog is what the system logs say about the agent being killed.
type KillLog struct {
	Kills   []Kill      `json:"kills"`             // oldest first, the latest MaxKills
	Omitted int         `json:"omitted,omitempty"` // older kills not kept
	Starts  []time.Time `json:"starts,omitempty"`  // systemd's "Started" lines of the agent's unit, the latest MaxStarts
	Sources []Source    `json:"sources"`           // the system logs and the journal considered
}

// LastKill returns the latest kill, or nil.
func (k *KillLog) LastKill() *Kill {
	if k == nil || len(k.Kills) == 0 {
		return nil
	}
	return &k.Kills[len(k.Kills)-1]
}

// StartedAfter returns the first systemd start of the unit after t.
func (k *KillLog) StartedAfter(t time.Time) (time.Time, bool) {
	if k == nil {
		return time.Time{}, false
	}
	for _, s := range k.Starts {
		if s.After(t) {
			return s, true
		}
	}
	return time.Time{}, false
}

var (
	// Out of memory: Killed process 1234 (amazon-ssm-agen) total-vm:…;
	// older kernels: "Out of memory: Kill process N (x) score S or sacrifice
	// child", then "Killed process N (x) total-vm:…"; a cgroup's limit:
	// "Memory cgroup out of memory: Killed process …".
	reKernelKill = regexp.MustCompile(`(?:Out of memory|Memory cgroup out of memory)?:? ?Kill(?:ed)? process (\d+) \(([^)]{1,16})\)(.*)$`)
	// oom-kill:constraint=…,task=amazon-ssm-agen,pid=1234,uid=0
	reKernelSummary = regexp.MustCompile(`oom-kill:.*\btask=([^,]{1,16}),pid=(\d+)`)
	reMemFigure     = regexp.MustCompile(`\b(total-vm|anon-rss|file-rss|shmem-rss):\s*(\d+kB)`)
	reUnit          = regexp.MustCompile(`(?:^|\s)((?:snap\.)?amazon-ssm-agent(?:\.amazon-ssm-agent)?)\.service: (.*)$`)
	reMainExited    = regexp.MustCompile(`^Main process exited, code=(killed|dumped), status=(\d+/[A-Z0-9]+)`)
	reFailedResult  = regexp.MustCompile(`^Failed with result '([a-z-]+)'\.`)
	// Started amazon-ssm-agent.service - amazon-ssm-agent. (systemd 253 and
	// later), Started amazon-ssm-agent. (the unit's Description), and the
	// snap's "Started Service for snap application amazon-ssm-agent.amazon-ssm-agent."
	reStarted = regexp.MustCompile(`\bStarted (?:amazon-ssm-agent(?:\.service)?(?: - .*)?|snap\.amazon-ssm-agent\.amazon-ssm-agent\.service(?: - .*)?|Service for snap application amazon-ssm-agent\.amazon-ssm-agent|Amazon SSM Agent)\.?\s*$`)
)

// ParseKill reads one kernel or systemd message (without a syslog prefix)
// about the agent. started is true for systemd's start of the agent's unit.
func ParseKill(msg string) (k Kill, started bool, ok bool) {
	if m := reKernelKill.FindStringSubmatch(msg); m != nil {
		if !IsAgentComm(m[2]) {
			return Kill{}, false, false
		}
		if !strings.Contains(msg, "ut of memory") && !reMemFigure.MatchString(m[3]) {
			// "Killed process N (x)" without the OOM killer's words or
			// figures is not the OOM killer's.
			return Kill{}, false, false
		}
		pid, _ := strconv.Atoi(m[1])
		return Kill{Cause: CauseOOM, By: "kernel", Process: m[2], PID: pid, Memory: memFigures(m[3])}, false, true
	}
	if m := reKernelSummary.FindStringSubmatch(msg); m != nil {
		if !IsAgentComm(m[1]) {
			return Kill{}, false, false
		}
		pid, _ := strconv.Atoi(m[2])
		return Kill{Cause: CauseOOM, By: "kernel", Process: m[1], PID: pid}, false, true
	}
	m := reUnit.FindStringSubmatch(msg)
	if m == nil {
		return Kill{}, reStarted.MatchString(msg), false
	}
	unit, rest := m[1]+".service", m[2]
	switch {
	case strings.HasPrefix(rest, "A process of this unit has been killed by the OOM killer."),
		strings.HasPrefix(rest, "systemd-oomd killed "):
		return Kill{Cause: CauseOOM, By: "systemd", Unit: unit}, false, true
	case strings.HasPrefix(rest, "Start request repeated too quickly."):
		return Kill{Cause: CauseStartLimit, By: "systemd", Unit: unit}, false, true
	}
	if r := reFailedResult.FindStringSubmatch(rest); r != nil {
		switch r[1] {
		case "oom-kill":
			return Kill{Cause: CauseOOM, By: "systemd", Unit: unit}, false, true
		case "signal", "core-dump":
			return Kill{Cause: CauseSignal, By: "systemd", Unit: unit, Signal: r[1]}, false, true
		case "start-limit-hit":
			return Kill{Cause: CauseStartLimit, By: "systemd", Unit: unit}, false, true
		}
		return Kill{}, false, false
	}
	if r := reMainExited.FindStringSubmatch(rest); r != nil {
		return Kill{Cause: CauseSignal, By: "systemd", Unit: unit, Signal: r[2]}, false, true
	}
	return Kill{}, reStarted.MatchString(msg), false
}

// memFigures keeps the kernel's memory figures of a kill line.
func memFigures(s string) string {
	var out []string
	for _, m := range reMemFigure.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1]+":"+m[2])
	}
	return strings.Join(out, ", ")
}

var (
	// 2026-12-07T01:02:03.123456+00:00 host kernel: … (rsyslog's
	// RSYSLOG_FileFormat, the default of recent Debian and Ubuntu)
	reSyslogISO = regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) \S+ ([^:]{1,64}): (.*)$`)
	// Dec  7 01:02:03 host kernel: … (RSYSLOG_TraditionalFileFormat)
	reSyslogBSD = regexp.MustCompile(`^([A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d) \S+ ([^:]{1,64}): (.*)$`)
	// [12345.678901] before a kernel message
	reKernelStamp = regexp.MustCompile(`^\[\s*\d+\.\d+\]\s*`)
)

// ParseSyslogLine splits a system log line into its time, tag (kernel,
// systemd[1]) and message. A BSD time has no year: it is the latest one that
// puts the time no later than a day after ref (the file's modification time).
func ParseSyslogLine(line string, ref time.Time, loc *time.Location) (t time.Time, tag, msg string, ok bool) {
	if loc == nil {
		loc = time.Local
	}
	if m := reSyslogISO.FindStringSubmatch(line); m != nil {
		t, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			return time.Time{}, "", "", false
		}
		return t, m[2], reKernelStamp.ReplaceAllString(m[3], ""), true
	}
	if m := reSyslogBSD.FindStringSubmatch(line); m != nil {
		if ref.IsZero() {
			ref = time.Now()
		}
		ref = ref.In(loc)
		p, err := time.ParseInLocation("Jan _2 15:04:05 2006", m[1]+" "+strconv.Itoa(ref.Year()), loc)
		if err != nil {
			return time.Time{}, "", "", false
		}
		if p.After(ref.Add(24 * time.Hour)) {
			p = p.AddDate(-1, 0, 0)
		}
		return p, m[2], reKernelStamp.ReplaceAllString(m[3], ""), true
	}
	return time.Time{}, "", "", false
}

// killAcc gathers kills from several sources, dropping the same kill seen
// twice (the journal and rsyslog both hold it).
type killAcc struct {
	since  time.Time
	kills  []Kill
	starts []time.Time
	seen   map[string]int // key: 1 + index in kills, or -1 for a start
}

func (a *killAcc) add(t time.Time, msg, source string) {
	if !a.since.IsZero() && !t.IsZero() && t.Before(a.since) {
		return
	}
	k, started, ok := ParseKill(msg)
	if started && !t.IsZero() {
		key := "start " + t.Truncate(time.Second).String()
		if a.seen[key] == 0 {
			a.seen[key] = -1
			a.starts = append(a.starts, t)
		}
		return
	}
	if !ok {
		return
	}
	key := fmt.Sprintf("%s %s %s %s %d %s", t.Truncate(time.Second), k.By, k.Cause, k.Unit, k.PID, k.Signal)
	if i := a.seen[key]; i > 0 {
		// The same kill from another source, or an older kernel's
		// "Kill process" line followed by its "Killed process" with the
		// figures.
		if prev := &a.kills[i-1]; prev.Memory == "" && k.Memory != "" {
			prev.Memory, prev.Text, prev.Source = k.Memory, sampleText([]byte(msg)), source
		}
		return
	}
	k.Time, k.Source, k.Text = t, source, sampleText([]byte(msg))
	a.kills = append(a.kills, k)
	a.seen[key] = len(a.kills)
}

func (a *killAcc) result(sources []Source) *KillLog {
	slices.SortStableFunc(a.kills, func(x, y Kill) int { return x.Time.Compare(y.Time) })
	slices.SortFunc(a.starts, func(x, y time.Time) int { return x.Compare(y) })
	kl := &KillLog{Kills: a.kills, Starts: a.starts, Sources: sources}
	if n := len(kl.Kills); n > MaxKills {
		kl.Omitted, kl.Kills = n-MaxKills, kl.Kills[n-MaxKills:]
	}
	if n := len(kl.Starts); n > MaxStarts {
		kl.Starts = kl.Starts[n-MaxStarts:]
	}
	if kl.Kills == nil {
		kl.Kills = []Kill{}
	}
	return kl
}

// errBinaryLog refuses a system log that is mostly not text.
var errBinaryLog = errors.New("not a text log (more than a tenth of it is NUL or control bytes)")

// readSyslog reads the end of one system log under the root into acc.
func (s *scanner) readSyslog(p string, acc *killAcc) Source {
	src := Source{Name: filepath.Join(s.opt.Root, p), Kind: SourceFile}
	fsys := s.fsys()
	fi, err := fsys.Stat(p)
	if err == nil && !s.opt.Since.IsZero() && fi.ModTime().Before(s.opt.Since) {
		src.Status, src.Reason = StatusSkipped, "last written before --since"
		return src
	}
	data, truncated, err := fsys.ReadTail(p, MaxSyslogBytes)
	if err != nil {
		src.Status, src.Class, src.Reason = StatusError, rootfs.Class(err), err.Error()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			src.Status = StatusMissing
		case src.Class == errclass.Permission:
			src.Status, src.Reason = StatusSkipped, NeedsRoot(src.Name)
		}
		return src
	}
	src.Bytes = int64(len(data))
	if binaryText(data) {
		src.Status, src.Class, src.Reason = StatusError, errclass.Malformed, src.Name+": "+errBinaryLog.Error()+"; not read"
		return src
	}
	src.Status = StatusRead
	if truncated {
		src.Status, src.Reason = StatusPartial, fmt.Sprintf("only the last %d MiB were read", MaxSyslogBytes>>20)
	}
	ref := time.Now()
	if fi != nil {
		ref = fi.ModTime()
	}
	n := 0
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		n++
		src.Lines++
		if len(line) > MaxLineBytes {
			src.Malformed++
			continue
		}
		if bytes.IndexByte(line, 0) >= 0 {
			// A crash leaves runs of NUL where unwritten blocks were.
			line = bytes.ReplaceAll(line, []byte{0}, nil)
		}
		if !bytes.Contains(line, []byte("ill process")) && !bytes.Contains(line, []byte("illed process")) && !bytes.Contains(line, []byte("oom-kill")) &&
			!bytes.Contains(line, []byte("amazon-ssm-agent")) && !bytes.Contains(line, []byte("Amazon SSM Agent")) {
			continue
		}
		t, _, msg, ok := ParseSyslogLine(string(bytes.TrimRight(line, "\r")), ref, s.opt.Location)
		if !ok {
			continue
		}
		where := fmt.Sprintf("%s:%d", src.Name, n)
		if truncated {
			where = fmt.Sprintf("%s@tail:%d", src.Name, n)
		}
		acc.add(t, msg, where)
	}
	return src
}

// binaryText reports whether more than a tenth of data is NUL or other
// control bytes than tab, CR and LF.
func binaryText(data []byte) bool {
	bad := 0
	for _, c := range data {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			bad++
		}
	}
	return len(data) > 0 && bad*10 > len(data)
}

// killJournalArgs asks journalctl for the kernel's messages and systemd's
// messages about the agent's units (journalctl(1): matches of different
// fields are ANDed, "+" ORs the groups).
func (s *scanner) killJournalArgs(dir string) []string {
	args := []string{"--output=json", "--no-pager", "--quiet", "--output-fields=MESSAGE"}
	if dir != "" {
		args = append(args, "--directory="+dir)
	}
	if !s.opt.Since.IsZero() {
		args = append(args, "--since=@"+strconv.FormatInt(s.opt.Since.Unix(), 10))
	}
	args = append(args, "_TRANSPORT=kernel")
	for _, u := range agentUnits {
		args = append(args, "+", "UNIT="+u)
	}
	return args
}

// readKillJournal reads the kernel's and systemd's messages from the
// journal into acc.
func (s *scanner) readKillJournal(ctx context.Context, acc *killAcc) Source {
	t := s.unitJournal()
	src := Source{Name: t.name + " (kernel and systemd)", Kind: SourceJournal}
	if err := ctx.Err(); err != nil {
		src.Status, src.Class, src.Reason = StatusSkipped, errclass.Of(err), "scan stopped: "+err.Error()
		return src
	}
	dir := ""
	if t.host != "" {
		d, err := s.containedJournal(t.host)
		if err != nil {
			src.Status, src.Class, src.Reason = StatusMissing, rootfs.Class(err), "no persistent journal: "+err.Error()
			if !errors.Is(err, fs.ErrNotExist) {
				src.Status = StatusError
			}
			return src
		}
		dir = d
	} else if p, denied := systemJournalDenied(); denied {
		src.Status, src.Class, src.Reason = StatusSkipped, errclass.Permission, NeedsRoot(p)
		return src
	}
	ctx, cancel := context.WithTimeout(ctx, JournalctlTimeout)
	defer cancel()
	cmd, stderr := journalctlCmd(ctx, s.opt.JournalctlPath, s.killJournalArgs(dir))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		src.Status, src.Class, src.Reason = StatusError, errclass.Other, err.Error()
		return src
	}
	if err := cmd.Start(); err != nil {
		// No journalctl: no journal to read; the system logs are read.
		src.Status, src.Class, src.Reason = StatusMissing, errclass.NotFound, "cannot run journalctl: "+err.Error()
		return src
	}
	over := false
	_, rerr := ReadLines(stdout, MaxLineBytes*2, func(line []byte, truncated bool) bool {
		src.Bytes += int64(len(line))
		if src.Bytes > maxKillJournalBytes {
			over = true
			return false
		}
		var rec journalRecord
		if truncated || json.Unmarshal(line, &rec) != nil {
			src.Malformed++
			return true
		}
		msg, ok := decodeMessage(rec.Message)
		if !ok {
			return true
		}
		src.Lines++
		var at time.Time
		if usec, err := strconv.ParseInt(rec.Realtime, 10, 64); err == nil && usec > 0 {
			at = time.UnixMicro(usec)
			if s.opt.Location != nil {
				at = at.In(s.opt.Location)
			}
		}
		acc.add(at, string(msg), "journal:"+rec.Cursor)
		return true
	})
	if over {
		cancel()
	}
	werr := cmd.Wait()
	errText := strings.TrimSpace(stderr.String())
	switch {
	case over:
		src.Status, src.Reason = StatusPartial, fmt.Sprintf("read the first %d MiB of the kernel's and systemd's messages", maxKillJournalBytes>>20)
	case ctx.Err() != nil:
		src.Status, src.Class, src.Reason = StatusPartial, errclass.Of(ctx.Err()), "journalctl stopped: "+ctx.Err().Error()
	case src.Lines == 0 && permissionHint(errText):
		src.Status, src.Class, src.Reason = StatusSkipped, errclass.Permission, "no permission to read the system journal (run as root or in group systemd-journal): "+firstLine(errText)
	case werr != nil && src.Lines == 0:
		src.Status, src.Class, src.Reason = StatusError, errclass.Other, fmt.Sprintf("journalctl: %v: %s", werr, firstLine(errText))
	case rerr != nil:
		src.Status, src.Class, src.Reason = StatusPartial, errclass.Of(rerr), rerr.Error()
	default:
		src.Status = StatusRead
	}
	return src
}

// scanKills reads what the kernel and systemd say about the agent: the
// journal, and the system logs (rsyslog keeps them beside the journal, or
// instead of it). It returns nil when no source holds a kill and none
// could not be read.
func (s *scanner) scanKills(ctx context.Context) *KillLog {
	acc := &killAcc{since: s.opt.Since, seen: map[string]int{}}
	var sources []Source
	if s.opt.Journal {
		sources = append(sources, s.readKillJournal(ctx, acc))
	}
	for _, p := range SyslogFiles {
		if ctx.Err() != nil {
			sources = append(sources, Source{Name: filepath.Join(s.opt.Root, p), Kind: SourceFile, Status: StatusSkipped, Class: errclass.Of(ctx.Err()), Reason: "scan stopped: " + ctx.Err().Error()})
			continue
		}
		sources = append(sources, s.readSyslog(p, acc))
	}
	kl := acc.result(sources)
	if len(kl.Kills) > 0 {
		return kl
	}
	for _, src := range sources {
		switch src.Status {
		case StatusRead, StatusPartial, StatusMissing:
		default:
			return kl
		}
	}
	return nil
}
