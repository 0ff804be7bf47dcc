//go:build unix

package resolv

import (
	"fmt"
	"os"
	"syscall"
)

// openNoBlock opens path read-only with O_NONBLOCK, so that opening a FIFO
// with no writer returns at once instead of blocking (open(2)), then
// refuses anything that is not a regular file.
func openNoBlock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w (mode %v)", errNotRegular, fi.Mode().Type())
	}
	return f, nil
}
