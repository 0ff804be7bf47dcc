package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ssm-probe/ssm-probe/probe"
	"github.com/ssm-probe/ssm-probe/probe/observe"
)

// logsDeadline caps "ssm-probe logs": it reads files only, and the whole
// rolled history scans in about a second, but a slow disk or a huge
// journal must still end.
const logsDeadline = 60 * time.Second

func cmdLogs(args []string, stdout, stderr io.Writer) int {
	f := &runFlags{}
	fs := flag.NewFlagSet("ssm-probe logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.format, "format", "text", "report format: text or json")
	fs.StringVar(&f.output, "output", "", "write the report to `FILE` (atomically) instead of stdout")
	fs.StringVar(&f.root, "root", "/", "read the agent's logs and journal under `DIR`")
	var since time.Duration
	fs.DurationVar(&since, "since", observe.DefaultSince, "how far back to read (0: everything)")
	fs.DurationVar(&f.deadline, "deadline", logsDeadline, "hard cap on the whole run")
	fs.StringVar(&f.logLevel, "log-level", "warn", "the probe's own log level on stderr: debug, info, warn, error")
	fs.BoolVar(&f.noColor, "no-color", false, "no colour, even on a terminal")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ssm-probe logs [flags] [PATH...]\n\nAnalyse SSM agent logs only (no network). PATHs are files or\ndirectories; the default is the agent's own logs and journal.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if wantsHelp(args) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if f.format != "text" && f.format != "json" {
		return usageErr(stderr, fs, "--format must be text or json, not %q", f.format)
	}
	if since < 0 || f.deadline <= 0 {
		return usageErr(stderr, fs, "--since must not be negative and --deadline must be positive")
	}
	root, err := checkRoot(f.root)
	if err != nil {
		return usageErr(stderr, fs, "%v", err)
	}
	f.root = root
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return usageErr(stderr, fs, "%v", err)
	}
	if note := elevationNote(); note != "" {
		fmt.Fprintf(stderr, "ssm-probe logs: %s\n", note)
	}
	for _, p := range fs.Args() {
		// Stat never opens, so a FIFO cannot block here; the scan refuses
		// anything but regular files and directories before opening it.
		switch st, err := os.Stat(p); {
		case err != nil:
			fmt.Fprintf(stderr, "ssm-probe logs: %v (read on)\n", err)
		case !st.IsDir() && !st.Mode().IsRegular():
			fmt.Fprintf(stderr, "ssm-probe logs: %s is not a regular file or a directory (mode %s); it is not read (read on)\n", p, st.Mode().Type())
		}
	}
	cfg := observe.Defaults()
	cfg.Log, cfg.Root, cfg.Since, cfg.Deadline = log, f.root, since, f.deadline
	cfg.Offline = f.root != "/" && f.root != ""
	cfg.LogPaths = fs.Args()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return render(probe.RunLogs(ctx, cfg), f, stdout, stderr)
}
