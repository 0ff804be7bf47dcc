package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/docs"
)

// TestCatalogJSONListsFindingsDoc: "ssm-probe catalog --format json" lists
// exactly the IDs of docs/FINDINGS.md, each with its severity, a title and
// its docs.
func TestCatalogJSONListsFindingsDoc(t *testing.T) {
	code, out, stderr := runCLI(t, "catalog", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc catalogDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.Schema != CatalogSchema {
		t.Errorf("schema %q", doc.Schema)
	}
	rows, err := docs.Findings()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, r := range rows {
		want[r.ID] = r.Severity
	}
	got := map[string]bool{}
	for _, e := range doc.Findings {
		id := string(e.ID)
		if got[id] {
			t.Errorf("%s listed twice", id)
		}
		got[id] = true
		sev, ok := want[id]
		switch {
		case !ok:
			t.Errorf("%s is listed but not in docs/FINDINGS.md", id)
		case sev != string(e.Severity):
			t.Errorf("%s: severity %s, docs/FINDINGS.md says %s", id, e.Severity, sev)
		}
		if e.Title == "" || e.Fix == nil || e.Docs == nil {
			t.Errorf("%s: incomplete entry %+v", id, e)
		}
	}
	for id := range want {
		if !got[id] {
			t.Errorf("%s is in docs/FINDINGS.md but not listed", id)
		}
	}
}

func TestCatalogText(t *testing.T) {
	code, out, _ := runCLI(t, "catalog")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"net.endpoint-blocked [fail]", "Fix:\n  1. ", "Docs: https://docs.aws.amazon.com/", "Folded into: "} {
		if !strings.Contains(out, want) {
			t.Errorf("catalog text lacks %q", want)
		}
	}
}

func TestExplain(t *testing.T) {
	code, out, _ := runCLI(t, "explain", "imds.token-timeout")
	if code != 0 || !strings.HasPrefix(out, "imds.token-timeout [fail]\n") || strings.Count(out, " [") != 1 {
		t.Errorf("explain: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "explain", "--format", "json", "net.clock-skew")
	var doc catalogDoc
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Findings) != 1 || doc.Findings[0].ID != "net.clock-skew" {
		t.Errorf("explain --format json: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"explain", "no.such-id"}, {"explain"}, {"explain", "a", "b"}, {"catalog", "extra"}, {"catalog", "--format", "prom"}} {
		code, out, stderr := runCLI(t, args...)
		if code != exitUsage || out != "" || stderr == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d and a message", args, code, out, stderr, exitUsage)
		}
	}
	if _, _, stderr := runCLI(t, "explain", "no.such-id"); !strings.Contains(stderr, `no finding "no.such-id"`) {
		t.Errorf("unknown ID message: %q", stderr)
	}
}
