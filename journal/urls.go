package journal

import "bytes"

// urlStop holds the bytes that end a URL in reURL: Go's \s ([\t\n\f\r ])
// and the quotes and separators the expression excludes.
var urlStop = [256]bool{'\t': true, '\n': true, '\f': true, '\r': true, ' ': true,
	'"': true, '\'': true, '`': true, ',': true, ';': true, '<': true, '>': true}

// findURLs returns what reURL.FindAll(text, n) returns, without running the
// expression: it has no literal prefix, so Go's regexp would try it at
// every byte of every matching entry, which made it the scan's hot spot on
// error-heavy logs. Each match is a "://" preceded by https, http or wss
// and followed by at least one byte that urlStop does not hold.
func findURLs(text []byte, n int) [][]byte {
	var out [][]byte
	for from := 0; len(out) < n; {
		i := bytes.Index(text[from:], []byte("://"))
		if i < 0 {
			break
		}
		i += from
		start := -1
		switch {
		case i-5 >= from && string(text[i-5:i]) == "https":
			start = i - 5
		case i-4 >= from && string(text[i-4:i]) == "http":
			start = i - 4
		case i-3 >= from && string(text[i-3:i]) == "wss":
			start = i - 3
		}
		end := i + 3
		for end < len(text) && !urlStop[text[end]] {
			end++
		}
		if start < 0 || end == i+3 {
			from = i + 3
			continue
		}
		out = append(out, text[start:end])
		from = end
	}
	return out
}
