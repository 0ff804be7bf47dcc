package probe

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// noFix lists the entries that carry no fix template: pure information,
// where there is nothing to do.
var noFix = []ID{DNSStubResolver, AgentEndpointOverride}

// TestEveryEntryHasAFix: every entry but the listed info entries has a fix
// template, and rendered with nothing it is the placeholder form: each
// placeholder stands as its own name, no template syntax is left, and it is
// what "ssm-probe catalog" prints.
func TestEveryEntryHasAFix(t *testing.T) {
	cat := NewCatalog()
	for _, id := range AllIDs() {
		e := cat[id]
		if slices.Contains(noFix, id) {
			if e.Fix != "" || e.Severity != SevInfo {
				t.Errorf("%s is listed as an info entry without a fix, but has severity %s and fix %q", id, e.Severity, e.Fix)
			}
			continue
		}
		got := e.RenderFix()
		if len(got) == 0 {
			t.Errorf("%s: no fix", id)
			continue
		}
		names := Fill{}
		for _, f := range e.fix.fields {
			if isPlaceholder(f) {
				names[f] = f
			}
		}
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

func TestFixTemplateFill(t *testing.T) {
	e := Entry{ID: "x.y", Fix: fixLines(
		"aws ec2 x --vpc-id {{.VPC_ID}}{{.regionFlag}}",
		"{{if .snap}}snap{{else}}systemctl{{end}}",
		"{{if .extra}}extra {{.extra}}{{end}}")}
	for _, c := range []struct {
		name  string
		fills []Fill
		want  []string
	}{
		{"empty", nil, []string{"aws ec2 x --vpc-id VPC_ID", "systemctl"}},
		{"an empty placeholder stays", []Fill{{"VPC_ID": ""}}, []string{"aws ec2 x --vpc-id VPC_ID", "systemctl"}},
		{"filled", []Fill{{"VPC_ID": "vpc-1", "regionFlag": " --region r"}, {"snap": true}},
			[]string{"aws ec2 x --vpc-id vpc-1 --region r", "snap"}},
		{"later fills win", []Fill{{"VPC_ID": "vpc-1"}, {"VPC_ID": "vpc-2"}}, []string{"aws ec2 x --vpc-id vpc-2", "systemctl"}},
		{"a value adds no line", []Fill{{"extra": "a\nb"}}, []string{"aws ec2 x --vpc-id VPC_ID", "systemctl", "extra a b"}},
	} {
		if got := e.RenderFix(c.fills...); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCatalogRejectsBadTemplate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a fix template that does not parse must panic")
		}
	}()
	newCatalog(Entry{ID: "x.y", Severity: SevWarn, Title: "a", Fix: "{{if .x}}"})
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
		if strings.HasSuffix(f, "_test.go") || f == "verdict.go" {
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
