//go:build linux

// Command ssm-probe-lab runs the ssm-probe lab: a fake VPC in two network
// namespaces in which the real probe binary diagnoses one broken setup per
// scenario (package lab). It needs root on Linux.
//
//	ssm-probe-lab e2e  [--probe BIN] [--scenarios DIR] [--run SUBSTR]  scenarios as tests
//	ssm-probe-lab demo [--probe BIN] [--scenarios DIR] [--run SUBSTR]  verdicts, fail and warn findings next to what was broken
//	ssm-probe-lab cleanup                                              remove a crashed run's leftovers
//	ssm-probe-lab serve --spec FILE                                    (internal) the servers, inside ssmp-infra
//	amazon-ssm-agent [-version]                                        (internal) a copy run as the instance's fake agent
//
// e2e exits 0 when every scenario passed, 1 when one failed. When the lab
// cannot run (not root, no network namespaces) it says SKIPPED and exits
// 0, or 1 when CI=true: in CI a skip is a failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/lab"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 64
)

func main() {
	if filepath.Base(os.Args[0]) == lab.FakeAgentName {
		// Copied into a lab instance as /usr/bin/amazon-ssm-agent.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := lab.FakeAgent(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: ssm-probe-lab e2e|demo|cleanup|serve [flags]")
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr)
	case "cleanup":
		n := &lab.Net{Exec: lab.RealExec, NetnsDir: "/etc/netns"}
		if err := n.Cleanup(ctx); err != nil {
			fmt.Fprintf(stderr, "ssm-probe-lab: %v\n", err)
			return exitFail
		}
		return exitOK
	case "e2e", "demo":
		return cmdScenarios(ctx, args[0], args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "ssm-probe-lab: unknown command %q\n", args[0])
	return exitUsage
}

// cmdServe runs the servers of a spec until SIGTERM; it prints "ready"
// once every server listens.
func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	specFile := fs.String("spec", "", "server spec `FILE` (JSON)")
	if fs.Parse(args) != nil || *specFile == "" {
		return exitUsage
	}
	spec, err := lab.LoadServerSpec(*specFile)
	if err == nil {
		err = lab.Serve(ctx, spec, func() { fmt.Fprintln(stdout, "ready") })
	}
	if err != nil {
		fmt.Fprintf(stderr, "ssm-probe-lab serve: %v\n", err)
		return exitFail
	}
	return exitOK
}

func cmdScenarios(ctx context.Context, mode string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	probeBin := fs.String("probe", "bin/ssm-probe", "the ssm-probe `BINARY` to run (built static)")
	dir := fs.String("scenarios", "probe/lab/scenarios", "scenario `DIR`")
	only := fs.String("run", "", "run only scenarios whose name contains `SUBSTR`")
	repo := fs.String("repo", ".", "repository root, for the agent files scenarios copy in")
	reports := fs.String("reports", "", "also write each scenario's report to `DIR`/NAME.json (or .txt)")
	if fs.Parse(args) != nil || fs.NArg() > 0 {
		return exitUsage
	}
	scenarios, err := lab.LoadScenarios(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "ssm-probe-lab: %v\n", err)
		return exitFail
	}
	var sel []*lab.Scenario
	for _, s := range scenarios {
		if strings.Contains(s.Name, *only) {
			sel = append(sel, s)
		}
	}
	if err := lab.Preflight(ctx, lab.RealExec); errors.Is(err, lab.ErrSkip) {
		return skip(mode, len(sel), err, stdout)
	} else if err != nil {
		fmt.Fprintf(stderr, "ssm-probe-lab: %v\n", err)
		return exitFail
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "ssm-probe-lab: %v\n", err)
		return exitFail
	}
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	r := &lab.Runner{Probe: abs(*probeBin), Self: self, RepoRoot: abs(*repo),
		WorkDir: filepath.Join(os.TempDir(), "ssmp-lab"),
		Net:     &lab.Net{Exec: lab.RealExec, NetnsDir: "/etc/netns"}, Log: stderr}
	if _, err := os.Stat(r.Probe); err != nil {
		fmt.Fprintf(stderr, "ssm-probe-lab: the probe binary: %v (make build)\n", err)
		return exitFail
	}
	unlock, err := lock(filepath.Join(os.TempDir(), "ssmp-lab.lock"))
	if err != nil {
		fmt.Fprintf(stderr, "ssm-probe-lab: %v\n", err)
		return exitFail
	}
	defer unlock()
	defer os.RemoveAll(r.WorkDir)

	if mode == "demo" {
		return demo(ctx, r, sel, *reports, stdout)
	}
	return e2e(ctx, r, sel, *reports, stdout)
}

// skip reports that the lab could not run. Under CI=true that is a failure.
func skip(mode string, n int, err error, w io.Writer) int {
	fmt.Fprintf(w, "SKIPPED: the lab did not run, nothing was tested: %v\n", err)
	fmt.Fprintf(w, "0 passed, 0 failed, %d skipped\n", n)
	if os.Getenv("CI") == "true" {
		fmt.Fprintf(w, "CI=true: a skipped %s is a failure\n", mode)
		return exitFail
	}
	return exitOK
}

// lock takes an exclusive lock so that two lab runs never share the
// namespaces.
func lock(path string) (func(), error) {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fh.Close()
		return nil, fmt.Errorf("another lab run holds %s", path)
	}
	return func() { syscall.Flock(int(fh.Fd()), syscall.LOCK_UN); fh.Close() }, nil
}

func e2e(ctx context.Context, r *lab.Runner, sel []*lab.Scenario, reports string, w io.Writer) int {
	var passed, failed, known int
	for _, s := range sel {
		if ctx.Err() != nil {
			fmt.Fprintf(w, "INTERRUPTED before %s\n", s.Name)
			failed++
			continue
		}
		t0 := time.Now()
		run, err := r.RunScenario(ctx, s, "json")
		saveReport(reports, s.Name+".json", run, w)
		var res lab.Result
		var probs []string
		if err != nil {
			res, probs = lab.Broken, []string{err.Error()}
		} else {
			probs = lab.Evaluate(s.Want, run.Report, run.Exit, run.Wall)
			res = lab.Classify(s.Want, probs)
			// The saved observations must replay to the same report,
			// whatever the scenario's known bugs.
			if rp := lab.ReplayProblems(run.Report, run.Replay); len(rp) > 0 {
				res, probs = lab.Fail, append(probs, rp...)
			}
		}
		switch {
		case res == lab.KnownBug:
			known++
		case res.OK():
			passed++
		default:
			failed++
		}
		wall := "-"
		if run != nil {
			wall = fmt.Sprintf("%.2fs", run.Wall.Seconds())
		}
		fmt.Fprintf(w, "%-16s %-34s probe %7s  (lab %.1fs)", res, s.Name, wall, time.Since(t0).Seconds())
		if run != nil && run.Report != nil {
			fmt.Fprintf(w, "  status %s: %s", run.Report.Status, findingList(run.Report))
		}
		fmt.Fprintln(w)
		for _, p := range probs {
			fmt.Fprintf(w, "    - %s\n", p)
		}
		if s.Want.ProbeBug != "" && res != lab.Pass {
			fmt.Fprintf(w, "    probe bug: %s\n", s.Want.ProbeBug)
		}
		if res == lab.StaleBug {
			fmt.Fprintf(w, "    the probe now passes: remove want.probe_bug from %s.json\n", s.Name)
		}
	}
	// Every scenario tears its lab down; check that nothing is left.
	if left, err := r.Net.Leftovers(context.Background()); err != nil || len(left) > 0 {
		fmt.Fprintf(w, "LAB-ERROR        leftovers after the run: %v %v\n", left, err)
		failed++
	}
	summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if known > 0 {
		summary += fmt.Sprintf(" (%d more failed on a known probe bug)", known)
	}
	fmt.Fprintln(w, summary)
	if failed > 0 {
		return exitFail
	}
	return exitOK
}

// findingList renders the findings as "id/severity, …".
func findingList(r *lab.Report) string {
	if len(r.Findings) == 0 {
		return "no findings"
	}
	var s []string
	for _, f := range r.Findings {
		s = append(s, f.ID+"/"+f.Severity)
	}
	return strings.Join(s, ", ")
}

func demo(ctx context.Context, r *lab.Runner, sel []*lab.Scenario, reports string, w io.Writer) int {
	rc := exitOK
	for _, s := range sel {
		if ctx.Err() != nil {
			return exitFail
		}
		fmt.Fprintf(w, "== %s\n   broken: %s\n", s.Name, s.Broken)
		run, err := r.RunScenario(ctx, s, "text")
		saveReport(reports, s.Name+".txt", run, w)
		if err != nil {
			fmt.Fprintf(w, "   lab error: %v\n\n", err)
			rc = exitFail
			continue
		}
		lines := strings.Split(string(run.Output), "\n")
		fmt.Fprintf(w, "   probe:  %s   (exit %d, %.2f s)\n", lines[0], run.Exit, run.Wall.Seconds())
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "[FAIL]") || strings.HasPrefix(l, "[WARN]") {
				fmt.Fprintf(w, "           %s\n", l)
			}
		}
		fmt.Fprintln(w)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return exitFail
	}
	return rc
}

// saveReport writes a run's report to dir/name when dir is set.
func saveReport(dir, name string, run *lab.Run, w io.Writer) {
	if dir == "" || run == nil {
		return
	}
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), run.Output, 0o644)
	}
	if err != nil {
		fmt.Fprintf(w, "    (report not saved: %v)\n", err)
	}
}
