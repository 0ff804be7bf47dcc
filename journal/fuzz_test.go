package journal

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzScanText feeds arbitrary bytes through ParseEntries and the catalog:
// no panic, entries within their caps, every line accounted for.
func FuzzScanText(f *testing.F) {
	files, _ := filepath.Glob("testdata/entries/*.log")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	m := DefaultCatalog().NewMatcher()
	f.Fuzz(func(t *testing.T, b []byte) {
		lines := 0
		n, err := ParseEntries(bytes.NewReader(b), time.UTC, func(e *Entry) bool {
			if len(e.Text) > MaxEntryBytes {
				t.Fatalf("entry of %d bytes", len(e.Text))
			}
			lines += e.Lines
			m.Match(e.Text)
			return true
		})
		if err != nil || n != lines {
			t.Fatalf("read %d lines, entries hold %d, err %v", n, lines, err)
		}
	})
}
