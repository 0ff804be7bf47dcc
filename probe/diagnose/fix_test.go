package diagnose

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// noFix lists the entries that carry no fix template: pure information,
// where there is nothing to do.
var noFix = []finding.ID{DNSStubResolver, AgentEndpointOverride}

// TestEveryEntryHasAFix: every entry but the listed info entries has a fix
// template, and rendered with nothing it is the placeholder form: each
// placeholder stands as its own name, no template syntax is left, and it is
// what "ssm-probe catalog" prints.
func TestEveryEntryHasAFix(t *testing.T) {
	cat := NewCatalog()
	for _, id := range AllIDs() {
		e := cat[id]
		if slices.Contains(noFix, id) {
			if e.Fix != "" || e.Severity != finding.SevInfo {
				t.Errorf("%s is listed as an info entry without a fix, but has severity %s and fix %q", id, e.Severity, e.Fix)
			}
			continue
		}
		got := e.RenderFix()
		if len(got) == 0 {
			t.Errorf("%s: no fix", id)
			continue
		}
		names := e.TestPlaceholders()
		if want := e.RenderFix(names); !slices.Equal(got, want) {
			t.Errorf("%s: the empty rendering is not the placeholder form:\n got %q\nwant %q", id, got, want)
		}
		for _, line := range got {
			if strings.Contains(line, "{{") || strings.Contains(line, "<no value>") {
				t.Errorf("%s: template syntax left in %q", id, line)
			}
		}
		if f := cat.New(id, "s", nil); !slices.Equal(f.Remediation, got) {
			t.Errorf("%s: a finding built with nothing does not carry the placeholder form", id)
		}
	}
}

// TestNoRuleEditsSeverity: a rule decides a finding's severity once, when
// it builds it (Catalog.NewAt). Only the verdict (verdict.go, heldToPaths)
// lowers a finding the agent's own path contradicts.
func TestNoRuleEditsSeverity(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	edit := regexp.MustCompile(`\.Severity\s*=[^=]`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || filepath.Base(f) == "verdict.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if edit.MatchString(line) {
				t.Errorf("%s:%d sets a severity after building the finding: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
