//go:build linux

package agent

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// inspectFixture runs Inspect on testdata/roots/<name>, scanning its proc
// directory when it has one, and blanks the machine-specific Root.
func inspectFixture(t *testing.T, name string) *Facts {
	t.Helper()
	root := filepath.Join("testdata", "roots", name)
	opt := Options{Root: root, Location: time.UTC}
	if _, err := os.Stat(filepath.Join(root, "proc")); err == nil {
		opt.ProcDir = filepath.Join(root, "proc")
	}
	f := Inspect(context.Background(), opt)
	f.Root = ""
	return f
}

// TestInspectFixtures compares Inspect on each fixture tree with its golden
// file, and checks the facts each fixture exists to show.
func TestInspectFixtures(t *testing.T) {
	cases := []struct {
		name  string
		check func(t *testing.T, f *Facts)
	}{
		{"deb", func(t *testing.T, f *Facts) {
			want(t, "installed", f.Installed, true)
			want(t, "version", f.Version+"/"+f.VersionSource, "3.3.1142.0/dpkg")
			want(t, "credential source", f.CredentialSource, CredentialEC2)
			want(t, "units", f.Units, []Unit{{Path: "/lib/systemd/system/amazon-ssm-agent.service", Enabled: true}})
			want(t, "running reason", f.RunningReason, ReasonOfflineRoot)
		}},
		{"snap", func(t *testing.T, f *Facts) {
			want(t, "installed", f.Installed, true)
			want(t, "version", f.Version+"/"+f.VersionSource, "3.2.1705.0/snap")
			want(t, "first evidence", f.Install[0], InstallEvidence{Kind: KindBinary, Path: SnapBinaryPath})
		}},
		{"not-installed", func(t *testing.T, f *Facts) {
			want(t, "installed", f.Installed, false)
			want(t, "version", f.Version, "")
			want(t, "masked", len(f.Units) == 1 && f.Units[0].Masked, true)
		}},
		{"old", func(t *testing.T, f *Facts) {
			want(t, "version", f.Version+"/"+f.VersionSource, "2.3.50.0/log")
			v, err := f.ParsedVersion()
			want(t, "parse error", err, nil)
			want(t, "below session manager minimum", v.AtLeast(MinSessionManager), false)
			want(t, "package dbs", f.PackageDBs, []string{"rpm:/var/lib/rpm/Packages"})
		}},
		{"overrides", func(t *testing.T, f *Facts) {
			want(t, "config", f.Config, &ConfigOverrides{
				Path: ConfigPath, Region: "ap-northeast-1", ServiceDomain: "amazonaws.com",
				SsmEndpoint: "https://vpce-0abc-ssm.ap-northeast-1.vpce.amazonaws.com",
				MgsEndpoint: "https://vpce-0abc-ssmmessages.ap-northeast-1.vpce.amazonaws.com",
				MdsEndpoint: "https://vpce-0abc-ec2messages.ap-northeast-1.vpce.amazonaws.com",
				KmsEndpoint: "https://kms.ap-northeast-1.amazonaws.com",
			})
		}},
		{"malformed", func(t *testing.T, f *Facts) {
			want(t, "config", f.Config, (*ConfigOverrides)(nil))
			want(t, "problem classes", problemClasses(f), []errclass.Class{errclass.Malformed, errclass.Malformed, errclass.Malformed})
		}},
		{"hibernating", func(t *testing.T, f *Facts) {
			if f.Hibernation == nil {
				t.Fatal("no hibernation facts")
			}
			want(t, "hibernating", f.Hibernation.Hibernating, true)
			want(t, "last", f.Hibernation.LastTime, time.Date(2024, 6, 1, 10, 35, 0, 0, time.UTC))
			want(t, "backoff", f.Hibernation.BackoffSeconds, 1200)
		}},
		{"proxy", func(t *testing.T, f *Facts) {
			want(t, "running", f.RunningChecked && f.Running, true)
			want(t, "pids", f.PIDs, []int{812})
			want(t, "workers", f.Workers, []Process{
				{PID: 840, Name: ProcAgentWorker, By: "cmdline", Exe: "/usr/bin/ssm-agent-worker (deleted)", State: "S", PPID: 1},
				{PID: 901, Name: ProcSessionWorker, By: "comm", State: "S", PPID: 1},
			})
			want(t, "proxy checked", f.ProxyChecked, true)
			if f.Proxy == nil {
				t.Fatalf("no proxy found: %s", f.ProxyReason)
			}
			want(t, "https proxy", f.Proxy.HTTPSProxy, "http://REDACTED@proxy.corp.example:3128")
			want(t, "https proxy raw", f.Proxy.HTTPSProxyURL(), "http://proxyuser:s3cret@proxy.corp.example:3128")
			want(t, "http proxy (upper case wins)", f.Proxy.HTTPProxy, "http://proxy.corp.example:3128")
		}},
		{"no-environ", func(t *testing.T, f *Facts) {
			want(t, "running", f.Running, true)
			want(t, "proxy checked", f.ProxyChecked, false)
			want(t, "proxy reason prefix", strings.HasPrefix(f.ProxyReason, ReasonEnvironFailed), true)
		}},
		{"hybrid", func(t *testing.T, f *Facts) {
			want(t, "registration", f.Registration, &Registration{Path: RegistrationPath, ManagedInstanceID: "mi-0123456789abcdef0", Region: "eu-west-1"})
			want(t, "credential source", f.CredentialSource, CredentialNone)
		}},
		{"procs", func(t *testing.T, f *Facts) {
			want(t, "pids", f.PIDs, []int{812, 900})
			want(t, "units", []string{f.Agents[0].Unit, f.Agents[1].Unit}, []string{"amazon-ssm-agent.service", "snap.amazon-ssm-agent.amazon-ssm-agent.service"})
			want(t, "excluded", excludedPIDs(f), map[int]string{
				600: ExcludedNotAgentBinary, 610: ExcludedNotRoot, 620: ExcludedOtherNetwork, 700: ExcludedExited,
				1500: ExcludedOtherNamespace, 1501: ExcludedOtherNamespace})
			want(t, "workers", f.Workers, []Process(nil))
			want(t, "host namespaces", *f.HostNamespaces, HostNamespaces{Of: "self", PID: "pid:[4026531836]", Mnt: "mnt:[4026531841]", Net: "net:[4026531840]"})
			if f.Proxy == nil {
				t.Fatalf("no proxy found: %s", f.ProxyReason)
			}
			want(t, "the host agent's proxy, not the impostor's, the user's or a container's", f.Proxy.HTTPSProxy, "http://proxy.corp.example:3128")
			for _, p := range f.Excluded {
				if p.Why() == "" {
					t.Errorf("pid %d excluded as %s without a reason", p.PID, p.Excluded)
				}
			}
		}},
		// A user's copy of the agent binary is not the agent, and its
		// proxy is not read (D8b).
		{"user-agent", func(t *testing.T, f *Facts) {
			want(t, "running", f.RunningChecked && !f.Running, true)
			want(t, "proxy", f.Proxy, (*ProxyEnv)(nil))
			want(t, "proxy reason", f.ProxyReason, ReasonNotRunning)
			want(t, "excluded", excludedPIDs(f), map[int]string{3100: ExcludedNotRoot})
			want(t, "uids", f.Excluded[0].UIDs, []int{1000, 1000})
			want(t, "why", strings.Contains(f.Excluded[0].Why(), "runs as uid 1000"), true)
		}},
		// An agent in the host's PID namespace but a container's mount and
		// network namespaces is not this host's (D8b).
		{"hostpid-container", func(t *testing.T, f *Facts) {
			want(t, "running", f.RunningChecked && !f.Running, true)
			want(t, "proxy", f.Proxy, (*ProxyEnv)(nil))
			want(t, "excluded", excludedPIDs(f), map[int]string{3200: ExcludedOtherNetwork})
			want(t, "its namespace", f.Excluded[0].NetNamespace, "net:[4026532615]")
			want(t, "why", strings.Contains(f.Excluded[0].Why(), "another network namespace (net:[4026532615])"), true)
		}},
		// What could not be read makes "running" unknown, never no.
		{"unverified", func(t *testing.T, f *Facts) {
			want(t, "running checked", f.RunningChecked, false)
			want(t, "running", f.Running, false)
			want(t, "reason", f.RunningReason, "not checked: no process could be verified as this host's agent, and pid 812 (amazon-ssm-agent) may be it")
			want(t, "proxy reason", f.ProxyReason, f.RunningReason)
			want(t, "excluded", excludedPIDs(f), map[int]string{812: ExcludedUnverified})
			want(t, "uids", f.Excluded[0].UIDs, []int{0, 0})
			for _, what := range []string{"812/ns/pid (not-found)", "812/exe (not-found)"} {
				if !strings.Contains(f.Excluded[0].Why(), what) {
					t.Errorf("why lacks %q: %s", what, f.Excluded[0].Why())
				}
			}
		}},
		{"zombie", func(t *testing.T, f *Facts) {
			want(t, "running", f.RunningChecked && !f.Running, true)
			want(t, "proxy reason", f.ProxyReason, ReasonNotRunning)
			want(t, "excluded", f.Excluded, []Process{{PID: 4101, Name: ProcAgent, By: "comm", State: "Z", PPID: 4100, Excluded: ExcludedExited}})
			want(t, "why", strings.Contains(f.Excluded[0].Why(), "its parent, pid 4100, has not reaped it"), true)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := inspectFixture(t, tc.name)
			tc.check(t, f)
			golden.JSON(t, filepath.Join("testdata", "golden", tc.name+".want.json"), f)
		})
	}
}

// excludedPIDs maps each excluded process to why it was excluded.
func excludedPIDs(f *Facts) map[int]string {
	m := map[int]string{}
	for _, p := range f.Excluded {
		m[p.PID] = p.Excluded
	}
	return m
}

func want[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %#v, want %#v", what, got, want)
	}
}

func problemClasses(f *Facts) []errclass.Class {
	var c []errclass.Class
	for _, p := range f.Problems {
		c = append(c, p.Class)
	}
	return c
}

// TestLiveProcScan scans this machine's real /proc: it must complete and
// say it checked. Nothing else about this machine is assumed.
func TestLiveProcScan(t *testing.T) {
	if _, err := os.Stat("/proc/self"); err != nil {
		t.Skip("no /proc here")
	}
	f := Inspect(context.Background(), Options{Root: "/", Exec: false})
	if !f.RunningChecked {
		t.Fatalf("live scan not checked: %s", f.RunningReason)
	}
	if !f.Running && f.ProxyReason != ReasonNotRunning {
		t.Errorf("agent not running, proxy reason %q", f.ProxyReason)
	}
}

// TestHostileFiles plants a FIFO, a directory and an oversized file where
// the agent's files belong; Inspect must neither block nor fail.
func TestHostileFiles(t *testing.T) {
	root := t.TempDir()
	mk := func(p string) string {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		return full
	}
	if err := syscall.Mkfifo(mk(HibernateLogPath), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(mk(AgentLogPath), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(mk(IdentityPath), 0o755); err != nil {
		t.Fatal(err)
	}
	big := `{"Agent":{"Region":"` + strings.Repeat("x", MaxConfigBytes) + `"}}`
	if err := os.WriteFile(mk(ConfigPath), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan *Facts, 1)
	go func() { done <- Inspect(context.Background(), Options{Root: root}) }()
	var f *Facts
	select {
	case f = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Inspect blocked on a FIFO")
	}
	got := map[string]errclass.Class{}
	for _, p := range f.Problems {
		got[p.Path] = p.Class
	}
	want(t, "problems", got, map[string]errclass.Class{
		HibernateLogPath: errclass.Other, AgentLogPath: errclass.Other,
		IdentityPath: errclass.Other, ConfigPath: errclass.Malformed,
	})
	want(t, "config", f.Config, (*ConfigOverrides)(nil))
}

// TestCanceled checks that a cancelled context stops Inspect with a Problem.
func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := Inspect(ctx, Options{Root: filepath.Join("testdata", "roots", "deb")})
	want(t, "classes", problemClasses(f), []errclass.Class{errclass.Canceled})
	want(t, "installed", f.Installed, false)
}

// TestEnvironReason checks the wording for an environ that only root may read.
func TestEnvironReason(t *testing.T) {
	perm := &os.PathError{Op: "open", Path: "/proc/1/environ", Err: syscall.EACCES}
	want(t, "permission", environReason(perm), ReasonEnvironRoot)
	missing := &os.PathError{Op: "open", Path: "/proc/1/environ", Err: syscall.ENOENT}
	want(t, "missing", strings.HasPrefix(environReason(missing), ReasonEnvironFailed+": "), true)
}

// TestEnvironUnreadableAsUser reads a mode-0000 environ as an unprivileged
// user when the test runs as root and can switch; otherwise it is skipped.
func TestEnvironUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file; the permission path is covered by TestEnvironReason")
	}
	procDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(procDir, "5"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(procDir, "5", "comm"), []byte("amazon-ssm-agen\n"), 0o644)
	os.WriteFile(filepath.Join(procDir, "5", "environ"), []byte("https_proxy=x\x00"), 0o000)
	f := Inspect(context.Background(), Options{Root: t.TempDir(), ProcDir: procDir})
	want(t, "reason", f.ProxyReason, ReasonEnvironRoot)
	want(t, "checked", f.ProxyChecked, false)
}
