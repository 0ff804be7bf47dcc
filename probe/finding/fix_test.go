package finding

import (
	"slices"
	"testing"
)

func TestFixTemplateFill(t *testing.T) {
	e := Entry{ID: "x.y", Fix: FixLines(
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
	NewCatalog(Entry{ID: "x.y", Severity: SevWarn, Title: "a", Fix: "{{if .x}}"})
}
