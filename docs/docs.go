// Package docs holds the repository's documents and reads the part of them
// that tests hold the code to: the finding tables of docs/FINDINGS.md.
package docs

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

//go:embed FINDINGS.md
var findingsMD string

// FindingRow is one finding of docs/FINDINGS.md: its ID, its severity (the
// default one, as the catalog holds it) and the line it is on.
type FindingRow struct {
	ID       string
	Severity string
	Line     int
}

// Severities are the words a finding table's severity cell may hold.
var severities = map[string]bool{"fail": true, "warn": true, "info": true}

// idRE is the shape of a finding ID: a family and a name, lower case.
var idRE = regexp.MustCompile(`^[a-z0-9]+\.[a-z0-9]+(-[a-z0-9]+)*$`)

// delimRE is one cell of a table's delimiter row.
var delimRE = regexp.MustCompile(`^:?-+:?$`)

// Findings returns every row of the finding tables of docs/FINDINGS.md, in
// document order. A finding table is one whose header starts "| ID |"; its
// header is "| ID | severity | … |", and each of its rows has exactly three
// cells: a backquoted ID, one severity word (fail, warn or info) and a
// description. Every row that breaks this is an error, naming its line:
// the document and the catalog must say the same thing, so a row the
// reader cannot take apart is never skipped.
func Findings() ([]FindingRow, error) { return parseFindings(findingsMD) }

func parseFindings(md string) ([]FindingRow, error) {
	var rows []FindingRow
	var errs []error
	bad := func(n int, format string, a ...any) {
		errs = append(errs, fmt.Errorf("docs/FINDINGS.md:%d: "+format, append([]any{n}, a...)...))
	}
	// state: 0 outside a finding table (or in another table), 1 after a
	// finding table's header (its delimiter row is next), 2 in its rows.
	state, inOther := 0, false
	for i, line := range strings.Split(md, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if state == 1 {
				bad(n-1, "a finding table's header is not followed by its delimiter row")
			}
			state, inOther = 0, false
			continue
		}
		cells, ok := splitRow(line)
		if state == 0 && !inOther {
			// The first line of a table: its header.
			if len(cells) == 0 || cells[0] != "ID" {
				inOther = true // a table of another kind
				continue
			}
			switch {
			case !ok:
				bad(n, "the header row does not end with \"|\"")
			case len(cells) != 3:
				bad(n, "a finding table has three columns (ID, severity, description), this header has %d", len(cells))
			case cells[1] != "severity":
				bad(n, "a finding table's second column must be \"severity\", not %q", cells[1])
			}
			state = 1
			continue
		}
		if inOther {
			continue
		}
		if state == 1 {
			state = 2
			if len(cells) != 3 || !allDelims(cells) {
				bad(n, "a finding table's header must be followed by a delimiter row of three cells (|---|---|---|), not %q", line)
			}
			continue
		}
		switch {
		case !ok:
			bad(n, "the row does not end with \"|\" (a row has three cells: ID, severity, description)")
			continue
		case len(cells) != 3:
			bad(n, "the row has %d cells, not three (ID, severity, description): %s", len(cells), quoteCells(cells))
			continue
		}
		id, sev, desc := cells[0], cells[1], cells[2]
		inner := strings.TrimSuffix(strings.TrimPrefix(id, "`"), "`")
		if len(inner)+2 != len(id) || !idRE.MatchString(inner) {
			bad(n, "first cell %q is not a backquoted finding ID (`family.name`)", id)
			continue
		}
		if !severities[sev] {
			bad(n, "%s: the severity cell is %q, not one of fail, warn, info (a severity that depends on what was seen belongs in the description)", inner, sev)
			continue
		}
		if desc == "" {
			bad(n, "%s has no description", inner)
			continue
		}
		rows = append(rows, FindingRow{ID: inner, Severity: sev, Line: n})
	}
	if len(rows) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("docs/FINDINGS.md: no finding table found"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rows, nil
}

// splitRow splits a table row, which starts with "|", into its trimmed
// cells the way GitHub's Markdown does: at every "|" not escaped as "\|",
// inside code spans too. ok is false when the row does not end with an
// unescaped "|", so that a cell cannot run off the end unnoticed.
func splitRow(line string) (cells []string, ok bool) {
	line = strings.TrimPrefix(line, "|")
	var cur strings.Builder
	ok = false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteString(`\|`)
			i++
			ok = false
		case c == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			ok = true
		default:
			cur.WriteByte(c)
			if c != ' ' && c != '\t' {
				ok = false
			}
		}
	}
	if !ok && strings.TrimSpace(cur.String()) != "" {
		cells = append(cells, strings.TrimSpace(cur.String()))
	}
	return cells, ok
}

func allDelims(cells []string) bool {
	for _, c := range cells {
		if !delimRE.MatchString(c) {
			return false
		}
	}
	return true
}

func quoteCells(cells []string) string {
	q := make([]string, len(cells))
	for i, c := range cells {
		if r := []rune(c); len(r) > 60 {
			c = string(r[:57]) + "..."
		}
		q[i] = fmt.Sprintf("%q", c)
	}
	return strings.Join(q, " | ")
}
