//go:build linux

package observe

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// hostileFilesDeadline caps each offline run over a hostile root. It is
// the default --deadline: the 2 GB sparse log must be handled inside it.
const hostileFilesDeadline = DefaultDeadline

// agentLog is the agent's main log under a root.
var agentLog = filepath.Join(journal.AgentLogDir, journal.MainLog)

// catalogLine is an agent log entry the catalog recognises (a dial
// timeout to ssm), used to show that a scan went on past a hostile part.
const catalogLine = "2024-03-01 10:00:00.0000 ERROR [ssm-agent-worker] [HealthCheck] error when calling AWS APIs. " +
	"error details - RequestError: send request failed\ncaused by: Post \"https://ssm.us-east-1.amazonaws.com/\": " +
	"dial tcp 10.0.1.25:443: i/o timeout\n"

// isRoot reports whether the test runs as root, which ignores file modes.
func isRoot() bool { return os.Geteuid() == 0 }

// offlineConfig returns a config that reads the host files under a fresh
// root, with no live checks and no journal (the build machine's journal is
// not part of the fixture).
func offlineConfig(t *testing.T) Config {
	cfg := testConfig(t)
	cfg.Live, cfg.Offline, cfg.NoJournal = false, true, true
	cfg.Deadline = hostileFilesDeadline
	cfg.Since = 0 // the fixtures' log lines are dated 2024: read everything
	writeFile(t, cfg.Root, "etc/resolv.conf", "nameserver 10.0.0.2\n")
	writeFile(t, cfg.Root, "etc/hosts", "127.0.0.1 localhost\n")
	return cfg
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// checkOf returns the first check record named name.
func checkOf(t *testing.T, res *diagnose.Result, name obs.CheckName) obs.CheckRecord {
	t.Helper()
	for _, c := range res.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check", name)
	return obs.CheckRecord{}
}

// TestHostileFiles runs the probe over a root whose files are hostile. In
// every case the run ends inside its deadline, no check panics, the
// hostile file is reported on the check that reads it with the expected
// status and class, and the other checks still run.
func TestHostileFiles(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(t *testing.T, root string)
		check  obs.CheckName  // the check that reads the file
		status obs.Status     // its expected status
		class  errclass.Class // and class
		reason string         // a phrase its reason (or the logs source reason) holds
		after  func(t *testing.T, res *diagnose.Result)
	}{
		{name: "resolv.conf is a FIFO", check: "resolv.conf", status: obs.StatusFail, class: errclass.Malformed,
			reason: "not a regular file",
			setup: func(t *testing.T, root string) {
				p := filepath.Join(root, "etc/resolv.conf")
				mustDo(t, os.Remove(p))
				mustDo(t, syscall.Mkfifo(p, 0o644))
			}},
		{name: "resolv.conf links to /dev/zero", check: "resolv.conf", status: obs.StatusFail, class: errclass.Malformed,
			reason: "not a regular file",
			setup: func(t *testing.T, root string) {
				if !isRoot() {
					t.Skip("needs root to create a character device inside the test root")
				}
				mustDo(t, os.MkdirAll(filepath.Join(root, "dev"), 0o755))
				// 1,5 is /dev/zero (Documentation/admin-guide/devices.txt).
				mustDo(t, syscall.Mknod(filepath.Join(root, "dev/zero"), syscall.S_IFCHR|0o666, 1<<8|5))
				p := filepath.Join(root, "etc/resolv.conf")
				mustDo(t, os.Remove(p))
				mustDo(t, os.Symlink("/dev/zero", p))
			}},
		{name: "resolv.conf is a symlink loop", check: "resolv.conf", status: obs.StatusFail, class: errclass.Other,
			reason: "too many levels of symbolic links",
			setup: func(t *testing.T, root string) {
				p := filepath.Join(root, "etc/resolv.conf")
				mustDo(t, os.Remove(p))
				mustDo(t, os.Symlink("resolv.conf.loop", p))
				mustDo(t, os.Symlink("resolv.conf", filepath.Join(root, "etc/resolv.conf.loop")))
			}},
		{name: "resolv.conf is a directory", check: "resolv.conf", status: obs.StatusFail, class: errclass.Malformed,
			reason: "not a regular file",
			setup: func(t *testing.T, root string) {
				p := filepath.Join(root, "etc/resolv.conf")
				mustDo(t, os.Remove(p))
				mustDo(t, os.Mkdir(p, 0o755))
			}},
		{name: "resolv.conf mode 000", check: "resolv.conf", status: obs.StatusFail, class: errclass.Permission,
			setup: func(t *testing.T, root string) {
				mustDo(t, os.Chmod(filepath.Join(root, "etc/resolv.conf"), 0))
			}},
		{name: "binary /var/log/messages", check: "logs", status: obs.StatusWarn, reason: "not a text log",
			setup: func(t *testing.T, root string) {
				writeFile(t, root, agentLog, catalogLine)
				writeFile(t, root, "var/log/messages", strings.Repeat("\x00\x01\x02\x7f\x1b", 4096))
			}},
		{name: "2 GB sparse /var/log/syslog ending in a kill", check: "logs", status: obs.StatusPass, reason: "1 kill line(s)",
			setup: func(t *testing.T, root string) {
				writeFile(t, root, agentLog, catalogLine)
				p := filepath.Join(root, "var/log/syslog")
				writeFile(t, root, "var/log/syslog", "")
				mustDo(t, os.Truncate(p, 2<<30))
				f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
				mustDo(t, err)
				_, err = f.WriteString("\n2024-03-01T10:05:00+00:00 h systemd[1]: amazon-ssm-agent.service: Failed with result 'oom-kill'.\n")
				mustDo(t, err)
				mustDo(t, f.Close())
			},
			after: func(t *testing.T, res *diagnose.Result) {
				r := checkOf(t, res, "logs").Detail.(*journal.Result)
				if r.Kills == nil || len(r.Kills.Kills) != 1 || r.Kills.Sources[0].Bytes > journal.MaxSyslogBytes {
					t.Errorf("kills %+v", r.Kills)
				}
			}},
		{name: "/var/log/messages links out of the volume", check: "logs", status: obs.StatusWarn, reason: "points outside the volume",
			setup: func(t *testing.T, root string) {
				writeFile(t, root, agentLog, catalogLine)
				out := filepath.Join(t.TempDir(), "messages")
				mustDo(t, os.WriteFile(out, []byte("2024-03-01T10:05:00+00:00 h systemd[1]: amazon-ssm-agent.service: Failed with result 'oom-kill'.\n"), 0o644))
				mustDo(t, os.MkdirAll(filepath.Join(root, "var/log"), 0o755))
				mustDo(t, os.Symlink(out, filepath.Join(root, "var/log/messages")))
			},
			after: func(t *testing.T, res *diagnose.Result) {
				if r := checkOf(t, res, "logs").Detail.(*journal.Result); r.Kills == nil || len(r.Kills.Kills) != 0 {
					t.Errorf("read through a link out of the volume: %+v", r.Kills)
				}
			}},
		{name: "2 GB sparse agent log", check: "logs", status: obs.StatusWarn, reason: "budget",
			setup: func(t *testing.T, root string) {
				writeFile(t, root, agentLog, catalogLine)
				mustDo(t, os.Truncate(filepath.Join(root, agentLog), 2<<30))
			},
			after: func(t *testing.T, res *diagnose.Result) {
				r := checkOf(t, res, "logs").Detail.(*journal.Result)
				if r.BytesRead > journal.DefaultByteBudget || !r.BudgetExhausted {
					t.Errorf("read %d bytes (budget %d), exhausted %v", r.BytesRead, journal.DefaultByteBudget, r.BudgetExhausted)
				}
			}},
		{name: "agent log with a 100 MB line", check: "logs", status: obs.StatusPass,
			setup: func(t *testing.T, root string) {
				long := "2024-03-01 09:00:00.0000 INFO " + strings.Repeat("x", 100<<20) + "\n"
				writeFile(t, root, agentLog, long+catalogLine)
			},
			after: func(t *testing.T, res *diagnose.Result) {
				r := checkOf(t, res, "logs").Detail.(*journal.Result)
				if len(r.Events) == 0 {
					t.Errorf("the entry after the long line was not recognised: %+v", r.Sources)
				}
				if len(r.Sources) == 0 || r.Sources[0].Malformed == 0 {
					t.Errorf("the long line was not counted as malformed: %+v", r.Sources)
				}
			}},
		{name: "agent log mode 000", check: "logs", status: obs.StatusSkip, reason: "permission",
			setup: func(t *testing.T, root string) {
				writeFile(t, root, agentLog, catalogLine)
				mustDo(t, os.Chmod(filepath.Join(root, agentLog), 0))
			}},
		{name: "agent log is a directory", check: "logs", status: obs.StatusSkip,
			setup: func(t *testing.T, root string) {
				mustDo(t, os.MkdirAll(filepath.Join(root, agentLog), 0o755))
			}},
		{name: "agent log directory is a symlink loop", check: "logs", status: obs.StatusSkip,
			setup: func(t *testing.T, root string) {
				d := filepath.Join(root, journal.AgentLogDir)
				mustDo(t, os.MkdirAll(filepath.Dir(d), 0o755))
				mustDo(t, os.Symlink("ssm", d))
			}},
		{name: "agent config is a FIFO", check: "agent", status: obs.StatusFail, reason: "not installed",
			setup: func(t *testing.T, root string) {
				p := filepath.Join(root, agent.ConfigPath)
				mustDo(t, os.MkdirAll(filepath.Dir(p), 0o755))
				mustDo(t, syscall.Mkfifo(p, 0o644))
			},
			after: func(t *testing.T, res *diagnose.Result) {
				f := checkOf(t, res, "agent").Detail.(*agent.Facts)
				for _, p := range f.Problems {
					if p.Path == agent.ConfigPath && p.Class != errclass.None {
						return
					}
				}
				t.Errorf("no problem recorded for the FIFO %s: %+v", agent.ConfigPath, f.Problems)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := offlineConfig(t)
			c.setup(t, cfg.Root)
			if c.status == obs.StatusFail && c.class == errclass.Permission && isRoot() {
				// Root reads a mode-000 file: the honest expectation is a pass.
				c.status, c.class = obs.StatusPass, errclass.None
			}
			if c.reason == "permission" && isRoot() {
				c.status, c.reason = obs.StatusPass, ""
			}
			t0 := time.Now()
			res := runBounded(t, cfg)
			took := time.Since(t0)
			got := checkOf(t, res, c.check)
			t.Logf("%s: %s %s %q (%v)", c.check, got.Status, got.Class, got.Reason, took.Round(time.Millisecond))
			if got.Status != c.status || (c.class != "" && got.Class != c.class) {
				t.Errorf("%s check: %s/%s, want %s/%s (%s)", c.check, got.Status, got.Class, c.status, c.class, got.Reason)
			}
			if c.reason != "" && !strings.Contains(got.Reason, c.reason) {
				t.Errorf("%s reason %q does not say %q", c.check, got.Reason, c.reason)
			}
			for _, r := range res.Checks {
				if r.Status == obs.StatusError || r.Status == obs.StatusTimeout {
					t.Errorf("check %s %s: %s %s", r.Name, r.Target, r.Status, r.Reason)
				}
			}
			if c.after != nil {
				c.after(t, res)
			}
		})
	}
}
