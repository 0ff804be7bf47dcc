//go:build linux

package observe

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// In these tests the "VPC" is 127.0.0.0/16 and "public" addresses are in
// 127.77.0.0/16, so that every packet stays on loopback.
const (
	labRegion = "ap-northeast-1"
	// itTimeout is the per-attempt timeout: short so black holes are cheap,
	// long enough that a loopback TLS handshake finishes on a loaded
	// 2-core machine (700 ms was seen to run out).
	itTimeout  = 1500 * time.Millisecond
	itDeadline = 8 * time.Second
)

var services6 = []string{"ssm", "ssmmessages", "ec2messages", "s3", "logs", "kms"}

// lab is one loopback world for probe.Run.
type lab struct {
	t    *testing.T
	cfg  Config
	ca   *nettest.CA
	port int
}

// newLab starts a fake IMDS whose VPC is 127.0.0.0/16 and writes a root
// whose resolv.conf names the given system resolvers.
func newLab(t *testing.T, system ...string) *lab {
	t.Helper()
	ic := imdstest.DefaultConfig(imdstest.V2Required)
	ic.Region, ic.VPCCIDRs = labRegion, []string{"127.0.0.0/16"}
	srv := imdstest.New(ic)
	t.Cleanup(srv.Close)
	cfg := testConfig(t)
	cfg.IMDSEndpoint = srv.URL
	cfg.Timeout, cfg.Deadline = itTimeout, itDeadline
	var conf strings.Builder
	for _, s := range system {
		fmt.Fprintf(&conf, "nameserver %s\n", s)
	}
	writeFile(t, cfg.Root, "etc/resolv.conf", conf.String())
	writeFile(t, cfg.Root, "etc/hosts", "127.0.0.1 localhost\n")
	ca := nettest.NewCA(t, "ssm-probe test root")
	cfg.RootCAs = ca.Pool
	return &lab{t: t, cfg: cfg, ca: ca, port: nettest.FreePort(t, netip.MustParseAddr("127.0.0.1"))}
}

func writeFile(t *testing.T, root, rel, body string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func svcHost(svc string) string { return svc + "." + labRegion + ".amazonaws.com" }

// addrs gives each service its own address: prefix + .11 .. .16.
func addrs(prefix string) map[string]netip.Addr {
	m := map[string]netip.Addr{}
	for i, s := range services6 {
		m[s] = netip.MustParseAddr(fmt.Sprintf("%s.%d", prefix, 11+i))
	}
	return m
}

// zone answers every service name with as.
func zone(as map[string]netip.Addr) resolvtest.Zone {
	z := resolvtest.Zone{}
	for s, a := range as {
		z[svcHost(s)] = resolvtest.Entry{Addrs: []netip.Addr{a}}
	}
	return z
}

// dns starts resolvers on the given loopback addresses sharing one port and
// points the config at them: the first is the VPC resolver.
func (l *lab) dns(ips []string, zones []resolvtest.Zone) {
	var as []netip.Addr
	for _, ip := range ips {
		as = append(as, netip.MustParseAddr(ip))
	}
	srvs := resolvtest.StartSamePort(l.t, as, zones)
	l.cfg.DNSPort = int(srvs[0].Addr.Port())
	l.cfg.VPCDNS = []netip.Addr{as[0]}
}

// endpoints serves TLS on every address with a certificate from ca.
func (l *lab) endpoints(as map[string]netip.Addr, ca *nettest.CA, dateOffset time.Duration) {
	var ips []netip.Addr
	var names []string
	for s, a := range as {
		ips = append(ips, a)
		names = append(names, svcHost(s))
	}
	port := nettest.ServeTLS(l.t, ips, ca.Leaf(l.t, names...), nettest.AWSHandler(dateOffset))
	l.cfg.EndpointPort = port
}

func (l *lab) run() (*diagnose.Result, time.Duration) {
	t0 := time.Now()
	res := run(context.Background(), l.cfg)
	return res, time.Since(t0)
}

// netIDs returns the dns.* and net.* findings as "id/severity".
func netIDs(res *diagnose.Result) []string {
	var out []string
	for _, f := range res.Findings {
		if strings.HasPrefix(string(f.ID), "dns.") || strings.HasPrefix(string(f.ID), "net.") {
			out = append(out, string(f.ID)+"/"+string(f.Severity))
		}
	}
	return out
}

func wantIDs(t *testing.T, res *diagnose.Result, want ...string) {
	t.Helper()
	got := netIDs(res)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("dns/net findings %v, want %v", got, want)
		for _, f := range res.Findings {
			t.Logf("%s %s: %s\n  %s", f.Severity, f.ID, f.Summary, strings.Join(f.Evidence, "\n  "))
		}
		for _, c := range res.Checks {
			if c.Status != obs.StatusPass {
				t.Logf("check %s %s: %s %s", c.Name, c.Target, c.Status, c.Reason)
			}
		}
	}
}

func TestNetHealthyVPCEndpoints(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	as := addrs("127.0.1")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(as)})
	l.endpoints(as, l.ca, 0)
	res, _ := l.run()
	wantIDs(t, res)
	var https int
	for _, c := range res.Checks {
		if c.Name == "endpoint" && c.Status == obs.StatusPass {
			https++
		}
	}
	if https != len(services6) {
		t.Errorf("%d endpoints answered over HTTPS, want %d", https, len(services6))
	}
}

func TestNetEndpointSecurityGroupBlackHole(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	as := addrs("127.0.4")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(as)})
	for _, a := range as {
		nettest.BlackHole(t, a, l.port)
	}
	l.cfg.EndpointPort = l.port
	res, took := l.run()
	wantIDs(t, res, "net.endpoint-blocked/fail")
	t.Logf("every endpoint black-holed: run took %v (per-attempt timeout %v)", took, itTimeout)
	// IMDS, DNS and TCP phases each cost about one round trip or one
	// timeout; the black holes are tried concurrently, not one after another.
	if took > 3*itTimeout {
		t.Errorf("run took %v with %d black-holed endpoints; want well under 3 x %v", took, len(as), itTimeout)
	}
}

func TestNetPublicAddressesNoPath(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	as := addrs("127.77.0")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(as)})
	for _, a := range as {
		nettest.BlackHole(t, a, l.port)
	}
	l.cfg.EndpointPort = l.port
	res, _ := l.run()
	wantIDs(t, res, "dns.endpoint-resolves-public/fail")
}

func TestNetConnectionRefused(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	as := addrs("127.0.5")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(as)})
	l.cfg.EndpointPort = l.port // nothing listens there
	res, _ := l.run()
	wantIDs(t, res, "net.connection-refused/fail")
}

func TestNetUntrustedChain(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	as := addrs("127.0.6")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(as)})
	l.endpoints(as, nettest.NewCA(t, "Corp TLS Inspection CA"), 0)
	res, _ := l.run()
	wantIDs(t, res, "net.tls-failed/fail")
	for _, f := range res.Findings {
		if f.ID == diagnose.NetTLSFailed && !strings.Contains(f.Summary, "Corp TLS Inspection CA") {
			t.Errorf("the finding does not name the issuer: %s", f.Summary)
		}
	}
}

func TestNetClockSkewFromDate(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	as := addrs("127.0.7")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(as)})
	l.endpoints(as, l.ca, -10*time.Minute)
	res, _ := l.run()
	wantIDs(t, res, "net.clock-skew/fail")
}

func TestDNSCorporateResolverBypassesVPC(t *testing.T) {
	l := newLab(t, "127.0.0.3")
	vpce, pub := addrs("127.0.1"), addrs("127.77.0")
	// 127.0.0.1 is AmazonProvidedDNS, 127.0.0.3 the corporate DNS.
	l.dns([]string{"127.0.0.1", "127.0.0.3"}, []resolvtest.Zone{zone(vpce), zone(pub)})
	l.endpoints(vpce, l.ca, 0)
	for _, a := range pub {
		nettest.BlackHole(t, a, l.cfg.EndpointPort)
	}
	res, _ := l.run()
	wantIDs(t, res, "dns.resolver-bypasses-vpc/fail")
}

func TestDNSVPCResolverSilent(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	silent := resolvtest.Zone{"*": {Silent: true}}
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{silent})
	res, took := l.run()
	wantIDs(t, res, "dns.vpc-resolver-silent/fail")
	t.Logf("silent resolver: run took %v (timeout %v)", took, itTimeout)
	checkSilentWithinTimeout(t, res, "127.0.0.1")
}

// TestDNSFirstNameserverSilent: resolv.conf names a silent nameserver
// first and AmazonProvidedDNS second. Every name resolves, so the agent
// works, but each of its lookups first waits out resolv.conf's timeout on
// the silent one: a warn, whose evidence is the agent's computed wait. The
// probe itself asks every resolver at once and waits one --timeout.
func TestDNSFirstNameserverSilent(t *testing.T) {
	l := newLab(t, "127.0.0.3", "127.0.0.1")
	vpce := addrs("127.0.1")
	l.dns([]string{"127.0.0.1", "127.0.0.3"}, []resolvtest.Zone{zone(vpce), {"*": {Silent: true}}})
	l.endpoints(vpce, l.ca, 0)
	res, _ := l.run()
	wantIDs(t, res, "dns.nameserver-unresponsive/warn")
	checkSilentWithinTimeout(t, res, "127.0.0.3")
	stall := fmt.Sprintf("the agent waits 5s per lookup on 127.0.0.3:%d before it tries 127.0.0.1:%d (resolv.conf timeout:5 attempts:2)", l.cfg.DNSPort, l.cfg.DNSPort)
	for _, c := range res.Checks {
		if c.Name == "dns.agent" && (c.Status != obs.StatusPass || !strings.Contains(c.Reason, stall)) {
			t.Errorf("%s: %s %s, want pass with %q", c.Target, c.Status, c.Reason, stall)
		}
		if a, ok := c.Detail.(*obs.AgentDNSObs); ok && (a.Answer.Wait < 5*time.Second || len(a.Answer.Stalls) != 1) {
			t.Errorf("%s: agent wait %v, stalls %+v", a.Host, a.Answer.Wait, a.Answer.Stalls)
		}
	}
	for _, f := range res.Findings {
		if f.ID == diagnose.DNSNameserverUnresponsive && !strings.Contains(strings.Join(f.Evidence, "\n"), stall) {
			t.Errorf("%s evidence %q lacks the agent's wait", f.ID, f.Evidence)
		}
	}
}

// checkSilentWithinTimeout checks that every direct question to the silent
// resolver was reported as silent (class timeout) after the whole
// --timeout and two hedged sends, and that its check's recorded duration
// is within --timeout + 200 ms. The bound is generous for a loopback
// server whose silence ends at a deadline (a loaded two-core machine adds
// milliseconds); the lab's bench measures the real figure.
func checkSilentWithinTimeout(t *testing.T, res *diagnose.Result, resolver string) {
	t.Helper()
	n := 0
	for _, c := range res.Checks {
		d, ok := c.Detail.(*obs.DNSObs)
		if c.Name != "dns" || !ok || d.Resolver.String() != resolver {
			continue
		}
		n++
		if c.Status != obs.StatusFail || c.Class != errclass.Timeout || d.A.Attempts != dnsAttempts || d.A.RTT < itTimeout {
			t.Errorf("%s: %s %s after %d sends, %v (%s)", c.Target, c.Status, c.Class, d.A.Attempts, d.A.RTT, c.Reason)
		}
		if limit := (itTimeout + 200*time.Millisecond).Milliseconds(); c.DurationMS > limit {
			t.Errorf("%s: recorded %d ms, want at most --timeout + 200 ms (%d ms)", c.Target, c.DurationMS, limit)
		}
	}
	if n != len(services6) {
		t.Errorf("%d checks of %s, want %d", n, resolver, len(services6))
	}
}

func TestDNSNoData(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	z := resolvtest.Zone{"*": {}} // NOERROR, no records
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{z})
	res, _ := l.run()
	wantIDs(t, res, "dns.endpoint-no-address/fail")
}

// TestDNSVPCResolverGarbage: a VPC resolver that answers only with bytes
// that are not DNS replies gives no answer at all, as a silent one does.
func TestDNSVPCResolverGarbage(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{{"*": {Garbage: true}}})
	res, _ := l.run()
	wantIDs(t, res, "dns.vpc-resolver-silent/fail")
}
