package journal

import (
	"bytes"
	"unicode/utf8"
)

// validText reports whether b is valid UTF-8 without NUL bytes.
func validText(b []byte) bool {
	return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0
}
