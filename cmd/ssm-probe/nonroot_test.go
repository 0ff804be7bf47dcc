//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/agent/agenttest"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// nonRootRunLimit bounds one run of the binary in the non-root test: its
// --deadline plus the time to start and write the report.
const nonRootRunLimit = 10 * time.Second

// nobodyUID and nobodyGID are the unprivileged user the test runs the
// probe as (Debian's nobody:nogroup).
const nobodyUID, nobodyGID = 65534, 65534

// nonRootWorld is a healthy loopback world: a fake IMDS whose VPC is
// 127.0.0.0/16, a resolver answering every service name with an address
// on which an HTTPS endpoint answers, and a host root whose agent log is
// readable by root only.
type nonRootWorld struct {
	root, bin, caFile, imdsURL string
	dnsPort, endpointPort      int
}

func newNonRootWorld(t *testing.T) *nonRootWorld {
	t.Helper()
	dir := t.TempDir()
	// The test's temporary directories are 0700: let nobody reach the
	// binary and the root (the parent belongs to this test alone).
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w := &nonRootWorld{root: filepath.Join(dir, "root"), bin: buildProbe(t, dir), caFile: filepath.Join(dir, "ca.pem")}
	ic := imdstest.DefaultConfig(imdstest.V2Required)
	ic.VPCCIDRs = []string{"127.0.0.0/16"}
	srv := imdstest.New(ic)
	t.Cleanup(srv.Close)
	w.imdsURL = srv.URL

	ep := netip.MustParseAddr("127.0.3.1")
	zone := resolvtest.Zone{}
	var names []string
	for _, s := range []string{"ssm", "ssmmessages", "ec2messages", "s3", "logs", "kms"} {
		h := s + "." + ic.Region + ".amazonaws.com"
		names = append(names, h)
		zone[h] = resolvtest.Entry{Addrs: []netip.Addr{ep}}
	}
	w.dnsPort = int(resolvtest.Start(t, zone).Addr.Port())
	ca := nettest.NewCA(t, "ssm-probe non-root test CA")
	w.endpointPort = nettest.ServeTLS(t, []netip.Addr{ep}, ca.Leaf(t, names...), nettest.AWSHandler(0))
	write := func(rel, body string, mode os.FileMode) {
		p := filepath.Join(w.root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/resolv.conf", "nameserver 127.0.0.1\n", 0o644)
	write("etc/hosts", "127.0.0.1 localhost\n", 0o644)
	write("var/log/amazon/ssm/amazon-ssm-agent.log",
		"2024-03-01 10:00:00.0000 INFO [ssm-agent-worker] amazon-ssm-agent - v3.3.1142.0\n", 0o600)
	// The host facts a non-root user may not read: the agent's config,
	// identity and registration, the journal, the running agent's environ.
	write("usr/bin/amazon-ssm-agent", "#!/bin/true\n", 0o755)
	write("etc/amazon/ssm/amazon-ssm-agent.json", `{"Agent":{"Region":"`+ic.Region+`"}}`, 0o600)
	write("var/lib/amazon/ssm/runtimeconfig/identity_config.json", `{"CredentialSource":"EC2"}`, 0o600)
	write("var/lib/amazon/ssm/registration", `{"ManagedInstanceID":"mi-0123456789abcdef0","Region":"`+ic.Region+`"}`, 0o600)
	// The agent's Vault, root's as the agent keeps it: a directory nobody
	// may search.
	write("var/lib/amazon/ssm/Vault/Manifest", `{}`, 0o600)
	write("var/lib/amazon/ssm/Vault/Store/EC2RegistrationKey", `{"instanceID":"i-0fedcba9876543210","region":"`+ic.Region+`"}`, 0o600)
	if err := os.Chmod(filepath.Join(w.root, "var/lib/amazon/ssm/Vault"), 0o700); err != nil {
		t.Fatal(err)
	}
	// root's home, 0700 as distributions make it, with a default profile.
	write("root/.aws/credentials", "[default]\naws_access_key_id = AKIANONROOTPLANTED01\n", 0o600)
	if err := os.Chmod(filepath.Join(w.root, "root"), 0o700); err != nil {
		t.Fatal(err)
	}
	write("var/log/journal/0123456789abcdef0123456789abcdef/system.journal", "not a journal\n", 0o600)
	if err := os.Chmod(filepath.Join(w.root, "var/log/journal"), 0o700); err != nil {
		t.Fatal(err)
	}
	agenttest.Write(t, filepath.Join(w.root, "proc"), agenttest.Agent(4242, "PATH=/usr/bin:/bin"))
	if err := os.WriteFile(w.caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// jsonReport is the part of the JSON report the test reads.
type jsonReport struct {
	Status string `json:"status"`
	Checks []struct {
		Name     string `json:"name"`
		Target   string `json:"target"`
		Status   string `json:"status"`
		Required bool   `json:"required"`
		Class    string `json:"class"`
		Reason   string `json:"reason"`
	} `json:"checks"`
}

// run runs the binary against the world, as cred when it is not nil:
// with the loopback peers when live, else offline (--root alone).
func (w *nonRootWorld) run(t *testing.T, cred *syscall.Credential, live bool) (int, jsonReport) {
	t.Helper()
	args := []string{"--root", w.root, "--imds-endpoint", w.imdsURL, "--proc-dir", filepath.Join(w.root, "proc"),
		"--timeout", "500ms", "--deadline", "5s", "--since", "0", "--format", "json"}
	if live {
		args = append(args, "--live", "--dns-port", fmt.Sprint(w.dnsPort), "--vpc-dns", "127.0.0.1", "--signing-dns", "127.0.0.1",
			"--endpoint-port", fmt.Sprint(w.endpointPort), "--ca-file", w.caFile)
	}
	cmd := exec.Command(w.bin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	stdout, stderr, code := runBounded(t, cmd, nonRootRunLimit)
	var r jsonReport
	if jerr := json.Unmarshal([]byte(stdout), &r); jerr != nil {
		t.Fatalf("exit %d, report not JSON: %v\nstdout %s\nstderr %s", code, jerr, stdout, stderr)
	}
	return code, r
}

// TestNonRoot runs the static binary over the same fixture tree as root
// and as nobody (uid 65534, gid 65534, no supplementary groups, as
// `setpriv --reuid nobody --regid nogroup --clear-groups` would), once
// offline and once with loopback peers. The agent's log, config, identity,
// registration, Vault, journal and environ are readable by root only. As nobody,
// the checks that need them must skip with "needs root to read" (never a
// pass over nothing), a required one makes the verdict unknown, and the
// verdict is never better than root's: never ok where root says fail or
// warn. It needs root to switch users.
func TestNonRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test runs the probe both as root and as nobody (uid 65534) via syscall.Credential")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	w := newNonRootWorld(t)
	nobody := &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID, Groups: []uint32{}}
	for _, live := range []bool{false, true} {
		t.Run(map[bool]string{false: "offline", true: "loopback peers"}[live], func(t *testing.T) {
			rootCode, asRoot := w.run(t, nil, live)
			code, asNobody := w.run(t, nobody, live)
			t.Logf("as root: exit %d, %s; as nobody: exit %d, %s", rootCode, asRoot.Status, code, asNobody.Status)
			for _, c := range asNobody.Checks {
				t.Logf("nobody: %-12s %-8s %-10s %s", c.Name, c.Status, c.Class, c.Reason)
			}
			find := func(r jsonReport, name string) (string, string, string, bool) {
				for _, c := range r.Checks {
					if c.Name == name {
						return c.Status, c.Class, c.Reason, c.Required
					}
				}
				return "", "", "", false
			}
			if st, _, reason, _ := find(asRoot, "logs"); st != "pass" && st != "warn" {
				t.Errorf("as root the logs check is %s (%s), want it read", st, reason)
			}
			for _, name := range []string{"logs", "agent"} {
				st, _, reason, req := find(asNobody, name)
				if st != "skip" || !strings.Contains(reason, "needs root to read") || !req {
					t.Errorf("as nobody the %s check is %s, required %v, %q; want a required skip that says it needs root", name, st, req, reason)
				}
			}
			if st, _, reason, _ := find(asNobody, "agent"); !strings.Contains(reason, "amazon-ssm-agent.json") ||
				!strings.Contains(reason, "identity_config.json") || !strings.Contains(reason, "registration") ||
				!strings.Contains(reason, "/var/lib/amazon/ssm/Vault") {
				t.Errorf("as nobody the agent check (%s) does not name every unreadable file: %s", st, reason)
			}
			// Root's 0700 home hides only what a warning could come from:
			// it is a note, not one of the files that hold back the check.
			if _, _, reason, _ := find(asNobody, "agent"); strings.Contains(reason, "/root/.aws") {
				t.Errorf("as nobody the agent check is held back by root's AWS files: %s", reason)
			}
			if live {
				if st, _, reason, req := find(asNobody, "agent.proxy"); st != "skip" || !req || !strings.Contains(reason, "needs root to read /proc/<pid>/environ") {
					t.Errorf("as nobody the agent.proxy check is %s, required %v: %s; want a required skip that needs root", st, req, reason)
				}
			}
			if st, _, reason, _ := find(asNobody, "logs"); !strings.Contains(reason, "journal") {
				t.Errorf("as nobody the logs check (%s) does not name the journal: %s", st, reason)
			}
			for _, c := range asNobody.Checks {
				if c.Status == "pass" && strings.Contains(c.Reason, "permission denied") {
					t.Errorf("check %s %s passed on data it could not read: %s", c.Name, c.Target, c.Reason)
				}
			}
			if asNobody.Status != "unknown" {
				t.Errorf("as nobody the verdict is %s; required checks could not look, so it must be unknown", asNobody.Status)
			}
			rank := map[string]int{"ok": 0, "warn": 1, "fail": 2, "unknown": 3}
			if rank[asNobody.Status] < rank[asRoot.Status] || asNobody.Status == "ok" && asRoot.Status != "ok" {
				t.Errorf("as nobody the verdict is %s, better than root's %s", asNobody.Status, asRoot.Status)
			}
		})
	}
}

// TestNonRootHidePID: in a private mount namespace, a new proc
// instance is mounted hidepid=invisible and given as the process table,
// over a root whose agent files anyone may read. Run as nobody, the probe
// sees none of root's processes there: its agent check must say it could
// not look (skip, naming hidepid), never "installed, not running". Run as
// root over the same mount, hidepid hides nothing and the scan answers.
// Nothing is mounted outside the namespace, which ends with the run.
func TestNonRootHidePID(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts a proc instance in a private mount namespace and runs the probe as nobody")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, tool := range []string{"unshare", "setpriv", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s (util-linux)", tool)
		}
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin, root, procDir := buildProbe(t, dir), filepath.Join(dir, "root"), filepath.Join(dir, "hidden-proc")
	if err := os.MkdirAll(filepath.Join(root, "usr", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr", "bin", "amazon-ssm-agent"), []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(procDir, 0o755); err != nil {
		t.Fatal(err)
	}
	const mountFailed = 97
	run := func(asNobody bool) jsonReport {
		t.Helper()
		script := `mount -t proc -o hidepid=invisible proc "$1" || exit 97; shift; exec "$@"`
		args := []string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", procDir}
		if asNobody {
			args = append(args, "setpriv", "--reuid", fmt.Sprint(nobodyUID), "--regid", fmt.Sprint(nobodyGID), "--clear-groups")
		}
		args = append(args, bin, "--root", root, "--imds-endpoint", "http://127.0.0.1:9", "--proc-dir", procDir,
			"--timeout", "500ms", "--deadline", "5s", "--since", "0", "--format", "json")
		cmd := exec.Command("unshare", args...)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
		stdout, stderr, code := runBounded(t, cmd, nonRootRunLimit)
		if code == mountFailed {
			t.Skipf("cannot mount a proc instance with hidepid here: %s", stderr)
		}
		var r jsonReport
		if jerr := json.Unmarshal([]byte(stdout), &r); jerr != nil {
			t.Fatalf("report not JSON: %v (exit %d)\nstdout %s\nstderr %s", jerr, code, stdout, stderr)
		}
		return r
	}
	agentCheck := func(r jsonReport) (string, string) {
		for _, c := range r.Checks {
			if c.Name == "agent" {
				return c.Status, c.Reason
			}
		}
		t.Fatal("no agent check")
		return "", ""
	}
	st, reason := agentCheck(run(true))
	if st != "skip" || !strings.Contains(reason, procDir+" is mounted hidepid=invisible") || strings.Contains(reason, "not running") {
		t.Errorf("as nobody under hidepid the agent check is %s: %q; want a skip that names hidepid", st, reason)
	}
	if st, reason := agentCheck(run(false)); strings.Contains(reason, "hidepid") {
		t.Errorf("as root the agent check is %s: %q; hidepid hides nothing from root", st, reason)
	}
}
