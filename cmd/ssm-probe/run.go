package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/ssm-probe/ssm-probe/probe"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/observe"
	"github.com/ssm-probe/ssm-probe/probe/redact"
	"github.com/ssm-probe/ssm-probe/probe/report"
)

// maxObservationsFile caps --observations input.
const maxObservationsFile = 64 << 20

// runFlags are the flags of "ssm-probe run" (docs/INTERFACE.md).
type runFlags struct {
	format, output, region, root, imds, logLevel string
	timeout, deadline, since, wait               time.Duration
	live, noColor, console, noAPI                bool
	consolePath                                  string // hidden: the console device for --console
	consoleActive, ttyDir                        string // hidden: the kernel's console list, the serial devices' directory
	observations, saveObservations               string // re-diagnose saved observations; save this run's
	vpcDNS, caFile                               string // hidden: AmazonProvidedDNS addresses, CA bundle
	signingDNS                                   string // hidden: nameservers resolving signed calls under --root X --live
	procDir                                      string // hidden: the process table to scan for the agent
	dnsPort, endpointPort                        int    // hidden: ports for DNS servers and endpoints
}

// hiddenFlags are test seams left out of the usage text.
var hiddenFlags = map[string]bool{"vpc-dns": true, "dns-port": true, "signing-dns": true, "proc-dir": true,
	"endpoint-port": true, "ca-file": true, "console-path": true,
	"console-active": true, "tty-dir": true}

func newRunFlags(stderr io.Writer) (*flag.FlagSet, *runFlags) {
	f := &runFlags{}
	fs := flag.NewFlagSet("ssm-probe run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.format, "format", "text", "report format: text, json, prom (Prometheus textfile) or emf (CloudWatch embedded metric format)")
	fs.StringVar(&f.output, "output", "", "write the report to `FILE` (atomically) instead of stdout")
	fs.StringVar(&f.region, "region", "", "use region `R` instead of the discovered one")
	fs.DurationVar(&f.timeout, "timeout", observe.DefaultTimeout, "limit for one network attempt")
	fs.DurationVar(&f.deadline, "deadline", observe.DefaultDeadline, "hard cap on the whole run")
	fs.DurationVar(&f.since, "since", observe.DefaultSince, "how far back to read the agent's logs (0: everything)")
	fs.DurationVar(&f.wait, "wait", 0, "boot mode: repeat the probe until the verdict is ok or `D` has passed; the fleet line goes to the console and the serial port")
	fs.BoolVar(&f.console, "console", false, "boot mode: also write a one-screen summary and the fleet line to the console, and the fleet line to the serial port (for aws ec2 get-console-output)")
	fs.StringVar(&f.consolePath, "console-path", defaultConsolePath, "console `DEVICE` for --console")
	fs.StringVar(&f.consoleActive, "console-active", defaultConsoleActive, "the kernel's console list `FILE`, naming the serial port for the fleet line")
	fs.StringVar(&f.ttyDir, "tty-dir", defaultTTYDir, "`DIR` of the serial port devices")
	fs.StringVar(&f.root, "root", "/", "read host files under `DIR` (a mounted volume); implies no live checks unless --live")
	fs.BoolVar(&f.noAPI, "no-api", false, "make no signed AWS API call (the read-only ssm:GetDocument, s3:HeadBucket, logs:DescribeLogGroups of the session preferences check)")
	fs.BoolVar(&f.live, "live", false, "with --root: run the live network checks too")
	fs.StringVar(&f.imds, "imds-endpoint", "", "instance metadata `URL` (default $AWS_EC2_METADATA_SERVICE_ENDPOINT, else "+observe.DefaultIMDSEndpoint+")")
	fs.StringVar(&f.logLevel, "log-level", "warn", "the probe's own log level on stderr: debug, info, warn, error")
	fs.BoolVar(&f.noColor, "no-color", false, "no colour, even on a terminal")
	fs.StringVar(&f.observations, "observations", "", "re-diagnose observations saved by --save-observations in `FILE` instead of probing")
	fs.StringVar(&f.saveObservations, "save-observations", "", "also write this run's observations as JSON to `FILE` (atomically; no secret), for a support case or a replay with --observations")
	fs.StringVar(&f.procDir, "proc-dir", "", "the process table `DIR` to scan for the agent, instead of /proc (live root only)")
	fs.StringVar(&f.signingDNS, "signing-dns", "", "comma-separated nameserver `ADDRS` that resolve the signed calls' endpoints under --root X --live, instead of this host's /etc/resolv.conf")
	fs.StringVar(&f.vpcDNS, "vpc-dns", "", "comma-separated AmazonProvidedDNS `ADDRS` instead of VPC base+2 and 169.254.169.253")
	fs.IntVar(&f.dnsPort, "dns-port", 53, "`PORT` to ask DNS servers on")
	fs.IntVar(&f.endpointPort, "endpoint-port", 443, "`PORT` to dial service endpoints on")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM `FILE` of roots to verify endpoints with, instead of the system roots")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: ssm-probe [run] [flags]\n\nFlags:\n")
		writeRunFlags(stderr, fs)
		fmt.Fprint(stderr, "\nRun \"ssm-probe help\" for the commands.\n")
	}
	return fs, f
}

// writeRunFlags lists the flags of fs but the hidden ones.
func writeRunFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(fl *flag.Flag) {
		if hiddenFlags[fl.Name] {
			return
		}
		name, usage := flag.UnquoteUsage(fl)
		fmt.Fprintf(w, "  --%s %s\n    \t%s", fl.Name, name, usage)
		if fl.DefValue != "" && fl.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", fl.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// usageErr prints msg and the usage text and returns the usage exit code.
func usageErr(stderr io.Writer, fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(stderr, "ssm-probe: "+format+"\n", args...)
	fs.Usage()
	return exitUsage
}

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs, f := newRunFlags(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected argument %q", fs.Arg(0))
	}
	if f.format != "text" && f.format != "json" && f.format != "prom" && f.format != "emf" {
		return usageErr(stderr, fs, "--format must be text, json, prom or emf, not %q", f.format)
	}
	if f.since < 0 || f.wait < 0 {
		return usageErr(stderr, fs, "--since and --wait must not be negative")
	}
	if f.dnsPort < 1 || f.dnsPort > 65535 || f.endpointPort < 1 || f.endpointPort > 65535 {
		return usageErr(stderr, fs, "ports must be 1..65535")
	}
	if f.timeout <= 0 || f.deadline <= 0 {
		return usageErr(stderr, fs, "--timeout and --deadline must be positive")
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

	var wr waitResult
	if f.observations != "" {
		wr.res, err = rediagnose(f.observations, f.deadline)
		if err != nil {
			fmt.Fprintf(stderr, "ssm-probe: %v\n", err)
			return exitUnknown
		}
		wr.attempts = 1
	} else {
		if note := elevationNote(); note != "" {
			fmt.Fprintf(stderr, "ssm-probe: %s\n", note)
		}
		cfg := observe.Defaults()
		cfg.Log = log
		cfg.Root = f.root
		cfg.Offline = f.root != "/" && f.root != ""
		cfg.Live = !cfg.Offline || f.live
		cfg.Timeout, cfg.Deadline, cfg.Region, cfg.Since = f.timeout, f.deadline, f.region, f.since
		cfg.IMDSEndpoint = imdsEndpoint(f.imds)
		cfg.DNSPort, cfg.EndpointPort = f.dnsPort, f.endpointPort
		cfg.NoAPI = f.noAPI
		cfg.ProcDir = f.procDir
		if cfg.VPCDNS, err = parseAddrs(f.vpcDNS); err != nil {
			return usageErr(stderr, fs, "--vpc-dns: %v", err)
		}
		if cfg.SigningDNS, err = parseAddrs(f.signingDNS); err != nil {
			return usageErr(stderr, fs, "--signing-dns: %v", err)
		}
		if f.caFile != "" {
			if cfg.RootCAs, err = loadCAs(f.caFile); err != nil {
				return usageErr(stderr, fs, "--ca-file: %v", err)
			}
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		wr = waitLoop{Wait: f.wait, Log: stderr,
			Probe: func(ctx context.Context) *probe.Result { return probe.Run(ctx, cfg) }}.run(ctx)
		stop()
	}
	code := render(wr.res, f, stdout, stderr)
	if f.saveObservations != "" {
		if err := saveObservations(f.saveObservations, wr.res.Observations); err != nil {
			fmt.Fprintf(stderr, "ssm-probe: --save-observations: %v\n", err)
			code = exitUnknown
		}
	}
	if f.console || f.wait > 0 {
		bootOutputs(f, wr, reportMeta(), stderr)
	}
	return code
}

// reportMeta identifies this build in the reports.
func reportMeta() report.Meta {
	ver, rev, _ := buildMeta()
	return report.Meta{Version: ver, Commit: rev}
}

// imdsEndpoint picks the IMDS endpoint: the flag, then the SDK's
// environment variable, then the link-local default.
func imdsEndpoint(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := strings.TrimSpace(os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT")); env != "" {
		return env
	}
	return observe.DefaultIMDSEndpoint
}

// saveObservations writes obs as indented JSON through the report's writer.
// Observations hold no secret: the checks record outcomes, codes and
// redacted proxy URLs, never credentials, tokens or signed headers
// (TestSavedObservationsHoldNoSecret).
func saveObservations(path string, obs *obs.Observations) error {
	if obs == nil {
		return errors.New("this run has no observations to save")
	}
	b, err := json.MarshalIndent(obs, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(b, '\n'))
}

// finishReplay diagnoses replayed observations; a test seam.
var finishReplay = diagnose.Finish

// rediagnose reads saved observations and diagnoses them again, within
// deadline: the file is untrusted input, so it must be of a size a run
// could have made (obs.CheckBounds), and reading and diagnosing it together
// get the same hard cap as a live run (--deadline).
func rediagnose(path string, deadline time.Duration) (*probe.Result, error) {
	type replay struct {
		res *probe.Result
		err error
	}
	done := make(chan replay, 1)
	finish := finishReplay // read once: the goroutine may outlive the call
	go func() {
		res, err := replayFile(path, finish)
		done <- replay{res, err}
	}()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.res, r.err
	case <-timer.C:
		return nil, fmt.Errorf("%s: reading and diagnosing the observations took longer than --deadline %s", path, deadline)
	}
}

// replayFile decodes one observations file and diagnoses it with finish. The file is
// opened like every path given from outside (rootfs.OpenRegular): a FIFO,
// device or directory is refused before anything is read from it, so a
// FIFO with no writer cannot block the run.
func replayFile(path string, finish func(*obs.Observations, time.Duration) *probe.Result) (*probe.Result, error) {
	fh, _, err := rootfs.OpenRegular(path)
	if err != nil {
		return nil, fmt.Errorf("--observations: %w", err)
	}
	defer fh.Close()
	var obs obs.Observations
	dec := json.NewDecoder(io.LimitReader(fh, maxObservationsFile))
	if err := dec.Decode(&obs); err != nil {
		return nil, fmt.Errorf("%s: not an observations file: %w", path, err)
	}
	if err := obs.CheckBounds(); err != nil {
		return nil, fmt.Errorf("%s: not observations a run could have saved: %w", path, err)
	}
	return finish(&obs, 0), nil
}

// render writes the report in the chosen format to stdout or --output and
// returns the verdict's exit code.
func render(res *probe.Result, f *runFlags, stdout, stderr io.Writer) int {
	meta := reportMeta()
	var buf bytes.Buffer
	var err error
	switch f.format {
	case "json":
		err = report.JSON(&buf, res, meta)
	case "prom":
		err = report.Prom(&buf, res, meta)
	case "emf":
		err = report.EMF(&buf, res, meta)
	default:
		color := f.output == "" && !f.noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb"
		err = report.Text(&buf, res, meta, report.TextOptions{Color: color})
	}
	if err == nil {
		if f.output != "" {
			err = writeAtomic(f.output, buf.Bytes())
		} else {
			_, err = stdout.Write(buf.Bytes())
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "ssm-probe: %v\n", err)
		return exitUnknown
	}
	return res.Verdict.ExitCode()
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	fh, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := fh.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// newLogger returns the probe's own debug logger on stderr.
func newLogger(stderr io.Writer, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("--log-level must be debug, info, warn or error, not %q", level)
	}
	// Checks log from their own goroutines: serialise the writes.
	// Every event is redacted whole before it reaches stderr (package redact).
	w := zerolog.ConsoleWriter{Out: redact.Writer(zerolog.SyncWriter(stderr)), NoColor: !isTerminal(stderr), TimeFormat: time.RFC3339Nano}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// parseAddrs parses a comma-separated address list; empty gives nil.
func parseAddrs(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		a, err := netip.ParseAddr(p)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// maxCAFile caps --ca-file.
const maxCAFile = 16 << 20

// loadCAs reads a PEM bundle of root certificates (a regular file only, as
// every path given from outside).
func loadCAs(path string) (*x509.CertPool, error) {
	fh, _, err := rootfs.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	pem, err := io.ReadAll(io.LimitReader(fh, maxCAFile))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
