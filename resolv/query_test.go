package resolv

import (
	"context"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/internal/wine"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// Test timing. testTimeout is a query's whole wait: long enough that a
// loopback reply on a loaded two-core machine under -race always arrives,
// short enough to keep silent-server tests fast. testSlack is what a call
// may overrun its budget by (scheduling and socket teardown).
const (
	testTimeout = 300 * time.Millisecond
	testSlack   = 150 * time.Millisecond
)

// endpoint and its addresses are the names used across the tests.
const endpoint = "ssm.us-east-1.amazonaws.com"

func TestQuery(t *testing.T) {
	many := make([]netip.Addr, 200) // about 3 KiB of A records: above the EDNS size we advertise
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(1 + i%250)})
	}
	srv := resolvtest.Start(t, resolvtest.Zone{
		endpoint:          {Addrs: addrs("10.0.1.5", "10.0.2.5", "fd00:1::5")},
		"v4only.example":  {Addrs: addrs("10.0.1.6")},
		"gone.example":    {Rcode: dns.RcodeNameError},
		"broken.example":  {Rcode: dns.RcodeServerFailure},
		"refused.example": {Rcode: dns.RcodeRefused},
		"notimp.example":  {Rcode: dns.RcodeNotImplemented},
		"big.example":     {Truncate: true, Addrs: addrs("10.0.3.1", "10.0.3.2")},
		"huge.example":    {Addrs: many},
		"alias.example":   {CNAME: "target.example", Addrs: addrs("10.0.4.4")},
		"lame.example":    {Lame: true},
		"silent.example":  {Silent: true},
		"wrongid.example": {WrongID: true, Addrs: addrs("10.0.5.5")},
		"garbage.example": {Garbage: true},
		"lossy.example":   {DropFirst: 1, Addrs: addrs("10.0.6.6")},
	})
	opt := QueryOptions{Timeout: testTimeout, Attempts: 2}
	tests := []struct {
		name     string
		qtype    uint16
		opt      QueryOptions
		want     Answer // Server, Name, Type, RTT and Detail are checked separately
		queries  int    // how many queries the server should have seen
		slowWant bool   // the call is expected to use its whole budget
	}{
		{name: endpoint, qtype: dns.TypeA, want: Answer{Rcode: "NOERROR", Addrs: addrs("10.0.1.5", "10.0.2.5"), Attempts: 1}, queries: 1},
		{name: endpoint + ".", qtype: dns.TypeAAAA, want: Answer{Rcode: "NOERROR", Addrs: addrs("fd00:1::5"), Attempts: 1}, queries: 1},
		{name: "V4ONLY.example", qtype: dns.TypeAAAA, want: Answer{Rcode: "NOERROR", Class: errclass.NoData, Attempts: 1}, queries: 1},
		{name: "gone.example", qtype: dns.TypeA, want: Answer{Rcode: "NXDOMAIN", Class: errclass.NXDomain, Attempts: 1}, queries: 1},
		{name: "broken.example", qtype: dns.TypeA, want: Answer{Rcode: "SERVFAIL", Class: errclass.ServFail, Attempts: 2}, queries: 2},
		{name: "refused.example", qtype: dns.TypeA, want: Answer{Rcode: "REFUSED", Class: errclass.DNSRefused, Attempts: 2}, queries: 2},
		{name: "notimp.example", qtype: dns.TypeA, want: Answer{Rcode: "NOTIMP", Class: errclass.DNSError, Attempts: 2}, queries: 2},
		{name: "big.example", qtype: dns.TypeA, want: Answer{Rcode: "NOERROR", Addrs: addrs("10.0.3.1", "10.0.3.2"), Truncated: true, UsedTCP: true, Attempts: 1}, queries: 2},
		{name: "big.example", qtype: dns.TypeA, opt: QueryOptions{Timeout: testTimeout, Attempts: 2, TCP: true}, want: Answer{Rcode: "NOERROR", Addrs: addrs("10.0.3.1", "10.0.3.2"), UsedTCP: true, Attempts: 1}, queries: 1},
		{name: "huge.example", qtype: dns.TypeA, want: Answer{Rcode: "NOERROR", Addrs: many, Attempts: 1}, queries: 1},
		{name: "alias.example", qtype: dns.TypeA, want: Answer{Rcode: "NOERROR", Addrs: addrs("10.0.4.4"), CNAMEs: []string{"target.example."}, Attempts: 1}, queries: 1},
		{name: "lame.example", qtype: dns.TypeA, want: Answer{Rcode: "NOERROR", Class: errclass.NoData, Lame: true, Attempts: 2}, queries: 2},
		{name: "silent.example", qtype: dns.TypeA, want: Answer{Class: errclass.Timeout, Attempts: 2}, queries: 2, slowWant: true},
		{name: "wrongid.example", qtype: dns.TypeA, want: Answer{Class: errclass.DNSError, Attempts: 2, Ignored: 2}, queries: 2, slowWant: true},
		{name: "garbage.example", qtype: dns.TypeA, want: Answer{Class: errclass.DNSError, Attempts: 2, Ignored: 2}, queries: 2, slowWant: true},
		// The first datagram is lost: the hedged send at Timeout/2 gets the
		// answer, inside the one timeout.
		{name: "lossy.example", qtype: dns.TypeA, want: Answer{Rcode: "NOERROR", Addrs: addrs("10.0.6.6"), Attempts: 2}, queries: 2},
		{name: "bad..name", qtype: dns.TypeA, want: Answer{Class: errclass.Malformed, Attempts: 1}, queries: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opt
			if tt.opt.Timeout != 0 {
				o = tt.opt
			}
			before := srv.Count(tt.name)
			start := time.Now()
			got := Query(context.Background(), srv.Addr, tt.name, tt.qtype, o)
			took := time.Since(start)
			// One timeout in all, however many sends (hedged): a silent
			// server is called silent within --timeout plus scheduling
			// slack, never Timeout × Attempts.
			if took > o.Timeout+testSlack {
				t.Errorf("took %v, budget %v", took, o.Timeout)
			}
			if tt.slowWant && got.RTT < o.Timeout {
				t.Errorf("recorded wait %v, want the whole %v before calling the server silent", got.RTT, o.Timeout)
			}
			if got.Server != srv.Addr || got.Name != dns.Fqdn(tt.name) || got.Type != dns.TypeToString[tt.qtype] {
				t.Errorf("Server/Name/Type = %s %s %s", got.Server, got.Name, got.Type)
			}
			if (got.Class == errclass.None) != (got.Detail == "") {
				t.Errorf("class %q with detail %q", got.Class, got.Detail)
			}
			if got.RTT <= 0 && got.Class != errclass.Malformed {
				t.Errorf("RTT %v", got.RTT)
			}
			want := tt.want
			want.Server, want.Name, want.Type, want.RTT, want.Detail = got.Server, got.Name, got.Type, got.RTT, got.Detail
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Query(%s)\n got %#v\nwant %#v", tt.name, got, want)
			}
			if n := srv.Count(tt.name) - before; n != tt.queries {
				t.Errorf("server saw %d queries, want %d", n, tt.queries)
			}
		})
	}
}

// TestQueryClosedPort checks that an ICMP port unreachable from a loopback
// port without a listener is classed as refused, fast.
func TestQueryClosedPort(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		wine.Skip(t, wine.UDP)
		t.Fatal(err)
	}
	ap := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	start := time.Now()
	got := Query(context.Background(), ap, endpoint, dns.TypeA, QueryOptions{Timeout: testTimeout, Attempts: 2})
	if got.Class != errclass.Refused || got.Attempts != 2 {
		t.Errorf("got %s after %d attempts (%s), want refused after 2", got.Class, got.Attempts, got.Detail)
	}
	if took := time.Since(start); took > testTimeout {
		t.Errorf("took %v; a refused port should fail at once", took)
	}
}

// TestQueryCancel checks that cancelling the context ends a wait on a
// silent server at once, with class canceled.
func TestQueryCancel(t *testing.T) {
	srv := resolvtest.Start(t, resolvtest.Zone{"*": {Silent: true}})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	got := Query(ctx, srv.Addr, endpoint, dns.TypeA, QueryOptions{Timeout: 5 * time.Second, Attempts: 3})
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v after cancel", took)
	}
	if got.Class != errclass.Canceled || got.Attempts != 1 {
		t.Errorf("got %s after %d attempts, want canceled after 1", got.Class, got.Attempts)
	}
}

// TestQueryParentDeadline checks that a parent deadline shorter than the
// per-attempt timeout wins and is classed as a timeout.
func TestQueryParentDeadline(t *testing.T) {
	srv := resolvtest.Start(t, resolvtest.Zone{"*": {Silent: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := Query(ctx, srv.Addr, endpoint, dns.TypeA, QueryOptions{Timeout: 5 * time.Second, Attempts: 2})
	if took := time.Since(start); took > 100*time.Millisecond+testSlack {
		t.Errorf("took %v", took)
	}
	if got.Class != errclass.Timeout {
		t.Errorf("class %s, want timeout", got.Class)
	}
}
