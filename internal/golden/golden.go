// Package golden compares test results with golden files under testdata,
// and owns the one -update flag of the repository's tests: go test ./PKG
// -update rewrites the golden files (and the generated observation
// fixtures) from what the code produces now. Review the diff before
// committing it.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files and generated fixtures under testdata from the current output")

// Update reports whether the test run was asked to rewrite golden files
// (-update). Generators of fixtures use it too.
func Update() bool { return *update }

// JSON compares got, encoded as JSON, with the golden file at path. Both
// are decoded into generic JSON values and compared with reflect.DeepEqual,
// so layout does not matter but every field and value does: a field missing
// from either side is a difference. With -update the file is first
// rewritten from got.
func JSON(t testing.TB, path string, got any) {
	t.Helper()
	gb, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		write(t, path, append(gb, '\n'))
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

// Bytes compares got with the golden file at path byte for byte (text
// reports, Prometheus output); with -update the file is first rewritten.
func Bytes(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		write(t, path, got)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("differs from %s (go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Cases runs parse on every dir/*.in and compares the result, as JSON,
// with the case's .want.json beside it (JSON), one subtest per case.
func Cases(t *testing.T, dir string, parse func([]byte) any) {
	t.Helper()
	ins, err := filepath.Glob(filepath.Join(dir, "*.in"))
	if err != nil || len(ins) == 0 {
		t.Fatalf("no cases in %s (%v)", dir, err)
	}
	for _, in := range ins {
		t.Run(filepath.Base(dir)+"/"+strings.TrimSuffix(filepath.Base(in), ".in"), func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			JSON(t, strings.TrimSuffix(in, ".in")+".want.json", parse(b))
		})
	}
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
