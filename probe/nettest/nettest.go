// Package nettest provides real loopback servers for the probe's network
// tests: a throwaway certificate authority, TLS endpoints that answer like
// an AWS JSON service, and a black hole whose connects time out. Everything
// listens on 127.0.0.0/8 only and is closed when the test ends.
package nettest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// CA is a throwaway certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	Pool *x509.CertPool // holds Cert, for Config.RootCAs
	PEM  []byte         // Cert as PEM, for --ca-file or SSL_CERT_FILE
}

// NewCA makes a CA named cn, valid from an hour ago for a day.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	ca, err := GenerateCA(cn)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// GenerateCA makes a CA named cn, valid from an hour ago for a day. It is
// NewCA for programs that run outside go test, such as the lab's servers.
func GenerateCA(cn string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"ssm-probe test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Key: key, Pool: pool, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Leaf issues a server certificate for names.
func (ca *CA) Leaf(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	c, err := ca.Issue(names...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Issue issues a server certificate for names (at least one). It is Leaf
// for programs that run outside go test.
func (ca *CA) Issue(names ...string) (tls.Certificate, error) {
	if len(names) == 0 {
		return tls.Certificate{}, fmt.Errorf("nettest: a certificate needs at least one name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// AWSHandler answers every request like an AWS JSON endpoint that does not
// know the operation: 400 with UnknownOperationException. DateOffset shifts
// the Date header from the real time, to model a host clock that is off.
func AWSHandler(dateOffset time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(dateOffset).UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazon.coral.service#UnknownOperationException"}`)
	})
}

// serverTimeout bounds a test server's reads and writes, so a test that
// goes wrong cannot leave a goroutine waiting forever.
const serverTimeout = 10 * time.Second

// ServeTLS serves h over TLS with cert on every address in ips, all on one
// port, and returns that port. It retries when the port is taken on one of
// the addresses.
func ServeTLS(t testing.TB, ips []netip.Addr, cert tls.Certificate, h http.Handler) int {
	t.Helper()
	lns := listenSamePort(t, ips)
	for _, ln := range lns {
		srv := &http.Server{Handler: h, ReadTimeout: serverTimeout, WriteTimeout: serverTimeout,
			ErrorLog:  log.New(io.Discard, "", 0), // handshake errors are what some tests provoke
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}
		go srv.ServeTLS(ln, "", "")
		t.Cleanup(func() { srv.Close() })
	}
	return lns[0].Addr().(*net.TCPAddr).Port
}

// ListenSamePort listens on every address in ips at one free port.
func listenSamePort(t testing.TB, ips []netip.Addr) []net.Listener {
	t.Helper()
	for try := 0; try < 20; try++ {
		first, err := net.Listen("tcp", netip.AddrPortFrom(ips[0], 0).String())
		if err != nil {
			t.Fatal(err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{first}
		ok := true
		for _, ip := range ips[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, ln)
		}
		if ok {
			return lns
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	t.Fatal("nettest: no common free port")
	return nil
}

// BlackHole makes ip:port a TCP black hole: a socket listens there with a
// backlog of 0 and never accepts; the accept queue is filled, after which
// Linux drops further SYNs, so a connect times out exactly as it does to a
// security group that drops the packets.
func BlackHole(t testing.TB, ip netip.Addr, port int) {
	t.Helper()
	if !ip.IsLoopback() {
		t.Fatalf("nettest: black hole on non-loopback %s", ip)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	sa := &syscall.SockaddrInet4{Port: port, Addr: ip.As4()}
	if err := syscall.Bind(fd, sa); err != nil {
		t.Fatalf("nettest: bind %s:%d: %v", ip, port, err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	for i := 0; i < 8; i++ { // fill the accept queue
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return // full: connects now time out
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatalf("nettest: black hole %s still accepts connections", addr)
}

// FreePort returns a port that was free on ip a moment ago; nothing listens
// there, so connects are refused.
func FreePort(t testing.TB, ip netip.Addr) int {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
