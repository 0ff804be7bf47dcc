package errclass

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/windows"
)

func TestOfWindows(t *testing.T) {
	wrap := func(e error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connectex", e)}
	}
	for err, want := range map[error]Class{
		wrap(windows.WSAECONNREFUSED):           Refused,
		wrap(windows.ERROR_CONNECTION_REFUSED):  Refused,
		wrap(windows.WSAENETUNREACH):            Unreachable,
		wrap(windows.WSAEHOSTUNREACH):           Unreachable,
		wrap(windows.WSAEADDRNOTAVAIL):          Unreachable,
		wrap(windows.ERROR_NETWORK_UNREACHABLE): Unreachable,
		wrap(windows.ERROR_HOST_UNREACHABLE):    Unreachable,
		wrap(windows.WSAETIMEDOUT):              Timeout,
		wrap(windows.WSAECONNRESET):             Other,
		wrap(windows.ERROR_ACCESS_DENIED):       Permission,
		wrap(windows.ERROR_FILE_NOT_FOUND):      NotFound,
	} {
		if got := Of(err); got != want {
			t.Errorf("Of(%v) = %q, want %q", err, got, want)
		}
	}
}
