package journal

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// TestCatalogCases matches each entry under testdata/catalog against its
// golden *.want.json, and checks that the cases cover every kind.
func TestCatalogCases(t *testing.T) {
	m := DefaultCatalog().NewMatcher()
	files, _ := filepath.Glob("testdata/catalog/*.txt")
	if len(files) < 40 {
		t.Fatalf("only %d catalog cases", len(files))
	}
	seen := map[Kind]bool{}
	for _, f := range files {
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text = bytes.TrimSuffix(text, []byte("\n"))
		got := m.Match(text)
		for _, e := range got {
			seen[e.Kind] = true
		}
		if got == nil {
			got = []Event{}
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			golden.JSON(t, strings.TrimSuffix(f, ".txt")+".want.json", got)
		})
	}
	for _, k := range Kinds() {
		if !seen[k] {
			t.Errorf("no catalog case produces kind %s", k)
		}
	}
}

// TestDefaultCatalog checks the table's invariants: every kind has a
// pattern, every pattern's kind is listed, literals are long enough for a
// useful prefilter stride.
func TestDefaultCatalog(t *testing.T) {
	pats := DefaultPatterns()
	if _, err := NewCatalog(pats); err != nil {
		t.Fatal(err)
	}
	listed := map[Kind]bool{}
	for _, k := range Kinds() {
		if listed[k] {
			t.Errorf("kind %s listed twice", k)
		}
		listed[k] = true
	}
	has := map[Kind]bool{}
	for _, p := range pats {
		has[p.Kind] = true
		if !listed[p.Kind] {
			t.Errorf("pattern kind %s is not in Kinds()", p.Kind)
		}
		for _, l := range p.Literals {
			if len(l) < 11 {
				t.Errorf("literal %q of %s is shorter than 11 bytes", l, p.Kind)
			}
		}
	}
	for k := range listed {
		if !has[k] {
			t.Errorf("kind %s has no pattern", k)
		}
	}
	if c := DefaultCatalog(); c.pf.stride < 8 {
		t.Errorf("prefilter stride %d; keep literals >= 11 bytes", c.pf.stride)
	}
}

// TestPrefilterAgainstContains compares the prefilter with bytes.Contains on
// random texts with literals planted at every offset.
func TestPrefilterAgainstContains(t *testing.T) {
	lits := []string{"i/o timeout", "no such host", "x509: certificate", "NO_PROXY", "ThrottlingException"}
	pf, err := newPrefilter(lits)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("abcdefghijklmnopqrstuvwxyz /:.-_0123456789ION")
	for i := range 5000 {
		n := r.IntN(200)
		b := make([]byte, n)
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		if n > 0 && i%2 == 0 {
			l := lits[r.IntN(len(lits))]
			at := r.IntN(n + 1)
			b = append(b[:at], append([]byte(l), b[at:]...)...)
		}
		seen := make([]bool, len(lits))
		got := map[int]bool{}
		pf.find(b, seen, func(i int) { got[i] = true })
		for li, l := range lits {
			if want := bytes.Contains(b, []byte(l)); want != got[li] {
				t.Fatalf("text %q literal %q: prefilter %v, Contains %v", b, l, got[li], want)
			}
		}
	}
}

func TestNewCatalogErrors(t *testing.T) {
	if _, err := NewCatalog([]Pattern{{Kind: KindThrottled}}); err == nil {
		t.Error("pattern without literals accepted")
	}
	if _, err := NewCatalog([]Pattern{{Kind: KindThrottled, Literals: []string{"abc"}}}); err == nil {
		t.Error("3-byte literal accepted")
	}
}
