// Package wine tells tests whether they run under wine, where the Windows
// test binaries run on Linux (make test-windows), so that a test hitting
// something wine 8.0 does not implement skips with a clear message under
// wine only, and fails as it should on a real Windows.
package wine

import "testing"

// Known limits of wine 8.0 (Debian 12), the reasons tests skip with.
const (
	// UDP: every UDP socket fails: Go's Windows net package turns off
	// SIO_UDP_CONNRESET and SIO_UDP_NETRESET on each one, and wine 8.0
	// answers that WSAIoctl with WSAEOPNOTSUPP (10045).
	UDP = "UDP sockets do not work under wine 8.0 (WSAIoctl SIO_UDP_NETRESET fails with WSAEOPNOTSUPP)"
	// ServiceConfig: golang.org/x/sys/windows/svc/mgr Service.Config fails,
	// since wine 8.0's QueryServiceConfig2W rejects the information level
	// it asks for ("Invalid level").
	ServiceConfig = "mgr.Service.Config fails under wine 8.0 (QueryServiceConfig2: Invalid level)"
	// PendingWrite: a loopback write that the peer stopped reading can stay
	// pending after the peer closes (the overlapped send neither completes
	// nor fails), so a server sending a large body to a client that read
	// only its cap never returns.
	PendingWrite = "a large loopback write can hang under wine 8.0 once the reader closes (the overlapped send never completes)"
)

// Skip skips t with reason when the test runs under wine; elsewhere it does
// nothing, and the test runs.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if Running() {
		t.Skip("skipped under wine: " + reason)
	}
}
