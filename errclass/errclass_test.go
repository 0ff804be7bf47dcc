package errclass

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestRefusedLoopback dials a loopback port nobody listens on: the error
// the platform's socket returns (ECONNREFUSED on Linux, WSAECONNREFUSED on
// Windows) is Refused.
func TestRefusedLoopback(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		t.Skipf("something listens on %s again", addr)
	}
	if c := Of(err); c != Refused {
		t.Errorf("Of(%v) = %s, want refused", err, c)
	}
}

func TestOf(t *testing.T) {
	wrap := func(e error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", e)}
	}
	for err, want := range map[error]Class{
		nil:                                 None,
		wrap(syscall.ECONNREFUSED):          Refused,
		wrap(syscall.ENETUNREACH):           Unreachable,
		wrap(syscall.EHOSTUNREACH):          Unreachable,
		wrap(syscall.ETIMEDOUT):             Timeout,
		context.DeadlineExceeded:            Timeout,
		context.Canceled:                    Canceled,
		fmt.Errorf("x: %w", os.ErrNotExist): NotFound,
		os.ErrPermission:                    Permission,
		wrap(syscall.EINVAL):                Other,
		errors.New("connection refused"):    Other, // never from the text
	} {
		if got := Of(err); got != want {
			t.Errorf("Of(%v) = %q, want %q", err, got, want)
		}
	}
}
