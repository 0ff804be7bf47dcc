// Package routes tells an IPv6-only host from the rest by reading the
// kernel's routing and address tables as files (no netlink): /proc/net/route
// and /proc/net/ipv6_route for default routes, /proc/net/fib_trie for the
// local IPv4 addresses and /proc/net/if_inet6 for the IPv6 ones. The files
// describe the network namespace of the process that reads them.
package routes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
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

// Route flags (linux/route.h and linux/ipv6_route.h).
const (
	rtfUp     = 0x0001
	rtfReject = 0x0200
)

// Facts is what Read found. IPv4 and IPv6 addresses exclude loopback and
// link-local ones.
type Facts struct {
	Checked     bool     `json:"checked"`
	Reason      string   `json:"reason,omitempty"`
	IPv4Default string   `json:"ipv4_default,omitempty"` // the interface of the IPv4 default route, "" when none
	IPv6Default string   `json:"ipv6_default,omitempty"` // the interface of the IPv6 default route, "" when none
	IPv4Addrs   []string `json:"ipv4_addrs,omitempty"`
	IPv6Addrs   []string `json:"ipv6_addrs,omitempty"`
	Problems    []string `json:"problems,omitempty"`
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
