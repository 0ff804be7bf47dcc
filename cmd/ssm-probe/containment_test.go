//go:build linux

package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostMarker is written into files of the machine running the test, which
// a hostile volume links to; journalMarker is an address only the journal
// fixture holds. Neither may appear in any output.
const (
	hostMarker    = "HOSTMARKER7f3a"
	journalMarker = "172.30.4.52"
)

// containmentRunLimit bounds one run of the binary.
const containmentRunLimit = 20 * time.Second

// hostileVolume builds, beside each other, a directory standing for the
// rescue host's own files and a volume whose resolv.conf, hosts, nsswitch,
// log folder, journal folder and agent config are symbolic links to them
// (absolute, relative climbing out, and to /proc/self/environ).
func hostileVolume(t *testing.T) (root, host string) {
	t.Helper()
	dir := t.TempDir()
	host, root = filepath.Join(dir, "host"), filepath.Join(dir, "volume")
	line := hostMarker + " " + hostMarker + "-value\n"
	writeTestFile(t, filepath.Join(host, "secret"), []byte(line))
	writeTestFile(t, filepath.Join(host, "logs", "amazon-ssm-agent.log"), []byte(
		"2024-03-01 10:00:00 ERROR [HealthCheck] error when calling AWS APIs. error details - RequestError: send request failed\n"+
			"caused by: Post https://"+hostMarker+".example/: dial tcp 10.9.9.9:443: i/o timeout "+hostMarker+"\n"))
	writeTestFile(t, filepath.Join(host, "journal", rescueMachineID, "system.journal"), journalFixture(t))
	links := map[string]string{
		"etc/resolv.conf":                      "/proc/self/environ",
		"etc/hosts":                            strings.Repeat("../", 12) + strings.TrimPrefix(filepath.Join(host, "secret"), "/"),
		"etc/nsswitch.conf":                    filepath.Join(host, "secret"),
		"var/log/amazon/ssm":                   filepath.Join(host, "logs"),
		"var/log/journal":                      filepath.Join(host, "journal"),
		"etc/amazon/ssm/amazon-ssm-agent.json": filepath.Join(host, "secret"),
	}
	for rel, target := range links {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	return root, host
}

// journalFixture returns the real journal file of the journal package's
// fixtures, which mentions journalMarker.
func journalFixture(t *testing.T) []byte {
	t.Helper()
	fh, err := os.Open("../../journal/testdata/journal/endpoint-timeouts.journal.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxJournalFixture))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runBinary runs the built probe with args and an environment whose first
// variable carries the marker (what /proc/self/environ shows first), and
// returns stdout and stderr.
func runBinary(t *testing.T, bin string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{hostMarker + "=" + hostMarker, "PATH=/usr/bin:/bin"}
	out, errs, _ := runBounded(t, cmd, containmentRunLimit)
	return out, errs
}

// runBounded runs cmd, killing it and failing the test when it runs over
// limit, and returns its stdout, stderr and exit error.
func runBounded(t *testing.T, cmd *exec.Cmd, limit time.Duration) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatalf("%v: %v", cmd.Args, err)
		}
		return out.String(), errb.String(), code
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v ran over %v", cmd.Args, limit)
	}
	return "", "", 0
}

// buildProbe builds the static binary into dir.
func buildProbe(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ssm-probe")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// TestVolumeLinksStayInside runs the binary in rescue mode on a volume
// whose files and folders link to files of the machine running it, each
// carrying a marker, in every output format with the debug log on, and as
// `ssm-probe logs`: no marker may appear anywhere, and the report must say
// that the links point outside the volume. The same files copied inside a
// volume do show the marker, so the check cannot pass by reading nothing.
func TestVolumeLinksStayInside(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildProbe(t, t.TempDir())
	root, host := hostileVolume(t)
	common := []string{"--root", root, "--since", "0", "--log-level", "debug", "--imds-endpoint", "http://127.0.0.1:1"}
	runs := [][]string{}
	for _, format := range []string{"text", "json", "prom"} {
		runs = append(runs, append([]string{"run", "--format", format, "--no-color"}, common...))
	}
	runs = append(runs, []string{"logs", "--root", root, "--since", "0", "--format", "json", "--log-level", "debug"})
	var outside bool
	for _, args := range runs {
		stdout, stderr := runBinary(t, bin, args...)
		for _, m := range []string{hostMarker, journalMarker} {
			if strings.Contains(stdout, m) || strings.Contains(stderr, m) {
				t.Errorf("%v: the output shows %q, read from outside the volume:\nstdout:\n%s\nstderr:\n%s", args, m, stdout, stderr)
			}
		}
		outside = outside || strings.Contains(stdout, "points outside the volume")
	}
	if !outside {
		t.Error("no report says a link points outside the volume")
	}

	// Control: the same files inside a volume are read, and show the marker.
	inside := filepath.Join(t.TempDir(), "volume")
	writeTestFile(t, filepath.Join(inside, "etc/resolv.conf"), []byte(hostMarker+" x\nnameserver 127.0.0.1\n"))
	b, err := os.ReadFile(filepath.Join(host, "logs", "amazon-ssm-agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(inside, "var/log/amazon/ssm/amazon-ssm-agent.log"), b)
	writeTestFile(t, filepath.Join(inside, "var/log/journal", rescueMachineID, "system.journal"), journalFixture(t))
	stdout, _ := runBinary(t, bin, "run", "--root", inside, "--since", "0", "--format", "json", "--imds-endpoint", "http://127.0.0.1:1")
	if !strings.Contains(stdout, hostMarker) {
		t.Errorf("the control volume's files do not show the marker, so the test above proves nothing:\n%s", stdout)
	}
	if _, err := exec.LookPath("journalctl"); err == nil && !strings.Contains(stdout, journalMarker) {
		t.Errorf("the control volume's journal does not show %s, so the journal part proves nothing:\n%s", journalMarker, stdout)
	}
}

// TestLogsFIFORejected: `ssm-probe logs FIFO` names the FIFO as not a
// regular file, in the report and on stderr, and returns without waiting
// for a writer (bounded here by containmentRunLimit).
func TestLogsFIFORejected(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "amazon-ssm-agent.log")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := runCLI(t, "logs", "--since", "0", "--format", "json", fifo)
		done <- result{code, out, errs}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(containmentRunLimit):
		t.Fatalf("ssm-probe logs %s did not return within %v", fifo, containmentRunLimit)
	}
	if !strings.Contains(r.stderr, "not a regular file") || !strings.Contains(r.stdout, "not a regular file") {
		t.Errorf("exit %d; the FIFO is not named as not a regular file:\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}

// TestObservationsNotRegular: --observations on a FIFO with no writer
// returns at once (bounded here by containmentRunLimit) with a message that
// names the flag and says the path is not a regular file, and so does a
// device and a directory; nothing is diagnosed (exit unknown, no report).
func TestObservationsNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "obs.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, p := range []string{fifo, "/dev/null", dir} {
		type result struct {
			code           int
			stdout, stderr string
		}
		done := make(chan result, 1)
		go func() {
			code, out, errs := runCLI(t, "run", "--observations", p, "--format", "json")
			done <- result{code, out, errs}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(containmentRunLimit):
			t.Fatalf("ssm-probe --observations %s did not return within %v", p, containmentRunLimit)
		}
		if r.code != exitUnknown || r.stdout != "" || !strings.Contains(r.stderr, "--observations") || !strings.Contains(r.stderr, "not a regular file") {
			t.Errorf("--observations %s: exit %d, want %d with a message naming the flag and the file's kind:\nstdout %s\nstderr %s", p, r.code, exitUnknown, r.stdout, r.stderr)
		}
	}
}

// TestOutputHonoursUmask: --output gets 0666 less the umask, as a plain
// create would, not a fixed 0644.
func TestOutputHonoursUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	p := filepath.Join(t.TempDir(), "report.json")
	if err := writeAtomic(p, []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v under umask 077, want 0600", st.Mode().Perm())
	}
}
