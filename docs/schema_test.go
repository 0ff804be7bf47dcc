package docs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportSchemaMatchesInterface holds the schema to what INTERFACE.md
// states of it: its $id, its draft and the schema name it accepts.
func TestReportSchemaMatchesInterface(t *testing.T) {
	var s struct {
		Schema     string `json:"$schema"`
		ID         string `json:"$id"`
		Properties struct {
			Schema struct {
				Const string `json:"const"`
			} `json:"schema"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(ReportSchemaJSON, &s); err != nil {
		t.Fatal(err)
	}
	if s.Schema != "https://json-schema.org/draft/2020-12/schema" || s.ID != ReportSchemaID || s.Properties.Schema.Const != "ssm-probe/report/v1" {
		t.Errorf("schema header: $schema %q, $id %q, schema %q", s.Schema, s.ID, s.Properties.Schema.Const)
	}
	md, err := os.ReadFile("INTERFACE.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{ReportSchemaID, "report.schema.json", "draft 2020-12"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("INTERFACE.md does not state %q", want)
		}
	}
}

// TestValidateReport runs the validator on reports that keep and break
// the contract: each near miss differs from a valid report in one place.
func TestValidateReport(t *testing.T) {
	valid, err := os.ReadFile(filepath.Join("..", "probe", "report", "testdata", "report-timeline.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateReport(valid); err != nil {
		t.Fatalf("the report golden: %v", err)
	}
	edit := func(f func(map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(valid, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := func(m map[string]any, list string) map[string]any { return m[list].([]any)[0].(map[string]any) }
	for _, tc := range []struct {
		name string
		doc  []byte
		ok   bool
	}{
		{"a later field in a check's detail", edit(func(m map[string]any) {
			first(m, "checks")["detail"] = map[string]any{"anything": []any{1, "x"}}
		}), true},
		{"no timeline", edit(func(m map[string]any) { delete(m, "timeline") }), true},
		{"agent running unknown", edit(func(m map[string]any) {
			m["context"].(map[string]any)["agent"].(map[string]any)["running"] = nil
		}), true},
		{"another schema", edit(func(m map[string]any) { m["schema"] = "ssm-probe/report/v2" }), false},
		{"an unknown top-level field", edit(func(m map[string]any) { m["extra"] = 1 }), false},
		{"status not a verdict", edit(func(m map[string]any) { m["status"] = "failed" }), false},
		{"findings null", edit(func(m map[string]any) { m["findings"] = nil }), false},
		{"a finding without explains", edit(func(m map[string]any) { delete(first(m, "findings"), "explains") }), false},
		{"a finding ID without a family", edit(func(m map[string]any) { first(m, "findings")["id"] = "endpoint-blocked" }), false},
		{"a severity in capitals", edit(func(m map[string]any) { first(m, "findings")["severity"] = "FAIL" }), false},
		{"started_at not a time", edit(func(m map[string]any) { m["started_at"] = "2026-11-22 10:00" }), false},
		{"a negative duration", edit(func(m map[string]any) { m["duration_ms"] = -1 }), false},
		{"a fractional duration", edit(func(m map[string]any) { m["duration_ms"] = 1.5 }), false},
		{"an error class outside the set", edit(func(m map[string]any) { first(m, "paths")["class"] = "i/o timeout" }), false},
		{"a path address that is no address", edit(func(m map[string]any) {
			first(m, "paths")["addrs"].([]any)[0].(map[string]any)["addr"] = "ssm.example"
		}), false},
		{"a Windows path naming its adapter", edit(func(m map[string]any) { first(m, "paths")["adapter"] = "Ethernet 2" }), true},
		{"an empty adapter", edit(func(m map[string]any) { first(m, "paths")["adapter"] = "" }), false},
		{"a proxy with credentials in via", edit(func(m map[string]any) { first(m, "paths")["via"] = "http://user:pw@proxy:3128" }), false},
		{"a check detail that is a string", edit(func(m map[string]any) { first(m, "checks")["detail"] = "x" }), false},
		{"required false written out", edit(func(m map[string]any) { first(m, "checks")["required"] = false }), false},
		{"a timeline without failing", edit(func(m map[string]any) { delete(m["timeline"].(map[string]any), "failing") }), false},
		{"not JSON", []byte(`{"schema":`), false},
	} {
		err := ValidateReport(tc.doc)
		if (err == nil) != tc.ok {
			t.Errorf("%s: valid %v, want %v (%v)", tc.name, err == nil, tc.ok, err)
		}
	}
}
