// Package resolvtest runs small, configurable DNS servers on loopback for
// tests: per-name A/AAAA answers, NODATA, NXDOMAIN, SERVFAIL, REFUSED,
// silence, truncation over UDP, and hostile replies, with a query counter.
// UDP and TCP share one port.
package resolvtest

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/ssm-probe/ssm-probe/internal/wine"
)

// startTimeout bounds how long Start waits for the listeners to come up. A
// loopback listener starts in microseconds; a second is ample on a loaded
// CI machine and still fails fast.
const startTimeout = time.Second

// Entry says how the server answers one name.
type Entry struct {
	Addrs    []netip.Addr // A records (IPv4) and AAAA records (IPv6)
	CNAME    string       // when set, answered first, followed by Addrs
	Rcode    int          // dns.RcodeSuccess (0) unless set; NXDOMAIN, SERVFAIL, REFUSED…
	Silent   bool         // drop the query: no reply at all
	Truncate bool         // over UDP, reply with TC set and no records; over TCP, answer fully
	WrongID  bool         // reply with an ID that does not match the query
	Garbage  bool         // reply with bytes that are not a DNS message
	Lame     bool         // clear RA in the reply (with no records this is a lame referral)
	// DropFirst drops the first DropFirst queries for the name, then
	// answers: a lost datagram, which a hedged retry recovers.
	DropFirst int
}

// Zone maps names to entries. Keys are compared without case and without a
// trailing dot. The key "*" applies to names not listed; without it they
// get NXDOMAIN.
type Zone map[string]Entry

// Server is a running test server.
type Server struct {
	Addr netip.AddrPort // where it listens, UDP and TCP

	zone   Zone
	mu     sync.Mutex
	counts map[string]int // queries per lowercased FQDN without trailing dot
	total  int
}

// Start runs a server for zone on 127.0.0.1 and a free port. It stops when
// the test ends.
func Start(t testing.TB, zone Zone) *Server {
	t.Helper()
	return StartSamePort(t, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, []Zone{zone})[0]
}

// StartSamePort runs one server per address in ips, all on the same free
// port, serving zones[i] on ips[i]. Use distinct loopback addresses
// (127.0.0.1, 127.0.0.2, …) to model several nameservers that share port 53.
func StartSamePort(t testing.TB, ips []netip.Addr, zones []Zone) []*Server {
	t.Helper()
	if len(ips) != len(zones) || len(ips) == 0 {
		t.Fatalf("resolvtest: %d addresses for %d zones", len(ips), len(zones))
	}
	for try := 0; try < 20; try++ {
		servers, err := startAll(t, ips, zones)
		if err == nil {
			return servers
		}
		if wine.Running() {
			t.Skipf("skipped under wine: %s (resolvtest: %v)", wine.UDP, err)
		}
		if try == 19 {
			t.Fatalf("resolvtest: %v", err)
		}
	}
	return nil
}

// startAll picks a port on ips[0] and binds every address to it; it fails
// when the port is taken on another address, and the caller retries.
func startAll(t testing.TB, ips []netip.Addr, zones []Zone) ([]*Server, error) {
	var (
		servers []*Server
		closers []func()
		port    uint16
	)
	cleanup := func() {
		for _, c := range closers {
			c()
		}
	}
	for i, ip := range ips {
		s, stop, err := Serve(netip.AddrPortFrom(ip, port), zones[i])
		if err != nil {
			cleanup()
			return nil, err
		}
		if port == 0 {
			port = s.Addr.Port()
		}
		closers = append(closers, stop)
		servers = append(servers, s)
	}
	t.Cleanup(cleanup)
	return servers, nil
}

// Serve runs a server for zone on addr, UDP and TCP on the same port (port
// 0 picks a free one), outside of a test: the lab runs it on port 53 inside
// its own network namespace. The caller must call stop.
func Serve(addr netip.AddrPort, zone Zone) (s *Server, stop func(), err error) {
	pc, err := net.ListenPacket("udp", addr.String())
	if err != nil {
		return nil, nil, err
	}
	port := uint16(pc.LocalAddr().(*net.UDPAddr).Port)
	l, err := net.Listen("tcp", netip.AddrPortFrom(addr.Addr(), port).String())
	if err != nil {
		pc.Close()
		return nil, nil, err
	}
	s = &Server{Addr: netip.AddrPortFrom(addr.Addr(), port), zone: zone, counts: map[string]int{}}
	stop, err = s.serve(pc, l)
	if err != nil {
		return nil, nil, err
	}
	return s, stop, nil
}

// serve starts the UDP and TCP servers and waits until both listen.
func (s *Server) serve(pc net.PacketConn, l net.Listener) (func(), error) {
	started := make(chan struct{}, 2)
	h := dns.HandlerFunc(s.handle)
	udp := &dns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { started <- struct{}{} }}
	tcp := &dns.Server{Listener: l, Handler: h, NotifyStartedFunc: func() { started <- struct{}{} }}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	stop := func() {
		udp.Shutdown()
		tcp.Shutdown()
	}
	for i := 0; i < 2; i++ {
		select {
		case <-started:
		case <-time.After(startTimeout):
			stop()
			return nil, fmt.Errorf("server on %v did not start within %v", pc.LocalAddr(), startTimeout)
		}
	}
	return stop, nil
}

// key normalises a name for the zone and the counters.
func key(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// Count returns how many queries for name the server has received.
func (s *Server) Count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[key(name)]
}

// Total returns how many queries the server has received.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// handle answers one query according to the zone.
func (s *Server) handle(w dns.ResponseWriter, q *dns.Msg) {
	if len(q.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(q, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	qn := q.Question[0]
	k := key(qn.Name)
	s.mu.Lock()
	s.counts[k]++
	s.total++
	e, ok := s.zone[k]
	if !ok {
		e, ok = s.zone["*"]
	}
	dropped := s.counts[k] <= e.DropFirst
	s.mu.Unlock()
	if !ok {
		e = Entry{Rcode: dns.RcodeNameError}
	}
	_, overTCP := w.RemoteAddr().(*net.TCPAddr)
	switch {
	case e.Silent, dropped:
		return
	case e.Garbage:
		w.Write([]byte("this is not a DNS message"))
		return
	}
	m := new(dns.Msg)
	m.SetRcode(q, e.Rcode)
	m.Authoritative = false
	m.RecursionAvailable = !e.Lame
	if e.Truncate && !overTCP {
		m.Truncated = true
	} else if e.Rcode == dns.RcodeSuccess {
		owner := qn.Name
		if e.CNAME != "" {
			m.Answer = append(m.Answer, &dns.CNAME{Hdr: hdr(owner, dns.TypeCNAME), Target: dns.Fqdn(e.CNAME)})
			owner = dns.Fqdn(e.CNAME)
		}
		for _, a := range e.Addrs {
			switch {
			case a.Is4() && qn.Qtype == dns.TypeA:
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr(owner, dns.TypeA), A: a.AsSlice()})
			case a.Is6() && !a.Is4In6() && qn.Qtype == dns.TypeAAAA:
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(owner, dns.TypeAAAA), AAAA: a.AsSlice()})
			}
		}
	}
	if e.WrongID {
		m.Id = q.Id + 1
	}
	w.WriteMsg(m)
}

// hdr builds a record header with a short TTL.
func hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 60}
}
