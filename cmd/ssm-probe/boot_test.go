//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe"
	"github.com/ssm-probe/ssm-probe/probe/agent/agenttest"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs/rootfstest"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
	"github.com/ssm-probe/ssm-probe/probe/report"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// Loopback world of the boot tests: the "VPC" is 127.0.0.0/16 and the
// service endpoints are 127.0.1.11 and up, so no packet leaves loopback.
const (
	bootRegion = "ap-northeast-1"

	// bootAttempt is the per-attempt timeout of the CLI runs: far above a
	// loopback round trip, short enough that a refused IMDS is cheap.
	bootAttempt = 700 * time.Millisecond

	// bootDeadline caps each probe run of the tests; only a hang reaches it.
	bootDeadline = 8 * time.Second

	// imdsLateStart is when the late IMDS of TestWaitBecomesHealthy starts
	// answering: a few seconds, as an agent or network still coming up.
	imdsLateStart = 2 * time.Second

	// serveTimeout bounds the late IMDS's reads and writes.
	serveTimeout = 10 * time.Second
)

var bootServices = []string{"ssm", "ssmmessages", "ec2messages", "s3", "logs", "kms"}

func writeTestFile(t *testing.T, path string, body []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
}

// bootWorld is a healthy EC2 host on loopback: a host tree (EC2 DMI, the
// deb agent, resolv.conf naming only 127.0.0.1), a DNS server on 127.0.0.1
// that answers every endpoint with a loopback address, TLS endpoints there
// with a test CA, and (unless the test starts its own) a fake IMDS.
type bootWorld struct {
	root, caFile string
	dev          string // stand-ins for the console, the kernel's console list and the serial port
	dnsPort      int
	endpointPort int
}

func newBootWorld(t *testing.T) *bootWorld {
	t.Helper()
	w := &bootWorld{root: t.TempDir(), dev: standInDevices(t, "tty1")}
	// Only the DMI files of the EC2 host fixture: its var/lib/amazon is an
	// absolute symbolic link, which would lead the copy out of the root.
	rootfstest.CopyTree(t, "../../probe/host/testdata/roots/ec2-dmi/sys", filepath.Join(w.root, "sys"))
	rootfstest.CopyTree(t, "../../probe/agent/testdata/roots/deb", w.root)
	writeTestFile(t, filepath.Join(w.root, "etc/resolv.conf"), []byte("nameserver 127.0.0.1\n"))
	writeTestFile(t, filepath.Join(w.root, "etc/hosts"), []byte("127.0.0.1 localhost\n"))
	// A process table with the running agent: under --root a missing one
	// leaves the required agent check a skip, and the verdict unknown.
	agenttest.Write(t, filepath.Join(w.root, "proc"), agenttest.Agent(4242, "PATH=/usr/bin:/bin"))

	zone := resolvtest.Zone{}
	var ips []netip.Addr
	var names []string
	for i, s := range bootServices {
		a := netip.MustParseAddr(fmt.Sprintf("127.0.1.%d", 11+i))
		name := s + "." + bootRegion + ".amazonaws.com"
		zone[name] = resolvtest.Entry{Addrs: []netip.Addr{a}}
		ips, names = append(ips, a), append(names, name)
	}
	w.dnsPort = int(resolvtest.Start(t, zone).Addr.Port())
	ca := nettest.NewCA(t, "ssm-probe boot test root")
	w.endpointPort = nettest.ServeTLS(t, ips, ca.Leaf(t, names...), nettest.AWSHandler(0))
	w.caFile = filepath.Join(t.TempDir(), "ca.pem")
	writeTestFile(t, w.caFile, ca.PEM)
	return w
}

// imdsConfig is the fake IMDS of a healthy instance in the loopback VPC.
func imdsConfig() imdstest.Config {
	c := imdstest.DefaultConfig(imdstest.V2Required)
	c.Region, c.VPCCIDRs, c.SubnetCIDR = bootRegion, []string{"127.0.0.0/16"}, "127.0.0.0/24"
	return c
}

// args returns the flags that keep a run on loopback: every endpoint the
// probe could reach is named explicitly.
func (w *bootWorld) args(imdsURL string, more ...string) []string {
	return append([]string{"run", "--root", w.root, "--live", "--no-color",
		"--imds-endpoint", imdsURL, "--vpc-dns", "127.0.0.1", "--signing-dns", "127.0.0.1",
		"--proc-dir", filepath.Join(w.root, "proc"),
		"--dns-port", strconv.Itoa(w.dnsPort), "--endpoint-port", strconv.Itoa(w.endpointPort),
		"--ca-file", w.caFile, "--timeout", bootAttempt.String(), "--deadline", bootDeadline.String(),
		"--since", "0", "--console-path", filepath.Join(w.dev, "console"),
		"--console-active", filepath.Join(w.dev, "active"), "--tty-dir", w.dev}, more...)
}

// standInDevices makes a directory standing in for the boot-mode devices:
// "console", "ttyS0" and "ttyS1" (empty files) and "active", the kernel's
// console list, holding active. The run's flags point there with
// --console-path DIR/console --console-active DIR/active --tty-dir DIR.
func standInDevices(t *testing.T, active string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"console", "ttyS0", "ttyS1"} {
		writeTestFile(t, filepath.Join(dir, name), nil)
	}
	writeTestFile(t, filepath.Join(dir, "active"), []byte(active+"\n"))
	return dir
}

// devArgs are the flags that point a run's boot-mode writes at dir.
func devArgs(dir string) []string {
	return []string{"--console-path", filepath.Join(dir, "console"),
		"--console-active", filepath.Join(dir, "active"), "--tty-dir", dir}
}

// lateIMDS serves the fake IMDS on a loopback port that refuses connections
// until after delay, like a metadata path still coming up.
func lateIMDS(t *testing.T, delay time.Duration) string {
	t.Helper()
	port := nettest.FreePort(t, netip.MustParseAddr("127.0.0.1"))
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	srv := &http.Server{Handler: imdstest.Handler(imdsConfig()), ReadTimeout: serveTimeout, WriteTimeout: serveTimeout}
	started := make(chan error, 1)
	timer := time.AfterFunc(delay, func() {
		ln, err := net.Listen("tcp", addr)
		started <- err
		if err == nil {
			srv.Serve(ln)
		}
	})
	t.Cleanup(func() {
		timer.Stop()
		srv.Close()
	})
	return "http://" + addr
}

// TestWaitBecomesHealthy: the IMDS refuses connections for the first two
// seconds, so the first attempts fail (imds.unreachable on an EC2 host);
// --wait retries until it answers, and the run ends ok, with the summary
// also on the stand-in console.
func TestWaitBecomesHealthy(t *testing.T) {
	w := newBootWorld(t)
	console := filepath.Join(t.TempDir(), "console")
	writeTestFile(t, console, nil)
	url := lateIMDS(t, imdsLateStart)

	t0 := time.Now()
	code, out, stderr := runCLI(t, w.args(url, "--wait", "30s", "--console", "--console-path", console, "--format", "json")...)
	took := time.Since(t0)
	if code != 0 {
		t.Fatalf("exit %d, want 0 once IMDS answers; stderr:\n%s\nreport:\n%s", code, stderr, out)
	}
	if took < imdsLateStart {
		t.Errorf("ok after %s, before the IMDS started answering at %s", took, imdsLateStart)
	}
	if took > imdsLateStart+2*bootRetryInterval+bootDeadline {
		t.Errorf("took %s: the retries are not paced by bootRetryInterval", took)
	}
	if !strings.Contains(stderr, "--wait: attempt 1: fail (imds.unreachable") || !strings.Contains(stderr, ": ok after") {
		t.Errorf("stderr does not show a failed first attempt and a later ok:\n%s", stderr)
	}
	var doc struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Status != "ok" {
		t.Errorf("report status %q (%v), want ok:\n%s", doc.Status, err, out)
	}
	b, err := os.ReadFile(console)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stderr:\n%s\nconsole:\n%s", stderr, b)
	if !strings.HasPrefix(string(b), "ssm-probe: ===== OK (exit 0)") || !strings.Contains(string(b), "attempt(s) in") {
		t.Errorf("console summary:\n%s", b)
	}
}

// TestWaitGivesUp: an IMDS that never answers keeps the verdict at fail;
// --wait stops once its time has passed and returns the last report.
func TestWaitGivesUp(t *testing.T) {
	w := newBootWorld(t)
	closed := "http://127.0.0.1:" + strconv.Itoa(nettest.FreePort(t, netip.MustParseAddr("127.0.0.1")))
	const wait = 4 * time.Second
	t0 := time.Now()
	code, out, stderr := runCLI(t, w.args(closed, "--wait", wait.String())...)
	took := time.Since(t0)
	if code != 2 || !strings.Contains(out, "[FAIL] imds.unreachable") {
		t.Errorf("exit %d, want 2 with imds.unreachable; report:\n%s", code, out)
	}
	if !strings.Contains(stderr, "giving up after") {
		t.Errorf("stderr does not say --wait gave up:\n%s", stderr)
	}
	if took < wait || took > wait+bootDeadline {
		t.Errorf("took %s, want between --wait %s and --wait plus one attempt", took, wait)
	}
	if n := strings.Count(stderr, "--wait: attempt"); n < 2 {
		t.Errorf("%d attempts, want at least 2:\n%s", n, stderr)
	}
}

// TestWaitLoop checks the loop's bounds with a fake clock: it stops at ok,
// never starts an attempt after Wait has passed, and stops on cancel.
func TestWaitLoop(t *testing.T) {
	verdicts := func(vs ...finding.Verdict) func(context.Context) *probe.Result {
		i := 0
		return func(context.Context) *probe.Result {
			v := vs[min(i, len(vs)-1)]
			i++
			return &probe.Result{Verdict: v}
		}
	}
	for _, tc := range []struct {
		name         string
		wait         time.Duration
		probe        func(context.Context) *probe.Result
		cancelAfter  int // cancel the context after this many sleeps (0: never)
		wantAttempts int
		wantVerdict  finding.Verdict
	}{
		{"no wait runs once", 0, verdicts(finding.VerdictFail), 0, 1, finding.VerdictFail},
		{"ok at once", time.Minute, verdicts(finding.VerdictOK), 0, 1, finding.VerdictOK},
		{"ok on the third", time.Minute, verdicts(finding.VerdictFail, finding.VerdictUnknown, finding.VerdictOK), 0, 3, finding.VerdictOK},
		// 10 s at 3 s a pause: attempts at 0, 3, 6, 9 and 10 s (the last pause is cut to what is left).
		{"warn never clears", 10 * time.Second, verdicts(finding.VerdictWarn), 0, 5, finding.VerdictWarn},
		{"cancelled", time.Minute, verdicts(finding.VerdictFail), 2, 2, finding.VerdictFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sleeps := 0
			var log strings.Builder
			got := waitLoop{
				Wait: tc.wait, Probe: tc.probe, Log: &log,
				Now: func() time.Time { return now },
				Sleep: func(ctx context.Context, d time.Duration) error {
					if d <= 0 || d > bootRetryInterval {
						t.Errorf("pause %s outside (0, %s]", d, bootRetryInterval)
					}
					sleeps++
					if sleeps == tc.cancelAfter {
						cancel()
						return ctx.Err()
					}
					now = now.Add(d)
					return nil
				},
			}.run(ctx)
			if got.attempts != tc.wantAttempts || got.res.Verdict != tc.wantVerdict {
				t.Errorf("%d attempts ending %s, want %d ending %s\n%s", got.attempts, got.res.Verdict,
					tc.wantAttempts, tc.wantVerdict, log.String())
			}
			if got.took > tc.wait {
				t.Errorf("took %s on the fake clock, more than --wait %s", got.took, tc.wait)
			}
		})
	}
}

// failObservations writes the observations of a host whose VPC endpoint's
// security group drops HTTPS (a fail verdict) to a file for --observations.
func failObservations(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../probe/diagnose/testdata/obs/net/endpoint-sg-no-443.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Observations json.RawMessage `json:"observations"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	obs := filepath.Join(t.TempDir(), "obs.json")
	writeTestFile(t, obs, f.Observations)
	return obs
}

// TestConsoleFile writes the summary to a file standing in for the
// console, and checks it is the compact one-screen form.
func TestConsoleFile(t *testing.T) {
	obs := failObservations(t)
	console := filepath.Join(t.TempDir(), "console")
	writeTestFile(t, console, []byte("[    1.234] kernel line already on the console\n"))

	dev := standInDevices(t, "tty1")
	code, out, stderr := runCLI(t, append([]string{"--observations", obs, "--no-color", "--console"}, append(devArgs(dev), "--console-path", console)...)...)
	if code != 2 || !strings.Contains(out, "[FAIL] net.endpoint-blocked") {
		t.Fatalf("exit %d, report:\n%s\nstderr: %s", code, out, stderr)
	}
	got, err := os.ReadFile(console)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(got), "\n"), "\n")
	if lines[0] != "[    1.234] kernel line already on the console" {
		t.Errorf("the console was truncated, not appended to: first line %q", lines[0])
	}
	// The summary, then the fleet line (checked in TestFleetLineCLI).
	if fl := lines[len(lines)-1]; !strings.HasPrefix(fl, consolePrefix+"v1 verdict=fail ") {
		t.Errorf("the console's last line %q is not the fleet line", fl)
	}
	summary := lines[1 : len(lines)-1]
	if len(summary) > 24 {
		t.Errorf("summary is %d lines, more than one screen", len(summary))
	}
	if !strings.HasPrefix(summary[0], "ssm-probe: ===== FAIL (exit 2)") {
		t.Errorf("first summary line %q is not the verdict", summary[0])
	}
	if !strings.Contains(string(got), "ssm-probe: [FAIL] net.endpoint-blocked: ") {
		t.Errorf("the fail finding is not on the summary:\n%s", got)
	}
	for i, l := range summary {
		if !strings.HasPrefix(l, consolePrefix) || len(l) >= consoleWidth {
			t.Errorf("line %d %q: want the %q prefix and under %d columns", i, l, consolePrefix, consoleWidth)
		}
		for _, c := range []byte(l) {
			if c < 0x20 || c >= 0x7f {
				t.Errorf("line %d %q: byte %#x is not printable ASCII", i, l, c)
				break
			}
		}
	}
}

// TestConsoleUnavailable: a console that cannot be opened is said on
// stderr and changes neither the report nor the exit code, and the path
// is never created.
func TestConsoleUnavailable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-console")
	obs := failObservations(t)
	for _, path := range []string{missing, t.TempDir()} { // absent; a directory
		code, out, stderr := runCLI(t, append([]string{"--observations", obs, "--no-color", "--console"},
			append(devArgs(standInDevices(t, "tty1")), "--console-path", path)...)...)
		if code != 2 || !strings.Contains(out, "[FAIL] net.endpoint-blocked") {
			t.Errorf("%s: exit %d, report:\n%s", path, code, out)
		}
		if !strings.Contains(stderr, "--console: cannot write the summary to "+path) {
			t.Errorf("%s: stderr does not say the console failed: %q", path, stderr)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("--console created %s: %v", missing, err)
	}
}

// TestPromFormatCLI: --format prom --output writes the metrics atomically.
func TestPromFormatCLI(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "ssm_probe.prom")
	obs := failObservations(t)
	code, out, stderr := runCLI(t, "--observations", obs, "--format", "prom", "--output", target)
	if code != 2 || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	got, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ssm_probe_status 2\n", `ssm_probe_finding{id="net.endpoint-blocked",severity="fail"} 1` + "\n",
		"# TYPE " + report.MetricLastRun + " gauge\n"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("metrics lack %q:\n%s", want, got)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}
