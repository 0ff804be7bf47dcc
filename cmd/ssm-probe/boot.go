package main

// Boot mode: --wait repeats the probe while the host is still coming up,
// and --console writes a one-screen summary to the console, so that
// `aws ec2 get-console-output` shows the verdict of an instance nobody can
// log in to.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/ssm-probe/ssm-probe/probe"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/report"
)

const (
	// bootRetryInterval paces the attempts of --wait. At boot the agent
	// starts seconds after network-online.target and registers within a
	// few more; 3 s catches that quickly, while a run whose checks time
	// out already spends up to --deadline (15 s) per attempt, so the
	// probe never sends more than a handful of queries a minute.
	bootRetryInterval = 3 * time.Second

	// consoleWriteTimeout bounds the boot-mode writes together: the
	// summary and the fleet line to the console, the fleet line to the
	// serial port. About 2 KiB at 9600 baud, the slowest serial console in
	// use, takes about 2 s; a device that takes longer is stuck (flow
	// control held, a hung virtual device), and the run must not hang on it.
	consoleWriteTimeout = 5 * time.Second

	// consoleWidth is a serial console's width; every summary line fits.
	consoleWidth = 80

	// consoleMaxFindings caps the findings on the summary, which must fit
	// one 24-line screen with its header and footer.
	consoleMaxFindings = 6

	// consoleMaxSkipped caps the not-checked checks named on the summary.
	consoleMaxSkipped = 3

	// consolePrefix starts every summary line, so the summary can be
	// picked out of the kernel messages interleaved with it:
	// aws ec2 get-console-output ... | grep 'ssm-probe:'.
	consolePrefix = "ssm-probe: "
)

// The devices boot mode writes to. Variables only so that the package's
// tests point them, before any test runs, where no real device is
// (TestMain): a test that forgot its stand-ins writes nowhere.
var (
	// defaultConsolePath is the kernel's console: on EC2 it is the serial
	// port whose output `aws ec2 get-console-output` returns when the
	// kernel command line ends with console=ttyS0 (the AMIs' default).
	defaultConsolePath = "/dev/console"

	// defaultConsoleActive lists the kernel's console devices; the last is
	// the one /dev/console writes to (the kernel's ABI documentation,
	// Documentation/ABI/testing/sysfs-tty).
	defaultConsoleActive = "/sys/class/tty/console/active"

	// defaultTTYDir holds the serial port devices.
	defaultTTYDir = "/dev"
)

// waitResult is the outcome of a (possibly repeated) run.
type waitResult struct {
	res      *probe.Result
	attempts int
	took     time.Duration // from the first attempt's start to the last one's end
}

// waitLoop repeats a probe until its verdict is ok or Wait has passed.
type waitLoop struct {
	Wait     time.Duration                              // --wait; 0 runs once
	Interval time.Duration                              // pause between attempts; 0 means bootRetryInterval
	Probe    func(context.Context) *probe.Result        // one complete run
	Log      io.Writer                                  // progress lines (stderr)
	Now      func() time.Time                           // the clock; nil means time.Now
	Sleep    func(context.Context, time.Duration) error // waits or returns ctx.Err(); nil means a timer
}

// run calls Probe once, then again after each Interval while the verdict
// is not ok and Wait has not passed since the first call. An attempt starts
// only before Wait has passed, so the whole run takes at most Wait plus one
// attempt (itself capped by --deadline). A cancelled ctx (SIGTERM from
// systemd at shutdown) ends the loop with the last report.
func (w waitLoop) run(ctx context.Context) waitResult {
	now := w.Now
	if now == nil {
		now = time.Now
	}
	sleep := w.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	interval := w.Interval
	if interval <= 0 {
		interval = bootRetryInterval
	}
	began := now()
	end := began.Add(w.Wait)
	var out waitResult
	for {
		out.res = w.Probe(ctx)
		out.attempts++
		out.took = now().Sub(began)
		if w.Wait <= 0 || out.res.Verdict == finding.VerdictOK {
			if out.attempts > 1 && w.Log != nil {
				fmt.Fprintf(w.Log, "ssm-probe: --wait: attempt %d: ok after %s\n", out.attempts, out.took.Round(time.Second))
			}
			return out
		}
		left := end.Sub(now())
		if left <= 0 || ctx.Err() != nil {
			if w.Log != nil {
				fmt.Fprintf(w.Log, "ssm-probe: --wait: attempt %d: %s; giving up after %s: %s\n",
					out.attempts, out.res.Verdict, out.took.Round(time.Second), findingIDs(out.res))
			}
			return out
		}
		pause := min(interval, left)
		if w.Log != nil {
			fmt.Fprintf(w.Log, "ssm-probe: --wait: attempt %d: %s (%s); next attempt in %s, %s of --wait left\n",
				out.attempts, out.res.Verdict, findingIDs(out.res), pause.Round(time.Millisecond), left.Round(time.Second))
		}
		if err := sleep(ctx, pause); err != nil {
			return out
		}
	}
}

// sleepCtx waits for d or until ctx ends, whichever is first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// findingIDs lists the fail and warn finding IDs of r for a progress line,
// or names the not-checked checks when the verdict rests on them.
func findingIDs(r *probe.Result) string {
	var ids []string
	for _, f := range r.Findings {
		if f.Severity == finding.SevFail || f.Severity == finding.SevWarn {
			ids = append(ids, string(f.ID))
		}
	}
	if len(ids) == 0 {
		for _, c := range r.Checks {
			if c.Required && !c.Status.Checked() {
				ids = append(ids, string(c.Name)+" "+string(c.Status))
			}
		}
	}
	if len(ids) == 0 {
		return "no fail or warn finding"
	}
	if len(ids) > 5 {
		ids = append(ids[:5], fmt.Sprintf("and %d more", len(ids)-5))
	}
	return strings.Join(ids, ", ")
}

// consoleSummary renders the compact summary written by --console: plain
// ASCII lines of at most consoleWidth columns, each starting with
// consolePrefix, between a header and a footer, at most 24 lines in all.
// It names the verdict, where the probe ran, the fail and warn findings
// (with their first evidence line) and the checks that could not look.
func consoleSummary(wr waitResult, m report.Meta) []byte {
	r := wr.res
	var b bytes.Buffer
	line := func(format string, args ...any) {
		s := consolePrefix + report.Sanitize(fmt.Sprintf(format, args...), true)
		if len(s) > consoleWidth-1 {
			s = s[:consoleWidth-4] + "..."
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	verdict := strings.ToUpper(string(r.Verdict))
	if verdict == "" {
		verdict = "UNKNOWN"
	}
	line("===== %s (exit %d) at %s, ssm-probe %s =====", verdict, r.Verdict.ExitCode(),
		r.StartedAt.UTC().Format(time.RFC3339), m.Version)
	c := r.Context
	where := []string{"mode " + c.Mode}
	if c.InstanceID != "" {
		where = append([]string{c.InstanceID}, where...)
	}
	if c.Region != "" {
		where = append(where, "region "+c.Region)
	}
	if c.Agent.Version != "" {
		where = append(where, "agent "+c.Agent.Version)
	}
	line("%s", strings.Join(where, ", "))
	fail, warn, info := r.Counts()
	line("%d fail, %d warn, %d info; %d checks; %d attempt(s) in %s", fail, warn, info, len(r.Checks),
		wr.attempts, wr.took.Round(time.Second))
	shown := 0
	for _, f := range r.Findings {
		if f.Severity == finding.SevInfo && f.ID != diagnose.ProbeIncomplete {
			continue
		}
		if shown == consoleMaxFindings {
			line("... and more findings: run ssm-probe for the full report")
			break
		}
		shown++
		line("[%s] %s: %s", strings.ToUpper(string(f.Severity)), f.ID, f.Title)
		if len(f.Evidence) > 0 {
			line("    %s", f.Evidence[0])
		}
	}
	var skipped []obs.CheckRecord
	for _, ck := range r.Checks {
		if !ck.Status.Checked() {
			skipped = append(skipped, ck)
		}
	}
	for i, ck := range skipped {
		if i == consoleMaxSkipped {
			line("... and %d more checks not done", len(skipped)-i)
			break
		}
		why := ck.Reason
		if why == "" {
			why = string(ck.Class)
		}
		line("%s %s %s: %s", ck.Status, ck.Name, ck.Target, why)
	}
	line("===== end of ssm-probe summary; full report: sudo ssm-probe =====")
	return b.Bytes()
}

// writeDevice appends data to the console or serial device at path. It
// opens the device without making it the controlling terminal (O_NOCTTY)
// and without waiting for a serial line's carrier (O_NONBLOCK, open(2)),
// never creates the path, and gives up at deadline.
func writeDevice(path string, data []byte, deadline time.Time) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	// A terminal or FIFO is polled, so the deadline holds; a regular file
	// (a test's stand-in) has none, and its write cannot hang.
	_ = fh.SetWriteDeadline(deadline)
	_, werr := fh.Write(data)
	cerr := fh.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// bootOutputs writes what a boot-mode run (--wait or --console) leaves on
// the consoles: the fleet line on the console and on the serial port, and
// with --console the summary before it on the console. All the writes end
// by one deadline, consoleWriteTimeout from now. A device that cannot be
// opened or written is reported on stderr and never changes the run's exit
// code: the report itself has already been written.
func bootOutputs(f *runFlags, wr waitResult, m report.Meta, stderr io.Writer) {
	deadline := time.Now().Add(consoleWriteTimeout)
	line := fleetLine(wr)
	data, what := []byte(line), "the fleet line"
	if f.console {
		data, what = append(consoleSummary(wr, m), line...), "the summary"
	}
	if err := writeDevice(f.consolePath, data, deadline); err != nil {
		flag := "--wait"
		if f.console {
			flag = "--console"
		}
		fmt.Fprintf(stderr, "ssm-probe: %s: cannot write %s to %s: %v (the report is unaffected)\n", flag, what, f.consolePath, err)
	}
	toFleet(f.consoleActive, f.ttyDir, line, deadline, stderr)
}
