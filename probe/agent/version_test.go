//go:build linux

package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestParseVersion(t *testing.T) {
	cases := []struct {
		in     string
		parts  [4]int
		suffix string
		bad    bool
	}{
		{in: "3.3.1142.0", parts: [4]int{3, 3, 1142, 0}},
		{in: "3.3.1142.0-1", parts: [4]int{3, 3, 1142, 0}, suffix: "-1"},
		{in: "v3.2.582.0", parts: [4]int{3, 2, 582, 0}},
		{in: " 1:3.3.1142.0-1.amzn2 \n", parts: [4]int{3, 3, 1142, 0}, suffix: "-1.amzn2"},
		{in: "3.2.1705.0~snap", parts: [4]int{3, 2, 1705, 0}, suffix: "~snap"},
		{in: "2.3", parts: [4]int{2, 3, 0, 0}},
		{in: "3.3.40.", parts: [4]int{3, 3, 40, 0}},
		{in: "7993", bad: true},                   // a snap revision
		{in: "", bad: true},                       // nothing
		{in: "latest/stable", bad: true},          // a snap channel
		{in: "1.2.3.4.5", bad: true},              // too many numbers
		{in: "99999999999999999999.1", bad: true}, // overflows int
	}
	for _, c := range cases {
		v, err := ParseVersion(c.in)
		if c.bad {
			if !errors.Is(err, ErrNotVersion) {
				t.Errorf("ParseVersion(%q) = %v, %v; want ErrNotVersion", c.in, v, err)
			}
			continue
		}
		if err != nil || v.Parts != c.parts || v.Suffix != c.suffix {
			t.Errorf("ParseVersion(%q) = %+v, %v; want parts %v suffix %q", c.in, v, err, c.parts, c.suffix)
		}
	}
}

func TestThresholdsParse(t *testing.T) {
	for _, s := range []string{MinSessionManager, MinKMSEncryption, MinPortForwarding, MinDiagnosticsCLI,
		MinDefaultHostManagement, MinNoEC2Messages, MinMillisecondLogs, MinVersionFlag} {
		if _, err := ParseVersion(s); err != nil {
			t.Errorf("threshold %q: %v", s, err)
		}
	}
	fs := Features()
	ok := sort.SliceIsSorted(fs, func(i, j int) bool {
		a, _ := ParseVersion(fs[i].MinVersion)
		b, _ := ParseVersion(fs[j].MinVersion)
		return a.Less(b)
	})
	if !ok {
		t.Errorf("Features not in ascending version order: %v", fs)
	}
}

func TestCompare(t *testing.T) {
	in := []string{"3.3.1142.0", "2.3.68.0", "3.3.40.0", "3.2.582.0-1", "v2.3.539.0", "3.0.222.0", "2.3.67.9", "10.0.0.0"}
	var vs []Version
	for _, s := range in {
		v, err := ParseVersion(s)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Less(vs[j]) })
	var got []string
	for _, v := range vs {
		got = append(got, v.String())
	}
	want := []string{"2.3.67.9", "2.3.68.0", "2.3.539.0", "3.0.222.0", "3.2.582.0", "3.3.40.0", "3.3.1142.0", "10.0.0.0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sorted %v, want %v", got, want)
	}
	a, _ := ParseVersion("3.2.582.0-1")
	b, _ := ParseVersion("3.2.582.0")
	if a.Compare(b) != 0 || a.Less(b) || b.Less(a) {
		t.Errorf("suffix must not affect comparison")
	}
	if !a.AtLeast(MinDefaultHostManagement) || a.AtLeast(MinNoEC2Messages) || a.AtLeast("garbage") {
		t.Errorf("AtLeast wrong for %v", a)
	}
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "amazon-ssm-agent")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunVersion(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	cases := []struct {
		name, body, want, errHas string
	}{
		{"prints", `[ "$1" = "-version" ] && echo "SSM Agent version: 3.3.1142.0"`, "3.3.1142.0", ""},
		{"old agent rejects the flag", `echo "flag provided but not defined: -version" >&2; exit 2`, "", "exit status 2"},
		{"prints nothing useful", `echo hello`, "", "no \"SSM Agent version:\""},
		{"huge output", `yes x | head -c 1000000; echo "SSM Agent version: 1.2.3.4"`, "", "no \"SSM Agent version:\""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got, err := runVersion(ctx, execRunner, script(t, c.body))
			if got != c.want || (c.errHas == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.errHas)) {
				t.Errorf("got %q, %v; want %q, error containing %q", got, err, c.want, c.errHas)
			}
		})
	}
}

// TestRunVersionTimeout checks that a binary that hangs, and a child that
// keeps its output open, are abandoned soon after the timeout.
func TestRunVersionTimeout(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	bin := script(t, "sleep 30 & sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := runVersion(ctx, execRunner, bin)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 200*time.Millisecond+commandWaitDelay+2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestParseProxy(t *testing.T) {
	for in, want := range map[string]string{
		"http://proxy:3128":        "proxy:3128",
		"proxy:3128":               "proxy:3128",
		"http://u:pw@proxy:3128":   "proxy:3128",
		"http://TOKEN@proxy":       "proxy",
		"http://u:p/ss@proxy:3128": "",
		"u:p#ss@proxy:3128":        "",
		"http://u:1234/x@proxy":    "",
		"http://u:p?x@proxy":       "",
		"http://":                  "",
		"":                         "",
	} {
		u, err := ParseProxy(in)
		got := ""
		if err == nil {
			got = u.Host
		} else if strings.Contains(err.Error(), in) && in != "" {
			t.Errorf("ParseProxy(%q): the error quotes the value: %v", in, err)
		}
		if got != want {
			t.Errorf("ParseProxy(%q) host = %q, want %q (err %v)", in, got, want, err)
		}
	}
}
