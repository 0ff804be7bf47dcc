package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/report/emftest"
)

// emfRoot decodes an EMF document's root for the tests' own assertions.
func emfRoot(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestEMFGolden(t *testing.T) {
	var b bytes.Buffer
	if err := EMF(&b, sample(), meta); err != nil {
		t.Fatal(err)
	}
	if probs := emftest.Check(b.Bytes()); len(probs) > 0 {
		t.Errorf("the EMF document breaks the specification:\n%s\n%s", strings.Join(probs, "\n"), b.String())
	}
	golden.Bytes(t, filepath.Join("testdata", "report.emf"), b.Bytes())
	root := emfRoot(t, b.Bytes())
	r := sample()
	if root["Verdict"] != string(r.Verdict) || root["InstanceId"] != r.Context.InstanceID || root["Region"] != r.Context.Region ||
		root["StatusFail"] != float64(1) || root["StatusOK"] != float64(0) || root["Status"] != float64(2) {
		t.Errorf("verdict, dimensions or status metrics wrong: %v", root)
	}
	for _, f := range r.Findings {
		if root[string(f.ID)] != float64(1) {
			t.Errorf("no metric of value 1 for finding %s", f.ID)
		}
	}
}

// TestEMFEdges: a run that learnt nothing, one with more findings than a
// directive may hold metrics, hostile values; each still keeps the
// specification.
func TestEMFEdges(t *testing.T) {
	many := sample()
	for i := range 150 {
		many.Findings = append(many.Findings, finding.Finding{ID: finding.ID(fmt.Sprintf("test.finding-%d", i)), Severity: finding.SevWarn})
	}
	many.Findings = append(many.Findings, many.Findings[0]) // an ID raised twice: one metric
	hostile := sample()
	hostile.Context.InstanceID = " \t"
	hostile.Context.Region = "eu-west-1\u202e\x1b[31m http://alice:Pw0rd@proxy:3128"
	hostile.Verdict = "not a verdict"
	for name, r := range map[string]*diagnose.Result{
		"empty":   {StartedAt: sample().StartedAt},
		"many":    many,
		"hostile": hostile,
	} {
		var b bytes.Buffer
		if err := EMF(&b, r, meta); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if probs := emftest.Check(b.Bytes()); len(probs) > 0 {
			t.Errorf("%s: %s\n%s", name, strings.Join(probs, "\n"), b.String())
		}
		root := emfRoot(t, b.Bytes())
		switch name {
		case "empty":
			if root["InstanceId"] != EMFUnknown || root["Region"] != EMFUnknown || root["StatusUnknown"] != float64(1) {
				t.Errorf("empty: %v", root)
			}
		case "many":
			n := 0
			for _, d := range root["_aws"].(map[string]any)["CloudWatchMetrics"].([]any) {
				n += len(d.(map[string]any)["Metrics"].([]any))
			}
			if want := 1 + 4 + len(sample().Findings) + 150 + 1; n != want {
				t.Errorf("many: %d metrics, want %d", n, want)
			}
		case "hostile":
			if root["InstanceId"] != EMFUnknown || strings.Contains(b.String(), "Pw0rd") || root["Verdict"] != "unknown" || root["Status"] != float64(3) {
				t.Errorf("hostile: %s", b.String())
			}
		}
	}
}

// TestCheckEMF: the checker (emftest.Check) itself rejects each near miss of a valid
// document.
func TestCheckEMF(t *testing.T) {
	var b bytes.Buffer
	if err := EMF(&b, sample(), meta); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(root, aws, dir map[string]any)) []byte {
		root := emfRoot(t, b.Bytes())
		aws := root["_aws"].(map[string]any)
		f(root, aws, aws["CloudWatchMetrics"].([]any)[0].(map[string]any))
		out, err := json.Marshal(root)
		if err != nil {
			t.Fatal(err)
		}
		return append(out, '\n')
	}
	for name, doc := range map[string][]byte{
		"no Timestamp":               edit(func(_, aws, _ map[string]any) { delete(aws, "Timestamp") }),
		"Timestamp in seconds, text": edit(func(_, aws, _ map[string]any) { aws["Timestamp"] = "1700000000" }),
		"no CloudWatchMetrics":       edit(func(_, aws, _ map[string]any) { delete(aws, "CloudWatchMetrics") }),
		"no Namespace":               edit(func(_, _, dir map[string]any) { delete(dir, "Namespace") }),
		"an AWS/ namespace":          edit(func(_, _, dir map[string]any) { dir["Namespace"] = "AWS/EC2" }),
		"a dimension with no member": edit(func(root, _, _ map[string]any) { delete(root, "Region") }),
		"a numeric dimension":        edit(func(root, _, _ map[string]any) { root["InstanceId"] = 7 }),
		"an empty dimension":         edit(func(root, _, _ map[string]any) { root["InstanceId"] = "" }),
		"a metric with no member":    edit(func(root, _, _ map[string]any) { delete(root, "StatusFail") }),
		"a metric that is text":      edit(func(root, _, _ map[string]any) { root["Status"] = "2" }),
		"an unknown unit":            edit(func(_, _, dir map[string]any) { dir["Metrics"].([]any)[0].(map[string]any)["Unit"] = "Findings" }),
		"an extra directive member":  edit(func(_, _, dir map[string]any) { dir["Verdict"] = "fail" }),
		"101 metrics": edit(func(root, _, dir map[string]any) {
			for i := range 101 {
				root[fmt.Sprint("m", i)] = 1
				dir["Metrics"] = append(dir["Metrics"].([]any), map[string]any{"Name": fmt.Sprint("m", i)})
			}
		}),
		"two lines": append([]byte("\n"), b.Bytes()...),
	} {
		if probs := emftest.Check(doc); len(probs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestEMFNoStartTime: observations that do not say when they were made
// (a hand-written file) are stamped when rendered, never at year 1, which
// CloudWatch would drop.
func TestEMFNoStartTime(t *testing.T) {
	var b bytes.Buffer
	before := time.Now().UnixMilli()
	if err := EMF(&b, &diagnose.Result{Verdict: finding.VerdictOK}, meta); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		AWS struct {
			Timestamp int64
		} `json:"_aws"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.AWS.Timestamp < before || len(emftest.Check(b.Bytes())) > 0 {
		t.Errorf("Timestamp %d, before the render at %d; %v", doc.AWS.Timestamp, before, emftest.Check(b.Bytes()))
	}
}
