//go:build linux

package observe

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/agent/agenttest"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// hostileTimeout is the per-attempt timeout of the hostile-peer runs: far
// above a loopback round trip, short so that each hostile peer costs the
// test well under a second per attempt.
const hostileTimeout = 400 * time.Millisecond

// hostileDeadline caps each hostile run. Every hostile peer here would
// hold a naive client forever; the run must still end inside it.
const hostileDeadline = 4 * time.Second

// hostileHold is how long a hostile server keeps a connection open
// without answering: far beyond hostileDeadline, so only the probe's own
// timeouts can end the exchange. The servers stop at test end.
const hostileHold = 30 * time.Second

// fakeSecrets are strings that must never appear in any output of a run:
// the fake IMDS credentials and token and the proxy password planted below.
var fakeSecrets = []string{imdstest.FakeAccessKeyID, imdstest.FakeSecretAccessKey, imdstest.FakeToken,
	imdstest.FakeIMDSToken, proxyPassword}

// proxyPassword is the password of the hostile proxy's URL in the fake
// agent environment.
const proxyPassword = "FAKE-PROXY-PASSWORD-do-not-print"

// hostileLab is newLab with the hostile timeouts.
func hostileLab(t *testing.T) *lab {
	l := newLab(t, "127.0.0.1")
	l.cfg.Timeout, l.cfg.Deadline = hostileTimeout, hostileDeadline
	return l
}

// runBounded runs the probe, fails the test when the run overran its
// deadline, and fails it when any fake secret appears in the result's JSON
// (findings, evidence, checks and their observations).
func runBounded(t *testing.T, cfg Config) *diagnose.Result {
	t.Helper()
	t0 := time.Now()
	res := run(t.Context(), cfg)
	took := time.Since(t0)
	t.Logf("run took %v (deadline %v, timeout %v)", took.Round(time.Millisecond), cfg.Deadline, cfg.Timeout)
	if took > cfg.Deadline {
		t.Errorf("run took %v, over its deadline %v", took, cfg.Deadline)
	}
	assertNoSecrets(t, res)
	return res
}

// assertNoSecrets fails when a fake secret appears in res as JSON.
func assertNoSecrets(t *testing.T, res *diagnose.Result) {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatalf("result does not marshal: %v", err)
	}
	for _, s := range fakeSecrets {
		if strings.Contains(string(b), s) {
			t.Errorf("secret %q appears in the result", s)
		}
	}
}

// classesOf returns the classes of the checks named name, as "status/class".
func classesOf(res *diagnose.Result, name obs.CheckName) map[string]int {
	m := map[string]int{}
	for _, c := range res.Checks {
		if c.Name == name {
			m[string(c.Status)+"/"+string(c.Class)]++
		}
	}
	return m
}

// wantOnly fails unless every check named name has exactly status/class.
func wantOnly(t *testing.T, res *diagnose.Result, name obs.CheckName, want string) {
	t.Helper()
	got := classesOf(res, name)
	if len(got) != 1 || got[want] == 0 {
		t.Errorf("%s checks: %v, want all %s", name, got, want)
		for _, c := range res.Checks {
			if c.Name == name {
				t.Logf("  %s: %s %s %s", c.Target, c.Status, c.Class, c.Reason)
			}
		}
	}
}

// udpDNS serves UDP DNS on 127.0.0.1 with reply deciding each answer (nil:
// no answer) and, when tcp is set, TCP on the same port. It returns the port.
func udpDNS(t *testing.T, reply func(q *dns.Msg) []byte, tcp func(c net.Conn)) int {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		if ln, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			break
		}
		pc.Close()
		if try == 20 {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { pc.Close(); ln.Close(); wg.Wait() })
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			if b := reply(q); b != nil {
				pc.WriteTo(b, from)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(hostileHold))
				if tcp != nil {
					tcp(c)
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestHostileDNS runs the whole probe against a VPC resolver (also the
// only system resolver) that misbehaves. Replies with a wrong ID and
// unparsable packets are ignored as forgeries (Go's resolver does the
// same), and the attempt ends as a DNS error that counts them; a reply far
// over the advertised EDNS size that is not DNS is ignored too; a truncated reply whose TCP retry sends a
// 64 KiB length prefix and junk is a DNS error; a server that answers each
// query only after the attempt has given up is a timeout. In every case the
// run ends inside its deadline and names the resolver.
func TestHostileDNS(t *testing.T) {
	junk := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*7 + 3)
		}
		return b
	}
	cases := []struct {
		name    string
		zone    resolvtest.Zone         // served by resolvtest when set
		reply   func(q *dns.Msg) []byte // else by udpDNS
		tcp     func(c net.Conn)        // TCP side of udpDNS
		want    string                  // status/class of every dns check
		finds   string                  // a finding the run must raise
		ignored bool                    // the replies must be counted as ignored forgeries
	}{
		{name: "wrong ID", zone: resolvtest.Zone{"*": {WrongID: true, Addrs: []netip.Addr{netip.MustParseAddr("127.0.1.1")}}},
			want: "fail/dns-error", ignored: true},
		{name: "garbage", zone: resolvtest.Zone{"*": {Garbage: true}},
			want: "fail/dns-error", ignored: true},
		{name: "oversized junk", reply: func(*dns.Msg) []byte { return junk(65000) },
			want: "fail/dns-error", ignored: true},
		{name: "truncated then oversized TCP",
			reply: func(q *dns.Msg) []byte {
				r := new(dns.Msg)
				r.SetReply(q)
				r.Truncated = true
				b, _ := r.Pack()
				return b
			},
			tcp: func(c net.Conn) {
				io.ReadFull(c, make([]byte, 2))
				c.Write(append([]byte{0xff, 0xff}, junk(65535)...))
			},
			want: "fail/dns-error"},
		{name: "answers after the attempt gave up",
			reply: func(q *dns.Msg) []byte {
				time.Sleep(hostileTimeout + 100*time.Millisecond) // one query at a time: slow forever
				r := new(dns.Msg)
				r.SetReply(q)
				b, _ := r.Pack()
				return b
			},
			want: "fail/timeout", finds: "dns.vpc-resolver-silent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := hostileLab(t)
			if c.zone != nil {
				l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{c.zone})
			} else {
				l.cfg.DNSPort = udpDNS(t, c.reply, c.tcp)
				l.cfg.VPCDNS = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
			}
			res := runBounded(t, l.cfg)
			wantOnly(t, res, "dns", c.want)
			for _, r := range res.Checks {
				if d, ok := r.Detail.(*obs.DNSObs); ok && c.ignored && (d.A.Ignored == 0 || d.A.Addrs != nil) {
					t.Errorf("%s: A answer %+v, want ignored replies and no address", r.Target, d.A)
				}
			}
			if c.finds != "" && !hasFinding(res, finding.ID(c.finds)) {
				t.Errorf("no %s finding: %v", c.finds, netIDs(res))
			}
			if res.Verdict == finding.VerdictOK {
				t.Errorf("verdict ok with a hostile resolver")
			}
		})
	}
}

func hasFinding(res *diagnose.Result, id finding.ID) bool {
	for _, f := range res.Findings {
		if f.ID == id {
			return true
		}
	}
	return false
}

// TestHostileDNSManyAddresses: a resolver answering every name with 2,000
// A records in one 32 KiB UDP reply (valid DNS, far over the advertised
// EDNS size) must not make the probe try thousands of endpoints: the
// number of endpoint checks stays within the per-name cap.
func TestHostileDNSManyAddresses(t *testing.T) {
	l := hostileLab(t)
	l.cfg.DNSPort = udpDNS(t, func(q *dns.Msg) []byte {
		r := new(dns.Msg)
		r.SetReply(q)
		r.Compress = true
		if q.Question[0].Qtype == dns.TypeA {
			for i := 0; i < 2000; i++ {
				r.Answer = append(r.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA,
					Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 1, byte(i>>8), byte(i))})
			}
		}
		b, err := r.Pack()
		if err != nil {
			t.Errorf("pack: %v", err)
		}
		return b
	}, nil)
	l.cfg.VPCDNS = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	res := runBounded(t, l.cfg)
	n := len(classesOf(res, "endpoint"))
	endpoints := 0
	for _, c := range res.Checks {
		if c.Name == "endpoint" {
			endpoints++
		}
	}
	t.Logf("%d endpoint checks (%d distinct outcomes), %d checks in all", endpoints, n, len(res.Checks))
	if endpoints > len(services6)*obs.MaxAddrsPerHost {
		t.Errorf("%d endpoint checks for %d names; want at most %d per name", endpoints, len(services6), obs.MaxAddrsPerHost)
	}
}

// slowIMDS wraps the fake IMDS: every meta-data GET is answered by hostile
// instead; the token PUT works.
func slowIMDS(t *testing.T, hostile http.HandlerFunc) string {
	t.Helper()
	ic := imdstest.DefaultConfig(imdstest.V2Required)
	ic.Region, ic.VPCCIDRs = labRegion, []string{"127.0.0.0/16"}
	base := imdstest.Handler(ic)
	srv := newHTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/latest/meta-data/") {
			hostile(w, r)
			return
		}
		base.ServeHTTP(w, r)
	}))
	return srv
}

// newHTTPServer serves h on loopback and returns its URL; it closes at
// test end, interrupting handlers that are still writing.
func newHTTPServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestHostileIMDS: an IMDS that trickles every metadata body one byte at a
// time, and one that sends a 1 GB body. The first is cut by the attempt
// timeout, the second by the body cap (imds.MaxBody) after a few socket
// buffers; neither holds the run past its deadline, and the IMDS check
// fails with a class instead of hanging or reading a gigabyte.
func TestHostileIMDS(t *testing.T) {
	t.Run("trickle", func(t *testing.T) {
		l := hostileLab(t)
		l.cfg.IMDSEndpoint = slowIMDS(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			for i := 0; i < 1000; i++ {
				if _, err := w.Write([]byte("i")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
		res := runBounded(t, l.cfg)
		imdsUnusable(t, res, errclass.Timeout)
	})
	t.Run("1 GB body", func(t *testing.T) {
		l := hostileLab(t)
		var sent atomic.Int64
		const size = 1 << 30
		l.cfg.IMDSEndpoint = slowIMDS(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(size))
			chunk := make([]byte, 64<<10)
			for i := range chunk {
				chunk[i] = 'a'
			}
			for n := 0; n < size; n += len(chunk) {
				m, err := w.Write(chunk)
				sent.Add(int64(m))
				if err != nil {
					return
				}
			}
		})
		res := runBounded(t, l.cfg)
		imdsUnusable(t, res, errclass.Malformed)
		t.Logf("the server managed to write %d bytes in all", sent.Load())
		if sent.Load() > 64<<20 {
			t.Errorf("the server wrote %d bytes: the body cap does not hold", sent.Load())
		}
	})
}

// imdsUnusable fails unless the run raised imds.unusable, gave no ok
// verdict, and recorded every metadata field that was asked with class.
func imdsUnusable(t *testing.T, res *diagnose.Result, class errclass.Class) {
	t.Helper()
	if !hasFinding(res, diagnose.IMDSUnusable) || res.Verdict == finding.VerdictOK {
		t.Errorf("verdict %s, findings %v; want imds.unusable", res.Verdict, findingIDs(res))
	}
	for _, c := range res.Checks {
		id, ok := c.Detail.(*imds.Identity)
		if c.Name != "imds" || !ok {
			continue
		}
		if id.Region != "" || id.InstanceID != "" || len(id.Fields) == 0 {
			t.Errorf("identity kept values from a hostile body: %+v", id)
		}
		for p, f := range id.Fields {
			if f.Class != class {
				t.Errorf("field %s: class %s (%s), want %s", p, f.Class, f.Detail, class)
			}
		}
		return
	}
	t.Error("no imds check with an identity")
}

func findingIDs(res *diagnose.Result) []finding.ID {
	var out []finding.ID
	for _, f := range res.Findings {
		out = append(out, f.ID)
	}
	return out
}

// serveRaw accepts TCP connections on ip:port and hands each to h, which
// owns the connection until it returns or the test ends.
func serveRaw(t *testing.T, ip netip.Addr, port int, h func(c net.Conn)) {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, uint16(port)).String())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			c.SetDeadline(time.Now().Add(hostileHold))
			wg.Add(1)
			go func() { defer wg.Done(); h(c) }()
		}
	}()
}

// oneAddressZone answers every service name with the single address a.
func oneAddressZone(a netip.Addr) resolvtest.Zone {
	z := resolvtest.Zone{}
	for _, s := range services6 {
		z[svcHost(s)] = resolvtest.Entry{Addrs: []netip.Addr{a}}
	}
	return z
}

// TestHostileEndpoints runs the probe against endpoints that accept TCP and
// then misbehave: a TLS server that stalls mid-handshake (it reads the
// ClientHello and sends half a record header), and an HTTPS server that
// completes TLS, reads the request and never sends a header. Both are
// timeouts of their stage, inside the run's deadline.
func TestHostileEndpoints(t *testing.T) {
	ip := netip.MustParseAddr("127.0.8.1")
	cases := []struct {
		name  string
		serve func(t *testing.T, l *lab)
		want  string
		stage string
	}{
		{name: "TLS stalls mid-handshake", stage: "tls: ", want: "fail/timeout",
			serve: func(t *testing.T, l *lab) {
				serveRaw(t, ip, l.port, func(c net.Conn) {
					c.Read(make([]byte, 4096)) // the ClientHello
					c.Write([]byte{0x16, 0x03, 0x03})
					io.Copy(io.Discard, c)
				})
				l.cfg.EndpointPort = l.port
			}},
		{name: "HTTP never sends headers", stage: "http: ", want: "fail/timeout",
			serve: func(t *testing.T, l *lab) {
				cert := l.ca.Leaf(t, svcHost("ssm"), svcHost("ssmmessages"), svcHost("ec2messages"),
					svcHost("s3"), svcHost("logs"), svcHost("kms"))
				serveRaw(t, ip, l.port, func(c net.Conn) {
					tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
					if tc.Handshake() != nil {
						return
					}
					io.Copy(io.Discard, tc) // read the request, answer nothing
				})
				l.cfg.EndpointPort = l.port
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := hostileLab(t)
			l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{oneAddressZone(ip)})
			c.serve(t, l)
			res := runBounded(t, l.cfg)
			wantOnly(t, res, "endpoint", c.want)
			for _, r := range res.Checks {
				if r.Name == "endpoint" && !strings.HasPrefix(r.Reason, c.stage) {
					t.Errorf("%s failed at %q, want stage %q", r.Target, r.Reason, c.stage)
				}
			}
			if res.Verdict == finding.VerdictOK {
				t.Error("verdict ok")
			}
		})
	}
}

// proxyRoot writes a fake /proc under root with one running agent (pid
// 812) whose environment names an HTTPS proxy at proxy, with a password.
func proxyRoot(t *testing.T, root string, proxy string) string {
	t.Helper()
	dir := filepath.Join(root, "proc")
	agenttest.Write(t, dir, agenttest.Agent(812, "PATH=/usr/bin", "https_proxy=http://proxyuser:"+proxyPassword+"@"+proxy, "no_proxy=localhost"))
	return dir
}

// TestHostileProxySilentAfterConnect: the agent's proxy accepts CONNECT,
// answers 200, then says nothing: the TLS handshake inside the tunnel
// times out, the proxy checks fail with a timeout, the run ends inside its
// deadline, and the proxy password appears nowhere in the result.
func TestHostileProxySilentAfterConnect(t *testing.T) {
	l := hostileLab(t)
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{oneAddressZone(netip.MustParseAddr("127.0.8.2"))})
	pip := netip.MustParseAddr("127.0.9.1")
	pport := nettest.FreePort(t, pip)
	var auth atomic.Value
	serveRaw(t, pip, pport, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Method != http.MethodConnect {
			return
		}
		auth.Store(req.Header.Get("Proxy-Authorization"))
		c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		io.Copy(io.Discard, br) // silent from now on
	})
	l.cfg.ProcDir = proxyRoot(t, l.cfg.Root, fmt.Sprintf("%s:%d", pip, pport))
	res := runBounded(t, l.cfg)
	wantOnly(t, res, "proxy", "fail/timeout")
	for _, r := range res.Checks {
		if r.Name == "proxy" && !strings.HasPrefix(r.Reason, "TLS: ") {
			t.Errorf("%s: %q, want a TLS-stage failure", r.Target, r.Reason)
		}
	}
	if a, _ := auth.Load().(string); a == "" {
		t.Error("the proxy saw no Proxy-Authorization header")
	}
}

// TestHostileRunsNeverOverrunTheDeadline: with every peer hostile at once
// (silent resolver, IMDS hanging on the token PUT) and a deadline shorter
// than the checks need, the run still returns inside the deadline, with
// the unfinished checks marked as timeouts and the verdict unknown or fail,
// never ok.
func TestHostileRunsNeverOverrunTheDeadline(t *testing.T) {
	l := hostileLab(t)
	ic := imdstest.DefaultConfig(imdstest.HangingPut)
	srv := imdstest.New(ic)
	t.Cleanup(srv.Close)
	l.cfg.IMDSEndpoint = srv.URL
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{{"*": {Silent: true}}})
	l.cfg.Timeout, l.cfg.Deadline = 2*time.Second, 900*time.Millisecond
	res := runBounded(t, l.cfg)
	if res.Verdict == finding.VerdictOK {
		t.Errorf("verdict ok")
	}
	if n := classesOf(res, "imds")["timeout/timeout"]; n != 1 {
		t.Errorf("imds: %v, want a timeout", classesOf(res, "imds"))
	}
}
