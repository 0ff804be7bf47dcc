package resolvtest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// clientTimeout bounds each test exchange; loopback answers in well under
// a millisecond, so a second only matters when the server is broken.
const clientTimeout = time.Second

func TestServer(t *testing.T) {
	s := StartSamePort(t, []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.3")}, []Zone{
		{"a.example": {Addrs: []netip.Addr{netip.MustParseAddr("10.1.1.1")}}, "tc.example": {Truncate: true, Addrs: []netip.Addr{netip.MustParseAddr("10.2.2.2")}}},
		{"*": {Rcode: dns.RcodeRefused}},
	})
	if s[0].Addr.Port() != s[1].Addr.Port() {
		t.Fatalf("ports differ: %v %v", s[0].Addr, s[1].Addr)
	}
	ask := func(srv *Server, network, name string) *dns.Msg {
		c := &dns.Client{Net: network, Timeout: clientTimeout}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeA)
		r, _, err := c.Exchange(m, srv.Addr.String())
		if err != nil {
			t.Fatalf("%s %s: %v", network, name, err)
		}
		return r
	}
	if r := ask(s[0], "udp", "A.example."); len(r.Answer) != 1 || r.Rcode != dns.RcodeSuccess {
		t.Errorf("a.example: %v", r)
	}
	if r := ask(s[0], "udp", "missing.example"); r.Rcode != dns.RcodeNameError {
		t.Errorf("missing.example rcode %d, want NXDOMAIN", r.Rcode)
	}
	if r := ask(s[0], "udp", "tc.example"); !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("tc.example over UDP: %v", r)
	}
	if r := ask(s[0], "tcp", "tc.example"); r.Truncated || len(r.Answer) != 1 {
		t.Errorf("tc.example over TCP: %v", r)
	}
	if r := ask(s[1], "udp", "a.example"); r.Rcode != dns.RcodeRefused {
		t.Errorf("second server rcode %d, want REFUSED", r.Rcode)
	}
	if s[0].Count("a.example") != 1 || s[0].Count("tc.example.") != 2 || s[0].Total() != 4 || s[1].Total() != 1 {
		t.Errorf("counts: a=%d tc=%d total=%d/%d", s[0].Count("a.example"), s[0].Count("tc.example"), s[0].Total(), s[1].Total())
	}
}
