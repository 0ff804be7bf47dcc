package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// CatalogSchema names the JSON form of "ssm-probe catalog --format json"
// (docs/INTERFACE.md, "Finding catalog").
const CatalogSchema = "ssm-probe/catalog/v1"

// catalogEntry is one finding as "ssm-probe catalog" and "ssm-probe explain"
// print it: the catalog's default severity, title, fix and docs. The fix is
// the finding's one template with placeholders (VPC_ID, REGION, …) where a
// run's finding names the objects involved.
type catalogEntry struct {
	ID        finding.ID       `json:"id"`
	Severity  finding.Severity `json:"severity"`
	Title     string           `json:"title"`
	Fix       []string         `json:"fix"`
	Docs      []string         `json:"docs"`
	DependsOn []finding.ID     `json:"depends_on"`
}

type catalogDoc struct {
	Schema   string         `json:"schema"`
	Findings []catalogEntry `json:"findings"`
}

// catalogEntries lists the catalog in AllIDs order.
func catalogEntries() []catalogEntry {
	cat := diagnose.NewCatalog()
	var out []catalogEntry
	for _, id := range diagnose.AllIDs() {
		e := cat[id]
		out = append(out, catalogEntry{ID: e.ID, Severity: e.Severity, Title: e.Title,
			Fix: nonNil(e.RenderFix()), Docs: nonNil(e.Docs), DependsOn: nonNilIDs(e.DependsOn)})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilIDs(s []finding.ID) []finding.ID {
	if s == nil {
		return []finding.ID{}
	}
	return s
}

// catalogFlags parses the flags shared by catalog and explain.
func catalogFlags(name, usage string, args []string, stdout, stderr io.Writer) (*flag.FlagSet, string, int, bool) {
	fs := flag.NewFlagSet("ssm-probe "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "text", "output format: text or json")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: ssm-probe %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	if wantsHelp(args) {
		fs.SetOutput(stdout)
		fs.Usage()
		return fs, "", 0, false
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return fs, "", 0, false
		}
		return fs, "", exitUsage, false
	}
	if *format != "text" && *format != "json" {
		return fs, "", usageErr(stderr, fs, "--format must be text or json, not %q", *format), false
	}
	return fs, *format, 0, true
}

// cmdCatalog prints every finding the probe can report.
func cmdCatalog(args []string, stdout, stderr io.Writer) int {
	fs, format, code, ok := catalogFlags("catalog", "catalog [--format text|json]", args, stdout, stderr)
	if !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fs, "unexpected argument %q", fs.Arg(0))
	}
	return printEntries(stdout, stderr, format, catalogEntries())
}

// cmdExplain prints the catalog entry of one finding ID.
func cmdExplain(args []string, stdout, stderr io.Writer) int {
	fs, format, code, ok := catalogFlags("explain", "explain [--format text|json] ID", args, stdout, stderr)
	if !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageErr(stderr, fs, "explain takes one finding ID (ssm-probe catalog lists them)")
	}
	id := finding.ID(strings.TrimSpace(fs.Arg(0)))
	for _, e := range catalogEntries() {
		if e.ID == id {
			return printEntries(stdout, stderr, format, []catalogEntry{e})
		}
	}
	fmt.Fprintf(stderr, "ssm-probe explain: no finding %q; \"ssm-probe catalog\" lists every ID\n", fs.Arg(0))
	return exitUsage
}

func printEntries(stdout, stderr io.Writer, format string, es []catalogEntry) int {
	var err error
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		err = enc.Encode(catalogDoc{Schema: CatalogSchema, Findings: es})
	} else {
		err = catalogText(stdout, es)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ssm-probe: %v\n", err)
		return exitUnknown
	}
	return 0
}

// catalogText writes entries as plain text, one block each.
func catalogText(w io.Writer, es []catalogEntry) error {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s [%s]\n  %s\n", e.ID, e.Severity, e.Title)
		if len(e.Fix) > 0 {
			b.WriteString("  Fix:\n")
			for j, f := range e.Fix {
				fmt.Fprintf(&b, "  %d. %s\n", j+1, f)
			}
		}
		for _, d := range e.Docs {
			fmt.Fprintf(&b, "  Docs: %s\n", d)
		}
		if len(e.DependsOn) > 0 {
			ids := make([]string, len(e.DependsOn))
			for j, d := range e.DependsOn {
				ids[j] = string(d)
			}
			fmt.Fprintf(&b, "  Folded into: %s (when present)\n", strings.Join(ids, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
