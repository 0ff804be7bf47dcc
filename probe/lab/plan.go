//go:build linux

// Package lab is the ssm-probe lab: a fake VPC built from two Linux network
// namespaces, in which the real static probe binary runs with its default
// paths and addresses, once per scenario, and its findings are checked.
//
// The topology (see Plan): an "instance" namespace (ssmp-inst) holding only
// loopback and one end of a veth pair, and an "infrastructure" namespace
// (ssmp-infra) holding the other end and every service the instance talks
// to: AmazonProvidedDNS at the VPC base+2 and 169.254.169.253, a fake IMDS
// at 169.254.169.254:80, TLS endpoints at interface-endpoint addresses in
// the VPC and at "public" addresses from the documentation ranges (RFC
// 5737), a corporate DNS server and a CONNECT proxy. Neither namespace has
// a link to the host's network namespace; nothing is ever added to it.
// nftables rules in the infrastructure namespace play security groups and
// the missing NAT path.
//
// Scenarios are data (scenarios/*.json): what is broken, and the finding
// IDs and status the probe must report. Package lab turns one into a
// ServerSpec (served by Serve inside ssmp-infra), a firewall ruleset, the
// instance's resolv.conf and hosts, and the agent's files; cmd/ssm-probe-lab
// runs them.
package lab

import (
	"fmt"
	"net/netip"
)

// The lab's names and addresses. The VPC is 10.0.0.0/16 with the instance
// in subnet 10.0.5.0/24; everything else lives in the infrastructure
// namespace. The addresses exist only inside the namespaces the lab makes.
const (
	InstNS  = "ssmp-inst"  // the instance's network namespace
	InfraNS = "ssmp-infra" // the VPC's services
	// NSPrefix starts the name of every namespace the lab makes, so a crashed
	// run's leftovers can be found and removed.
	NSPrefix  = "ssmp-"
	InstLink  = "ssmp-i0" // the instance's end of the veth pair
	InfraLink = "ssmp-x0" // the infrastructure's end

	VPCCIDR      = "10.0.0.0/16"
	SubnetCIDR   = "10.0.5.0/24"
	InstanceAddr = "10.0.5.10" // the instance, /24
	RouterAddr   = "10.0.5.1"  // the subnet's router: the infrastructure's end of the veth
	VPCResolver  = "10.0.0.2"  // AmazonProvidedDNS at the VPC base+2
	LinkResolver = "169.254.169.253"
	IMDSAddr     = "169.254.169.254"
	CorpDNSAddr  = "10.0.9.9"  // a corporate (Active Directory) DNS server
	ProxyAddr    = "10.0.9.20" // a corporate HTTP CONNECT proxy
	ProxyPort    = 3128

	// The IPv6-only subnet (Scenario.IPv6Only): unique local addresses.
	InstanceAddr6 = "fd00:5::10" // the instance, /64
	RouterAddr6   = "fd00:5::1"  // the infrastructure's end of the veth

	Region     = "ap-northeast-1"
	Domain     = "amazonaws.com"
	InstanceID = "i-0fake0123456789ab"
	// AgentVersion is what the fake agent binary prints for -version; it is
	// above 3.2.582.0, so Default Host Management could stand in for a
	// missing instance profile (docs/AGENT-FACTS.md).
	AgentVersion = "3.3.1142.0"
)

// Services are the endpoints the probe plans (docs/AGENT-FACTS.md, "Endpoints and configuration"),
// in plan order; an address set gives service i the host number 11+i.
var servicesList = [...]string{"ssm", "ssmmessages", "ec2messages", "s3", "logs", "kms"}

// Services returns the endpoint services the lab serves, in plan order.
func Services() []string { return append([]string(nil), servicesList[:]...) }

// Host returns a service's regional endpoint name.
func Host(service string) string { return service + "." + Region + "." + Domain }

// Address sets name a block of per-service addresses that scenario DNS
// answers and firewall rules refer to.
const (
	SetVPCE   = "vpce"    // healthy interface endpoints, 10.0.1.11-16
	SetVPCESG = "vpce-sg" // interface endpoints in another subnet, 10.0.4.11-16
	SetPublic = "public"  // the services' "public" addresses, 203.0.113.11-16 (TEST-NET-3)
	// SetHub: interface endpoints of a shared-services (hub) VPC,
	// 10.1.4.11-16, outside the VPC's 10.0.0.0/16, reached as through a
	// transit gateway (the instance routes 10.1.4.0/24 to the router).
	SetHub = "hub"
)

// setPrefix maps each address set to its first three octets.
var setPrefix = map[string]string{SetVPCE: "10.0.1", SetVPCESG: "10.0.4", SetPublic: "203.0.113", SetHub: "10.1.4"}

// SetNames lists the address sets.
func SetNames() []string { return []string{SetVPCE, SetVPCESG, SetPublic, SetHub} }

// SetAddr returns the address of service in set.
func SetAddr(set, service string) (netip.Addr, error) {
	pfx, ok := setPrefix[set]
	if !ok {
		return netip.Addr{}, fmt.Errorf("unknown address set %q", set)
	}
	for i, s := range servicesList {
		if s == service {
			return netip.ParseAddr(fmt.Sprintf("%s.%d", pfx, 11+i))
		}
	}
	return netip.Addr{}, fmt.Errorf("unknown service %q", service)
}

// SetAddrs returns every address of set, in service order.
func SetAddrs(set string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range servicesList {
		a, err := SetAddr(set, s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// InfraAddrs returns every address the infrastructure namespace holds on
// its loopback (each /32), besides RouterAddr on the veth: the resolvers,
// IMDS, the corporate servers, every endpoint of every set, and extra (a
// scenario's stale hosts-file targets, which hold nothing but make a
// firewall rule meaningful).
func InfraAddrs(extra []netip.Addr) []netip.Addr {
	out := []netip.Addr{netip.MustParseAddr(VPCResolver), netip.MustParseAddr(LinkResolver),
		netip.MustParseAddr(IMDSAddr), netip.MustParseAddr(CorpDNSAddr), netip.MustParseAddr(ProxyAddr)}
	for _, set := range SetNames() {
		as, _ := SetAddrs(set) // the sets are constants and always valid
		out = append(out, as...)
	}
	return append(out, extra...)
}

// InstanceRoutes are the prefixes the instance routes through the veth to
// the infrastructure namespace. There is deliberately no default route: a
// packet to any other address fails with "network unreachable" inside the
// instance namespace and never leaves it.
func InstanceRoutes() []string {
	return []string{VPCCIDR, "169.254.0.0/16", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "10.1.4.0/24"}
}
