//go:build !linux

package users

import (
	"fmt"
	"runtime"
)

// readOnlyMount is unsupported outside Linux.
func readOnlyMount(string) (bool, error) {
	return false, fmt.Errorf("statfs: unsupported on %s", runtime.GOOS)
}
