package diagnose

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// allFixtures loads every observation fixture under testdata/obs, keyed by
// its slash-separated path (testdata/obs/DIR/NAME.json) on every platform.
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
		out[filepath.ToSlash(file)] = f
	}
	return out
}

// TestEveryIDHasFixture: each finding ID of the catalog is produced by at
// least one observation fixture, and wanted by it.
func TestEveryIDHasFixture(t *testing.T) {
	wanted := map[finding.ID]bool{}
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

// textProblem returns the first part of f's text that holds an empty list
// or name rendered into a sentence ("()", "[]", ", ,", a dangling "via"),
// or "".
func textProblem(f *finding.Finding) string {
	parts := append([]string{f.Title, f.Summary}, f.Evidence...)
	parts = append(parts, f.Remediation...)
	for _, s := range parts {
		if emptyText(s) {
			return s
		}
	}
	return ""
}

// emptyText reports whether s holds an empty list or name. A "[]" right
// after a word is a JMESPath projection in a CLI command, not a list.
func emptyText(s string) bool {
	t := strings.TrimRight(s, " ")
	switch {
	case strings.Contains(s, "()"), strings.Contains(s, "( )"), strings.Contains(s, ", ,"), strings.Contains(s, ",,"):
		return true
	case strings.HasSuffix(t, " via") || t == "via" || strings.HasSuffix(t, ":"):
		return true
	}
	for _, p := range []string{"via ;", "via ,", "via )", "via .", "for ;", "for ,", "for ."} {
		if strings.Contains(s, p) {
			return true
		}
	}
	for i := strings.Index(s, "[]"); i >= 0; {
		if i == 0 || s[i-1] == ' ' || s[i-1] == '(' || s[i-1] == ',' {
			return true
		}
		j := strings.Index(s[i+2:], "[]")
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return false
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
		if textProblem(&finding.Finding{Summary: s}) == "" {
			t.Errorf("%q not caught", s)
		}
	}
	if s := strings.TrimSpace("10.0.0.2 answered ssm (servfail) via 10.0.0.2"); textProblem(&finding.Finding{Summary: s}) != "" {
		t.Errorf("%q caught, but it is fine", s)
	}
}
