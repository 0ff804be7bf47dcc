package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
	w := &nonRootWorld{root: filepath.Join(dir, "root"), bin: filepath.Join(dir, "ssm-probe"), caFile: filepath.Join(dir, "ca.pem")}
	build := exec.Command("go", "build", "-o", w.bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
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

// run runs the binary against the world, as cred when it is not nil.
func (w *nonRootWorld) run(t *testing.T, cred *syscall.Credential) (int, jsonReport) {
	t.Helper()
	cmd := exec.Command(w.bin, "--root", w.root, "--live", "--imds-endpoint", w.imdsURL,
		"--dns-port", fmt.Sprint(w.dnsPort), "--vpc-dns", "127.0.0.1", "--signing-dns", "127.0.0.1", "--endpoint-port", fmt.Sprint(w.endpointPort),
		"--ca-file", w.caFile, "--timeout", "500ms", "--deadline", "5s", "--since", "0", "--format", "json")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(nonRootRunLimit):
		cmd.Process.Kill()
		t.Fatalf("the probe ran over %v", nonRootRunLimit)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var r jsonReport
	if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
		t.Fatalf("exit %d, report not JSON: %v\nstdout %s\nstderr %s", code, jerr, out.String(), errb.String())
	}
	return code, r
}

// TestNonRoot runs the static binary twice over the same healthy loopback
// world: as root, and as nobody. The agent log is readable by root only.
// As nobody, the logs check must be a skip whose reason names the missing
// permission (never a pass over nothing, never a fail), no check may pass
// on data it could not read, and the verdict must not be better than
// root's. It needs root to switch users.
func TestNonRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test runs the probe both as root and as nobody (uid 65534) via syscall.Credential")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	w := newNonRootWorld(t)
	rootCode, asRoot := w.run(t, nil)
	code, asNobody := w.run(t, &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID})
	t.Logf("as root: exit %d, %s; as nobody: exit %d, %s", rootCode, asRoot.Status, code, asNobody.Status)
	for _, c := range asNobody.Checks {
		t.Logf("nobody: %-12s %-8s %-10s %s", c.Name, c.Status, c.Class, c.Reason)
	}
	find := func(r jsonReport, name string) (string, string, string) {
		for _, c := range r.Checks {
			if c.Name == name {
				return c.Status, c.Class, c.Reason
			}
		}
		return "", "", ""
	}
	if st, _, reason := find(asRoot, "logs"); st != "pass" {
		t.Errorf("as root the logs check is %s (%s), want pass", st, reason)
	}
	st, class, reason := find(asNobody, "logs")
	if st != "skip" || !strings.Contains(reason, "permission") {
		t.Errorf("as nobody the logs check is %s/%s %q; want skip with the permission reason", st, class, reason)
	}
	for _, c := range asNobody.Checks {
		if c.Status == "pass" && strings.Contains(c.Reason, "permission denied") {
			t.Errorf("check %s %s passed on data it could not read: %s", c.Name, c.Target, c.Reason)
		}
		if c.Required && c.Status == "skip" && asNobody.Status == "ok" {
			t.Errorf("required check %s %s skipped, yet the verdict is ok", c.Name, c.Target)
		}
	}
	rank := map[string]int{"ok": 0, "warn": 1, "fail": 2, "unknown": 3}
	if rank[asNobody.Status] < rank[asRoot.Status] {
		t.Errorf("as nobody the verdict is %s, better than root's %s", asNobody.Status, asRoot.Status)
	}
}
