package users

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// TestParsers runs each parser on testdata/<parser>/*.in and compares the
// result with the golden *.want.json.
func TestParsers(t *testing.T) {
	parsers := map[string]func([]byte) any{
		"passwd": func(b []byte) any {
			u, cut := ParsePasswd(b)
			r := ScanPasswd(context.Background(), bytes.NewReader(b), int64(len(b)), []string{DefaultUser, "appuser", "ghost"})
			if !slices.Equal(u, r.Users) || cut != r.Truncated {
				t.Errorf("ParsePasswd and ScanPasswd disagree: %v %v", u, r.Users)
			}
			return map[string]any{"users": u, "truncated": cut, "count": r.Count, "lookups": r.Lookups, "complete": r.Complete}
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
	if !f.PasswdRead || !has(f, "ec2-user") || has(f, DefaultUser) || f.Useradd != "/usr/sbin/useradd" || !f.SudoersDir ||
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

// has reports a name found, and fails on one whose absence is unknown in a
// small file read whole.
func has(f *Facts, user string) bool {
	found, known := f.Lookup(user)
	return found && known
}

// bigPasswd is a passwd of n users u0001…, with extra lines placed at the
// given 1-based line numbers.
func bigPasswd(n int, at map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if l, ok := at[i]; ok {
			b.WriteString(l)
			continue
		}
		fmt.Fprintf(&b, "u%05d:x:%d:%d:user %d:/home/u%05d:/bin/bash\n", i, 10000+i, 10000+i, i, i)
	}
	return b.String()
}

// TestInspectLargePasswd: with 9,500 users the list keeps the first 8,192
// names, but ssm-user and the names asked for, on lines 9,002 and 9,003,
// are looked up over the whole file and found. A name not asked for and
// not in the list is unknown, never absent; one asked for and not in the
// file is known absent.
func TestInspectLargePasswd(t *testing.T) {
	root := t.TempDir()
	write(t, root, PasswdPath, bigPasswd(9500, map[int]string{
		9002: "ssm-user:x:1001:1001::/home/ssm-user:/bin/sh\n",
		9003: "appuser:x:1002:1002::/home/appuser:/bin/bash\n",
		9004: "appuser2:x:1003:1003::/home/appuser2\n", // a near miss: six fields
	}), 0o644)
	f := Inspect(context.Background(), root, "appuser", "appuser2", "ghost")
	if !f.PasswdRead || f.PasswdCut || !f.UsersTruncated || len(f.Users) != MaxUsers || f.UsersCount != 9499 {
		t.Fatalf("read %v cut %v truncated %v, %d listed, %d counted", f.PasswdRead, f.PasswdCut, f.UsersTruncated, len(f.Users), f.UsersCount)
	}
	for _, c := range []struct {
		user         string
		found, known bool
	}{
		{DefaultUser, true, true}, {"appuser", true, true}, {"appuser2", false, true}, {"ghost", false, true},
		{"u00001", true, true}, {"u08192", true, true},
		{"u09100", false, false}, // in the file, beyond the list, not asked for
		{"nobody", false, false},
	} {
		found, known := f.Lookup(c.user)
		if found != c.found || known != c.known {
			t.Errorf("Lookup(%s) = %v, %v; want %v, %v", c.user, found, known, c.found, c.known)
		}
		if why := f.NotCheckedWhy(c.user); (why == "") != c.known {
			t.Errorf("NotCheckedWhy(%s) = %q", c.user, why)
		}
	}
}

// TestInspectPasswdOverOldCap: a 5 MiB passwd (over the 4 MiB the file
// was once read to) is read whole: ssm-user on its last line is found.
func TestInspectPasswdOverOldCap(t *testing.T) {
	root := t.TempDir()
	const n = 100000
	body := bigPasswd(n, map[int]string{n: "ssm-user:x:1001:1001::/home/ssm-user:/bin/sh\n"})
	if len(body) < 5<<20 {
		t.Fatalf("fixture is only %d bytes", len(body))
	}
	write(t, root, PasswdPath, body, 0o644)
	f := Inspect(context.Background(), root, "u00005", "ghost")
	if !f.PasswdRead || f.PasswdCut || f.UsersCount != n || len(f.Problems) != 0 {
		t.Fatalf("read %v cut %v count %d problems %v", f.PasswdRead, f.PasswdCut, f.UsersCount, f.Problems)
	}
	if !has(f, DefaultUser) || !has(f, "u00005") {
		t.Errorf("lookups %+v", f.Lookups)
	}
	if found, known := f.Lookup("ghost"); found || !known {
		t.Errorf("ghost: found %v known %v", found, known)
	}
}

// TestScanPasswdBound cuts the stream at byte bounds around the line that
// names ssm-user: a name found before the bound is found, one beyond it
// unknown, never absent.
func TestScanPasswdBound(t *testing.T) {
	head := bigPasswd(100, nil)
	line := "ssm-user:x:1001:1001::/home/ssm-user:/bin/sh\n"
	body := head + line + "tail:x:1:1::/:/bin/sh\n"
	for _, c := range []struct {
		max             int64
		found, complete bool
	}{
		{int64(len(head)), false, false},
		{int64(len(head) + len(line) - 1), false, false}, // the line is cut: not counted
		{int64(len(head) + len(line)), true, false},
		{int64(len(body)), true, true},
	} {
		r := ScanPasswd(context.Background(), strings.NewReader(body), c.max, []string{DefaultUser})
		if r.Lookups[0].Found != c.found || r.Complete != c.complete || (r.Err != nil) == c.complete {
			t.Errorf("max %d: found %v complete %v err %v", c.max, r.Lookups[0].Found, r.Complete, r.Err)
		}
		f := &Facts{PasswdRead: true, PasswdCut: !r.Complete, Lookups: r.Lookups, Users: r.Users, UsersCount: r.Count}
		if found, known := f.Lookup(DefaultUser); found != c.found || known != (c.found || c.complete) {
			t.Errorf("max %d: Lookup = %v, %v", c.max, found, known)
		}
	}
	if r := ScanPasswd(context.Background(), iotest.OneByteReader(strings.NewReader(body)), 1<<20, []string{DefaultUser}); !r.Complete || !r.Lookups[0].Found || r.Count != 102 {
		t.Errorf("one byte at a time: %+v", r.Lookups)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := ScanPasswd(ctx, strings.NewReader(body), 1<<20, nil); r.Complete || r.Err == nil {
		t.Errorf("cancelled: %+v", r)
	}
}

// TestInspectPasswdUnreadable: a passwd that is not a regular file is not
// read, and nothing about any user is known.
func TestInspectPasswdUnreadable(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, PasswdPath), 0o755); err != nil {
		t.Fatal(err)
	}
	f := Inspect(context.Background(), root, "appuser")
	if f.PasswdRead || len(f.Problems) == 0 {
		t.Fatalf("%+v", f)
	}
	if found, known := f.Lookup(DefaultUser); found || known || f.PasswdAbsent() {
		t.Errorf("ssm-user: found %v known %v, absent %v", found, known, f.PasswdAbsent())
	}
	if none := Inspect(context.Background(), t.TempDir()); !none.PasswdAbsent() || none.NotCheckedWhy(DefaultUser) == "" {
		t.Errorf("no passwd: absent %v", none.PasswdAbsent())
	}
	if why := f.NotCheckedWhy("appuser"); !strings.Contains(why, "could not be read") {
		t.Errorf("why %q", why)
	}
}
