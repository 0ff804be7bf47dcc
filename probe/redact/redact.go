// Package redact hides the user information of URL-like values: proxy
// settings, log samples, error details and the debug log all pass through
// it, so that a proxy password or token never reaches a report, a saved
// file or stderr.
//
// A password is not validated by whoever writes it: it may hold a raw '/',
// '?', '#', '@', '=', ',', ';', brackets, quotes, blanks or "://" (and Go's
// own URL parser then splits it somewhere else). The rules, in order of
// strength:
//
//   - A value known to be one value (a proxy variable read from an
//     environment) goes through [Value]: everything from its start, or from
//     its "scheme://", to its last '@' is replaced. A password is never
//     shown, whatever it holds.
//   - In free text ([Text]), a proxy variable written as NAME: value or
//     NAME=value (a NAME ending in "_proxy", any case: the agent logs
//     "https_proxy: VALUE" at start) is such a value: it runs from after the
//     separator (and an opening quote) to the end of the text, and is
//     redacted as [Value] would. A password is never shown, whatever it
//     holds.
//   - Elsewhere in free text, a URL starts at a "scheme://" that begins a
//     word. Its user information runs from after "://" to the last '@' of
//     its authority, and the URL ends at the first blank or quote after an
//     authority: a word (up to a blank or quote) that, after its last '@',
//     reads as a host (a dotted name, an IP address, [IPv6] or localhost,
//     with an optional port, path, and trailing punctuation). When what
//     follows "://" or an '@' does not read as a host, a blank or quote may
//     lie inside the password, so the user information runs on to the next
//     '@'. An '@' after the URL (an SSO user alice@example.com in an ARN)
//     no longer swallows the URL, at one price: user information whose
//     start, up to its first blank or quote (or a part after an '@' in it),
//     itself reads as a host, as in "http://first.last:1234 5678@proxy",
//     shows that start. Such a password is not a valid URL (Go's parser
//     rejects a raw blank in user information), so no working proxy
//     setting has one; a proxy variable is redacted whole by the rules
//     above.
//   - Without a scheme, the user information ("user:pass@host") starts
//     after the last blank or quote (a quote escaped by '\' does not count)
//     before its '@', and runs to the last '@' of its authority as above.
//     When a blank or quote is right before the '@', it starts after the
//     blank before that (an '@' between blanks, as in the agent's
//     "[func @ file.go.12]", is a word of its own). So '=', ',', ';' and brackets in a password never
//     show; a password holding a blank or quote does show the part before
//     it, because in free text nothing tells "user:pa ss@host" from the
//     words "user:pa" and "ss@host" (the NAME: value rule covers the proxy
//     variables).
//
// Over-redaction of an e-mail-like word, or of a word before a URL, is the
// price of the rules; a password is never shown for the forms above.
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
	start, at := valueSpan(s)
	if at < 0 {
		return s
	}
	return s[:start] + Mark + s[at:]
}

// valueSpan returns the user information of a whole value: from its start,
// or from after its "scheme://", to its last '@'; at is -1 when the value
// holds no '@'.
func valueSpan(s string) (start, at int) {
	at = strings.LastIndexByte(s, '@')
	if at < 0 {
		return 0, -1
	}
	if i := strings.Index(s, "://"); i >= 0 && isScheme(s[:i]) {
		start = i + 3
	}
	if start > at {
		start = 0
	}
	return start, at
}

// Text redacts every URL-like user information in free text (a log entry,
// an error message, a line of the debug log), by the rules of the package
// comment: a proxy variable's value as [Value] does, then every URL's and
// every bare user:pass@host's user information. What follows the last '@'
// of each (the host) is kept. Its work is linear in len(s).
func Text(s string) string {
	if strings.IndexByte(s, '@') < 0 {
		return s
	}
	v, word := proxyValueStart(s)
	bound := -1
	if word {
		bound = v
	}
	spans := userSpans(s, bound)
	if v >= 0 {
		if start, at := valueSpan(s[v:]); at > start {
			spans = mergeTail(spans, span{v + start, v + at, true})
		}
	}
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	w := 0
	for _, sp := range spans {
		b.WriteString(s[w:sp.from])
		if sp.mark {
			b.WriteString(Mark)
		}
		w = sp.to
	}
	b.WriteString(s[w:])
	return b.String()
}

// span is a part of the text to replace: s[from:to] becomes Mark, or
// nothing when mark is false (a run of bare '@'s, "scheme://@@host").
type span struct {
	from, to int
	mark     bool
}

// mergeTail adds the proxy value's span v to spans (sorted, disjoint): v
// runs to the text's last '@', so every span ends at or before v.to, and
// the spans that reach into v merge with it.
func mergeTail(spans []span, v span) []span {
	i := len(spans)
	for i > 0 && spans[i-1].to > v.from {
		i--
		v.from = min(v.from, spans[i].from)
	}
	return append(spans[:i], v)
}

// proxyValueStart returns where the value of the first proxy variable in s
// starts ("https_proxy: VALUE", "HTTP_PROXY=VALUE", `"https_proxy": "VALUE"`),
// after the separator, one blank and an opening quote, or -1; word reports
// whether the name starts a word (after a blank or quote). Only then does
// the value start a word for the other rules: in "u:x_proxy=y@h" the name
// is inside a password.
func proxyValueStart(s string) (v int, word bool) {
	for off := 0; ; {
		k := strings.IndexByte(s[off:], '_')
		if k < 0 {
			return -1, false
		}
		i := off + k // s[i] == '_'
		off = i + 1
		if len(s)-off < 5 || !strings.EqualFold(s[off:off+5], "proxy") {
			continue
		}
		j := off + 5
		if j < len(s) && isNameByte(s[j]) {
			continue // "https_proxy_user", "_proxyfoo": another name
		}
		if j < len(s) && (s[j] == '"' || s[j] == '\'') {
			j++ // the JSON and shell forms close the name's quote
		}
		j = skipBlanks(s, j)
		if j >= len(s) || s[j] != ':' && s[j] != '=' {
			continue
		}
		j++
		if j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++ // one blank: more would be the value's ("key: " + value)
		}
		if j < len(s) && (s[j] == '"' || s[j] == '\'') {
			j++
		}
		n := i
		for n > 0 && isNameByte(s[n-1]) {
			n--
		}
		return j, n == 0 || isSpanBoundary(s, n-1)
	}
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func isNameByte(c byte) bool { return isAlpha(c) || c >= '0' && c <= '9' || c == '_' }

// userSpans returns the user information of every URL and bare
// user:pass@host in s, in order. v, when not -1, is where a proxy value
// starts: a word starts there.
func userSpans(s string, v int) []span {
	var spans []span
	add := func(from, at int) {
		if from >= at {
			return
		}
		spans = append(spans, span{from, at, strings.Trim(s[from:at], "@") != ""})
	}
	for pos := 0; ; {
		k := strings.IndexByte(s[pos:], '@')
		if k < 0 {
			return spans
		}
		at := pos + k
		lo := pos
		if v > lo && v <= at {
			lo = v
		}
		if word, se := schemeStart(s, lo, at, v); se >= 0 {
			last, end := authority(s, se)
			if last >= 0 {
				if word < se-3 && !isScheme(s[word:se-3]) {
					// Something is glued before the scheme ("u:x=http://…"):
					// it may be the start of a password, so it goes too.
					add(word, last)
				} else {
					add(se, last)
				}
			}
			pos = end
			continue
		}
		start := bareStart(s, lo, at)
		if start == at || isSpanBoundary(s, at-1) && (at+1 == len(s) || isSpanBoundary(s, at+1)) {
			// "@start": nothing before the '@' to hide; "[func @ file.go.12]"
			// (the agent's errors.log): an '@' between blanks is a word.
			pos = at + 1
			continue
		}
		last, end := authority(s, start)
		add(start, last)
		pos = end
	}
}

// schemeStart returns, for the earliest "scheme://" in s[lo:to] that
// begins a word, the start of that word (after a blank or quote) and the
// index just after its "://"; se is -1 when there is none.
func schemeStart(s string, lo, to, v int) (word, se int) {
	for off := lo; off < to; {
		rel := strings.Index(s[off:to], "://")
		if rel < 0 {
			return 0, -1
		}
		i := off + rel
		j := i
		for j > lo && isSchemeByte(s[j-1]) && j != v {
			j--
		}
		// A scheme starts a word and with a letter: in "user:x://y@h" the
		// "x" is part of a password, not a scheme.
		if j < i && isScheme(s[j:i]) && (j == lo || j == v || isBoundary(s[j-1])) {
			w := j
			for w > lo && w != v && !isSpanBoundary(s, w-1) {
				w--
			}
			return w, i + 3
		}
		off = i + 3
	}
	return 0, -1
}

// bareStart returns where the user information before the '@' at at
// starts when no scheme precedes it: after the last blank or quote, or,
// when one is right before the '@', after the blank before that.
func bareStart(s string, lo, at int) int {
	i := at
	for i > lo && !isSpanBoundary(s, i-1) {
		i--
	}
	if i < at {
		return i
	}
	for i > lo && isSpanBoundary(s, i-1) {
		i--
	}
	for i > lo && !isBlank(s[i-1]) {
		i--
	}
	return i
}

// authority scans the authority that starts at from (after "://", or at
// the start of a bare user:pass@host) and returns the index of the '@'
// that ends its user information (-1 when it has none) and where it ends.
// It ends at the first blank or quote after a part that reads as a host;
// while the part after the last '@' does not, a blank or quote may be in
// the password, and the user information runs on to the next '@'.
func authority(s string, from int) (last, end int) {
	last = -1
	host, e := from, from
	for {
		for e < len(s) && !isSpanBoundary(s, e) {
			if s[e] == '@' {
				last, host = e, e+1
			}
			e++
		}
		if hostLike(s[host:e]) {
			return last, e
		}
		k := strings.IndexByte(s[e:], '@')
		if k < 0 {
			return last, e
		}
		last = e + k
		host, e = last+1, last+1
	}
}

// hostLike reports whether t reads as the host part of a URL: a dotted
// name or IPv4 address, [IPv6] or localhost, with an optional port, an
// optional path, query or fragment, and trailing punctuation.
func hostLike(t string) bool {
	for len(t) > 0 {
		c := t[len(t)-1]
		if strings.IndexByte(".,:;!)>}", c) < 0 && (c != ']' || t[0] == '[') {
			break
		}
		t = t[:len(t)-1]
	}
	if i := strings.IndexAny(t, "/?#"); i >= 0 {
		t = t[:i]
	}
	if strings.HasPrefix(t, "[") {
		k := strings.IndexByte(t, ']')
		if k < 3 || strings.Trim(t[1:k], "0123456789abcdefABCDEF:.") != "" || strings.Count(t[1:k], ":") < 2 {
			return false
		}
		rest := t[k+1:]
		return rest == "" || rest[0] == ':' && isPort(rest[1:])
	}
	if k := strings.LastIndexByte(t, ':'); k >= 0 {
		if !isPort(t[k+1:]) {
			return false
		}
		t = t[:k]
	}
	if strings.EqualFold(t, "localhost") {
		return true
	}
	labels := 0
	for _, l := range strings.Split(t, ".") {
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			if !isAlpha(l[i]) && (l[i] < '0' || l[i] > '9') && l[i] != '-' && l[i] != '_' {
				return false
			}
		}
		labels++
	}
	return labels >= 2
}

func isPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// isBoundary reports whether c ends a word before a "scheme://".
func isBoundary(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', '"', '\'', '`', '=', ',', ';', '(', ')', '[', ']', '<', '>', '{', '}':
		return true
	}
	return false
}

// isSpanBoundary reports whether s[i] ends a word around user information:
// a blank, or a quote that no '\' escapes.
func isSpanBoundary(s string, i int) bool {
	switch s[i] {
	case '"', '\'', '`':
		return i == 0 || s[i-1] != '\\'
	}
	return isBlank(s[i])
}

func isBlank(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f':
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
