//go:build !unix

package resolv

import (
	"fmt"
	"os"
)

// openNoBlock checks that path is a regular file before opening it. Off
// Unix there are no FIFOs to block on in the paths this package reads.
func openNoBlock(path string) (*os.File, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (mode %v)", errNotRegular, fi.Mode().Type())
	}
	return os.Open(path)
}
