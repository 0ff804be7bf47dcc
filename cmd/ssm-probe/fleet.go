package main

// The fleet line: one stable, greppable line per boot-mode run, written to
// the console and to the serial port whose output
// `aws ec2 get-console-output` returns, for automation that scans a fleet:
//
//	ssm-probe: v1 verdict=fail ids=net.endpoint-blocked instance=i-0123456789abcdef0 region=eu-west-1 since=2026-11-22T19:01:00Z took_ms=2015
//
// Keys and order are stable (docs/INTERFACE.md, "Fleet line"); a value is
// never empty ("-" when unknown) and never holds a blank.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

const (
	// fleetLineVersion is the fleet line's format version, its first word
	// after the prefix. A key is only ever added at the end within v1.
	fleetLineVersion = "v1"

	// defaultSerial is the serial port when the kernel names none: the one
	// EC2 returns in get-console-output.
	defaultSerial = "ttyS0"

	// maxConsoleActive caps the read of the console list: a few names.
	maxConsoleActive = 4096
)

var (
	serialRE   = regexp.MustCompile(`^ttyS[0-9]{1,3}$`)
	instanceRE = regexp.MustCompile(`^(i|mi)-[0-9a-z]{8,32}$`)
	regionRE   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	idRE       = regexp.MustCompile(`^[a-z0-9]+\.[a-z0-9]+(-[a-z0-9]+)*$`)
)

// fleetLine renders the fleet line of wr, with its newline. Every value is
// held to a shape (an instance ID, a region name, finding IDs, a time), and
// a value that does not have it is written "?": nothing read from the host
// (a region from a hostile configuration) reaches the line as it is, so no
// value can carry a blank or a secret.
func fleetLine(wr waitResult) string {
	r := wr.res
	verdict := string(r.Verdict)
	switch r.Verdict {
	case finding.VerdictOK, finding.VerdictWarn, finding.VerdictFail, finding.VerdictUnknown:
	default:
		verdict = string(finding.VerdictUnknown)
	}
	var ids []string
	var since time.Time
	for _, f := range r.Findings {
		if since.IsZero() && !f.Since.IsZero() {
			since = f.Since
		}
		if f.Severity != finding.SevFail && f.Severity != finding.SevWarn && f.ID != diagnose.ProbeIncomplete {
			continue
		}
		ids = append(ids, shaped(string(f.ID), idRE))
	}
	sinceText := "-"
	if !since.IsZero() {
		sinceText = since.UTC().Format(time.RFC3339)
	}
	took := wr.took
	if took <= 0 { // a replay: the saved run's own duration
		took = r.Duration
	}
	return fmt.Sprintf("%s%s verdict=%s ids=%s instance=%s region=%s since=%s took_ms=%d\n",
		consolePrefix, fleetLineVersion, verdict, orDash(strings.Join(ids, ",")),
		shaped(r.Context.InstanceID, instanceRE), shaped(r.Context.Region, regionRE), sinceText, took.Milliseconds())
}

// shaped returns s when it matches re, "-" when it is empty, else "?".
func shaped(s string, re *regexp.Regexp) string {
	switch {
	case s == "":
		return "-"
	case re.MatchString(s):
		return s
	default:
		return "?"
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// serialPort returns the serial port device the fleet line goes to besides
// the console, or "" when the console is already that port. It is the first
// serial port in the kernel's console list (activeFile), else ttyS0. The
// last entry of the list is the device /dev/console writes to: when that is
// the serial port, a second write would print the line twice.
func serialPort(activeFile, ttyDir string) string {
	names := readConsoleActive(activeFile)
	serial := defaultSerial
	for _, n := range names {
		if serialRE.MatchString(n) {
			serial = n
			break
		}
	}
	if len(names) > 0 && names[len(names)-1] == serial {
		return ""
	}
	return filepath.Join(ttyDir, serial)
}

// readConsoleActive reads the kernel's console list; nil when it cannot.
func readConsoleActive(path string) []string {
	fh, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(fh, maxConsoleActive))
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// toFleet writes the fleet line to the serial port (serialPort), the
// console's copy being written with the summary. Like the console, a port
// that cannot be written is said on stderr and never changes the exit code.
func toFleet(activeFile, ttyDir string, line string, deadline time.Time, stderr io.Writer) {
	port := serialPort(activeFile, ttyDir)
	if port == "" {
		return
	}
	if err := writeDevice(port, []byte(line), deadline); err != nil {
		fmt.Fprintf(stderr, "ssm-probe: cannot write the fleet line to %s: %v (the report is unaffected)\n", port, err)
	}
}
