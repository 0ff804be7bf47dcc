// Package routes reads the kernel's routing and address tables as files
// (no netlink): /proc/net/route and /proc/net/ipv6_route for the routes of
// the main table (the default routes, and the route the kernel picks for an
// address: Lookup), /proc/net/fib_trie for the local IPv4 addresses and
// /proc/net/if_inet6 for the IPv6 ones. It tells an IPv6-only host from the
// rest, and which interface takes an address. The files describe the
// network namespace of the process that reads them; policy routing (ip
// rule) and other tables are not read.
package routes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// MaxFileBytes caps each table; a host with thousands of routes stays far
// below it.
const MaxFileBytes = 8 << 20

// MaxRoutes caps the routes kept of both tables together.
const MaxRoutes = 4096

// Route flags (linux/route.h and linux/ipv6_route.h).
const (
	rtfUp     = 0x0001
	rtfReject = 0x0200
	rtfLocal  = 0x80000000 // an IPv6 route of the local table (the host's own addresses)
)

// Route is one usable route of the main table: its destination, the
// gateway (invalid for a route on the link), the interface and metric, and
// whether it rejects the traffic (an unreachable or blackhole route).
type Route struct {
	Dst     netip.Prefix `json:"dst"`
	Gateway netip.Addr   `json:"gateway,omitzero"`
	Iface   string       `json:"iface"`
	Metric  uint32       `json:"metric"`
	Reject  bool         `json:"reject,omitempty"`
}

// String renders the route as ip route does, e.g. "10.0.1.0/24 dev docker0".
func (r Route) String() string {
	s := r.Dst.String()
	if r.Reject {
		s = "unreachable " + s
	}
	if r.Gateway.IsValid() {
		s += " via " + r.Gateway.String()
	}
	if r.Iface != "" {
		s += " dev " + r.Iface
	}
	if r.Metric != 0 {
		s += fmt.Sprintf(" metric %d", r.Metric)
	}
	return s
}

// Facts is what Read found. IPv4 and IPv6 addresses exclude loopback and
// link-local ones.
type Facts struct {
	Checked     bool     `json:"checked"`
	Reason      string   `json:"reason,omitempty"`
	IPv4Default string   `json:"ipv4_default,omitempty"` // the interface of the IPv4 default route, "" when none
	IPv6Default string   `json:"ipv6_default,omitempty"` // the interface of the IPv6 default route, "" when none
	IPv4Addrs   []string `json:"ipv4_addrs,omitempty"`
	IPv6Addrs   []string `json:"ipv6_addrs,omitempty"`
	Routes      []Route  `json:"routes,omitempty"`    // both tables, in table order, at most MaxRoutes
	Truncated   bool     `json:"truncated,omitempty"` // the tables held more than MaxRoutes: Lookup may miss the kernel's pick
	Problems    []string `json:"problems,omitempty"`
}

// Lookup returns the route the kernel would pick in the main table for a:
// the longest prefix that holds it, and of those the lowest metric. It
// reports false when no route holds a (or the routes were not read).
func (f *Facts) Lookup(a netip.Addr) (Route, bool) {
	if f == nil || !a.IsValid() {
		return Route{}, false
	}
	a = a.Unmap()
	best, found := Route{}, false
	for _, r := range f.Routes {
		if r.Dst.Addr().Is4() != a.Is4() || !r.Dst.Contains(a) {
			continue
		}
		if !found || r.Dst.Bits() > best.Dst.Bits() || r.Dst.Bits() == best.Dst.Bits() && r.Metric < best.Metric {
			best, found = r, true
		}
	}
	return best, found
}

// IPv6Only reports whether the host has an IPv6 default route and neither
// an IPv4 default route nor an IPv4 address beyond loopback and
// link-local.
func (f *Facts) IPv6Only() bool {
	return f != nil && f.Checked && f.IPv6Default != "" && f.IPv4Default == "" && len(f.IPv4Addrs) == 0
}

// Read reads the tables under procNet (/proc/net on the live host).
func Read(_ context.Context, procNet string) *Facts {
	f := &Facts{Checked: true}
	read := func(name string) []byte {
		b, err := readCapped(filepath.Join(procNet, name))
		if err != nil {
			f.Problems = append(f.Problems, err.Error())
			return nil
		}
		return b
	}
	v4, v6 := read("route"), read("ipv6_route")
	if v4 == nil && v6 == nil {
		f.Checked, f.Reason = false, "not checked: no routing table under "+procNet
		return f
	}
	f.IPv4Default = DefaultIPv4(v4)
	f.IPv6Default = DefaultIPv6(v6)
	f.Routes = append(RoutesIPv4(v4), RoutesIPv6(v6)...)
	if len(f.Routes) > MaxRoutes {
		f.Problems = append(f.Problems, fmt.Sprintf("%d routes, only the first %d kept", len(f.Routes), MaxRoutes))
		f.Routes, f.Truncated = f.Routes[:MaxRoutes], true
	}
	f.IPv4Addrs = LocalIPv4(read("fib_trie"))
	f.IPv6Addrs = GlobalIPv6(read("if_inet6"))
	return f
}

func readCapped(p string) ([]byte, error) {
	fh, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: p, Err: syscall.EINVAL}
	}
	return io.ReadAll(io.LimitReader(fh, MaxFileBytes))
}

// DefaultIPv4 returns the interface of the first usable default route of
// /proc/net/route (Destination and Mask 00000000, RTF_UP), or "".
func DefaultIPv4(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[0] == "Iface" {
			continue
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || f[1] != "00000000" || f[7] != "00000000" || flags&rtfUp == 0 || flags&rtfReject != 0 {
			continue
		}
		return f[0]
	}
	return ""
}

// DefaultIPv6 returns the interface of the first usable default route of
// /proc/net/ipv6_route (::/0, RTF_UP, not a reject route, not on lo), or "".
func DefaultIPv6(b []byte) string {
	zero := strings.Repeat("0", 32)
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 10 || f[0] != zero || f[1] != "00" || f[9] == "lo" {
			continue
		}
		flags, err := strconv.ParseUint(f[8], 16, 32)
		if err != nil || flags&rtfUp == 0 || flags&rtfReject != 0 {
			continue
		}
		return f[9]
	}
	return ""
}

// LocalIPv4 returns the host's own IPv4 addresses from /proc/net/fib_trie
// (a leaf "|-- A.B.C.D" followed by "/32 host LOCAL"), without loopback and
// link-local ones, each once, in table order.
func LocalIPv4(b []byte) []string {
	var out []string
	last := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if a, ok := strings.CutPrefix(line, "|-- "); ok {
			last = a
			continue
		}
		if !strings.HasPrefix(line, "/32 host LOCAL") || last == "" {
			continue
		}
		ip, err := netip.ParseAddr(last)
		if err != nil || !ip.Is4() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			continue
		}
		if s := ip.String(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// GlobalIPv6 returns the addresses of /proc/net/if_inet6 that are neither
// loopback nor link-local.
func GlobalIPv6(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 6 || len(f[0]) != 32 {
			continue
		}
		raw, err := hex.DecodeString(f[0])
		if err != nil {
			continue
		}
		ip := netip.AddrFrom16([16]byte(raw))
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() {
			continue
		}
		if s := ip.String(); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// RoutesIPv4 returns the usable routes of /proc/net/route (RTF_UP, with a
// contiguous mask), in table order. The addresses are in the host's byte
// order, as the kernel writes them.
func RoutesIPv4(b []byte) []Route {
	var out []Route
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && len(out) <= MaxRoutes {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[0] == "Iface" {
			continue
		}
		dst, ok1 := hexIPv4(f[1])
		gw, ok2 := hexIPv4(f[2])
		mask, ok3 := hexIPv4(f[7])
		flags, err := strconv.ParseUint(f[3], 16, 32)
		metric, err2 := strconv.ParseUint(f[6], 10, 32)
		if !ok1 || !ok2 || !ok3 || err != nil || err2 != nil || flags&rtfUp == 0 {
			continue
		}
		bits, ok := maskBits(mask.As4())
		if !ok {
			continue
		}
		r := Route{Dst: netip.PrefixFrom(dst, bits).Masked(), Iface: f[0], Metric: uint32(metric), Reject: flags&rtfReject != 0}
		if !gw.IsUnspecified() {
			r.Gateway = gw
		}
		out = append(out, r)
	}
	return out
}

// RoutesIPv6 returns the usable routes of /proc/net/ipv6_route, without
// the local table's (the host's own addresses), multicast and the routes
// on lo, in table order.
func RoutesIPv6(b []byte) []Route {
	var out []Route
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && len(out) <= MaxRoutes {
		f := strings.Fields(sc.Text())
		if len(f) != 10 || f[9] == "lo" {
			continue
		}
		dst, ok1 := hexIPv6(f[0])
		gw, ok2 := hexIPv6(f[4])
		bits, err := strconv.ParseUint(f[1], 16, 8)
		metric, err2 := strconv.ParseUint(f[5], 16, 32)
		flags, err3 := strconv.ParseUint(f[8], 16, 32)
		if !ok1 || !ok2 || err != nil || err2 != nil || err3 != nil || bits > 128 ||
			flags&rtfUp == 0 || flags&rtfLocal != 0 || dst.IsMulticast() {
			continue
		}
		r := Route{Dst: netip.PrefixFrom(dst, int(bits)).Masked(), Iface: f[9], Metric: uint32(metric), Reject: flags&rtfReject != 0}
		if !gw.IsUnspecified() {
			r.Gateway = gw
		}
		out = append(out, r)
	}
	return out
}

// hexIPv4 decodes an address of /proc/net/route: 8 hex digits, in the
// host's byte order.
func hexIPv4(s string) (netip.Addr, bool) {
	if len(s) != 8 {
		return netip.Addr{}, false
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return netip.Addr{}, false
	}
	var a [4]byte
	binary.NativeEndian.PutUint32(a[:], uint32(v))
	return netip.AddrFrom4(a), true
}

// hexIPv6 decodes an address of /proc/net/ipv6_route: 32 hex digits.
func hexIPv6(s string) (netip.Addr, bool) {
	if len(s) != 32 {
		return netip.Addr{}, false
	}
	raw, err := hex.DecodeString(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16([16]byte(raw)), true
}

// maskBits is the prefix length of a contiguous netmask.
func maskBits(m [4]byte) (int, bool) {
	v := binary.BigEndian.Uint32(m[:])
	bits := 0
	for v&0x80000000 != 0 {
		bits++
		v <<= 1
	}
	return bits, v == 0
}
