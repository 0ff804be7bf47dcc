package journal

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// gotEntry is Entry as the golden files show it.
type gotEntry struct {
	Line      int    `json:"line"`
	Lines     int    `json:"lines"`
	Time      string `json:"time,omitempty"`
	Level     string `json:"level,omitempty"`
	Format    Format `json:"format"`
	Text      string `json:"text"`
	Truncated bool   `json:"truncated,omitempty"`
	Invalid   bool   `json:"invalid,omitempty"`
}

func parseFile(t *testing.T, path string) []gotEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []gotEntry
	_, err = ParseEntries(f, time.UTC, func(e *Entry) bool {
		g := gotEntry{Line: e.Line, Lines: e.Lines, Level: e.Level, Format: e.Format,
			Text: strings.ToValidUTF8(string(e.Text), "\uFFFD"), Truncated: e.Truncated, Invalid: e.Invalid}
		if !e.Time.IsZero() {
			g.Time = e.Time.Format(time.RFC3339Nano)
		}
		got = append(got, g)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestParseEntries checks each file under testdata/entries against its
// golden *.want.json.
func TestParseEntries(t *testing.T) {
	files, _ := filepath.Glob("testdata/entries/*")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".want.json") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			golden.JSON(t, strings.TrimSuffix(f, filepath.Ext(f))+".want.json", parseFile(t, f))
		})
	}
	if n < 9 {
		t.Fatalf("only %d entry cases found", n)
	}
}

// TestHugeLine feeds a 3 MiB line between two normal entries: the scan goes
// on, the line is cut to MaxLineBytes and flagged.
func TestHugeLine(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("2024-03-01 10:00:00 INFO before\n")
	b.WriteString("2024-03-01 10:00:01 ERROR ")
	b.Write(bytes.Repeat([]byte("x"), 3<<20))
	b.WriteString(" dial tcp 10.0.0.1:443: i/o timeout\n")
	b.WriteString("2024-03-01 10:00:02 INFO after\n")
	var got []Entry
	n, err := ParseEntries(&b, time.UTC, func(e *Entry) bool {
		c := *e
		c.Text = append([]byte(nil), e.Text...)
		got = append(got, c)
		return true
	})
	if err != nil || n != 3 || len(got) != 3 {
		t.Fatalf("lines %d, entries %d, err %v; want 3, 3, nil", n, len(got), err)
	}
	if !got[1].Truncated || len(got[1].Text) != MaxLineBytes || got[0].Truncated || got[2].Truncated {
		t.Errorf("truncation: %v %d %v %v", got[1].Truncated, len(got[1].Text), got[0].Truncated, got[2].Truncated)
	}
	if string(got[2].Text) != "2024-03-01 10:00:02 INFO after" {
		t.Errorf("entry after the huge line: %q", got[2].Text)
	}
}

// TestEntryCap checks that an entry of many continuation lines is cut at
// MaxEntryBytes and that the next entry is intact.
func TestEntryCap(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("2024-03-01 10:00:00 ERROR start\n")
	for range 5000 {
		b.WriteString("\tcontinuation line of thirty-two\n")
	}
	b.WriteString("2024-03-01 10:00:01 INFO next\n")
	var lens []int
	var trunc []bool
	var lines []int
	ParseEntries(&b, time.UTC, func(e *Entry) bool {
		lens, trunc, lines = append(lens, len(e.Text)), append(trunc, e.Truncated), append(lines, e.Lines)
		return true
	})
	if len(lens) != 2 || lens[0] != MaxEntryBytes || !trunc[0] || lines[0] != 5001 || trunc[1] || lens[1] != 29 {
		t.Errorf("got lens %v truncated %v lines %v", lens, trunc, lines)
	}
}

func TestStripSyslogPrefix(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Dec 09 08:02:05 ip-172-30-1-10 amazon-ssm-agent[2391]: caused by: x", "caused by: x"},
		{"Dec  9 08:02:05 host amazon-ssm-agent[2391]: 2019-12-09 08:02:05 INFO y", "2019-12-09 08:02:05 INFO y"},
		{"amazon-ssm-agent[2391]: 2019-12-09 08:02:05 INFO y", "2019-12-09 08:02:05 INFO y"},
		{"Dec 09 08:02:05 host amazon-ssm-agent: msg", "msg"},
		{"caused by: Post https://ssm.x/: dial tcp", "caused by: Post https://ssm.x/: dial tcp"},
		{"[HealthCheck]: not a prefix", "[HealthCheck]: not a prefix"},
		{"ident[12x]: no", "ident[12x]: no"},
		{"", ""},
	} {
		got, _ := stripSyslogPrefix([]byte(c.in))
		if string(got) != c.want {
			t.Errorf("stripSyslogPrefix(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestStopEarly checks that returning false from emit stops parsing.
func TestStopEarly(t *testing.T) {
	in := strings.Repeat("2024-03-01 10:00:00 INFO x\n", 10)
	calls := 0
	ParseEntries(strings.NewReader(in), time.UTC, func(e *Entry) bool {
		calls++
		return calls < 3
	})
	if calls != 3 {
		t.Errorf("emit called %d times after asking to stop at 3", calls)
	}
}
