package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/redact"
)

// TextOptions controls the text report.
type TextOptions struct {
	Color bool // ANSI colour; only for a terminal. Without it the output is plain ASCII.
	Width int  // wrap width; 80 when zero (a serial console's width)
}

// ANSI escape sequences used when colour is on.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

// headlines are the verdict lines, first on the screen.
var headlines = map[finding.Verdict]string{
	finding.VerdictOK:      "OK: Session Manager prerequisites on this host look healthy",
	finding.VerdictWarn:    "WARN: Session Manager should work, but something is fragile or degraded",
	finding.VerdictFail:    "FAIL: Session Manager cannot work on this host as it is",
	finding.VerdictUnknown: "UNKNOWN: the probe could not reach a verdict",
}

// textWriter carries the options through the rendering helpers.
type textWriter struct {
	w     *bufio.Writer
	opt   TextOptions
	width int
}

// Text writes the human report: the verdict and the fail findings first
// (the first screen of a serial console), then warn and info findings, then
// the checks that did not pass. Every string that came from the host or the
// network is stripped of control characters; without colour the output is
// plain ASCII.
func Text(w io.Writer, r *diagnose.Result, m Meta, opt TextOptions) error {
	tw := &textWriter{w: bufio.NewWriter(w), opt: opt, width: opt.Width}
	if tw.width <= 0 {
		tw.width = 80
	}
	tw.header(r, m)
	tw.timeline(r.Timeline)
	for _, f := range r.Findings {
		tw.finding(f)
	}
	tw.paths(r.Paths)
	tw.checks(r.Checks)
	return tw.w.Flush()
}

func (t *textWriter) paint(code, s string) string {
	if !t.opt.Color {
		return s
	}
	return code + s + ansiReset
}

func (t *textWriter) line(s string) {
	t.w.WriteString(s)
	t.w.WriteByte('\n')
}

// clean makes s safe for a terminal: control characters (ANSI escapes from a
// hostile log line, say) become '?', and without colour so does non-ASCII.
func (t *textWriter) clean(s string) string {
	return Sanitize(s, !t.opt.Color)
}

// Sanitize replaces control characters in s (C0, DEL, C1 and the bidi
// embeddings, overrides and isolates, which can reorder what a terminal
// shows), and with ascii also every non-ASCII rune, by '?'. Common
// typographic punctuation is folded to its ASCII look-alike first. Tabs and
// line breaks become spaces. URL user information is redacted first
// (package redact), so no error detail shows a password.
func Sanitize(s string, ascii bool) string {
	s = redact.Text(s)
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r == utf8.RuneError && size <= 1:
			b.WriteByte('?')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiControl(r):
			b.WriteByte('?')
		case r < 0x80 || !ascii:
			b.WriteRune(r)
		default:
			if f, ok := asciiFold[r]; ok {
				b.WriteString(f)
			} else {
				b.WriteByte('?')
			}
		}
	}
	return b.String()
}

// isBidiControl reports whether r is a bidi embedding or override
// (U+202A–U+202E) or isolate (U+2066–U+2069).
func isBidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// asciiFold maps typographic runes to ASCII.
var asciiFold = map[rune]string{
	'\u2018': "'", '\u2019': "'", '\u201c': "\"", '\u201d': "\"", '\u2013': "-", '\u2014': "-",
	'\u2026': "...", '\u2192': "->", '\u00a0': " ", '\u2022': "*", '\u00d7': "x", '\u2265': ">=", '\u2264': "<=",
}

func (t *textWriter) header(r *diagnose.Result, m Meta) {
	head := headlines[r.Verdict]
	if head == "" {
		head = headlines[finding.VerdictUnknown]
	}
	color := map[finding.Verdict]string{finding.VerdictOK: ansiGreen, finding.VerdictWarn: ansiYellow,
		finding.VerdictFail: ansiRed}[r.Verdict]
	if color == "" {
		color = ansiYellow
	}
	t.line(t.paint(ansiBold+color, head))
	c := r.Context
	var where []string
	if c.InstanceID != "" {
		where = append(where, c.InstanceID)
	}
	if c.Region != "" {
		where = append(where, "region "+c.Region)
	}
	if c.Mode != "" {
		where = append(where, "mode "+c.Mode)
	}
	if c.Agent.Version != "" {
		a := "agent " + c.Agent.Version
		if c.Agent.Running != nil {
			if *c.Agent.Running {
				a += " (running)"
			} else {
				a += " (not running)"
			}
		}
		where = append(where, a)
	}
	if len(where) > 0 {
		t.line("  " + t.clean(strings.Join(where, ", ")))
	}
	fail, warn, info := r.Counts()
	t.line(fmt.Sprintf("  %d fail, %d warn, %d info; %d checks in %d ms; ssm-probe %s",
		fail, warn, info, len(r.Checks), r.Duration.Milliseconds(), t.clean(m.Version)))
}

func (t *textWriter) finding(f finding.Finding) {
	tag := map[finding.Severity]string{finding.SevFail: "[FAIL]", finding.SevWarn: "[WARN]", finding.SevInfo: "[INFO]"}[f.Severity]
	color := map[finding.Severity]string{finding.SevFail: ansiRed, finding.SevWarn: ansiYellow, finding.SevInfo: ansiCyan}[f.Severity]
	t.line("")
	t.line(t.paint(ansiBold+color, tag) + " " + t.paint(ansiBold, t.clean(string(f.ID)+": "+f.Title)))
	const ind = "       "
	if f.Summary != "" {
		t.wrap(ind, ind, f.Summary)
	}
	t.dated(ind, f)
	if len(f.Evidence) > 0 {
		t.line(ind + t.paint(ansiDim, "Evidence:"))
		for _, e := range f.Evidence {
			t.wrap(ind+"- ", ind+"  ", e)
		}
	}
	if len(f.Explains) > 0 {
		ids := make([]string, len(f.Explains))
		for i, x := range f.Explains {
			ids[i] = string(x)
		}
		t.wrap(ind+"Explains: ", ind+"  ", strings.Join(ids, ", "))
	}
	if len(f.Remediation) > 0 {
		t.line(ind + "Fix:")
		for i, e := range f.Remediation {
			p := fmt.Sprintf("%d. ", i+1)
			t.wrap(ind+p, ind+strings.Repeat(" ", len(p)), e)
		}
	}
	for _, d := range f.Docs {
		t.line(ind + "Docs: " + t.clean(d))
	}
}

// wrap writes s word-wrapped to the width, the first line after first and
// the rest after rest. A word longer than the line (a URL, a command) is
// kept whole.
func (t *textWriter) wrap(first, rest, s string) {
	words := strings.Fields(t.clean(s))
	prefix := first
	cur := prefix
	n := 0
	for _, w := range words {
		if n > 0 && len(cur)+1+len(w) > t.width {
			t.line(cur)
			prefix = rest
			cur, n = prefix, 0
		}
		if n > 0 {
			cur += " "
		}
		cur += w
		n++
	}
	if n > 0 {
		t.line(cur)
	}
}

// paths writes one line per planned endpoint: how the agent would get
// there (name -> source -> address -> stage reached), marked ok, FAIL or ?.
func (t *textWriter) paths(ps []agentpath.AgentPath) {
	if len(ps) == 0 {
		return
	}
	t.line("")
	t.line(t.paint(ansiBold, "Agent paths:"))
	for _, p := range ps {
		mark, color := "  ok  ", ansiGreen
		switch p.State {
		case agentpath.PathBroken:
			mark, color = " FAIL ", ansiRed
		case agentpath.PathUnknown:
			mark, color = "  ?   ", ansiYellow
		}
		opt := ""
		if !p.Required {
			opt = " (optional)"
		}
		t.wrap(t.paint(color, mark), "        ", p.Line()+opt)
	}
}

func (t *textWriter) checks(cs []obs.CheckRecord) {
	counts := map[obs.Status]int{}
	for _, c := range cs {
		counts[c.Status]++
	}
	t.line("")
	order := []obs.Status{obs.StatusPass, obs.StatusWarn, obs.StatusFail, obs.StatusSkip,
		obs.StatusTimeout, obs.StatusError}
	var parts []string
	for _, s := range order {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	t.line(t.paint(ansiBold, fmt.Sprintf("Checks (%d): %s", len(cs), strings.Join(parts, ", "))))
	for _, c := range cs {
		if c.Status == obs.StatusPass {
			continue
		}
		s := fmt.Sprintf("  %-7s %-12s %s (%d ms)", c.Status, c.Name, c.Target, c.DurationMS)
		if c.Reason != "" {
			s += ": " + c.Reason
		} else if c.Class != "" {
			s += ": " + string(c.Class)
		}
		t.line(t.clean(s))
	}
}
