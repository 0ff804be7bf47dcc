package journal

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

// update rewrites the golden *.want.json files: go test ./journal -update.
// Review the diff before committing.
var update = flag.Bool("update", false, "rewrite golden files under testdata")

// golden compares got, as indented JSON, with the file want; with -update it
// writes the file instead.
func golden(t *testing.T, want string, got any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.WriteFile(want, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(w, b) {
		t.Errorf("%s differs from got:\n%s", want, b)
	}
}
