package journal

import (
	"bytes"
	"io"
	"time"
)

// MaxEntryBytes is how much text of one entry (all its lines) is kept and
// matched. An AWS SDK error with its `caused by:` lines fits easily.
const MaxEntryBytes = 64 << 10

// Format tells how an entry's first line was recognised.
type Format string

// The formats.
const (
	FormatUnknown Format = "unknown" // no known timestamp: kept as an untimed entry
	FormatAgent   Format = "agent"   // `2006-01-02 15:04:05[.0000] LEVEL …`, or `2006-01-02T15:04:05Z LEVEL …` (seelog formats, docs/AGENT-FACTS.md)
	FormatEpoch   Format = "epoch"   // `1704967520066534055 [Debug] …` (Flatcar's seelog.xml); kept untimed
)

// Entry is one log entry: a first line and its continuation lines.
type Entry struct {
	Line      int       // 1-based line number of the first line (files); 0 when not known
	Lines     int       // number of lines in the entry
	Cursor    string    // journal cursor of the first line; "" for files
	Time      time.Time // the entry's time; zero when untimed
	Level     string    // TRACE DEBUG INFO WARN ERROR CRITICAL, or the bracketed level of other formats
	Format    Format    // how the first line was recognised
	Text      []byte    // the lines joined by '\n', syslog prefixes removed; valid only during the callback
	Truncated bool      // a line or the entry was cut to MaxLineBytes / MaxEntryBytes
	Invalid   bool      // the text holds invalid UTF-8 or NUL bytes (kept as is)
}

// LineMeta is what a source knows about one line besides its text.
type LineMeta struct {
	Num       int       // 1-based line number in a file; 0 for the journal
	Cursor    string    // journal cursor; "" for files
	Time      time.Time // journal receive time, used when the line has no timestamp of its own
	Truncated bool      // the source cut the line
}

// Assembler groups lines into entries. A line that starts with a timestamp,
// or with another known header, starts an entry. A line without one
// continues the entry above it when that entry has the agent's format (the
// agent's `caused by:` and `\tstatus code:` lines); after an entry of an
// unknown format only indented and `caused by:` lines continue it, so a file
// of unknown format gives one untimed entry per line rather than one huge
// entry. The zero value is not usable; use NewAssembler.
type Assembler struct {
	loc     *time.Location
	emit    func(*Entry) bool
	cur     Entry
	buf     []byte
	have    bool
	stopped bool

	lastSec  [19]byte // cache: the last "YYYY-MM-DD hh:mm:ss" parsed
	lastTime time.Time
	lastOK   bool
}

// NewAssembler returns an Assembler that calls emit for each complete
// entry. Timestamps without a zone are read in loc (time.Local when nil),
// as the agent writes local time. When emit returns false, the Assembler
// drops everything after.
func NewAssembler(loc *time.Location, emit func(*Entry) bool) *Assembler {
	if loc == nil {
		loc = time.Local
	}
	return &Assembler{loc: loc, emit: emit}
}

// Line adds one line. It reports false once emit has asked to stop.
func (a *Assembler) Line(line []byte, meta LineMeta) bool {
	if a.stopped {
		return false
	}
	if len(line) > 0 && (line[0] < '0' || line[0] > '9') {
		if rest, ok := stripSyslogPrefix(line); ok {
			line = rest
		}
	}
	format, t, level := a.header(line)
	cont := false
	if format == FormatUnknown && a.have {
		cont = a.cur.Format == FormatAgent || isContinuation(line)
	}
	if !cont {
		if !a.Flush() {
			return false
		}
		if t.IsZero() && format == FormatUnknown {
			t = meta.Time
		}
		a.cur = Entry{Line: meta.Num, Cursor: meta.Cursor, Time: t, Level: level, Format: format, Truncated: meta.Truncated}
		a.buf = append(a.buf[:0], line...)
		a.have = true
	} else {
		a.cur.Truncated = a.cur.Truncated || meta.Truncated
		if len(a.buf)+1+len(line) > MaxEntryBytes {
			a.buf = append(a.buf, '\n')
			a.buf = append(a.buf, line[:max(0, min(len(line), MaxEntryBytes-len(a.buf)))]...)
			a.cur.Truncated = true
		} else {
			a.buf = append(a.buf, '\n')
			a.buf = append(a.buf, line...)
		}
	}
	a.cur.Lines++
	if len(a.buf) > MaxEntryBytes {
		a.buf = a.buf[:MaxEntryBytes]
		a.cur.Truncated = true
	}
	return true
}

// Flush emits the pending entry, if any. Call it at the end of a source.
// It reports false once emit has asked to stop.
func (a *Assembler) Flush() bool {
	if a.stopped {
		return false
	}
	if !a.have {
		return true
	}
	a.have = false
	a.cur.Text = a.buf
	a.cur.Invalid = !validText(a.buf)
	if !a.emit(&a.cur) {
		a.stopped = true
		return false
	}
	return true
}

// ParseEntries reads r line by line and calls emit for each entry; see
// Assembler for the rules. It returns the number of lines read and the read
// error, if any (io.EOF is not an error). It is the unit that fuzzing and
// the table tests exercise.
func ParseEntries(r io.Reader, loc *time.Location, emit func(*Entry) bool) (int, error) {
	a := NewAssembler(loc, emit)
	num := 0
	n, err := ReadLines(r, MaxLineBytes, func(line []byte, truncated bool) bool {
		num++
		return a.Line(line, LineMeta{Num: num, Truncated: truncated})
	})
	a.Flush()
	return n, err
}

// isContinuation reports whether a line without a header belongs to the
// entry above it even when that entry's format is unknown.
func isContinuation(line []byte) bool {
	return len(line) > 0 && (line[0] == ' ' || line[0] == '\t') || bytes.HasPrefix(line, []byte("caused by:"))
}

// header recognises the start of an entry: the agent's
// `2006-01-02 15:04:05.0000 LEVEL` or `2006-01-02 15:04:05 LEVEL`, the
// UTC form of hibernate.log `2006-01-02T15:04:05Z LEVEL`, or Flatcar's `<19-digit nanosecond epoch> [Level]`.
func (a *Assembler) header(line []byte) (Format, time.Time, string) {
	if len(line) < 19 || line[0] < '0' || line[0] > '9' {
		return FormatUnknown, time.Time{}, ""
	}
	if t, n, ok := a.agentTime(line); ok {
		return FormatAgent, t, level(line[n:])
	}
	if isEpochHeader(line) {
		rest := line[20:]
		if end := bytes.IndexByte(rest, ']'); end > 1 {
			return FormatEpoch, time.Time{}, string(rest[1:end])
		}
	}
	return FormatUnknown, time.Time{}, ""
}

// agentTime parses the agent's timestamp at the start of line and returns
// the time and the length of the timestamp. Fractional seconds of 1 to 9
// digits are accepted (digits after the 9th are ignored); the agent writes 4 since 3.3.808.0 and none before.
func (a *Assembler) agentTime(line []byte) (time.Time, int, bool) {
	const layout = "dddd-dd-dd dd:dd:dd"
	// hibernate.log may use the UTC form, 2006-01-02T15:04:05Z: it is never
	// cached, so the cache only ever holds local times.
	isoForm := line[10] == 'T'
	cached := !isoForm && a.lastOK && string(a.lastSec[:]) == string(line[:19])
	for i := 0; i < len(layout) && !cached; i++ {
		c := line[i]
		if i == 10 && isoForm {
			continue
		}
		if layout[i] == 'd' {
			if c < '0' || c > '9' {
				return time.Time{}, 0, false
			}
		} else if c != layout[i] {
			return time.Time{}, 0, false
		}
	}
	n := 19
	ns := 0
	if n < len(line) && line[n] == '.' {
		digits := 0
		for n+1 < len(line) && line[n+1] >= '0' && line[n+1] <= '9' {
			if digits < 9 {
				ns = ns*10 + int(line[n+1]-'0')
			}
			n++
			digits++
		}
		if digits == 0 {
			return time.Time{}, 0, false
		}
		for d := digits; d < 9; d++ {
			ns *= 10
		}
		n++
	}
	loc := a.loc
	if isoForm && n < len(line) && line[n] == 'Z' {
		loc = time.UTC
		n++
	}
	if n < len(line) && line[n] != ' ' && line[n] != '\t' {
		return time.Time{}, 0, false
	}
	var sec time.Time
	if cached {
		sec = a.lastTime
	} else {
		d := func(i, j int) int {
			v := 0
			for _, c := range line[i:j] {
				v = v*10 + int(c-'0')
			}
			return v
		}
		mo, dd, hh, mi, ss := d(5, 7), d(8, 10), d(11, 13), d(14, 16), d(17, 19)
		if mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 60 {
			return time.Time{}, 0, false
		}
		sec = time.Date(d(0, 4), time.Month(mo), dd, hh, mi, ss, 0, loc)
		if !isoForm {
			copy(a.lastSec[:], line[:19])
			a.lastTime, a.lastOK = sec, true
		}
	}
	return sec.Add(time.Duration(ns)), n, true
}

// isEpochHeader reports whether line starts with 19 digits and " [".
func isEpochHeader(line []byte) bool {
	if len(line) < 22 {
		return false
	}
	for _, c := range line[:19] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return line[19] == ' ' && line[20] == '['
}

// level returns the level word after the timestamp, or "" when the next
// word is not one of seelog's levels.
func level(rest []byte) string {
	for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
		rest = rest[1:]
	}
	end := 0
	for end < len(rest) && end < 9 && rest[end] != ' ' {
		end++
	}
	switch string(rest[:end]) {
	case "TRACE":
		return "TRACE"
	case "DEBUG":
		return "DEBUG"
	case "INFO":
		return "INFO"
	case "WARN":
		return "WARN"
	case "ERROR":
		return "ERROR"
	case "CRITICAL":
		return "CRITICAL"
	}
	return ""
}

// stripSyslogPrefix removes the prefix that `journalctl` (short format) and
// syslog files put before a message: `Dec  9 08:02:05 host ident[pid]: ` or
// `ident[pid]: ` (journalctl(1), "short"). It reports whether it removed one.
func stripSyslogPrefix(line []byte) ([]byte, bool) {
	rest := line
	// Optional "Mon DD HH:MM:SS host ".
	if len(rest) >= 16 && isMonth(rest[:3]) && rest[3] == ' ' && rest[9] == ':' && rest[12] == ':' {
		rest = bytes.TrimLeft(rest[15:], " ")
		sp := bytes.IndexByte(rest, ' ')
		if sp <= 0 {
			return line, false
		}
		rest = rest[sp+1:]
	}
	// "ident[pid]: " or "ident: ".
	i := 0
	for i < len(rest) && i < 64 && isIdentByte(rest[i]) {
		i++
	}
	if i == 0 || i >= len(rest) {
		return line, false
	}
	j := i
	if rest[j] == '[' {
		k := j + 1
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			k++
		}
		if k == j+1 || k >= len(rest) || rest[k] != ']' {
			return line, false
		}
		j = k + 1
	} else if len(rest) == len(line) {
		// Without a date, require the [pid] so that ordinary
		// continuation text ("caused by: …") is never taken for a prefix.
		return line, false
	}
	if j+1 >= len(rest) || rest[j] != ':' || rest[j+1] != ' ' {
		if j+1 == len(rest) && rest[j] == ':' {
			return rest[len(rest):], true
		}
		return line, false
	}
	return rest[j+2:], true
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '@' || c == '/'
}

func isMonth(b []byte) bool {
	switch string(b) {
	case "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec":
		return true
	}
	return false
}
