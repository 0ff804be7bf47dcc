package nettest

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestBlackHoleTimesOut(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	port := FreePort(t, ip)
	BlackHole(t, ip, port)
	t0 := time.Now()
	_, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 300*time.Millisecond)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("dial: %v, want a timeout", err)
	}
	if d := time.Since(t0); d < 250*time.Millisecond {
		t.Errorf("returned after %v: that is not a black hole", d)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) == false && !ne.Timeout() {
		t.Errorf("not a timeout: %v", err)
	}
}
