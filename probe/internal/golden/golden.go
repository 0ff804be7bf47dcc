// Package golden compares test results with JSON golden files.
package golden

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// JSON compares got, encoded as JSON, with the golden file at path. Both
// are decoded into generic JSON values and compared with reflect.DeepEqual,
// so layout does not matter but every field and value does: a field missing
// from either side is a difference. With update set, the file is first
// rewritten from got (go test -update).
func JSON(t testing.TB, path string, got any, update bool) {
	t.Helper()
	gb, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if update {
		if err := os.WriteFile(path, append(gb, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wb, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	var g, w any
	if err := json.Unmarshal(gb, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(wb, &w); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("differs from %s (go test -update to accept):\n got %s\nwant %s", path, gb, wb)
	}
}

// Parsers runs each parser on every dir/<name>/*.in and compares its result
// with the golden <case>.want.json beside it (see JSON). A parser without
// inputs fails the test.
func Parsers(t *testing.T, dir string, parsers map[string]func([]byte) any, update bool) {
	t.Helper()
	for name, parse := range parsers {
		ins, _ := filepath.Glob(filepath.Join(dir, name, "*.in"))
		if len(ins) == 0 {
			t.Fatalf("no inputs for %s in %s", name, dir)
		}
		for _, in := range ins {
			t.Run(name+"/"+filepath.Base(in), func(t *testing.T) {
				b, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				JSON(t, strings.TrimSuffix(in, ".in")+".want.json", parse(b), update)
			})
		}
	}
}
