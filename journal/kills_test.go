package journal

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestParseKill holds ParseKill to the kernel's and systemd's messages of
// testdata/kills/messages.tsv, near misses included.
func TestParseKill(t *testing.T) {
	f, err := os.Open("testdata/kills/messages.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		want, msg, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		n++
		k, started, ok := ParseKill(msg)
		switch want {
		case "-":
			if ok || started {
				t.Errorf("%q: got a kill %+v (started %v), want none", msg, k, started)
			}
			continue
		case "start":
			if ok || !started {
				t.Errorf("%q: started %v ok %v, want a start", msg, started, ok)
			}
			continue
		}
		f := strings.Split(want, "|")
		if len(f) != 7 {
			t.Fatalf("bad want %q", want)
		}
		pid, _ := strconv.Atoi(f[3])
		if f[3] == "" {
			pid = 0
		}
		w := Kill{Cause: f[0], By: f[1], Process: f[2], PID: pid, Memory: f[4], Unit: f[5], Signal: f[6]}
		if !ok || started || k != w {
			t.Errorf("%q:\n got %+v (ok %v, started %v)\nwant %+v", msg, k, ok, started, w)
		}
	}
	if n < 20 {
		t.Fatalf("only %d cases read", n)
	}
}

func TestParseSyslogLine(t *testing.T) {
	utc := time.UTC
	ref := time.Date(2026, 1, 2, 0, 0, 0, 0, utc)
	for _, c := range []struct {
		line, tag, msg string
		want           time.Time
		ok             bool
	}{
		{"Dec 31 23:59:59 h kernel: [ 1.5] Out of memory: x", "kernel", "Out of memory: x", time.Date(2025, 12, 31, 23, 59, 59, 0, utc), true},
		{"Jan  1 10:00:00 h systemd[1]: Started amazon-ssm-agent.", "systemd[1]", "Started amazon-ssm-agent.", time.Date(2026, 1, 1, 10, 0, 0, 0, utc), true},
		{"2026-12-07T01:12:40.130050+02:00 h kernel: msg", "kernel", "msg", time.Date(2026, 12, 6, 23, 12, 40, 130050000, utc), true},
		// near misses: no host, no tag, a time that is not one
		{"Dec 31 23:59:59 kernel:", "", "", time.Time{}, false},
		{"2026-12-07 01:12:40.1300 INFO message", "", "", time.Time{}, false},
		{"Foo 31 23:59:59 h kernel: x", "", "", time.Time{}, false},
		{"2026-13-07T01:12:40Z h kernel: x", "", "", time.Time{}, false},
	} {
		at, tag, msg, ok := ParseSyslogLine(c.line, ref, utc)
		if ok != c.ok || tag != c.tag || msg != c.msg || !at.Equal(c.want) {
			t.Errorf("%q: got %v %q %q %v, want %v %q %q %v", c.line, at, tag, msg, ok, c.want, c.tag, c.msg, c.ok)
		}
	}
}

// copyRoot copies a fixture root to a temporary directory and dates its
// files (git does not keep modification times; BSD syslog times take their
// year from them).
func copyRoot(t *testing.T, src string, mtime time.Time) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	err := filepath.Walk(dst, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			err = os.Chtimes(p, mtime, mtime)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestScanKillsSyslog(t *testing.T) {
	written := time.Date(2026, 12, 7, 1, 20, 0, 0, time.UTC)
	t.Run("messages", func(t *testing.T) {
		root := copyRoot(t, "testdata/kills/root-messages", written)
		r := Scan(context.Background(), Options{Root: root, Location: time.UTC})
		kl := r.Kills
		if kl == nil {
			t.Fatal("no kills")
		}
		// oom-kill summary + Killed process (one kernel kill, pid 2468), the
		// unit's OOM line and 'oom-kill' result (one), the main process's
		// signal; the java kill is not the agent's.
		if len(kl.Kills) != 3 {
			t.Fatalf("kills %+v", kl.Kills)
		}
		k := kl.Kills[0]
		if k.By != "kernel" || k.PID != 2468 || k.Memory == "" || !strings.Contains(k.Memory, "anon-rss:412345kB") ||
			!k.Time.Equal(time.Date(2026, 12, 7, 1, 12, 40, 0, time.UTC)) || !strings.HasSuffix(k.Source, "/var/log/messages:4") {
			t.Errorf("kernel kill %+v", k)
		}
		if last := kl.LastKill(); last.Cause != CauseSignal || last.Signal != "9/KILL" {
			t.Errorf("last %+v", last)
		}
		if len(kl.Starts) != 1 {
			t.Errorf("starts %v", kl.Starts)
		}
		if _, ok := kl.StartedAfter(k.Time); ok {
			t.Error("started after the kill")
		}
		if r.Timeline == nil || len(r.Timeline.Kills) != 3 {
			t.Errorf("timeline %+v", r.Timeline)
		}
		// --since after the kill: nothing to say.
		r = Scan(context.Background(), Options{Root: root, Location: time.UTC, Since: time.Date(2026, 12, 7, 1, 15, 0, 0, time.UTC)})
		if r.Kills != nil {
			t.Errorf("since: %+v", r.Kills)
		}
		// Explicit paths read no system log.
		r = Scan(context.Background(), Options{Root: root, Paths: []string{filepath.Join(root, "var/log/messages")}, Location: time.UTC})
		if r.Kills != nil {
			t.Errorf("paths: %+v", r.Kills)
		}
	})
	t.Run("iso-twice", func(t *testing.T) {
		root := copyRoot(t, "testdata/kills/root-iso", written)
		r := Scan(context.Background(), Options{Root: root, Location: time.UTC})
		kl := r.Kills
		if kl == nil || len(kl.Kills) != 2 {
			t.Fatalf("kills %+v", kl)
		}
		if s, ok := kl.StartedAfter(kl.Kills[0].Time); !ok || !s.Equal(time.Date(2026, 12, 7, 1, 27, 41, 0, time.UTC)) {
			t.Errorf("restart %v %v", s, ok)
		}
	})
	t.Run("binary", func(t *testing.T) {
		root := copyRoot(t, "testdata/kills/root-binary", written)
		r := Scan(context.Background(), Options{Root: root, Location: time.UTC})
		kl := r.Kills
		if kl == nil || len(kl.Kills) != 0 {
			t.Fatalf("kills %+v", kl)
		}
		var found bool
		for _, s := range kl.Sources {
			if strings.HasSuffix(s.Name, "/var/log/messages") {
				found = s.Status == StatusError && strings.Contains(s.Reason, "not a text log")
			}
		}
		if !found {
			t.Errorf("sources %+v", kl.Sources)
		}
	})
	t.Run("huge", func(t *testing.T) {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "var/log"), 0o755)
		f, err := os.Create(filepath.Join(root, "var/log/syslog"))
		if err != nil {
			t.Fatal(err)
		}
		filler := strings.Repeat("2026-12-07T00:00:00+00:00 h app: filler line of no interest\n", 1000)
		for written := 0; written < MaxSyslogBytes+(1<<20); written += len(filler) {
			f.WriteString(filler)
		}
		f.WriteString("2026-12-07T01:00:00+00:00 h systemd[1]: amazon-ssm-agent.service: Start request repeated too quickly.\n")
		f.Close()
		r := Scan(context.Background(), Options{Root: root, Location: time.UTC})
		kl := r.Kills
		if kl == nil || len(kl.Kills) != 1 || kl.Kills[0].Cause != CauseStartLimit || !strings.Contains(kl.Kills[0].Source, "@tail:") {
			t.Fatalf("kills %+v", kl)
		}
		for _, s := range kl.Sources {
			if strings.HasSuffix(s.Name, "/var/log/syslog") && (s.Status != StatusPartial || s.Bytes > MaxSyslogBytes) {
				t.Errorf("source %+v", s)
			}
		}
	})
	t.Run("link-out", func(t *testing.T) {
		root := t.TempDir()
		outside := t.TempDir()
		os.WriteFile(filepath.Join(outside, "messages"), []byte("2026-12-07T01:00:00+00:00 h systemd[1]: amazon-ssm-agent.service: Start request repeated too quickly.\n"), 0o644)
		os.MkdirAll(filepath.Join(root, "var/log"), 0o755)
		// An absolute link resolves inside the root, where there is nothing.
		os.Symlink(filepath.Join(outside, "messages"), filepath.Join(root, "var/log/messages"))
		r := Scan(context.Background(), Options{Root: root, Location: time.UTC})
		if r.Kills != nil && len(r.Kills.Kills) != 0 {
			t.Fatalf("read through a link out of the root: %+v", r.Kills)
		}
	})
}

// TestScanKillsJournal reads the kernel's and systemd's messages from a
// journal (testdata/journal/oom-kill.export, made into a journal file with
// systemd-journal-remote) through journalctl: the kernel's kill of the
// agent and systemd's lines about its unit, not another process's kill,
// another unit's, or a start line that is not about the agent's unit.
func TestScanKillsJournal(t *testing.T) {
	needJournalctl(t)
	root := journalRootOf(t, "oom-kill")
	r := Scan(context.Background(), Options{Root: root, Journal: true, JournalReader: "journalctl", JournalctlPath: journalctlBin, Location: time.UTC})
	kl := r.Kills
	if kl == nil || len(kl.Kills) != 3 {
		t.Fatalf("kills %+v", kl)
	}
	if k := kl.Kills[0]; k.By != "kernel" || k.PID != 2468 || !strings.Contains(k.Memory, "anon-rss:412345kB") || !strings.HasPrefix(k.Source, "journal:") {
		t.Errorf("kernel kill %+v", k)
	}
	for _, k := range kl.Kills[1:] {
		if k.By != "systemd" || k.Unit != "amazon-ssm-agent.service" || k.Cause != CauseOOM {
			t.Errorf("systemd kill %+v", k)
		}
	}
	if len(kl.Starts) != 0 {
		t.Errorf("starts %v", kl.Starts)
	}
	if s := kl.Sources[0]; s.Kind != SourceJournal || s.Status != StatusRead || s.Lines != 4 {
		t.Errorf("journal source %+v", s)
	}
	// The agent's own journal is read as before.
	if len(r.Sources) == 0 || r.Sources[len(r.Sources)-1].Entries != 1 {
		t.Errorf("sources %+v", r.Sources)
	}
}

// TestScanKillsCancelled: a scan whose time ran out says so for the system
// logs it did not read, and finds no kill in them.
func TestScanKillsCancelled(t *testing.T) {
	root := copyRoot(t, "testdata/kills/root-messages", time.Date(2026, 12, 7, 1, 20, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := Scan(ctx, Options{Root: root, Journal: true, JournalReader: "journalctl", JournalctlPath: journalctlBin, Location: time.UTC})
	if r.Kills == nil || len(r.Kills.Kills) != 0 {
		t.Fatalf("kills %+v", r.Kills)
	}
	for _, s := range r.Kills.Sources {
		if s.Status != StatusSkipped || !strings.Contains(s.Reason, "scan stopped") {
			t.Errorf("source %+v", s)
		}
	}
}
