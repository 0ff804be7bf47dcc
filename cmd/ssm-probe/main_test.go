package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMain points the boot-mode devices (the console, the kernel's console
// list, the serial ports) into a directory that does not exist before any
// test runs: a test that runs --wait or --console without its own stand-in
// files fails to write and says so on stderr, and no test ever writes to
// this machine's /dev/console or /dev/ttyS0.
func TestMain(m *testing.M) {
	nowhere, err := os.MkdirTemp("", "ssm-probe-nodev-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gone := filepath.Join(nowhere, "absent")
	defaultConsolePath = filepath.Join(gone, "console")
	defaultConsoleActive = filepath.Join(gone, "active")
	defaultTTYDir = gone
	code := m.Run()
	os.RemoveAll(nowhere)
	os.Exit(code)
}
