//go:build linux

package resolv

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// TestReadConfHostile checks that special files and huge files give a
// recorded problem and return at once.
func TestReadConfHostile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	line := "nameserver 10.0.0.2\n"
	if err := os.WriteFile(big, []byte(strings.Repeat(line, MaxFileSize/len(line)+10)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path       string
		unreadable bool
		class      errclass.Class
		msgPrefix  string
	}{
		{fifo, true, errclass.Malformed, fifo + " is not a regular file (mode p"},
		{zero, true, errclass.Malformed, zero + " is not a regular file (mode D"},
		{dir, true, errclass.Malformed, dir + " is not a regular file (mode d"},
		{big, false, errclass.Malformed, big + " is larger than 65536 bytes"},
	}
	for _, tt := range tests {
		c := ReadConf(tt.path) // must not block on the FIFO
		if c.Unreadable != tt.unreadable || c.Missing {
			t.Errorf("%s: Unreadable=%v Missing=%v, want %v false", tt.path, c.Unreadable, c.Missing, tt.unreadable)
		}
		if len(c.Problems) == 0 || c.Problems[0].Class != tt.class || !strings.HasPrefix(c.Problems[0].Msg, tt.msgPrefix) {
			t.Errorf("%s: problems %#v, want first %s %q…", tt.path, c.Problems, tt.class, tt.msgPrefix)
		}
	}
	// The big file is read up to the cap: many nameservers, and one problem
	// for the extra ones, plus the size problem.
	c := ReadConf(big)
	if n := len(c.Nameservers); n != MaxFileSize/len(line) {
		t.Errorf("big file: %d nameservers, want %d", n, MaxFileSize/len(line))
	}
}
