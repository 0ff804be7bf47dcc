package journal

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestScanLogDir reads the agent's logs from another directory (the
// Windows agent's %ProgramData%\Amazon\SSM\Logs) and no system log for
// kills, where the same root read by default has both.
func TestScanLogDir(t *testing.T) {
	written := time.Date(2026, 12, 7, 1, 20, 0, 0, time.UTC)
	root := copyRoot(t, "testdata/kills/root-messages", written)
	dir := filepath.Join(root, "ProgramData", "Amazon", "SSM", "Logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	line := "2026-12-07 01:10:00 INFO amazon-ssm-agent - v3.3.1142.0\n"
	if err := os.WriteFile(filepath.Join(dir, MainLog), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := Options{Root: root, LogDir: "ProgramData/Amazon/SSM/Logs", Location: time.UTC}
	if runtime.GOOS == "windows" {
		// Windows reads the live system only: the folder by its own path,
		// as the Windows agent check names %ProgramData%\Amazon\SSM\Logs.
		opt.Root, opt.LogDir = "", dir
	}
	r := Scan(context.Background(), opt)
	if r.Kills != nil {
		t.Errorf("kills read beside a log directory of another system: %+v", r.Kills)
	}
	read := 0
	for _, s := range r.Sources {
		if s.Status == StatusRead {
			read++
			if filepath.Dir(s.Name) != dir {
				t.Errorf("read %s, outside %s", s.Name, dir)
			}
		}
	}
	if read != 1 {
		t.Errorf("%d sources read, want the one log: %+v", read, r.Sources)
	}
	if runtime.GOOS == "windows" {
		return
	}
	if d := Scan(context.Background(), Options{Root: root, Location: time.UTC}); d.Kills == nil {
		t.Error("the default scan of the same root found no kill: the case does not hold")
	}
}
