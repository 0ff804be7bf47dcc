//go:build linux

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// agentLogLine is one line of the agent's log that the catalog knows.
const agentLogLine = "2024-03-01 10:00:00 ERROR [HealthCheck] error when calling AWS APIs. error details - RequestError: send request failed\n" +
	"caused by: Post https://ssm.eu-west-1.amazonaws.com/: dial tcp 10.9.9.9:443: i/o timeout\n"

// logsCheckOf returns the logs check of a JSON report.
func logsCheckOf(t *testing.T, stdout string) (status, reason string, r jsonReport) {
	t.Helper()
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("report not JSON: %v\n%s", err, stdout)
	}
	for _, c := range r.Checks {
		if c.Name == "logs" {
			return c.Status, c.Reason, r
		}
	}
	t.Fatalf("no logs check in %s", stdout)
	return "", "", r
}

// TestLogsExplicitPathNotLooked: `ssm-probe logs PATH` where PATH is
// missing, an empty directory or a directory holding only a FIFO, alone or
// beside a log that is read, makes the required logs check skip with the
// reason, so the verdict is unknown (exit 3), never ok. The default
// locations of a host with no agent log keep their meaning: nothing there
// is an answer, and the run is ok. A directory of real logs is read.
func TestLogsExplicitPathNotLooked(t *testing.T) {
	dir := t.TempDir()
	empty, fifoDir, logs := filepath.Join(dir, "empty"), filepath.Join(dir, "fifo"), filepath.Join(dir, "logs")
	for _, d := range []string{empty, fifoDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(fifoDir, "amazon-ssm-agent.log"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	writeTestFile(t, filepath.Join(logs, "amazon-ssm-agent.log"), []byte(agentLogLine))
	missing := filepath.Join(dir, "missing")
	for _, c := range []struct {
		name  string
		paths []string
		want  string // in the reason
	}{
		{"missing", []string{missing}, "no such file or directory"},
		{"empty directory", []string{empty}, "no regular file in " + empty},
		{"only a FIFO", []string{fifoDir}, "FIFO, socket, device or link, which is never read"},
		{"a log and a missing path", []string{logs, missing}, missing},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runCLI(t, append([]string{"logs", "--since", "0", "--format", "json"}, c.paths...)...)
			st, reason, r := logsCheckOf(t, out)
			if code != exitUnknown || r.Status != "unknown" || st != "skip" || !strings.Contains(reason, "not checked") || !strings.Contains(reason, c.want) {
				t.Errorf("exit %d, %s; logs check %s: %q; want exit %d, a skip naming %q\nstderr %s", code, r.Status, st, reason, exitUnknown, c.want, errs)
			}
		})
	}
	t.Run("a directory of logs", func(t *testing.T) {
		code, out, _ := runCLI(t, "logs", "--since", "0", "--format", "json", logs)
		if st, reason, _ := logsCheckOf(t, out); code == exitUnknown || st == "skip" || !strings.Contains(reason, "read 1 source(s)") {
			t.Errorf("exit %d, logs check %s: %q; want the log read", code, st, reason)
		}
	})
	t.Run("default locations, no agent log", func(t *testing.T) {
		code, out, _ := runCLI(t, "logs", "--since", "0", "--format", "json", "--root", empty)
		if st, reason, _ := logsCheckOf(t, out); code != 0 || st != "pass" || !strings.Contains(reason, "no agent log exists") {
			t.Errorf("exit %d, logs check %s: %q; want a pass that says no agent log exists", code, st, reason)
		}
	})
}

// TestLogsExplicitPathDenied runs the binary as nobody on a directory only
// root may open: the logs check skips, saying it needs root, and the run is
// unknown (exit 3), where it once passed over nothing. As root the same
// directory is read. It needs root to switch users.
func TestLogsExplicitPathDenied(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs the probe as nobody (uid 65534) via syscall.Credential")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildProbe(t, dir)
	locked := filepath.Join(dir, "locked")
	writeTestFile(t, filepath.Join(locked, "amazon-ssm-agent.log"), []byte(agentLogLine))
	if err := os.Chmod(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, asNobody := range []bool{false, true} {
		cmd := exec.Command(bin, "logs", "--since", "0", "--format", "json", locked)
		cmd.Env = []string{"PATH=/usr/bin:/bin"}
		if asNobody {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID, Groups: []uint32{}}}
		}
		stdout, stderr, code := runBounded(t, cmd, containmentRunLimit)
		st, reason, _ := logsCheckOf(t, stdout)
		switch {
		case asNobody && (code != exitUnknown || st != "skip" || !strings.Contains(reason, "needs root to read "+locked)):
			t.Errorf("as nobody: exit %d, logs check %s: %q; want exit %d and a skip that needs root\nstderr %s", code, st, reason, exitUnknown, stderr)
		case !asNobody && (st == "skip" || !strings.Contains(reason, "read 1 source(s)")):
			t.Errorf("as root: exit %d, logs check %s: %q; want the log read", code, st, reason)
		}
	}
}
