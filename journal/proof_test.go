package journal

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// proofBlock is one block of testdata/proof/patterns.txt: a pattern of
// DefaultPatterns, where its positive line comes from, and the lines it
// must and must not match.
type proofBlock struct {
	key      string // "KIND | FIRST LITERAL"
	line     int
	src      []string
	pos, neg []proofLine
}

type proofLine struct {
	text string
	from string // "FOLDER/FILE:N" of a capture, or "" for a cited line
}

// realEntry returns the entry that starts at line n (1-based) of a capture
// under testdata/real: that line and the continuation lines after it.
func realEntry(t *testing.T, ref string) string {
	t.Helper()
	i := strings.LastIndexByte(ref, ':')
	n, err := strconv.Atoi(ref[i+1:])
	if i < 0 || err != nil {
		t.Fatalf("bad capture reference %q", ref)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "real", filepath.FromSlash(ref[:i])))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if n < 1 || n > len(lines) || timestampLen([]byte(lines[n-1])) == 0 {
		t.Fatalf("%s: no entry starts at line %d", ref, n)
	}
	entry := lines[n-1]
	for _, l := range lines[n:] {
		if timestampLen([]byte(l)) > 0 {
			break
		}
		entry += "\n" + l
	}
	return entry
}

func readProof(t *testing.T) []proofBlock {
	t.Helper()
	f, err := os.Open("testdata/proof/patterns.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []proofBlock
	unescape := strings.NewReplacer(`\n`, "\n", `\t`, "\t").Replace
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		var b *proofBlock
		if len(out) > 0 {
			b = &out[len(out)-1]
		}
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "== "):
			out = append(out, proofBlock{key: strings.TrimPrefix(l, "== "), line: n})
		case b == nil:
			t.Fatalf("patterns.txt:%d: %q outside a block", n, l)
		case strings.HasPrefix(l, "src "):
			b.src = append(b.src, strings.TrimPrefix(l, "src "))
		case strings.HasPrefix(l, "+real "):
			ref := strings.TrimPrefix(l, "+real ")
			b.pos = append(b.pos, proofLine{realEntry(t, ref), ref})
		case strings.HasPrefix(l, "-real "):
			ref := strings.TrimPrefix(l, "-real ")
			b.neg = append(b.neg, proofLine{realEntry(t, ref), ref})
		case strings.HasPrefix(l, "+ "):
			b.pos = append(b.pos, proofLine{unescape(strings.TrimPrefix(l, "+ ")), ""})
		case strings.HasPrefix(l, "- "):
			b.neg = append(b.neg, proofLine{unescape(strings.TrimPrefix(l, "- ")), ""})
		default:
			t.Fatalf("patterns.txt:%d: cannot read %q", n, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func patternKey(p Pattern) string { return fmt.Sprintf("%s | %s", p.Kind, p.Literals[0]) }

// TestPatternsProven holds every pattern of the catalog to the agent's own
// text: each has a block in testdata/proof/patterns.txt with a
// source, at least one line it matches (a capture line of the real agent,
// or a cited format string filled as the agent fills it) and at least one
// near miss the whole catalog must not read as its kind, among them the
// success lines that share the words of an error pattern.
func TestPatternsProven(t *testing.T) {
	blocks := readProof(t)
	byKey := map[string]*proofBlock{}
	for i := range blocks {
		b := &blocks[i]
		if byKey[b.key] != nil {
			t.Errorf("patterns.txt:%d: block %q twice", b.line, b.key)
		}
		byKey[b.key] = b
	}
	full := DefaultCatalog().NewMatcher()
	pats := DefaultPatterns()
	seen := map[string]bool{}
	for _, p := range pats {
		key := patternKey(p)
		seen[key] = true
		b := byKey[key]
		if b == nil {
			t.Errorf("pattern %q has no block in testdata/proof/patterns.txt", key)
			continue
		}
		t.Run(key, func(t *testing.T) {
			if len(b.src) == 0 || len(b.pos) == 0 || len(b.neg) == 0 {
				t.Fatalf("patterns.txt:%d: a block needs a src, a positive and a negative line (%d, %d, %d)", b.line, len(b.src), len(b.pos), len(b.neg))
			}
			own, err := NewCatalog([]Pattern{p})
			if err != nil {
				t.Fatal(err)
			}
			m := own.NewMatcher()
			for _, l := range b.pos {
				if !hasKind(m.Match([]byte(l.text)), p.Kind) {
					t.Errorf("its own pattern does not match %s%q", l.from, l.text)
				}
				if !hasKind(full.Match([]byte(l.text)), p.Kind) {
					t.Errorf("the catalog does not read %s%q as %s", l.from, l.text, p.Kind)
				}
			}
			for _, l := range b.neg {
				if evs := full.Match([]byte(l.text)); hasKind(evs, p.Kind) {
					t.Errorf("near miss %s%q read as %s", l.from, l.text, p.Kind)
				}
			}
		})
	}
	for _, b := range blocks {
		if !seen[b.key] {
			t.Errorf("patterns.txt:%d: block %q names no pattern of the catalog", b.line, b.key)
		}
	}
}

// TestSuccessLinesAreNoErrors reads every line of the healthy captures:
// no entry of a healthy agent is a failure kind (`Successfully connected
// with instance profile role credentials` was once read as a credentials
// error).
func TestSuccessLinesAreNoErrors(t *testing.T) {
	m := DefaultCatalog().NewMatcher()
	for _, dir := range []string{"healthy-vpce", "proxy-works"} {
		b, err := os.ReadFile(filepath.Join("testdata", "real", dir, "amazon-ssm-agent.log"))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			for _, e := range m.Match([]byte(l)) {
				if isFailure(e.Kind) {
					t.Errorf("%s:%d: %q read as %s", dir, i+1, l, e.Kind)
				}
			}
		}
	}
}

func hasKind(evs []Event, k Kind) bool {
	return slices.ContainsFunc(evs, func(e Event) bool { return e.Kind == k })
}
