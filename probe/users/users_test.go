package users

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// TestParsers runs each parser on testdata/<parser>/*.in and compares the
// result with the golden *.want.json.
func TestParsers(t *testing.T) {
	parsers := map[string]func([]byte) any{
		"passwd": func(b []byte) any {
			u, cut := ParsePasswd(b)
			return map[string]any{"users": u, "truncated": cut}
		},
		"nsswitch": func(b []byte) any { return ParsePasswdSources(b) },
	}
	golden.Parsers(t, "testdata", parsers)
}

func TestParsePasswdCap(t *testing.T) {
	var b strings.Builder
	for range MaxUsers + 5 {
		b.WriteString("u:x:1:1::/:/bin/sh\n")
	}
	if u, cut := ParsePasswd([]byte(b.String())); len(u) != MaxUsers || !cut {
		t.Errorf("got %d users, truncated %v", len(u), cut)
	}
}

func write(t *testing.T, root, p, body string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

// TestInspect reads planted trees: a host where the agent can create
// ssm-user, and one where it cannot (read-only passwd, no useradd, no
// sudoers.d).
func TestInspect(t *testing.T) {
	ok := t.TempDir()
	write(t, ok, PasswdPath, "root:x:0:0:root:/root:/bin/bash\nec2-user:x:1000:1000::/home/ec2-user:/bin/bash\n", 0o644)
	write(t, ok, NSSwitchPath, "passwd: files sss\n", 0o644)
	write(t, ok, "/usr/sbin/useradd", "#!/bin/sh\n", 0o755)
	if err := os.MkdirAll(filepath.Join(ok, SudoersDir), 0o750); err != nil {
		t.Fatal(err)
	}
	f := Inspect(context.Background(), ok)
	if !f.PasswdRead || !f.Has("ec2-user") || f.Has(DefaultUser) || f.Useradd != "/usr/sbin/useradd" || !f.SudoersDir ||
		!f.Passwd.Checked || !f.Passwd.OwnerWritable || strings.Join(f.OtherSources(), ",") != "sss" {
		t.Errorf("writable host: %+v", f)
	}
	if f.Passwd.Reason == "" {
		t.Error("under a root the mount must be reported as not checked")
	}

	bad := t.TempDir()
	write(t, bad, PasswdPath, "root:x:0:0:root:/root:/bin/bash\n", 0o444)
	write(t, bad, "/usr/sbin/useradd", "not executable", 0o644)
	f = Inspect(context.Background(), bad)
	if f.Passwd.OwnerWritable || f.Useradd != "" || f.SudoersDir || f.Sources != nil || len(f.OtherSources()) != 0 {
		t.Errorf("read-only host: %+v", f)
	}

	none := Inspect(context.Background(), t.TempDir())
	if none.PasswdRead || len(none.Problems) == 0 || none.Passwd.Checked {
		t.Errorf("empty root: %+v", none)
	}
}
