package inotify

import (
	"context"
	"strings"
	"testing"
)

// TestReadOnWindows: on Windows, Read says it could not look, whatever
// directory it is given, and reports no figure.
func TestReadOnWindows(t *testing.T) {
	for _, dir := range []string{`\proc`, t.TempDir()} {
		f := Read(context.Background(), dir)
		if f.Checked || !strings.Contains(f.Reason, "none on Windows") || f.MaxUserWatches != 0 || len(f.Problems) != 0 {
			t.Errorf("Read(%s) = %+v, want not checked, not on Windows", dir, f)
		}
	}
}
