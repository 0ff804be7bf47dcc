package journal

import (
	"bytes"
	"slices"
	"sort"
	"testing"
	"time"
)

// naiveLiterals is the oracle for the prefilter: the indexes of every
// literal that occurs in s, found with bytes.Contains.
func naiveLiterals(p *prefilter, s []byte) []int {
	var out []int
	for i, l := range p.lits {
		if bytes.Contains(s, l) {
			out = append(out, i)
		}
	}
	return out
}

// naiveKinds is the oracle for Match without Accept: for every pattern,
// whether it is admitted by its literals, vetoes and regexp alone, checked
// one by one with no prefilter.
func naiveKinds(c *Catalog, text []byte) (must, may map[Kind]bool) {
	must, may = map[Kind]bool{}, map[Kind]bool{}
	for _, p := range c.patterns {
		if !containsAny(text, p.Literals) || containsAny(text, p.Not) {
			continue
		}
		if p.Regexp != nil && !p.Regexp.Match(text) {
			continue
		}
		may[p.Kind] = true
		if p.Accept == nil {
			must[p.Kind] = true
		}
	}
	return must, may
}

// FuzzMatcher plants one of the catalog's literals at a fuzzed place in
// fuzzed text, then checks the prefilter against bytes.Contains over every
// literal, and Match against a naive pattern-by-pattern matcher: every kind
// Match returns is admitted by the naive matcher, every kind the naive
// matcher admits without an Accept hook is returned, and Match is
// deterministic across calls on one Matcher.
func FuzzMatcher(f *testing.F) {
	c := DefaultCatalog()
	m := c.NewMatcher()
	f.Fuzz(func(t *testing.T, text []byte, pick uint16, at uint32) {
		if len(text) > MaxEntryBytes {
			return
		}
		if pick != 0 { // pick 0 leaves the text as it is
			lit := c.pf.lits[int(pick-1)%len(c.pf.lits)]
			i := int(at % uint32(len(text)+1))
			text = append(append(append([]byte{}, text[:i]...), lit...), text[i:]...)
		}
		var got []int
		seen := make([]bool, len(c.pf.lits))
		c.pf.find(text, seen, func(lit int) { got = append(got, lit) })
		sort.Ints(got)
		want := naiveLiterals(c.pf, text)
		if !equalInts(got, want) {
			t.Fatalf("prefilter found literals %v, bytes.Contains %v", got, want)
		}
		evs := slices.Clone(m.Match(text))
		must, may := naiveKinds(c, text)
		kinds := map[Kind]bool{}
		for _, e := range evs {
			if kinds[e.Kind] {
				t.Fatalf("kind %s returned twice", e.Kind)
			}
			kinds[e.Kind] = true
			if !may[e.Kind] {
				t.Fatalf("Match returned %s, which no pattern admits", e.Kind)
			}
		}
		for k := range must {
			if !kinds[k] {
				t.Fatalf("Match missed %s (got %v)", k, evs)
			}
		}
		if again := m.Match(text); len(again) != len(evs) {
			t.Fatalf("second Match gave %d events, first %d", len(again), len(evs))
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParseEntries checks entry assembly alone: no panic, every line of the
// input counted once, entries within MaxEntryBytes, timestamps either zero
// or within the four-digit years a log line can spell (year 0000 is
// accepted and simply counts as old), and the same entries when the input is read again.
func FuzzParseEntries(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var texts []string
		lines := 0
		n, err := ParseEntries(bytes.NewReader(b), time.UTC, func(e *Entry) bool {
			if len(e.Text) > MaxEntryBytes {
				t.Fatalf("entry of %d bytes", len(e.Text))
			}
			if e.Lines < 1 {
				t.Fatalf("entry of %d lines", e.Lines)
			}
			if !e.Time.IsZero() && (e.Time.Year() < 0 || e.Time.Year() > 9999) {
				t.Fatalf("implausible time %v", e.Time)
			}
			lines += e.Lines
			texts = append(texts, string(e.Text))
			return true
		})
		if err != nil || n != lines {
			t.Fatalf("read %d lines, entries hold %d, err %v", n, lines, err)
		}
		if want := bytes.Count(b, []byte("\n")); n < want || n > want+1 {
			t.Fatalf("read %d lines from input with %d newlines", n, want)
		}
		i := 0
		ParseEntries(bytes.NewReader(b), time.UTC, func(e *Entry) bool {
			if i >= len(texts) || string(e.Text) != texts[i] {
				t.Fatalf("second read differs at entry %d", i)
			}
			i++
			return true
		})
	})
}
