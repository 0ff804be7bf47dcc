package probe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// allFixtures loads every observation fixture under testdata/obs.
func allFixtures(t testing.TB) map[string]fixture {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "obs", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures (%v)", err)
	}
	out := map[string]fixture{}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var f fixture
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out[file] = f
	}
	return out
}

// TestEveryIDHasFixture: each finding ID of the catalog is produced by at
// least one observation fixture, and wanted by it.
func TestEveryIDHasFixture(t *testing.T) {
	wanted := map[ID]bool{}
	for _, f := range allFixtures(t) {
		for _, w := range f.Want {
			wanted[w.ID] = true
		}
	}
	for _, id := range AllIDs() {
		if !wanted[id] {
			t.Errorf("no observation fixture yields %s", id)
		}
	}
}

// emptyText matches what a finding's text must never hold: an empty list
// or name rendered into a sentence.
var emptyText = regexp.MustCompile(`\(\s*\)|(?:^|[\s(,])\[\s*\]|,\s*,|\bvia\s*$|\bvia\s*[;,).]|:\s*$|"\s*"\s*(?:answered|pins|is)|\bfor\s*[;,.]`)

// textProblem returns the first part of f's text that holds an empty list
// or name, or "".
func textProblem(f *Finding) string {
	parts := append([]string{f.Title, f.Summary}, f.Evidence...)
	parts = append(parts, f.Remediation...)
	for _, s := range parts {
		if m := emptyText.FindString(s); m != "" {
			return s
		}
	}
	return ""
}

// TestFindingTextHasNoEmptyLists renders the findings of every fixture and
// checks that no text holds "()", "[]", ", ," or a dangling "via".
func TestFindingTextHasNoEmptyLists(t *testing.T) {
	for name, fx := range allFixtures(t) {
		o := fx.Observations
		for _, f := range Diagnose(&o) {
			if s := textProblem(&f); s != "" {
				t.Errorf("%s: %s holds an empty list or name: %q", name, f.ID, s)
			}
		}
	}
}

func TestTextProblemCatches(t *testing.T) {
	for _, s := range []string{"The DNS servers this host uses () do not", "addresses [] answered", "a, , b", "reached via ", "through it via ;"} {
		if textProblem(&Finding{Summary: s}) == "" {
			t.Errorf("%q not caught", s)
		}
	}
	if s := strings.TrimSpace("10.0.0.2 answered ssm (servfail) via 10.0.0.2"); textProblem(&Finding{Summary: s}) != "" {
		t.Errorf("%q caught, but it is fine", s)
	}
}
