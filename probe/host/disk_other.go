//go:build !linux

package host

import (
	"fmt"
	"runtime"
)

// statfs is unsupported outside Linux.
func statfs(p string) (statfsResult, error) {
	return statfsResult{}, fmt.Errorf("statfs: unsupported on %s", runtime.GOOS)
}
