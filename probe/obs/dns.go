package obs

import (
	"net/netip"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// Resolver roles.
const (
	RoleSystem = "system" // named by resolv.conf (or the stub's upstreams)
	RoleVPC    = "vpc"    // AmazonProvidedDNS
)

// DNSObs is one endpoint name asked of one resolver, directly (A and AAAA).
type DNSObs struct {
	Service  Service       `json:"service"`
	Host     string        `json:"host"`
	Resolver netip.Addr    `json:"resolver"`
	Roles    []string      `json:"roles"` // system, vpc, or both when the host asks the VPC resolver
	A        resolv.Answer `json:"a"`
	AAAA     resolv.Answer `json:"aaaa"`
}

// Addrs returns the A then AAAA addresses.
func (d *DNSObs) Addrs() []netip.Addr {
	return append(append([]netip.Addr{}, d.A.Addrs...), d.AAAA.Addrs...)
}

// Class combines the A and AAAA outcomes: None when any address came back;
// NXDOMAIN when either said so; NODATA when either said so; else the A
// question's class (timeout, servfail, refused…).
func (d *DNSObs) Class() errclass.Class {
	switch {
	case len(d.A.Addrs)+len(d.AAAA.Addrs) > 0:
		return errclass.None
	case d.A.Class == errclass.NXDomain || d.AAAA.Class == errclass.NXDomain:
		return errclass.NXDomain
	case d.A.Class == errclass.NoData || d.AAAA.Class == errclass.NoData:
		return errclass.NoData
	}
	return d.A.Class
}

// Has reports whether the resolver has role r.
func (d *DNSObs) Has(r string) bool {
	for _, x := range d.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// AgentDNSObs is what the agent's own resolver path answers for a name:
// hosts file and resolv.conf in Go's order (resolv.AgentLookup).
type AgentDNSObs struct {
	Service Service            `json:"service"`
	Host    string             `json:"host"`
	Answer  resolv.AgentAnswer `json:"answer"`
}

func JoinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
