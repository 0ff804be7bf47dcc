package journal

import "bytes"

// urlStop holds the bytes that end a URL in reURL: Go's \s ([\t\n\f\r ])
// and the quotes and separators the expression excludes.
var urlStop = [256]bool{'\t': true, '\n': true, '\f': true, '\r': true, ' ': true,
	'"': true, '\'': true, '`': true, ',': true, ';': true, '<': true, '>': true}

// urlSep is what every URL reURL matches holds after its scheme.
var urlSep = []byte("://")

// findURLs returns what reURL.FindAll(text, n) returns, without running the
// expression: it has no literal prefix, so Go's regexp would try it at
// every byte of every matching entry, which made it the scan's hot spot on
// error-heavy logs. Each match is a "://" preceded by https, http or wss
// and followed by at least one byte that urlStop does not hold.
func findURLs(text []byte, n int) [][]byte {
	out, _ := scanURLs(text, n)
	return out
}

// scanURLs is findURLs, and also returns how many bytes of text it
// examined. It checks the scheme before a "://" first, and scans on to the
// URL's end only for a match, which it then resumes after: no byte is
// examined twice, so a line of "x://x://…" costs one pass, not one pass
// per "://". (examined does not count the at most five bytes of a scheme.)
func scanURLs(text []byte, n int) (out [][]byte, examined int) {
	for from := 0; len(out) < n; {
		i := bytes.Index(text[from:], urlSep)
		if i < 0 {
			examined += len(text) - from
			break
		}
		i += from
		examined += i + len(urlSep) - from
		start := -1
		switch {
		case i-5 >= from && string(text[i-5:i]) == "https":
			start = i - 5
		case i-4 >= from && string(text[i-4:i]) == "http":
			start = i - 4
		case i-3 >= from && string(text[i-3:i]) == "wss":
			start = i - 3
		}
		from = i + len(urlSep)
		if start < 0 {
			continue
		}
		end := from
		for end < len(text) && !urlStop[text[end]] {
			end++
		}
		examined += end - from
		if end == from {
			continue
		}
		out = append(out, text[start:end])
		from = end
	}
	return out, examined
}
