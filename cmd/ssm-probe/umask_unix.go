//go:build !windows

package main

import (
	"os"
	"syscall"
)

// currentUmask returns the process's file mode creation mask. umask(2) can
// only be read by setting it, so it is set and restored at once.
func currentUmask() os.FileMode {
	m := syscall.Umask(0o022)
	syscall.Umask(m)
	return os.FileMode(m) & 0o777
}
