//go:build linux

package observe

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
)

// testConfig returns a Config whose every dial is checked to be loopback,
// with files under an empty temporary root and an IMDS endpoint on a port
// nothing listens on.
func testConfig(t testing.TB) Config {
	t.Helper()
	cfg := Defaults()
	cfg.Root = t.TempDir()
	cfg.Dialer = nettest.Loopback(t)
	cfg.IMDSEndpoint = "http://127.0.0.1:1"
	cfg.VPCDNS = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	// The root is a temporary tree, so signed calls are resolved by the
	// signing resolvers, never by the machine's own resolv.conf.
	cfg.SigningDNS = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	return cfg
}

// blackHoleHTTP listens on loopback, accepts connections and never answers.
// It returns host:port and closes everything at test end.
func blackHoleHTTP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(done)
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// run observes as probe.Run does and diagnoses what it saw: the
// integration tests' whole probe, without importing the facade.
func run(ctx context.Context, cfg Config) *diagnose.Result {
	began := time.Now()
	return diagnose.Finish(Observe(ctx, cfg), time.Since(began))
}
