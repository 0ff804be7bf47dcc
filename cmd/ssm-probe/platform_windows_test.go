package main

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestRootRefusedOnWindows: run and logs refuse --root with a volume on
// Windows, with a usage error that says why; the live roots pass.
func TestRootRefusedOnWindows(t *testing.T) {
	for _, cmd := range []func([]string, *bytes.Buffer, *bytes.Buffer) int{
		func(a []string, o, e *bytes.Buffer) int { return cmdRun(a, o, e) },
		func(a []string, o, e *bytes.Buffer) int { return cmdLogs(a, o, e) },
	} {
		var out, errb bytes.Buffer
		if code := cmd([]string{"--root", `D:\mnt\vol`}, &out, &errb); code != exitUsage {
			t.Errorf("exit %d, want %d (usage); stderr %s", code, exitUsage, errb.String())
		}
		if !strings.Contains(errb.String(), "not supported on Windows") {
			t.Errorf("stderr does not say why: %s", errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("stdout not empty: %s", out.String())
		}
	}
	for _, root := range []string{"/", "", `\`, "//"} {
		if got, err := checkRoot(root); got != "/" || err != nil {
			t.Errorf("checkRoot(%q) = %q, %v, want the live root /", root, got, err)
		}
	}
}

// TestElevationNote: the note is empty exactly when the token is elevated,
// and otherwise tells how to run elevated.
func TestElevationNote(t *testing.T) {
	note := elevationNote()
	elevated := windows.GetCurrentProcessToken().IsElevated()
	if (note == "") != elevated {
		t.Errorf("elevated %v, note %q", elevated, note)
	}
	if !elevated && !strings.Contains(note, "elevated PowerShell") {
		t.Errorf("the note does not say how to run elevated: %q", note)
	}
	t.Logf("elevated: %v", elevated)
}
