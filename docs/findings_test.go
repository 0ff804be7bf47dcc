package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// wantRE and rowsRE read what a testdata file expects, from its leading
// HTML comments: the errors a bad file gives (one substring a line), or
// the rows a good one holds (id=severity@line ...).
var (
	wantRE = regexp.MustCompile(`(?m)^<!-- want: (.*) -->$`)
	rowsRE = regexp.MustCompile(`(?m)^<!-- rows: (.*) -->$`)
)

// TestParseFindingsTestdata reads every finding-table file of
// testdata/findings: a good one (ok-*) gives exactly the rows its header
// lists, each on its line; a bad one (bad-*, a near miss of a good row)
// is an error naming every line it expects.
func TestParseFindingsTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "findings", "*.md"))
	if err != nil || len(files) < 10 {
		t.Fatalf("testdata/findings: %d files, %v", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			md := string(b)
			rows, err := parseFindings(md)
			switch base := filepath.Base(f); {
			case strings.HasPrefix(base, "ok-"):
				m := rowsRE.FindStringSubmatch(md)
				if m == nil {
					t.Fatal("no <!-- rows: --> line")
				}
				if err != nil {
					t.Fatalf("error on a good table: %v", err)
				}
				var got []string
				for _, r := range rows {
					got = append(got, r.ID+"="+r.Severity+"@"+strconv.Itoa(r.Line))
				}
				if g := strings.Join(got, " "); g != m[1] {
					t.Errorf("rows %s, want %s", g, m[1])
				}
			case strings.HasPrefix(base, "bad-"):
				wants := wantRE.FindAllStringSubmatch(md, -1)
				if len(wants) == 0 {
					t.Fatal("no <!-- want: --> line")
				}
				if err == nil {
					t.Fatalf("no error; rows %+v", rows)
				}
				if rows != nil {
					t.Errorf("rows %+v returned with the error", rows)
				}
				for _, w := range wants {
					if !strings.Contains(err.Error(), w[1]) {
						t.Errorf("error lacks %q:\n%v", w[1], err)
					}
				}
			default:
				t.Fatal("a testdata file is named ok-* or bad-*")
			}
		})
	}
}

// TestFindingsDoc reads docs/FINDINGS.md itself: every row of its finding
// tables has its three cells and one severity word, and no ID is listed
// twice. (The catalog test in probe/diagnose holds the IDs and severities
// to the catalog.)
func TestFindingsDoc(t *testing.T) {
	rows, err := Findings()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range rows {
		if l, ok := seen[r.ID]; ok {
			t.Errorf("docs/FINDINGS.md:%d: %s is listed again (first on line %d)", r.Line, r.ID, l)
		}
		seen[r.ID] = r.Line
	}
	// Every table row that names an ID is a finding row: a row the reader
	// skipped would be a finding the catalog test never sees.
	idRow := regexp.MustCompile("^\\|\\s*`[a-z0-9]+\\.[a-z0-9-]+`\\s*\\|")
	n := 0
	for _, line := range strings.Split(findingsMD, "\n") {
		if idRow.MatchString(strings.TrimSpace(line)) {
			n++
		}
	}
	if n != len(rows) {
		t.Errorf("%d lines start with a backquoted ID, the reader returned %d rows", n, len(rows))
	}
}
