// Package golden compares test results with JSON golden files.
package golden

import (
	"encoding/json"
	"os"
	"reflect"
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
