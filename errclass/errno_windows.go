package errclass

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// The system errors of a refused, unreachable and timed-out connection on
// Windows: Winsock's WSAE* codes, which a failed connect returns
// (connectex: WSAECONNREFUSED, 10061), and the Win32 codes of the same
// conditions. syscall's POSIX names (ECONNREFUSED) are invented values on
// Windows, which no socket returns; they are kept for errors made in Go.
var (
	refusedErrs     = []error{syscall.ECONNREFUSED, windows.WSAECONNREFUSED, windows.ERROR_CONNECTION_REFUSED}
	unreachableErrs = []error{syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EADDRNOTAVAIL,
		windows.WSAENETUNREACH, windows.WSAEHOSTUNREACH, windows.WSAEADDRNOTAVAIL,
		windows.ERROR_NETWORK_UNREACHABLE, windows.ERROR_HOST_UNREACHABLE}
	timeoutErrs = []error{syscall.ETIMEDOUT, windows.WSAETIMEDOUT}
)
