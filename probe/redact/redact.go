// Package redact hides the user information of URL-like values: proxy
// settings, log samples, error details and the debug log all pass through
// it, so that a proxy password or token never reaches a report, a saved
// file or stderr.
//
// The rule is deliberately wider than RFC 3986: a password may hold a raw
// '/', '?', '#', '@', blanks or "://" (a proxy variable is not validated by
// whoever writes it, and Go's own parser then splits it somewhere else), so
// everything from the start of the value, or from its "scheme://", up to the
// '@' that ends it is replaced. Over-redaction of an e-mail-like word is the
// price; a password is never shown.
package redact

import (
	"bytes"
	"io"
	"strings"
)

// Mark replaces the user information.
const Mark = "REDACTED"

// Value redacts one URL-like value, such as a proxy variable: with or
// without a scheme, everything between the scheme's "://" (or the start) and
// the value's last '@' becomes Mark. A value without '@' is returned as is.
func Value(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 && isScheme(s[:i]) {
		start = i + 3
	}
	if start > at {
		start = 0
	}
	return s[:start] + Mark + s[at:]
}

// Text redacts every URL-like user information in free text (a log entry,
// an error message, a line of the debug log). For the first '@', the
// redacted span starts after the earliest "scheme://" before it, which
// covers a password that holds blanks, quotes, '/', '?', '#' or another
// "://"; without a scheme it starts after the last blank, quote, '=', ',' or
// bracket before the '@' (a bare "user:pass@host:port"). The span ends at
// the last '@', so a password holding '@' shows nothing either; what lies
// after the last '@' (the host) is kept.
func Text(s string) string {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return s
	}
	start := schemeEnd(s, at)
	if start < 0 {
		start = 0
		for i := at - 1; i >= 0; i-- {
			if isBoundary(s[i]) {
				start = i + 1
				break
			}
		}
	}
	// The user information runs to the last '@': a password may hold '@'
	// (and "://"), so no earlier '@' may end it. Only a run of bare '@'s
	// ("scheme://@host") has nothing to hide.
	last := strings.LastIndexByte(s, '@')
	if strings.Trim(s[start:last], "@") == "" {
		return s[:start] + "@" + s[last+1:]
	}
	return s[:start] + Mark + "@" + s[last+1:]
}

// schemeEnd returns the index just after the earliest "scheme://" in
// s[:to] that starts a word, or -1 when there is none.
func schemeEnd(s string, to int) int {
	for off := 0; off < to; {
		rel := strings.Index(s[off:to], "://")
		if rel < 0 {
			return -1
		}
		i := off + rel
		j := i
		for j > 0 && isSchemeByte(s[j-1]) {
			j--
		}
		// A scheme starts a word and with a letter: in "user:x://y@h" the
		// "x" is part of a password, not a scheme.
		if j < i && isScheme(s[j:i]) && (j == 0 || isBoundary(s[j-1])) {
			return i + 3
		}
		off = i + 3
	}
	return -1
}

// isBoundary reports whether c ends a word before a bare user:pass@host.
func isBoundary(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', '"', '\'', '`', '=', ',', ';', '(', ')', '[', ']', '<', '>', '{', '}':
		return true
	}
	return false
}

// isScheme reports whether s is an RFC 3986 scheme: a letter, then letters,
// digits, '+', '-' or '.'.
func isScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isSchemeByte(s[i]) {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isSchemeByte(c byte) bool {
	return isAlpha(c) || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// Writer returns a writer that redacts each Write with Text before passing
// it on. A logger that writes one event per Write (zerolog does) gets every
// event redacted whole.
func Writer(w io.Writer) io.Writer { return writer{w} }

type writer struct{ w io.Writer }

func (r writer) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, '@') < 0 {
		return r.w.Write(p)
	}
	if _, err := io.WriteString(r.w, Text(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
