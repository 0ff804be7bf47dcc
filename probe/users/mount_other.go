//go:build !linux

package users

import (
	"fmt"
	"os"
	"runtime"
)

// readOnlyMount is unsupported outside Linux.
func readOnlyMount(string) (bool, error) {
	return false, fmt.Errorf("statfs: unsupported on %s", runtime.GOOS)
}

// immutable is unsupported outside Linux.
func immutable(*os.File) (bool, error) {
	return false, fmt.Errorf("file attributes: unsupported on %s", runtime.GOOS)
}
