package resolv

import "net/netip"

// The fixed AmazonProvidedDNS addresses. Route 53 Resolver also answers at
// the VPC's primary IPv4 CIDR base plus two; 169.254.169.253 reaches it from
// any VPC, and fd00:ec2::253 on Nitro instances with IPv6
// (https://docs.aws.amazon.com/vpc/latest/userguide/AmazonDNS-concepts.html).
var (
	amazonDNSLinkLocal = netip.AddrFrom4([4]byte{169, 254, 169, 253})
	amazonDNSIPv6      = netip.MustParseAddr("fd00:ec2::253")
)

// AmazonProvidedDNS returns the addresses at which AmazonProvidedDNS answers
// for a VPC whose primary CIDR is vpcPrimaryCIDR: the CIDR's network address
// plus two, then 169.254.169.253, then fd00:ec2::253 when hostHasIPv6. An
// invalid or non-IPv4 prefix contributes no base+2 address.
func AmazonProvidedDNS(vpcPrimaryCIDR netip.Prefix, hostHasIPv6 bool) []netip.Addr {
	var out []netip.Addr
	if vpcPrimaryCIDR.IsValid() && vpcPrimaryCIDR.Addr().Is4() && vpcPrimaryCIDR.Bits() <= 30 {
		b := vpcPrimaryCIDR.Masked().Addr().As4()
		b[3] += 2 // the network address has its host bits clear, and bits <= 30 leaves at least two of them
		out = append(out, netip.AddrFrom4(b))
	}
	out = append(out, amazonDNSLinkLocal)
	if hostHasIPv6 {
		out = append(out, amazonDNSIPv6)
	}
	return out
}
