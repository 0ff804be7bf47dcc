//go:build !windows

package main

// checkRoot returns --root as given: it reads a mounted volume on Linux.
func checkRoot(root string) (string, error) { return root, nil }

// elevationNote is "" on Linux: what a probe without root could not read is
// said by each check itself.
func elevationNote() string { return "" }
