package probe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// fixture is one observation fixture file: what the probe saw, and the
// findings (ID and severity) it must yield. Nothing else is compared, so a
// wording change does not break the table.
type fixture struct {
	Comment      string        `json:"comment"`
	Want         []wantFinding `json:"want"`
	Observations Observations  `json:"observations"`
}

type wantFinding struct {
	ID       ID       `json:"id"`
	Severity Severity `json:"severity"`
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

// runFixtures diagnoses every fixture under dir and compares the findings.
func runFixtures(t *testing.T, dir string) {
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
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			got := []wantFinding{}
			fs := Diagnose(&f.Observations)
			for _, x := range fs {
				got = append(got, wantFinding{x.ID, x.Severity})
				if x.Title == "" || (x.Severity != SevInfo && x.Summary == "") {
					t.Errorf("%s: empty title or summary", x.ID)
				}
			}
			want := append([]wantFinding{}, f.Want...)
			if want == nil {
				want = []wantFinding{}
			}
			sortWant(got)
			sortWant(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("findings\n got %v\nwant %v", got, want)
				for _, x := range fs {
					t.Logf("%s %s: %s\n  %s", x.Severity, x.ID, x.Summary, strings.Join(x.Evidence, "\n  "))
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
