package routes

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// TestRead reads each table set under testdata/<case>/ (a dual-stack host's
// real tables, an IPv6-only host with a link-local IPv4 address and a
// reject route on lo, an IPv4-only host) and compares the facts with
// testdata/<case>.want.json.
func TestRead(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "*"))
	n := 0
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(d), func(t *testing.T) {
			f := Read(context.Background(), d)
			golden.JSON(t, d+".want.json", map[string]any{"facts": f, "ipv6_only": f.IPv6Only()})
		})
	}
	if n < 3 {
		t.Fatalf("only %d table sets", n)
	}
}

func TestReadMissing(t *testing.T) {
	f := Read(context.Background(), t.TempDir())
	if f.Checked || f.Reason == "" || f.IPv6Only() {
		t.Errorf("%+v", f)
	}
}
