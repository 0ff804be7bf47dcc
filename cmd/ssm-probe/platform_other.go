//go:build !windows

package main

// rootSupported: --root reads a mounted volume on Linux.
func rootSupported(string) error { return nil }

// elevationNote is "" on Linux: what a probe without root could not read is
// said by each check itself.
func elevationNote() string { return "" }
