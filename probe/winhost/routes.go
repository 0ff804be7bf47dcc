package winhost

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/routes"
)

// MaxPersistentRoutes caps the persistent routes read.
const MaxPersistentRoutes = 1024

// ReadRoutes turns the forward table into routes' terms: each route's
// interface is its adapter's friendly name, and its metric is the route's
// own plus its interface's (the sum Windows compares, as route print shows
// it). The default routes are the lowest-metric 0.0.0.0/0 and ::/0; the
// addresses are the adapters' unicast addresses without loopback and
// link-local ones.
func ReadRoutes(src Source, ads []Adapter, adErr error) *routes.Facts {
	rows, err := src.Routes()
	if err != nil {
		return &routes.Facts{Reason: "not checked: " + err.Error()}
	}
	f := &routes.Facts{Checked: true}
	ads = ads[:min(len(ads), MaxAdapters)]
	if adErr != nil {
		f.Problems = append(f.Problems, "adapters not read, routes carry interface indexes only: "+adErr.Error())
	}
	byIndex := func(idx uint32, v6 bool) (string, uint32, bool) {
		for _, a := range ads {
			if a.IfIndex == idx || v6 && a.IPv6IfIndex == idx {
				if v6 {
					return a.Name, a.IPv6Metric, true
				}
				return a.Name, a.Metric, true
			}
		}
		return "", 0, false
	}
	var def4, def6 *routes.Route
	for _, r := range rows {
		if r.Loopback {
			continue
		}
		v6 := r.Dst.Addr().Is6()
		name, ifMetric, ok := byIndex(r.IfIndex, v6)
		if !ok {
			name = fmt.Sprintf("if%d", r.IfIndex)
		}
		rt := routes.Route{Dst: r.Dst.Masked(), Iface: name, Metric: r.Metric + ifMetric}
		if r.NextHop.IsValid() && !r.NextHop.IsUnspecified() {
			rt.Gateway = r.NextHop
		}
		if len(f.Routes) >= routes.MaxRoutes {
			f.Truncated = true
			continue
		}
		f.Routes = append(f.Routes, rt)
		if rt.Dst.Bits() == 0 {
			if !v6 && (def4 == nil || rt.Metric < def4.Metric) {
				def4 = &rt
			}
			if v6 && (def6 == nil || rt.Metric < def6.Metric) {
				def6 = &rt
			}
		}
	}
	if f.Truncated {
		f.Problems = append(f.Problems, fmt.Sprintf("more than %d routes, only the first kept", routes.MaxRoutes))
	}
	if def4 != nil {
		f.IPv4Default = def4.Iface
	}
	if def6 != nil {
		f.IPv6Default = def6.Iface
	}
	for _, a := range ads {
		if a.Loopback {
			continue
		}
		for _, p := range a.Unicast {
			ip := p.Addr()
			if ip.IsLoopback() || ip.IsLinkLocalUnicast() {
				continue
			}
			if ip.Is4() {
				f.IPv4Addrs = append(f.IPv4Addrs, ip.String())
			} else {
				f.IPv6Addrs = append(f.IPv6Addrs, ip.String())
			}
		}
	}
	return f
}

// ReadPersistentRoutes reads Tcpip\Parameters\PersistentRoutes, whose
// value names are "destination,mask,gateway,metric" (route -p add). A name
// that does not parse is a problem, not a route.
func ReadPersistentRoutes(src Source) ([]PersistentRoute, []string) {
	k, err := src.Key(KeyPersistRoutes)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, []string{"persistent routes not read: " + err.Error()}
	}
	names := make([]string, 0, len(k.Values))
	for n := range k.Values {
		names = append(names, n)
	}
	slices.Sort(names)
	var out []PersistentRoute
	var problems []string
	if k.Truncated {
		problems = append(problems, "persistent routes: more values than the cap")
	}
	for _, n := range names {
		if len(out) >= MaxPersistentRoutes {
			problems = append(problems, fmt.Sprintf("persistent routes: only the first %d kept", MaxPersistentRoutes))
			break
		}
		r, err := ParsePersistentRoute(n)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		out = append(out, r)
	}
	return out, problems
}

// ParsePersistentRoute parses one PersistentRoutes value name.
func ParsePersistentRoute(name string) (PersistentRoute, error) {
	bad := func(why string) (PersistentRoute, error) {
		return PersistentRoute{}, fmt.Errorf("persistent route %q: %s", name, why)
	}
	parts := strings.Split(name, ",")
	if len(parts) != 4 {
		return bad("not destination,mask,gateway,metric")
	}
	dst, err := netip.ParseAddr(strings.TrimSpace(parts[0]))
	if err != nil || !dst.Is4() {
		return bad("destination is not an IPv4 address")
	}
	mask, err := netip.ParseAddr(strings.TrimSpace(parts[1]))
	if err != nil || !mask.Is4() {
		return bad("mask is not an IPv4 address")
	}
	bits, ok := maskBits(mask.As4())
	if !ok {
		return bad("mask is not contiguous")
	}
	gw, err := netip.ParseAddr(strings.TrimSpace(parts[2]))
	if err != nil || !gw.Is4() {
		return bad("gateway is not an IPv4 address")
	}
	metric, err := strconv.ParseUint(strings.TrimSpace(parts[3]), 10, 32)
	if err != nil {
		return bad("metric is not a number")
	}
	return PersistentRoute{Dst: netip.PrefixFrom(dst, bits).Masked(), Gateway: gw, Metric: uint32(metric), Raw: name}, nil
}

// maskBits returns the prefix length of a contiguous netmask.
func maskBits(m [4]byte) (int, bool) {
	v := uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}
