// Package docs holds the repository's documents and reads the part of them
// that tests hold the code to: the finding tables of docs/FINDINGS.md.
package docs

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed FINDINGS.md
var findingsMD string

// FindingRow is one finding of docs/FINDINGS.md: its ID and its default
// severity, the first severity word of the row's severity column.
type FindingRow struct {
	ID       string
	Severity string
	Line     int
}

var severities = map[string]bool{"fail": true, "warn": true, "info": true}

// Findings returns every row of the finding tables of docs/FINDINGS.md, in
// document order. A finding table is one whose header starts
// "| ID | severity |"; each of its rows names one backquoted ID. A row
// without a severity word, or a finding table of another shape, is an
// error: the document and the catalog must say the same thing.
func Findings() ([]FindingRow, error) { return parseFindings(findingsMD) }

func parseFindings(md string) ([]FindingRow, error) {
	var rows []FindingRow
	inTable := false
	for i, line := range strings.Split(md, "\n") {
		n := i + 1
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if cells[0] == "ID" {
			if len(cells) < 2 || strings.ToLower(cells[1]) != "severity" {
				return nil, fmt.Errorf("docs/FINDINGS.md:%d: a finding table's second column must be \"severity\", not %q", n, strings.Join(cells[1:], "|"))
			}
			inTable = true
			continue
		}
		if !inTable || strings.Trim(cells[0], "-: ") == "" {
			continue
		}
		id := strings.Trim(cells[0], "`")
		if id == cells[0] || !strings.Contains(id, ".") {
			return nil, fmt.Errorf("docs/FINDINGS.md:%d: first cell %q is not a backquoted finding ID", n, cells[0])
		}
		if len(cells) < 2 {
			return nil, fmt.Errorf("docs/FINDINGS.md:%d: %s has no severity", n, id)
		}
		sev := strings.ToLower(strings.Trim(strings.Fields(cells[1] + " x")[0], ",;()"))
		if !severities[sev] {
			return nil, fmt.Errorf("docs/FINDINGS.md:%d: %s: severity %q does not start with fail, warn or info", n, id, cells[1])
		}
		rows = append(rows, FindingRow{ID: id, Severity: sev, Line: n})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("docs/FINDINGS.md: no finding table found")
	}
	return rows, nil
}
