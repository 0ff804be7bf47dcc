//go:build !windows

package errclass

import "syscall"

// The system errors of a refused, unreachable and timed-out connection.
var (
	refusedErrs     = []error{syscall.ECONNREFUSED}
	unreachableErrs = []error{syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EADDRNOTAVAIL}
	timeoutErrs     = []error{syscall.ETIMEDOUT}
)
