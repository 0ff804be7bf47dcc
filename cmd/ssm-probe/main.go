// Command ssm-probe finds out why AWS Systems Manager Session Manager cannot
// reach this host, and says how to fix it. See docs/INTERFACE.md for the
// commands, flags, exit codes and report formats.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped at build time: -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// Exit codes (docs/INTERFACE.md): 0 ok, 1 warn, 2 fail, 3 unknown, 64 usage.
const (
	exitUnknown = 3
	exitUsage   = 64
)

// commandsText lists the commands; the help (printHelp) adds the run flags.
const commandsText = `Usage:
  ssm-probe [run] [flags]     probe this host: identity, DNS, network path, agent, logs
  ssm-probe logs [flags] [PATH...]
                              analyse SSM agent logs only (no network)
  ssm-probe catalog [--format text|json]
                              list every finding: severity, title, fix, docs
  ssm-probe explain [--format text|json] ID
                              print one finding's catalog entry
  ssm-probe version           print version, commit, build date, Go version
  ssm-probe help              print this help
`

// helpFooter ends the help.
const helpFooter = `
Every command takes --help, e.g. "ssm-probe logs --help" for the logs flags.
Exit codes: 0 ok, 1 warn, 2 fail, 3 unknown, 64 usage error.
`

// printHelp writes the commands and the flags of run, the default command:
// what "ssm-probe --help" and "ssm-probe help" print.
func printHelp(w io.Writer) {
	fs, _ := newRunFlags(io.Discard)
	var b strings.Builder
	b.WriteString(commandsText)
	b.WriteString("\nFlags of run, the default command:\n")
	writeRunFlags(&b, fs)
	b.WriteString(helpFooter)
	io.WriteString(w, b.String())
}

// wantsHelp reports whether args ask for help (-h, -help, --help) before
// any "--" that ends the flags.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a command and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		if wantsHelp(args) {
			printHelp(stdout)
			return 0
		}
		return cmdRun(args, stdout, stderr)
	case "logs":
		return cmdLogs(args, stdout, stderr)
	case "catalog":
		return cmdCatalog(args, stdout, stderr)
	case "explain":
		return cmdExplain(args, stdout, stderr)
	case "version":
		if wantsHelp(args) {
			fmt.Fprint(stdout, "Usage: ssm-probe version\n\nPrint the version, commit, build date, Go version and OS/arch. No flags.\n")
			return 0
		}
		if len(args) > 0 {
			fmt.Fprintf(stderr, "ssm-probe version: unexpected argument %q\n\n", args[0])
			printHelp(stderr)
			return exitUsage
		}
		printVersion(stdout)
		return 0
	case "help":
		printHelp(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "ssm-probe: unknown command %q\n\n", cmd)
		printHelp(stderr)
		return exitUsage
	}
}

// buildMeta returns the version and commit, falling back to the VCS
// revision Go embeds when the binary was built without ldflags.
func buildMeta() (ver, rev, built string) {
	ver, rev, built = version, commit, date
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.time":
				if built == "" {
					built = s.Value
				}
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	if built == "" {
		built = "unknown"
	}
	return ver, rev, built
}

func printVersion(w io.Writer) {
	ver, rev, built := buildMeta()
	fmt.Fprintf(w, "ssm-probe %s\ncommit %s\nbuilt %s\n%s %s/%s\n", ver, rev, built, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
