//go:build linux

package main

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs/rootfstest"
)

// rescueMachineID is the machine ID of the broken host: its /etc/machine-id
// and the _MACHINE_ID of the journal fixture, which systemd-journal-remote
// made from journal/testdata/journal/endpoint-timeouts.export.
const rescueMachineID = "fedcba9876543210fedcba9876543210"

// maxJournalFixture caps the decompressed journal fixture (about 10 KiB gzipped).
const maxJournalFixture = 16 << 20

// rescueRoot copies testdata/rescue-root, the root volume of a broken host,
// and adds its persistent journal: the real journal file of the journal
// package's fixtures, in ROOT/var/log/journal/<machine-id>/, where
// journalctl --directory finds it.
func rescueRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	rootfstest.CopyTree(t, "testdata/rescue-root", root)
	writeTestFile(t, filepath.Join(root, "var/log/journal", rescueMachineID, "system.journal"), journalFixture(t))
	return root
}

// rescueDoc is the part of the JSON report the rescue test reads.
type rescueDoc struct {
	Status  string `json:"status"`
	Context struct {
		Mode string `json:"mode"`
	} `json:"context"`
	Findings []struct {
		ID       string   `json:"id"`
		Severity string   `json:"severity"`
		Evidence []string `json:"evidence"`
	} `json:"findings"`
	Checks []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"checks"`
}

// TestRescueRoot runs the CLI in rescue mode (--root, no --live) on the
// root volume of a broken host. The report must find what the files show:
// a resolv.conf with four nameservers and an unknown option, an agent far
// too old (dpkg status), endpoint overrides in its config, endpoint
// timeouts in its journal and blocked session logging in its rolled log.
// And it must say which checks need the live host and were skipped, never
// reading them as healthy.
func TestRescueRoot(t *testing.T) {
	root := rescueRoot(t)
	// No --live: no packet is sent; the IMDS endpoint is loopback anyway.
	code, out, stderr := runCLI(t, "run", "--root", root, "--since", "0", "--format", "json",
		"--imds-endpoint", "http://127.0.0.1:1")
	var doc rescueDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("exit %d: %v\n%s\nstderr: %s", code, err, out, stderr)
	}
	if doc.Context.Mode != "offline" {
		t.Errorf("mode %q, want offline", doc.Context.Mode)
	}
	// agent.outdated below 2.3.68.0 is a fail, which decides the verdict
	// even though the live checks could not run.
	if code != 2 || doc.Status != "fail" {
		t.Errorf("exit %d, status %q; want 2, fail", code, doc.Status)
	}

	got := map[string]string{}
	for _, f := range doc.Findings {
		got[f.ID] = f.Severity
	}
	for id, sev := range map[string]string{
		"agent.outdated":              "fail",
		"agent.endpoint-override":     "info",
		"host.resolv-conf-problem":    "warn",
		"log.endpoint-timeout":        "warn", // seen in the journal, not confirmed live: never fail offline
		"log.session-logging-blocked": "warn", // seen in the rolled agent log
	} {
		if got[id] != sev {
			t.Errorf("finding %s: severity %q, want %q", id, got[id], sev)
		}
	}
	for _, f := range doc.Findings {
		if f.ID == "log.endpoint-timeout" && !strings.Contains(strings.Join(f.Evidence, "\n"), "journal") {
			t.Errorf("log.endpoint-timeout does not name the journal as its source: %q", f.Evidence)
		}
	}

	// Every live check is listed as skipped, with the reason.
	var skipped []string
	for _, c := range doc.Checks {
		if c.Status == "skip" && strings.Contains(c.Reason, "--live") {
			skipped = append(skipped, c.Name)
		}
	}
	sort.Strings(skipped)
	for _, name := range []string{"dns", "imds"} {
		if i := sort.SearchStrings(skipped, name); i == len(skipped) || skipped[i] != name {
			t.Errorf("check %q is not reported as skipped for needing the live host; skipped: %v", name, skipped)
		}
	}

	// The text report says it too, on the same run.
	code, text, _ := runCLI(t, "run", "--root", root, "--since", "0", "--no-color", "--imds-endpoint", "http://127.0.0.1:1")
	if code != 2 || !strings.Contains(text, "mode offline") || !strings.Contains(text, "skip    imds") ||
		!strings.Contains(text, "needs the live instance") {
		t.Errorf("text report (exit %d) does not show the skipped live checks:\n%s", code, text)
	}
}
