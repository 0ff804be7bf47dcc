//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/report/emftest"
)

// TestEMFFormatCLI: --format emf prints one embedded metric format
// document that keeps the specification, to stdout or atomically to
// --output, with the run's dimensions, verdict and finding metrics.
func TestEMFFormatCLI(t *testing.T) {
	obs := failObservations(t)
	target := filepath.Join(t.TempDir(), "ssm-probe.emf")
	code, out, stderr := runCLI(t, "--observations", obs, "--format", "emf")
	code2, out2, stderr2 := runCLI(t, "--observations", obs, "--format", "emf", "--output", target)
	if code != 2 || code2 != 2 || stderr != "" || stderr2 != "" || out2 != "" {
		t.Fatalf("exit %d/%d, stderr %q/%q, stdout with --output %q", code, code2, stderr, stderr2, out2)
	}
	written, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture does not say when it was observed, so each render stamps
	// its own time: the documents are the same but for _aws.Timestamp.
	if stampless(t, written) != stampless(t, []byte(out)) {
		t.Errorf("--output wrote another document than stdout:\n%s\n%s", written, out)
	}
	if probs := emftest.Check([]byte(out)); len(probs) > 0 {
		t.Fatalf("the document breaks the EMF specification:\n%s\n%s", strings.Join(probs, "\n"), out)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	aws := doc["_aws"].(map[string]any)
	dir := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if dir["Namespace"] != "ssm-probe" || doc["Verdict"] != "fail" || doc["StatusFail"] != float64(1) ||
		doc["net.endpoint-blocked"] != float64(1) || doc["InstanceId"] != "i-0abc" || doc["Region"] != "ap-northeast-1" {
		t.Errorf("namespace, verdict, finding metric or dimensions wrong:\n%s", out)
	}
	if code, _, stderr := runCLI(t, "logs", "--format", "emf"); code != exitUsage || !strings.Contains(stderr, "--format must be text or json") {
		t.Errorf("logs --format emf: exit %d, stderr %q", code, stderr)
	}
}

// stampless returns an EMF document without its _aws.Timestamp.
func stampless(t *testing.T, b []byte) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("no _aws object:\n%s", b)
	}
	delete(aws, "Timestamp")
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
