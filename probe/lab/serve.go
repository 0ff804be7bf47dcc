//go:build linux

package lab

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
	"github.com/ssm-probe/ssm-probe/probe/prefs/prefstest"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// Server timeouts. The probe's own attempts last at most its 2 s
// per-attempt timeout; these only keep a misbehaving client from holding a
// goroutine for the rest of the run.
const (
	// serverIOTimeout bounds each HTTP request's read and write on the
	// endpoints and IMDS. A hanging IMDS PUT (imdstest.HangingPut) ends
	// sooner, when the probe drops the connection.
	serverIOTimeout = 30 * time.Second
	// proxyHeaderTimeout bounds reading a CONNECT request.
	proxyHeaderTimeout = 5 * time.Second
	// proxyDialTimeout bounds the proxy's connect to the target; the
	// targets are local to the infrastructure namespace.
	proxyDialTimeout = 2 * time.Second
	// proxyTunnelLimit bounds a whole tunnel; a probe's HTTPS exchange
	// through it takes milliseconds.
	proxyTunnelLimit = 30 * time.Second
	// shutdownTimeout bounds the graceful shutdown of the HTTP servers.
	shutdownTimeout = 2 * time.Second
	// maxProxyHeaderBytes caps a CONNECT request's header.
	maxProxyHeaderBytes = 16 << 10
)

// Serve runs every server of spec until ctx is done: it generates the test
// CA and writes its PEM to spec.CAFile, listens on every address (which
// must exist in the current network namespace), calls ready, and blocks.
// Its TLS endpoints serve the session-preferences APIs of spec.Prefs
// (prefstest). It returns an invalid spec's error or the first listen
// error, or nil after a clean shutdown.
func Serve(ctx context.Context, spec *ServerSpec, ready func()) error {
	// Every endpoint answers like AWS: the preferences APIs from the
	// scenario's preferences, SigV4-checked against the fake IMDS's
	// credentials, and an AWS error to anything else (the probe's
	// unsigned reachability requests included), routed by Host as AWS's
	// front ends do. One fake serves all addresses, so an endpoint answers
	// the same whichever address set the scenario's DNS gives.
	if err := spec.Prefs.Validate(); err != nil {
		return err
	}
	h, err := prefstest.NewServer(spec.Prefs.Fake(spec.DateOffset))
	if err != nil {
		return err
	}
	ca, err := nettest.GenerateCA("ssm-probe lab root CA")
	if err != nil {
		return err
	}
	var names []string
	for _, svc := range servicesList {
		names = append(names, Host(svc))
	}
	cert, err := ca.Issue(names...)
	if err != nil {
		return err
	}
	if spec.CAFile != "" {
		if err := os.WriteFile(spec.CAFile, ca.PEM, 0o644); err != nil {
			return err
		}
	}
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer stopAll()

	for _, d := range spec.DNS {
		_, stop, err := resolvtest.Serve(d.Addr, d.Zone)
		if err != nil {
			return fmt.Errorf("dns %s: %w", d.Addr, err)
		}
		stops = append(stops, stop)
	}
	if spec.IMDS.IsValid() {
		ic := imdstest.DefaultConfig(imdstest.Mode(spec.IMDSMode))
		ic.Region, ic.AZ, ic.InstanceID = Region, Region+"a", InstanceID
		ic.VPCCIDRs, ic.SubnetCIDR = []string{VPCCIDR}, SubnetCIDR
		stop, err := serveHTTP(spec.IMDS, imdstest.Handler(ic), nil)
		if err != nil {
			return fmt.Errorf("imds %s: %w", spec.IMDS, err)
		}
		stops = append(stops, stop)
	}
	tcfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	for _, ep := range spec.Endpoints {
		stop, err := serveHTTP(ep, h, tcfg)
		if err != nil {
			return fmt.Errorf("endpoint %s: %w", ep, err)
		}
		stops = append(stops, stop)
	}
	if spec.Proxy != nil {
		p := &Proxy{Hosts: spec.Proxy.Hosts}
		stop, err := p.Listen(spec.Proxy.Addr)
		if err != nil {
			return fmt.Errorf("proxy %s: %w", spec.Proxy.Addr, err)
		}
		stops = append(stops, stop)
	}
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	return nil
}

// serveHTTP serves h on addr, over TLS when tcfg is set, and returns a
// function that shuts it down.
func serveHTTP(addr netip.AddrPort, h http.Handler, tcfg *tls.Config) (func(), error) {
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadTimeout: serverIOTimeout, WriteTimeout: serverIOTimeout,
		ErrorLog: log.New(io.Discard, "", 0)} // handshake errors are what some scenarios provoke
	if tcfg != nil {
		srv.TLSConfig = tcfg
		ln = tls.NewListener(ln, tcfg)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}, nil
}

// Proxy is a minimal HTTP CONNECT proxy (RFC 9110 §9.3.6) that resolves
// names from Hosts only and tunnels to port 443 only.
type Proxy struct {
	Hosts map[string]netip.Addr // lowercased host name -> address
	// Port is the port tunnels go to; 0 means 443. Tests set it.
	Port int
	// OnConnect, when set, is told every CONNECT target (host:port) the
	// proxy is asked for, before it answers. Tests use it to see which
	// calls went through the proxy.
	OnConnect func(target string)
}

// Listen serves the proxy on addr and returns a function that stops it and
// waits for its tunnels to end.
func (p *Proxy) Listen(addr netip.AddrPort) (func(), error) {
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.handle(c)
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			}()
		}
	}()
	return func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}, nil
}

// handle serves one client connection: one CONNECT, then the tunnel.
func (p *Proxy) handle(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(proxyHeaderTimeout))
	br := bufio.NewReaderSize(io.LimitReader(c, maxProxyHeaderBytes), 4096)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		fmt.Fprint(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	if p.OnConnect != nil {
		p.OnConnect(req.RequestURI)
	}
	host, port, err := net.SplitHostPort(req.RequestURI)
	want := p.Port
	if want == 0 {
		want = 443
	}
	if err != nil || port != fmt.Sprint(want) {
		fmt.Fprint(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
		return
	}
	a, ok := p.Hosts[strings.ToLower(host)]
	if !ok {
		fmt.Fprint(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.DialTimeout("tcp", netip.AddrPortFrom(a, uint16(want)).String(), proxyDialTimeout)
	if err != nil {
		fmt.Fprint(c, "HTTP/1.1 504 Gateway Timeout\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	if _, err := fmt.Fprint(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	end := time.Now().Add(proxyTunnelLimit)
	c.SetDeadline(end)
	up.SetDeadline(end)
	// Bytes the client sent after its header are still in br.
	done := make(chan struct{}, 2)
	go func() { copyClose(up, io.MultiReader(bufferedOf(br), c)); done <- struct{}{} }()
	go func() { copyClose(c, up); done <- struct{}{} }()
	<-done
	<-done
}

// bufferedOf returns what br has buffered, without reading further.
func bufferedOf(br *bufio.Reader) io.Reader {
	b, _ := br.Peek(br.Buffered())
	return strings.NewReader(string(b))
}

// copyClose copies src to dst and then half-closes dst for writing.
func copyClose(dst net.Conn, src io.Reader) {
	_, err := io.Copy(dst, src)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		dst.Close()
		return
	}
	if tc, ok := dst.(interface{ CloseWrite() error }); ok {
		tc.CloseWrite()
	}
}
