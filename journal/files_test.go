package journal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRolledFileCap: a log folder with thousands of rolled copies keeps
// the newest MaxRolledFiles of each set, on the default (rescue) path and
// on an explicit directory, and says how many were skipped.
func TestRolledFileCap(t *testing.T) {
	const n = 3000
	root := t.TempDir()
	dir := filepath.Join(root, AgentLogDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%s.%d", MainLog, i))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		mt := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	for _, opt := range []Options{{Root: root}, {Paths: []string{dir}}} {
		res := Scan(context.Background(), opt)
		files := 0
		for _, s := range res.Sources {
			if strings.Contains(s.Name, MainLog+".") {
				files++
				if !strings.HasSuffix(s.Name, fmt.Sprint(n)) && strings.HasSuffix(s.Name, ".1") {
					t.Errorf("the oldest roll %s was considered", s.Name)
				}
			}
		}
		if files != MaxRolledFiles {
			t.Errorf("%+v: %d rolled files considered, want %d", opt, files, MaxRolledFiles)
		}
		want := fmt.Sprintf("%d older rolled copies of %s", n-MaxRolledFiles, MainLog)
		if !strings.Contains(strings.Join(res.Notes, "\n"), want) {
			t.Errorf("%+v: notes %q lack %q", opt, res.Notes, want)
		}
		var newest bool
		for _, s := range res.Sources {
			newest = newest || strings.HasSuffix(s.Name, fmt.Sprintf(".%d", n))
		}
		if !newest {
			t.Errorf("%+v: the newest roll was not considered", opt)
		}
	}
}
