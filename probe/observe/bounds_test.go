//go:build linux

package observe

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// countingDialer wraps the loopback-only test dialer and records the most
// connections open at once.
type countingDialer struct {
	inner     Dialer
	skip      string // an address not counted towards open and max (the IMDS)
	mu        sync.Mutex
	open, max int
	addrs     map[string]int // open connections per network and address
	atMax     string         // addrs when max was reached, for the log
}

func (d *countingDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.inner.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if address != d.skip {
		d.open++
	}
	if d.addrs == nil {
		d.addrs = map[string]int{}
	}
	key := network + " " + address
	d.addrs[key]++
	if d.open > d.max {
		d.max, d.atMax = d.open, fmt.Sprint(d.addrs)
	}
	d.mu.Unlock()
	return &countedConn{Conn: c, d: d, key: key}, nil
}

type countedConn struct {
	net.Conn
	d    *countingDialer
	key  string
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.d.mu.Lock()
		if !strings.HasSuffix(c.key, " "+c.d.skip) {
			c.d.open--
		}
		c.d.addrs[c.key]--
		c.d.mu.Unlock()
	})
	return c.Conn.Close()
}

// TestConcurrentSocketsCapped runs the probe against six silent endpoints
// and three resolvers with MaxConcurrent 3: the sockets open at once never
// exceed two per running check (a DNS check asks A and AAAA in parallel),
// whatever the number of checks. The IMDS check is counted apart: it
// fetches its metadata paths concurrently, one connection each (seven in
// one burst today), and the log shows that figure.
func TestConcurrentSocketsCapped(t *testing.T) {
	l := newLab(t, "127.0.0.1", "127.0.0.3", "127.0.0.4")
	l.cfg.Timeout = hostileTimeout
	as := addrs("127.0.4")
	l.dns([]string{"127.0.0.1", "127.0.0.3", "127.0.0.4"}, []resolvtest.Zone{zone(as), zone(as), zone(as)})
	for _, a := range as {
		serveRaw(t, a, l.port, func(c net.Conn) { c.Read(make([]byte, 1)) }) // accept, then silence
	}
	l.cfg.EndpointPort = l.port
	const limit = 3
	u, err := url.Parse(l.cfg.IMDSEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	cd := &countingDialer{inner: l.cfg.Dialer, skip: u.Host}
	l.cfg.Dialer, l.cfg.MaxConcurrent = cd, limit
	res := runBounded(t, l.cfg)
	t.Logf("%d checks, at most %d sockets open at once besides the IMDS (MaxConcurrent %d): %s", len(res.Checks), cd.max, limit, cd.atMax)
	if cd.max > 2*limit {
		t.Errorf("%d sockets open at once; MaxConcurrent %d allows %d", cd.max, limit, 2*limit)
	}
	if cd.max == 0 {
		t.Error("no socket was counted")
	}
}

// amazonDNSLimit is the packets per second AmazonProvidedDNS accepts from
// one network interface (docs/AGENT-FACTS.md; "DNS quotas", Amazon VPC docs).
const amazonDNSLimit = 1024

// TestDNSQueriesPerRun counts the queries one full healthy run sends to
// three loopback resolvers. Even if all of them were sent inside one
// second they must stay far under AmazonProvidedDNS's limit, so that the
// probe never causes the throttling it diagnoses.
func TestDNSQueriesPerRun(t *testing.T) {
	l := newLab(t, "127.0.0.1", "127.0.0.3")
	as := addrs("127.0.1")
	ips := []string{"127.0.0.1", "127.0.0.3", "127.0.0.4"}
	var asAddr []netip.Addr
	for _, ip := range ips {
		asAddr = append(asAddr, netip.MustParseAddr(ip))
	}
	srvs := resolvtest.StartSamePort(t, asAddr, []resolvtest.Zone{zone(as), zone(as), zone(as)})
	l.cfg.DNSPort = int(srvs[0].Addr.Port())
	l.cfg.VPCDNS = []netip.Addr{asAddr[0], asAddr[2]}
	l.endpoints(as, l.ca, 0)
	t0 := time.Now()
	res := runBounded(t, l.cfg)
	took := time.Since(t0)
	total := 0
	for _, s := range srvs {
		total += s.Total()
	}
	rate := float64(total) / max(took.Seconds(), 0.001)
	t.Logf("%d DNS queries in %v (%.0f/s over the run; %d checks)", total, took.Round(time.Millisecond), rate, len(res.Checks))
	if total == 0 {
		t.Fatal("no query counted")
	}
	// All queries of a run, even if sent in one burst, stay under a tenth
	// of the per-interface limit.
	if total > amazonDNSLimit/10 {
		t.Errorf("%d queries in one run; want at most %d (a tenth of %d/s)", total, amazonDNSLimit/10, amazonDNSLimit)
	}
}
