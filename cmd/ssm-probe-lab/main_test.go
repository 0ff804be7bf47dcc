//go:build linux

package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/lab"
)

// TestSkip: a skipped lab says so, never passes silently, and fails under
// CI=true.
func TestSkip(t *testing.T) {
	for _, c := range []struct {
		ci   string
		want int
	}{{"", exitOK}, {"false", exitOK}, {"true", exitFail}} {
		t.Setenv("CI", c.ci)
		var out bytes.Buffer
		got := skip("e2e", 3, fmt.Errorf("%w: needs root", lab.ErrSkip), &out)
		if got != c.want {
			t.Errorf("CI=%q: exit %d, want %d", c.ci, got, c.want)
		}
		if !strings.HasPrefix(out.String(), "SKIPPED:") || !strings.Contains(out.String(), "0 passed, 0 failed, 3 skipped") {
			t.Errorf("CI=%q: output %q", c.ci, out.String())
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"serve"}, {"e2e", "extra-arg"}} {
		var out, errb bytes.Buffer
		if got := run(args, &out, &errb); got != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, got, exitUsage)
		}
	}
}
