package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/docs"
)

// runCLI runs the command in-process and returns exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	checkReportSchema(t, args, out.Bytes())
	return code, out.String(), errb.String()
}

// checkReportSchema validates the JSON report a run or logs command wrote,
// to stdout or to --output, against docs/report.schema.json: every report
// the tests produce keeps the published contract.
func checkReportSchema(t *testing.T, args []string, stdout []byte) {
	t.Helper()
	if len(args) > 0 && (args[0] == "catalog" || args[0] == "explain" || args[0] == "version" || args[0] == "help") || wantsHelp(args) {
		return
	}
	format, output := "text", ""
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--format", "-format":
			format = args[i+1]
		case "--output", "-output":
			output = args[i+1]
		}
	}
	if format != "json" {
		return
	}
	report := stdout
	if output != "" {
		b, err := os.ReadFile(output)
		if err != nil {
			return // the run wrote no report (a usage error, a replay refused)
		}
		report = b
	}
	if len(report) == 0 {
		return
	}
	if err := docs.ValidateReport(report); err != nil {
		t.Errorf("ssm-probe %s: %v", strings.Join(args, " "), err)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.HasPrefix(out, "ssm-probe ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: exit %d, output %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"}, {"run", "--bogus"}, {"logs", "--bogus"}, {"frobnicate"}, {"--format", "yaml"},
		{"--timeout", "0s"}, {"--log-level", "loud"}, {"version", "extra"}, {"run", "extra-arg"},
		{"--vpc-dns", "not-an-ip"}, {"--endpoint-port", "70000"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if !strings.Contains(stderr, "Usage") {
			t.Errorf("%v: no usage text on stderr: %q", args, stderr)
		}
	}
	if code, _, _ := runCLI(t, "run", "-h"); code != 0 {
		t.Errorf("-h: exit %d, want 0", code)
	}
}

// TestLogsRealLines runs "ssm-probe logs" on real agent log lines (the
// journal of an agent timing out to its endpoints, and a session worker's
// S3 HEAD retries):
// each must name its finding from the lines alone.
func TestLogsRealLines(t *testing.T) {
	for _, tc := range []struct{ dir, id string }{
		{"../../journal/testdata/journalctl-endpoint-timeouts", "log.endpoint-timeout"},
		{"../../journal/testdata/session-logging-s3-head", "log.session-logging-blocked"},
	} {
		code, out, stderr := runCLI(t, "logs", "--since", "0", "--format", "json", tc.dir)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1 (warn); stderr %s", tc.dir, code, stderr)
		}
		var doc struct {
			Status   string `json:"status"`
			Findings []struct {
				ID       string   `json:"id"`
				Evidence []string `json:"evidence"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%s: %v\n%s", tc.dir, err, out)
		}
		if len(doc.Findings) != 1 || doc.Findings[0].ID != tc.id {
			t.Errorf("%s: findings %+v, want exactly %s", tc.dir, doc.Findings, tc.id)
		}
	}
}

func TestOutputIsAtomicAndExitCodeKept(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "report.json")
	code, out, stderr := runCLI(t, "logs", "--since", "0", "--format", "json", "--output", target, "../../journal/testdata/journalctl-endpoint-timeouts")
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	b, err := os.ReadFile(target)
	if err != nil || !json.Valid(b) {
		t.Fatalf("report file: %v, valid JSON %v", err, json.Valid(b))
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
	if code, _, _ := runCLI(t, "logs", "--output", filepath.Join(dir, "no", "such", "dir", "r.json"), "../../journal/testdata/journalctl-endpoint-timeouts"); code != exitUnknown {
		t.Errorf("unwritable output: exit %d, want %d", code, exitUnknown)
	}
}

// TestObservationsSeam re-diagnoses a saved observations fixture.
func TestObservationsSeam(t *testing.T) {
	fixture := "../../probe/diagnose/testdata/obs/net/endpoint-sg-no-443.json"
	b, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Observations json.RawMessage `json:"observations"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "obs.json")
	os.WriteFile(path, f.Observations, 0o644)
	code, out, _ := runCLI(t, "--observations", path, "--no-color")
	if code != 2 || !strings.Contains(out, "[FAIL] net.endpoint-blocked") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	if code, _, _ := runCLI(t, "--observations", filepath.Join(t.TempDir(), "missing.json")); code != exitUnknown {
		t.Errorf("missing observations file: exit %d, want %d", code, exitUnknown)
	}
}

func TestNoAPIFlagParses(t *testing.T) {
	fs, f := newRunFlags(&bytes.Buffer{})
	if err := fs.Parse([]string{"--no-api"}); err != nil || !f.noAPI {
		t.Fatalf("--no-api: err %v, noAPI %v", err, f.noAPI)
	}
}

// TestHelp: "ssm-probe --help" and "ssm-probe help" print the commands and
// the run flags together on stdout (never the hidden test seams), and each
// command answers --help with its own usage, exit 0.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"help"}, {"help", "--help"}, {"run", "--help"}, {"--format", "json", "--help"}} {
		code, out, stderr := runCLI(t, args...)
		if code != 0 || stderr != "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
		for _, want := range []string{"ssm-probe logs", "ssm-probe catalog", "ssm-probe explain", "ssm-probe version", "ssm-probe help",
			"--format", "--wait", "--console", "--output", "--observations", "emf"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: the help lacks %q:\n%s", args, want, out)
			}
		}
		for _, hidden := range []string{"--console-path", "--console-active", "--tty-dir", "--vpc-dns", "--dns-port", "--ca-file", "--proc-dir"} {
			if strings.Contains(out, hidden+" ") {
				t.Errorf("%v: the help shows the hidden %s", args, hidden)
			}
		}
	}
	for cmd, want := range map[string]string{
		"logs":    "Usage: ssm-probe logs [flags] [PATH...]",
		"catalog": "Usage: ssm-probe catalog",
		"explain": "Usage: ssm-probe explain",
		"version": "Usage: ssm-probe version",
	} {
		code, out, stderr := runCLI(t, cmd, "--help")
		if code != 0 || stderr != "" || !strings.HasPrefix(out, want) {
			t.Errorf("%s --help: exit %d, stderr %q, stdout %q", cmd, code, stderr, out)
		}
	}
	// After "--" a --help is an argument, not a request for help.
	if code, _, _ := runCLI(t, "explain", "--", "--help"); code != exitUsage {
		t.Errorf("explain -- --help: exit %d, want %d (no finding \"--help\")", code, exitUsage)
	}
}
