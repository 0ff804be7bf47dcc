//go:build linux

package lab

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
)

// clientTimeout bounds every request these loopback tests make.
const clientTimeout = 3 * time.Second

var loopback = netip.MustParseAddr("127.0.0.1")

func freePort(t *testing.T) uint16 { return uint16(nettest.FreePort(t, loopback)) }

func mustPrefix(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := netip.ParsePrefix(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServeLoopback runs Serve on loopback ports and talks to each server.
func TestServeLoopback(t *testing.T) {
	zone, err := DNSSpec{Default: SetVPCE, Services: map[string]string{"s3": AnswerNoData}}.Zone()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	spec := &ServerSpec{
		CAFile:     filepath.Join(dir, "ca.pem"),
		DNS:        []DNSServer{{Addr: netip.AddrPortFrom(loopback, freePort(t)), Zone: zone}},
		IMDS:       netip.AddrPortFrom(loopback, freePort(t)),
		IMDSMode:   string(imdstest.V2Required),
		Endpoints:  []netip.AddrPort{netip.AddrPortFrom(loopback, freePort(t))},
		DateOffset: -10 * time.Minute,
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, spec, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(clientTimeout):
		t.Fatal("not ready")
	}
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(clientTimeout):
			t.Error("Serve did not return after cancel")
		}
	}()

	// DNS: ssm is an endpoint address, s3 NODATA.
	c := &dns.Client{Timeout: clientTimeout}
	for host, want := range map[string]string{Host("ssm"): "10.0.1.11", Host("s3"): ""} {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(host), dns.TypeA)
		r, _, err := c.Exchange(m, spec.DNS[0].Addr.String())
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(r.Answer) == 1 {
			got = r.Answer[0].(*dns.A).A.String()
		}
		if r.Rcode != dns.RcodeSuccess || got != want {
			t.Errorf("%s: rcode %d answer %q, want NOERROR %q", host, r.Rcode, got, want)
		}
	}

	// IMDS: an IMDSv2 token, then the region with it.
	hc := &http.Client{Timeout: clientTimeout}
	req, _ := http.NewRequest(http.MethodPut, "http://"+spec.IMDS.String()+imdstest.TokenPath, nil)
	req.Header.Set(imdstest.TTLHeader, "60")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, "http://"+spec.IMDS.String()+imdstest.MetadataPath+"network/interfaces/macs/0e:fa:ce:00:00:01/vpc-ipv4-cidr-blocks", nil)
	req.Header.Set(imdstest.TokenHeader, string(tok))
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != VPCCIDR {
		t.Errorf("IMDS VPC CIDRs: %d %q, want %s", resp.StatusCode, body, VPCCIDR)
	}

	// The endpoint: TLS for the service name under the written CA, and a
	// Date header ten minutes behind.
	pool := caPool(t, spec.CAFile)
	ep := spec.Endpoints[0].String()
	tc := &http.Client{Timeout: clientTimeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ep)
		}}}
	resp, err = tc.Post("https://"+Host("ssmmessages")+"/", "application/x-amz-json-1.1", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("endpoint: %d, Date %q: %v", resp.StatusCode, resp.Header.Get("Date"), err)
	}
	if skew := time.Until(date); skew > -9*time.Minute || skew < -11*time.Minute {
		t.Errorf("Date is %v from now, want about -10m", skew)
	}
}

func caPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("no CA in " + file)
	}
	return pool
}

// TestServeListenError: an address that cannot be bound is an error, not a
// hang, and nothing stays listening.
func TestServeListenError(t *testing.T) {
	spec := &ServerSpec{IMDS: netip.MustParseAddrPort("192.0.2.1:80"), IMDSMode: "v2-required"}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	if err := Serve(ctx, spec, func() { t.Error("ready called") }); err == nil {
		t.Error("no error for an address this host does not hold")
	}
}

// TestProxy checks the CONNECT proxy: a tunnel to a TLS endpoint works, and
// other requests are refused with the right status.
func TestProxy(t *testing.T) {
	ca := nettest.NewCA(t, "proxy test CA")
	port := nettest.ServeTLS(t, []netip.Addr{loopback}, ca.Leaf(t, Host("ssm")), nettest.AWSHandler(0))
	p := &Proxy{Hosts: map[string]netip.Addr{Host("ssm"): loopback}, Port: port}
	paddr := netip.AddrPortFrom(loopback, freePort(t))
	stop, err := p.Listen(paddr)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	pu, _ := url.Parse("http://" + paddr.String())
	hc := &http.Client{Timeout: clientTimeout, Transport: &http.Transport{Proxy: http.ProxyURL(pu),
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	// The client asks for port 443; the test proxy maps it to the test
	// server's port only when told so, so ask for that port.
	resp, err := hc.Post(fmt.Sprintf("https://%s:%d/", Host("ssm"), port), "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("through the proxy: %d, want the endpoint's 400", resp.StatusCode)
	}

	for _, c := range []struct{ req, want string }{
		{fmt.Sprintf("CONNECT unknown.example:%d HTTP/1.1\r\nHost: x\r\n\r\n", port), "502"},
		{"GET http://" + Host("ssm") + "/ HTTP/1.1\r\nHost: x\r\n\r\n", "405"},
		{"CONNECT " + Host("ssm") + ":22 HTTP/1.1\r\nHost: x\r\n\r\n", "403"},
	} {
		conn, err := net.DialTimeout("tcp", paddr.String(), clientTimeout)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(clientTimeout))
		io.WriteString(conn, c.req)
		line, _ := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if !strings.Contains(line, " "+c.want+" ") {
			t.Errorf("%q: got %q, want %s", c.req, line, c.want)
		}
	}
}
