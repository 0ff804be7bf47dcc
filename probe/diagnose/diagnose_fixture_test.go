package diagnose

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/internal/golden"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// fixture is one observation fixture file, the one format of every
// directory under testdata/obs: what the probe saw, and the findings it must
// yield, each with its severity and, optionally, text it must contain (the
// names of the objects involved). Nothing else is compared, so a wording
// change does not break the table. The files are written by the Go
// scenario tables beside each test (go test ./probe/diagnose -update).
type fixture struct {
	Comment      string           `json:"comment"`
	Want         []wantFinding    `json:"want"`
	Observations obs.Observations `json:"observations"`
}

type wantFinding struct {
	ID       finding.ID       `json:"id"`
	Severity finding.Severity `json:"severity"`
	Text     []string         `json:"text,omitempty"`     // each must appear in the summary, evidence or remediation
	NotText  []string         `json:"not_text,omitempty"` // none may appear there (a wrong cause or fix)
}

func writeFixture(t *testing.T, dir, name string, f fixture) {
	t.Helper()
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixtureDir writes dir's fixtures from scenarios under -update (every
// fixture directory that is generated is generated this way), then runs
// them, as runFixtures does.
func fixtureDir(t *testing.T, dir string, scenarios map[string]fixture, families ...string) {
	t.Helper()
	if golden.Update() {
		for name, f := range scenarios {
			writeFixture(t, dir, name, f)
		}
	}
	runFixtures(t, dir, families...)
}

// runFixtures diagnoses every fixture under dir and compares the findings;
// with families given (ID prefixes), only the findings of those families.
// Files are decoded strictly: an unknown field is an error, so a typo
// cannot silently weaken a case.
func runFixtures(t *testing.T, dir string, families ...string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s (%v)", dir, err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var f fixture
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&f); err != nil {
				t.Fatal(err)
			}
			got := []wantFinding{}
			var fs []finding.Finding
			for _, x := range Diagnose(&f.Observations) {
				if !inFamilies(x.ID, families) {
					continue
				}
				fs = append(fs, x)
				got = append(got, wantFinding{ID: x.ID, Severity: x.Severity})
				if x.Title == "" || (x.Severity != finding.SevInfo && x.Summary == "") {
					t.Errorf("%s: empty title or summary", x.ID)
				}
			}
			want := []wantFinding{}
			for _, w := range f.Want {
				want = append(want, wantFinding{ID: w.ID, Severity: w.Severity})
			}
			sortWant(got)
			sortWant(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("findings\n got %v\nwant %v", got, want)
				for _, x := range fs {
					t.Logf("%s %s: %s\n  %s", x.Severity, x.ID, x.Summary, strings.Join(x.Evidence, "\n  "))
				}
			}
			for _, w := range f.Want {
				for _, x := range fs {
					if x.ID != w.ID {
						continue
					}
					if len(w.Text) > 0 && x.Severity != finding.SevInfo && len(x.Remediation) == 0 {
						t.Errorf("%s names its objects but gives no fix", x.ID)
					}
					txt := x.Summary + "\n" + strings.Join(x.Evidence, "\n") + "\n" + strings.Join(x.Remediation, "\n")
					for _, s := range w.Text {
						if !strings.Contains(txt, s) {
							t.Errorf("%s does not mention %q:\n%s", x.ID, s, txt)
						}
					}
					for _, s := range w.NotText {
						if strings.Contains(txt, s) {
							t.Errorf("%s mentions %q, which it must not:\n%s", x.ID, s, txt)
						}
					}
				}
			}
		})
	}
}

func sortWant(w []wantFinding) {
	sort.Slice(w, func(i, j int) bool {
		if w[i].ID != w[j].ID {
			return w[i].ID < w[j].ID
		}
		return w[i].Severity < w[j].Severity
	})
}

// inFamilies reports whether id starts with one of families; no families
// means every ID.
func inFamilies(id finding.ID, families []string) bool {
	if len(families) == 0 {
		return true
	}
	for _, p := range families {
		if strings.HasPrefix(string(id), p) {
			return true
		}
	}
	return false
}
