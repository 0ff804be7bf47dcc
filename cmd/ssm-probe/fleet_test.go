//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
	"github.com/ssm-probe/ssm-probe/probe"
	"github.com/ssm-probe/ssm-probe/probe/agent/agenttest"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
)

// fleetLineRE is the fleet line's grammar as docs/INTERFACE.md states it:
// fixed keys in a fixed order, no blank inside a value.
var fleetLineRE = regexp.MustCompile(`^ssm-probe: v1 verdict=(ok|warn|fail|unknown) ids=(-|[a-z0-9.-]+(,[a-z0-9.-]+)*|\?) instance=[^ ]+ region=[^ ]+ since=(-|[0-9TZ:-]+) took_ms=[0-9]+\n$`)

// TestFleetLineGolden renders the fleet line of runs that differ in one
// thing each; every line keeps the grammar.
func TestFleetLineGolden(t *testing.T) {
	since := time.Date(2026, 11, 22, 19, 1, 0, 0, time.FixedZone("JST", 9*3600))
	ctx := diagnose.Context{Mode: "ec2", InstanceID: "i-0123456789abcdef0", Region: "ap-northeast-1"}
	fail := []finding.Finding{
		{ID: "net.endpoint-blocked", Severity: finding.SevFail, Since: since},
		{ID: "agent.hibernating", Severity: finding.SevWarn},
		{ID: "host.info-only", Severity: finding.SevInfo},
	}
	cases := []struct {
		name string
		wr   waitResult
	}{
		{"fail, dated", waitResult{res: &probe.Result{Verdict: finding.VerdictFail, Context: ctx, Findings: fail}, attempts: 3, took: 2015 * time.Millisecond}},
		{"ok", waitResult{res: &probe.Result{Verdict: finding.VerdictOK, Context: ctx}, attempts: 1, took: 812 * time.Millisecond}},
		{"unknown, hybrid", waitResult{res: &probe.Result{Verdict: finding.VerdictUnknown, Context: diagnose.Context{Mode: "hybrid", InstanceID: "mi-0123456789abcdef0"},
			Findings: []finding.Finding{{ID: diagnose.ProbeIncomplete, Severity: finding.SevInfo}}}, took: time.Second}},
		{"nothing known", waitResult{res: &probe.Result{}}},
		{"a replay: the saved run's duration", waitResult{res: &probe.Result{Verdict: finding.VerdictWarn, Context: ctx, Duration: 1500 * time.Millisecond,
			Findings: []finding.Finding{{ID: "agent.hibernating", Severity: finding.SevWarn}}}}},
		{"hostile values", waitResult{res: &probe.Result{Verdict: "broken verdict", Findings: []finding.Finding{{ID: "not an id", Severity: finding.SevFail}},
			Context: diagnose.Context{InstanceID: "i-0123 verdict=ok", Region: "eu-west-1 http://alice:Pw0rd@proxy:3128"}}, took: time.Millisecond}},
	}
	var all bytes.Buffer
	for _, c := range cases {
		line := fleetLine(c.wr)
		if !fleetLineRE.MatchString(line) {
			t.Errorf("%s: %q breaks the fleet line's grammar", c.name, line)
		}
		all.WriteString("# " + c.name + "\n" + line)
	}
	if strings.Contains(all.String(), "Pw0rd") || strings.Contains(all.String(), "alice") {
		t.Errorf("a value read from the host reached the line as it was:\n%s", all.String())
	}
	golden.Bytes(t, filepath.Join("testdata", "fleet-line.txt"), all.Bytes())
}

// TestSerialPort: the fleet line's serial port is the first serial port of
// the kernel's console list, else ttyS0, and none when /dev/console (the
// list's last entry) already is that port.
func TestSerialPort(t *testing.T) {
	for _, c := range []struct {
		active *string
		want   string // "" none
	}{
		{ptr("ttyS0 tty1"), "ttyS0"},
		{ptr("ttyS1 tty0"), "ttyS1"},
		{ptr("tty1 ttyS0"), ""}, // /dev/console is ttyS0
		{ptr("ttyS1 ttyS0"), "ttyS1"},
		{ptr("ttyS0"), ""},        // /dev/console is the serial port: written once, there
		{ptr("tty0 ttyS0\n"), ""}, // the same, as the kernel writes it
		{ptr("tty1"), "ttyS0"},    // no serial console: EC2's serial port
		{ptr(""), "ttyS0"},
		{nil, "ttyS0"},             // no list
		{ptr("../ttyS0"), "ttyS0"}, // near misses of a serial port's name
		{ptr("ttyS0x hvc0"), "ttyS0"},
		{ptr("ttyUSB0"), "ttyS0"},
	} {
		dir := t.TempDir()
		active := filepath.Join(dir, "active")
		if c.active != nil {
			writeTestFile(t, active, []byte(*c.active))
		}
		want := ""
		if c.want != "" {
			want = filepath.Join(dir, c.want)
		}
		if got := serialPort(active, dir); got != want {
			name := "<none>"
			if c.active != nil {
				name = strconv.Quote(*c.active)
			}
			t.Errorf("active %s: serial port %q, want %q", name, got, want)
		}
	}
}

func ptr(s string) *string { return &s }

// TestFleetLineCLI: a boot-mode run writes the fleet line once to the
// console (after the summary with --console, alone with --wait) and once to
// the serial port, and only to the console when the console is the serial
// port.
func TestFleetLineCLI(t *testing.T) {
	obs := failObservations(t)
	for _, c := range []struct {
		name, active string
		serial       string // the device that gets the line besides the console; "" none
	}{
		{"console on tty1, serial ttyS0", "tty1", "ttyS0"},
		{"first serial port in the list", "ttyS1 tty0", "ttyS1"},
		{"the console is the serial port", "tty0 ttyS0", ""},
		{"the console is ttyS1", "tty0 ttyS1", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dev := standInDevices(t, c.active)
			code, out, stderr := runCLI(t, append([]string{"--observations", obs, "--no-color", "--console"}, devArgs(dev)...)...)
			if code != 2 || stderr != "" {
				t.Fatalf("exit %d, stderr %q, report:\n%s", code, stderr, out)
			}
			console := readString(t, filepath.Join(dev, "console"))
			lines := strings.SplitAfter(console, "\n")
			line := lines[len(lines)-2] // the last line, before the final ""
			if !fleetLineRE.MatchString(line) || !strings.Contains(line, " verdict=fail ids=net.endpoint-blocked ") {
				t.Fatalf("the console's last line %q is not the fleet line of a fail run", line)
			}
			if n := strings.Count(console, "ssm-probe: v1 "); n != 1 {
				t.Errorf("the fleet line is %d times on the console", n)
			}
			for _, port := range []string{"ttyS0", "ttyS1"} {
				want := ""
				if port == c.serial {
					want = line
				}
				if got := readString(t, filepath.Join(dev, port)); got != want {
					t.Errorf("%s holds %q, want %q", port, got, want)
				}
			}
		})
	}
	t.Run("--wait alone: the fleet line, no summary", func(t *testing.T) {
		dev := standInDevices(t, "tty1")
		// A replay is one attempt whatever --wait says.
		code, _, stderr := runCLI(t, append([]string{"--observations", obs, "--no-color", "--wait", "1s"}, devArgs(dev)...)...)
		console := readString(t, filepath.Join(dev, "console"))
		if code != 2 || stderr != "" || !fleetLineRE.MatchString(console) || readString(t, filepath.Join(dev, "ttyS0")) != console {
			t.Errorf("exit %d, stderr %q; console %q, ttyS0 %q", code, stderr, console, readString(t, filepath.Join(dev, "ttyS0")))
		}
	})
	t.Run("no boot mode: nothing written", func(t *testing.T) {
		dev := standInDevices(t, "tty1")
		runCLI(t, append([]string{"--observations", obs, "--no-color"}, devArgs(dev)...)...)
		if c, s := readString(t, filepath.Join(dev, "console")), readString(t, filepath.Join(dev, "ttyS0")); c != "" || s != "" {
			t.Errorf("console %q, ttyS0 %q: want both untouched", c, s)
		}
	})
}

// TestFleetLineStuckPort: a serial port that cannot take the line (here a
// FIFO nobody reads, whose non-blocking open fails at once, and a missing
// device) is said on stderr; the console still gets its line and the exit
// code is the verdict's.
func TestFleetLineStuckPort(t *testing.T) {
	obs := failObservations(t)
	dev := standInDevices(t, "tty1")
	if err := os.Remove(filepath.Join(dev, "ttyS0")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dev, "ttyS0"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dev, "ttyS1")); err != nil {
		t.Fatal(err)
	}
	for _, active := range []string{"tty1", "ttyS1 tty1"} { // the FIFO; the missing one
		writeTestFile(t, filepath.Join(dev, "active"), []byte(active))
		writeTestFile(t, filepath.Join(dev, "console"), nil)
		code, _, stderr := runCLI(t, append([]string{"--observations", obs, "--no-color", "--console"}, devArgs(dev)...)...)
		if code != 2 || !strings.Contains(stderr, "cannot write the fleet line to "+dev+"/ttyS") {
			t.Errorf("%s: exit %d, stderr %q", active, code, stderr)
		}
		if c := readString(t, filepath.Join(dev, "console")); !strings.Contains(c, "ssm-probe: v1 verdict=fail ") {
			t.Errorf("%s: no fleet line on the console:\n%s", active, c)
		}
	}
}

// TestFleetLineNoSecret: a boot-mode run on a host whose agent runs with a
// proxy password in its environment; the password reaches neither the
// console, the serial port, the report nor stderr.
func TestFleetLineNoSecret(t *testing.T) {
	const password = "Fl33tPassw0rd"
	w := newBootWorld(t)
	imds := imdstest.New(imdsConfig())
	defer imds.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a proxy port that refuses: closed at once
	if err != nil {
		t.Fatal(err)
	}
	proxy := ln.Addr().String()
	ln.Close()
	proc := filepath.Join(t.TempDir(), "proc")
	agenttest.Write(t, proc, agenttest.Agent(4242, "PATH=/usr/bin:/bin", "https_proxy=http://alice:"+password+"@"+proxy))
	code, out, stderr := runCLI(t, w.args(imds.URL, "--console", "--proc-dir", proc, "--format", "json", "--no-api")...)
	console := readString(t, filepath.Join(w.dev, "console"))
	serial := readString(t, filepath.Join(w.dev, "ttyS0"))
	for where, s := range map[string]string{"console": console, "ttyS0": serial, "report": out, "stderr": stderr} {
		if strings.Contains(s, password) || strings.Contains(s, "alice") {
			t.Errorf("the %s holds the proxy's user or password:\n%s", where, s)
		}
	}
	// The run really followed the agent's proxy, and wrote its fleet line.
	var doc struct {
		Paths []struct {
			Via string `json:"via"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Paths) == 0 || doc.Paths[0].Via != "http://"+proxy {
		t.Errorf("the run did not go through the agent's proxy (%v):\n%s", err, out)
	}
	if !fleetLineRE.MatchString(serial) || !strings.Contains(serial, " instance="+imdsConfig().InstanceID+" region="+bootRegion+" ") ||
		!strings.HasSuffix(console, serial) || code == exitUsage {
		t.Errorf("exit %d; ttyS0 %q; console:\n%s", code, serial, console)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
