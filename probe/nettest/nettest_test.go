package nettest

import (
	"context"
	"errors"
	"fmt"
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

// recorder is a testing.TB that records Errorf instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestLoopbackDialerRefusesOthers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rec := &recorder{TB: t}
	d := Loopback(rec)
	c, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("loopback dial: %v", err)
	}
	c.Close()
	// Refused before any packet: a documentation address, a link-local
	// one (IMDS) and a name, none of which may be dialled.
	for _, addr := range []string{"192.0.2.1:443", "169.254.169.254:80", "example.com:443", "nonsense"} {
		if c, err := d.Dial(context.Background(), "tcp", addr); err == nil {
			c.Close()
			t.Errorf("%s was dialled", addr)
		}
	}
	if len(rec.errs) != 4 {
		t.Errorf("%d test errors reported, want 4: %q", len(rec.errs), rec.errs)
	}
}
