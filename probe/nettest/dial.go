package nettest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
)

// LoopbackDialer dials loopback addresses (127.0.0.0/8, ::1) only. Any
// other address fails the test and is refused without a packet being sent,
// so that a test can never reach the machine's resolvers, the internet or
// its own IMDS. It is the one dialer every network test hands the code
// under test: probe.Config.Dialer, or Dial where a function is wanted.
type LoopbackDialer struct {
	T testing.TB
	d net.Dialer
}

// Loopback returns a LoopbackDialer reporting to t.
func Loopback(t testing.TB) *LoopbackDialer { return &LoopbackDialer{T: t} }

// DialContext dials address when it is a loopback IP and port.
func (l *LoopbackDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		l.T.Errorf("test dialled %s %q, not an address:port", network, address)
		return nil, fmt.Errorf("nettest: refusing %s: %w", address, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Unmap().IsLoopback() {
		l.T.Errorf("test tried to dial non-loopback %s %s", network, address)
		return nil, fmt.Errorf("nettest: refusing non-loopback %s", address)
	}
	return l.d.DialContext(ctx, network, address)
}

// Dial is DialContext as a function value, for clients that take one.
func (l *LoopbackDialer) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	return l.DialContext(ctx, network, address)
}
