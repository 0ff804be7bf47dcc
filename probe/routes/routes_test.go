package routes

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// TestRead reads each table set under testdata/<case>/ (a dual-stack host's
// real tables, an IPv6-only host with a link-local IPv4 address and a
// reject route on lo, an IPv4-only host) and compares the facts with
// testdata/<case>.want.json.
func TestRead(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "*"))
	n := 0
	for _, d := range dirs {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(d), func(t *testing.T) {
			f := Read(context.Background(), d)
			golden.JSON(t, d+".want.json", map[string]any{"facts": f, "ipv6_only": f.IPv6Only()})
		})
	}
	if n < 3 {
		t.Fatalf("only %d table sets", n)
	}
}

func TestReadMissing(t *testing.T) {
	f := Read(context.Background(), t.TempDir())
	if f.Checked || f.Reason == "" || f.IPv6Only() {
		t.Errorf("%+v", f)
	}
}

// TestLookup picks routes from testdata/docker-bridge (a host whose
// default route is on ens5, with docker0 on 10.0.1.0/24, a br- network
// on 10.0.8.0/22 beside a more specific-looking route of a higher metric,
// a WireGuard /32, IMDS on tun0, a reject route, a route that is not up,
// a non-contiguous mask and a malformed line), near misses included.
func TestLookup(t *testing.T) {
	f := Read(context.Background(), filepath.Join("testdata", "docker-bridge"))
	cases := []struct{ addr, want string }{
		{"10.0.1.11", "10.0.1.0/24 dev docker0"},
		{"10.0.2.11", "0.0.0.0/0 via 10.0.0.1 dev ens5"}, // just outside docker0's range
		{"10.0.0.9", "10.0.0.0/24 dev ens5"},
		{"10.0.9.200", "10.0.8.0/22 dev br-3f2a9c1d4e5b"}, // same prefix: the lower metric wins
		{"10.0.4.11", "10.0.4.11/32 dev wg0"},
		{"10.0.4.12", "0.0.0.0/0 via 10.0.0.1 dev ens5"},
		{"169.254.169.254", "169.254.169.254/32 dev tun0"},
		{"169.254.169.253", "169.254.169.253/32 dev ens5 metric 100"},
		{"10.0.6.1", "unreachable 10.0.6.0/24 dev lo"},
		{"10.0.12.1", "0.0.0.0/0 via 10.0.0.1 dev ens5"}, // that route is not up
		{"10.0.7.1", "0.0.0.0/0 via 10.0.0.1 dev ens5"},  // non-contiguous mask: not a route
		{"fd00:ec2:0:1::11", "fd00:ec2:0:1::/64 dev docker0 metric 256"},
		{"fd00:ec2::11", "fd00:ec2::/64 dev ens5 metric 256"},
		{"2600:1f18::1", "::/0 via fe80::1 dev ens5 metric 1024"},
		{"fd00:ec2::5", "fd00:ec2::/64 dev ens5 metric 256"}, // the local table's /128 is not kept
	}
	for _, c := range cases {
		r, ok := f.Lookup(netip.MustParseAddr(c.addr))
		if got := r.String(); !ok || got != c.want {
			t.Errorf("Lookup(%s) = %q, %v; want %q", c.addr, got, ok, c.want)
		}
	}
	if _, ok := (&Facts{}).Lookup(netip.MustParseAddr("10.0.1.1")); ok {
		t.Error("a route found in no table")
	}
}

// TestReadTruncated: a table longer than MaxRoutes is cut short and says
// so; one of exactly MaxRoutes is not.
func TestReadTruncated(t *testing.T) {
	for _, n := range []int{MaxRoutes, MaxRoutes + 5} {
		dir := t.TempDir()
		var b strings.Builder
		b.WriteString("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "cali%d\t%02X%02X14AC\t00000000\t0005\t0\t0\t0\tFFFFFFFF\t0\t0\t0\n", i, i&0xff, i>>8)
		}
		if err := os.WriteFile(filepath.Join(dir, "route"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		f := Read(context.Background(), dir)
		if len(f.Routes) != min(n, MaxRoutes) || f.Truncated != (n > MaxRoutes) {
			t.Errorf("%d routes: kept %d, truncated %v", n, len(f.Routes), f.Truncated)
		}
	}
}
