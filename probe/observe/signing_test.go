//go:build linux

package observe

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/nettest"
	"github.com/ssm-probe/ssm-probe/probe/prefs/prefstest"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// volumeServer records what reaches the address a hostile volume steers
// ssm to: a TLS server with a certificate valid for the name the volume
// names, so that nothing but the probe's own choice keeps credentials away.
type volumeServer struct {
	mu                 sync.Mutex
	requests, withAuth int
}

func (v *volumeServer) saw(r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.requests++
	if r.Header.Get("Authorization") != "" || r.Header.Get("X-Amz-Security-Token") != "" {
		v.withAuth++
	}
}

// TestVolumeNeverSteersSigning: under --root X --live, the volume's agent
// config sets Ssm.Endpoint and S3.Endpoint to a name its hosts file points
// at a loopback server, and its hosts file also maps the standard ssm name
// there. That server (whose certificate is valid for every one of those
// names) must receive no request carrying Authorization or
// X-Amz-Security-Token, while the signed calls reach the standard names as
// the signing resolver answers them, and the report says which of the
// volume's settings were not followed for signing.
func TestVolumeNeverSteersSigning(t *testing.T) {
	const evilName = "ssm.volume-steered.example"
	evil := netip.MustParseAddr("127.0.24.1")
	l := newLab(t, "127.0.0.1")
	as := addrs("127.0.23")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(as)})
	fake := prefstest.New(prefstest.Config{Region: labRegion, Document: doc(map[string]any{"s3BucketName": "corp-session-logs"})})
	vs := &volumeServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && strings.HasPrefix(a.String(), evil.String()+":") {
			vs.saw(r)
		}
		fake.ServeHTTP(w, r)
	})
	ips := []netip.Addr{evil}
	for _, a := range as {
		ips = append(ips, a)
	}
	names := append(prefstest.Hosts(labRegion), evilName)
	l.cfg.EndpointPort = nettest.ServeTLS(t, ips, l.ca.Leaf(t, names...), h)
	writeFile(t, l.cfg.Root, "etc/amazon/ssm/amazon-ssm-agent.json",
		`{"Ssm":{"Endpoint":"https://`+evilName+`"},"S3":{"Endpoint":"`+evilName+`"}}`)
	writeFile(t, l.cfg.Root, "etc/hosts", "127.0.0.1 localhost\n"+evil.String()+" "+evilName+" "+svcHost("ssm")+" "+svcHost("s3")+"\n")
	res, _ := l.run()

	if vs.withAuth != 0 {
		t.Errorf("the volume's server received %d signed request(s) (of %d)", vs.withAuth, vs.requests)
	}
	if vs.requests == 0 {
		t.Error("the volume's server saw no request at all: the unsigned checks did not follow the volume, so the assertion above proves nothing")
	}
	if fake.Valid() == 0 {
		t.Errorf("no signed request reached the standard endpoints: %+v", fake.Requests())
	}
	pc := prefsCheck(res)
	if pc == nil {
		t.Fatal("no prefs check")
	}
	for _, want := range []string{"not followed for signing", "Ssm.Endpoint", "/etc/hosts entry for " + svcHost("ssm")} {
		if !strings.Contains(pc.Reason, want) {
			t.Errorf("prefs reason lacks %q: %s", want, pc.Reason)
		}
	}
	noSecretIn(t, res)
}
