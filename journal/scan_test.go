package journal

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// TestScanGolden runs Scan on the fixture trees and compares the whole
// Result with testdata/scan/<name>.want.json.
func TestScanGolden(t *testing.T) {
	since := time.Date(2024, 3, 1, 10, 4, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		opt  Options
	}{
		{"rotated", Options{Root: "testdata/rotated"}},
		{"rotated-since", Options{Root: "testdata/rotated", Since: since}},
		{"rotated-budget", Options{Root: "testdata/rotated", ByteBudget: 600}},
		{"journalctl-endpoint-timeouts", Options{Paths: []string{"testdata/journalctl-endpoint-timeouts"}}},
		{"session-logging-s3-head", Options{Paths: []string{"testdata/session-logging-s3-head"}}},
		{"entries-dir", Options{Paths: []string{"testdata/entries/flatcar.log", "testdata/entries/garbage.log", "testdata/no-such-file"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.opt.Location = time.UTC
			golden.JSON(t, "testdata/scan/"+c.name+".want.json", Scan(context.Background(), c.opt))
		})
	}
}

// TestScanRotatedOrder checks the reading order of a rolled set whose
// numbers start at 7: .7, .8, .9, then the live file.
func TestScanRotatedOrder(t *testing.T) {
	res := Scan(context.Background(), Options{Root: "testdata/rotated", Location: time.UTC})
	var names []string
	for _, s := range res.Sources {
		names = append(names, filepath.Base(s.Name))
	}
	want := []string{"amazon-ssm-agent.log.7", "amazon-ssm-agent.log.8", "amazon-ssm-agent.log.9", "amazon-ssm-agent.log",
		"hibernate.log", "errors.log.3", "errors.log"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("order %v, want %v", names, want)
	}
	// errors.log repeats two main-log entries (skipped); errors.log.3 is
	// older than the main log and counts.
	for _, s := range res.Sources {
		if filepath.Base(s.Name) == "errors.log" && s.Duplicates != 2 {
			t.Errorf("errors.log duplicates %d, want 2", s.Duplicates)
		}
	}
}

func TestScanMissingRoot(t *testing.T) {
	res := Scan(context.Background(), Options{Root: t.TempDir()})
	if len(res.Sources) != 3 || len(res.Events) != 0 {
		t.Fatalf("sources %+v events %+v", res.Sources, res.Events)
	}
	for _, s := range res.Sources {
		if s.Status != StatusMissing || s.Class != errclass.NotFound || s.Reason == "" {
			t.Errorf("source %+v, want missing with a reason", s)
		}
	}
}

func TestScanCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Scan(ctx, Options{Root: "testdata/rotated"})
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "cancel") || res.BytesRead != 0 {
		t.Errorf("notes %v, bytes %d", res.Notes, res.BytesRead)
	}
}

// TestScanBinaryAndHuge scans a file of random bytes with a 2 MiB line and
// checks that the entry after them is still matched.
func TestScanBinaryAndHuge(t *testing.T) {
	dir := t.TempDir()
	var b []byte
	for i := range 300000 {
		b = append(b, byte(i*7919>>3))
	}
	b = append(b, make([]byte, 2<<20)...) // NULs, no newline for 2 MiB
	b = append(b, "\n2024-03-01 10:00:00.0000 ERROR x dial tcp: lookup ssm.us-east-1.amazonaws.com on 10.0.0.2:53: no such host\n"...)
	p := filepath.Join(dir, "junk.log")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res := Scan(context.Background(), Options{Paths: []string{dir}, Location: time.UTC})
	if len(res.Events) != 1 || res.Events[0].Kind != KindDNSError || res.Sources[0].Status != StatusRead || res.Sources[0].Malformed == 0 {
		t.Fatalf("events %+v sources %+v", res.Events, res.Sources)
	}
	if res.BytesRead != int64(len(b)) {
		t.Errorf("read %d of %d bytes", res.BytesRead, len(b))
	}
}

// journalRoot decompresses the committed journal file into a host root
// layout (var/log/journal/<machine-id>/system.journal) and returns the root.
func journalRoot(t *testing.T) string {
	t.Helper()
	return journalRootOf(t, "endpoint-timeouts")
}

// journalRootOf is journalRoot for testdata/journal/<name>.journal.gz.
func journalRootOf(t *testing.T, name string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "var/log/journal/fedcba9876543210fedcba9876543210")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open("testdata/journal/" + name + ".journal.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "system.journal"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, io.LimitReader(zr, 64<<20)); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return root
}

const journalctlBin = "/usr/bin/journalctl"

func needJournalctl(t *testing.T) {
	if _, err := os.Stat(journalctlBin); err != nil {
		t.Skip("journalctl not installed")
	}
}

// scrub replaces the temporary root in source names, so results compare
// across runs.
func scrub(res *Result, root string) *Result {
	for i := range res.Sources {
		res.Sources[i].Name = strings.ReplaceAll(res.Sources[i].Name, root, "ROOT")
		res.Sources[i].Reason = strings.ReplaceAll(res.Sources[i].Reason, root, "ROOT")
	}
	return res
}

// TestJournalctl reads the journal file made by systemd-journal-remote from
// testdata/journal/endpoint-timeouts.export through `journalctl --directory`.
func TestJournalctl(t *testing.T) {
	needJournalctl(t)
	root := journalRoot(t)
	res := Scan(context.Background(), Options{Root: root, Journal: true, JournalReader: "journalctl", JournalctlPath: journalctlBin, Location: time.UTC})
	golden.JSON(t, "testdata/scan/journal.want.json", scrub(res, root))
}

// TestJournalReadersAgree reads the same journal through sdjournal (cgo
// builds) and journalctl and requires the same sources and events.
func TestJournalReadersAgree(t *testing.T) {
	if !haveSDJournal {
		t.Skip("built without cgo: no sdjournal")
	}
	needJournalctl(t)
	root := journalRoot(t)
	opt := Options{Root: root, Journal: true, JournalctlPath: journalctlBin, Location: time.UTC}
	opt.JournalReader = "journalctl"
	a := scrub(Scan(context.Background(), opt), root)
	opt.JournalReader = "sdjournal"
	b := scrub(Scan(context.Background(), opt), root)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("journalctl and sdjournal differ:\n%s\n%s", ja, jb)
	}
	if last := b.Sources[len(b.Sources)-1]; last.Status != StatusRead || last.Entries != 4 {
		t.Errorf("sdjournal source %+v, want read with 4 entries", last)
	}
}

// TestJournalFilePath passes a .journal file explicitly.
func TestJournalFilePath(t *testing.T) {
	needJournalctl(t)
	root := journalRoot(t)
	f := filepath.Join(root, "var/log/journal/fedcba9876543210fedcba9876543210/system.journal")
	res := Scan(context.Background(), Options{Paths: []string{f}, JournalReader: "journalctl", JournalctlPath: journalctlBin, Location: time.UTC})
	if len(res.Sources) != 1 || res.Sources[0].Kind != SourceJournal || res.Sources[0].Entries != 4 || len(res.Events) == 0 {
		t.Fatalf("sources %+v events %d", res.Sources, len(res.Events))
	}
}

// TestJournalctlSince checks that --since reaches journalctl.
func TestJournalctlSince(t *testing.T) {
	needJournalctl(t)
	root := journalRoot(t)
	res := Scan(context.Background(), Options{Root: root, Journal: true, JournalReader: "journalctl", JournalctlPath: journalctlBin,
		Since: time.Date(2019, 12, 9, 8, 5, 0, 0, time.UTC), Location: time.UTC})
	j := res.Sources[len(res.Sources)-1]
	if j.Entries != 2 || j.Old != 0 {
		t.Errorf("journal source %+v, want the 2 entries after 08:05", j)
	}
}

// TestJournalctlProblems covers a missing journalctl, a journalctl that
// reports missing permission (a script standing in for it), and a root
// without a persistent journal.
func TestJournalctlProblems(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "journalctl")
	body := "#!/bin/sh\necho 'Hint: You are currently not seeing messages from other users and the system.' >&2\nexit 0\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		opt    Options
		status Status
		class  errclass.Class
	}{
		{"not-installed", Options{Journal: true, JournalReader: "journalctl", JournalctlPath: filepath.Join(dir, "nope")}, StatusSkipped, errclass.NotFound},
		{"no-permission", Options{Journal: true, JournalReader: "journalctl", JournalctlPath: script}, StatusSkipped, errclass.Permission},
		{"no-journal-under-root", Options{Root: dir, Journal: true, JournalReader: "journalctl", JournalctlPath: script}, StatusMissing, errclass.NotFound},
		{"bad-reader", Options{Journal: true, JournalReader: "bogus"}, StatusError, errclass.Other},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.opt.Root == "" {
				c.opt.Root = "/"
				c.opt.Paths = nil
			}
			res := Scan(context.Background(), c.opt)
			j := res.Sources[len(res.Sources)-1]
			if j.Kind != SourceJournal || j.Status != c.status || j.Class != c.class || j.Reason == "" {
				t.Errorf("journal source %+v, want status %s class %s with a reason", j, c.status, c.class)
			}
		})
	}
}

// TestScanSinceSkipsOldFiles checks that a roll last written before Since
// is not opened, while newer ones are read.
func TestScanSinceSkipsOldFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), AgentLogDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	since := time.Date(2024, 3, 1, 10, 4, 0, 0, time.UTC)
	for name, mtime := range map[string]time.Time{
		"amazon-ssm-agent.log.8": since.Add(-time.Hour),
		"amazon-ssm-agent.log.9": since.Add(time.Minute),
		"amazon-ssm-agent.log":   since.Add(time.Hour),
	} {
		b, err := os.ReadFile(filepath.Join("testdata/rotated", AgentLogDir, name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	res := Scan(context.Background(), Options{Root: filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(dir)))), Since: since, Location: time.UTC})
	got := map[string]Status{}
	for _, s := range res.Sources {
		got[filepath.Base(s.Name)] = s.Status
	}
	want := map[string]Status{"amazon-ssm-agent.log.8": StatusSkipped, "amazon-ssm-agent.log.9": StatusRead, "amazon-ssm-agent.log": StatusRead,
		"hibernate.log": StatusMissing, "errors.log": StatusMissing}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
}
