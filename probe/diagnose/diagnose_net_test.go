package diagnose

import (
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
)

const netFixtures = "testdata/obs/net"

// TestDiagnoseDNSAndNet table-tests the dns.* and net.* rules from the
// observation fixtures in testdata/obs/net (regenerate: go test -run
// TestDiagnoseDNSAndNet ./probe/diagnose -update).
func TestDiagnoseDNSAndNet(t *testing.T) {
	fixtureDir(t, netFixtures, netScenarios())
}

func fx(comment string, s *probetest.Scen, want ...wantFinding) fixture {
	return fixture{Comment: comment, Want: want, Observations: *s.O}
}

func w(id finding.ID, sev finding.Severity) wantFinding { return wantFinding{ID: id, Severity: sev} }

// netScenarios are the DNS x network situations of the lab's scenarios,
// and their healthy counterparts.
func netScenarios() map[string]fixture {
	none := errclass.None
	vpce := []string{"10.0.1.X"}
	pub := []string{"52.119.0.X"}
	hub := []string{"10.1.4.X"}
	return map[string]fixture{
		"healthy-vpc-endpoints": fx("Interface endpoints with private DNS; the host asks the VPC resolver; every endpoint answers.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("10.0.0.2", none, vpce).Net("10.0.1.X", "ok")),
		"healthy-nat": fx("No endpoints; public addresses through a NAT gateway; all answer.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, pub).Answer("169.254.169.253", none, pub).
				Agent("10.0.0.2", none, pub).Net("52.119.0.X", "ok")),
		"vpc-dns-resolution-off": fx("enableDnsSupport off; AmazonProvidedDNS silent at base+2 and 169.254.169.253.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", errclass.Timeout, nil).Answer("169.254.169.253", errclass.Timeout, nil).
				Agent("10.0.0.2", errclass.Timeout, nil),
			w(DNSVPCResolverSilent, finding.SevFail)),
		"private-dns-not-in-effect": fx("Endpoints exist but names resolve public, and there is no NAT.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, pub).Answer("169.254.169.253", none, pub).
				Agent("10.0.0.2", none, pub).Net("52.119.0.X", "timeout"),
			w(DNSEndpointResolvesPub, finding.SevFail)),
		"endpoint-sg-no-443": fx("Names resolve to the interface endpoint, whose security group drops 443.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, []string{"10.0.4.X"}).Answer("169.254.169.253", none, []string{"10.0.4.X"}).
				Agent("10.0.0.2", none, []string{"10.0.4.X"}).Net("10.0.4.X", "timeout"),
			w(NetEndpointBlocked, finding.SevFail)),
		"shared-endpoints-blocked": fx("Hub-and-spoke: a private hosted zone answers the names with the hub VPC's endpoints at 10.1.4.X, outside 10.0.0.0/16, from both resolvers; 443 is dropped on the way: the shared-endpoint finding, never public",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, hub).Answer("169.254.169.253", none, hub).
				Agent("10.0.0.2", none, hub).Net("10.1.4.X", "timeout"),
			wtn(NetSharedEndpointBlocked, finding.SevFail, []string{"10.1.4.11", "transit gateway", "search-transit-gateway-routes", "--cidr 10.0.0.0/16", "list-hosted-zones-by-vpc --vpc-id vpc-0abc"},
				"public addresses", "private-dns-enabled", "NAT gateway")),
		"shared-endpoints-cgnat-blocked": fx("The hub uses the shared address space 100.64.0.0/10 for its endpoints: shared, not public",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, []string{"100.64.8.X"}).Answer("169.254.169.253", none, []string{"100.64.8.X"}).
				Agent("10.0.0.2", none, []string{"100.64.8.X"}).Net("100.64.8.X", "timeout"),
			wtn(NetSharedEndpointBlocked, finding.SevFail, []string{"100.64.8.11"})),
		"shared-endpoints-reachable": fx("Near miss: the hub's endpoints answer through the transit gateway: ok",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, hub).Answer("169.254.169.253", none, hub).
				Agent("10.0.0.2", none, hub).Net("10.1.4.X", "ok")),
		"shared-host-resolver-only": fx("The host's resolver (a corporate DNS) answers the hub's private addresses, AmazonProvidedDNS public ones, and 443 to the hub times out: the agent dials the hub, so the shared-endpoint checks, with AmazonProvidedDNS's answer as evidence; never public",
			probetest.NewScen([]string{"10.9.0.53"}, "10.0.0.0/16").Answer("10.9.0.53", none, hub).Answer("169.254.169.253", none, pub).
				Agent("10.9.0.53", none, hub).Net("10.1.4.X", "timeout"),
			wtn(NetSharedEndpointBlocked, finding.SevFail, []string{"10.1.4.11", "from the host's resolver", "52.119.0.11"}, "private-dns-enabled")),
		"vpc-resolver-nxdomain": fx("AmazonProvidedDNS itself answers NXDOMAIN for the regional names, which always exist: a DNS Firewall or forwarding rule, shown first",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", errclass.NXDomain, nil).Answer("169.254.169.253", errclass.NXDomain, nil).
				Agent("10.0.0.2", errclass.NXDomain, nil),
			wtn(DNSEndpointNoAddress, finding.SevFail, []string{"NXDOMAIN", "DNS Firewall", "list-firewall-rule-group-associations --vpc-id vpc-0abc", "list-resolver-rule-associations --filters Name=VPCId,Values=vpc-0abc"},
				"the mark of an interface endpoint")),
		"corp-resolver-nxdomain-vpc-public": fx("Near miss: the host's own DNS answers NXDOMAIN while AmazonProvidedDNS answers: the VPC's rules are not at fault, so no DNS Firewall text",
			probetest.NewScen([]string{"10.9.0.53"}, "10.0.0.0/16").Answer("10.9.0.53", errclass.NXDomain, nil).Answer("169.254.169.253", none, pub).
				Agent("10.9.0.53", errclass.NXDomain, nil),
			wtn(DNSEndpointNoAddress, finding.SevFail, []string{"NODATA or NXDOMAIN"}, "DNS Firewall", "route53resolver")),
		"private-dns-no-subnet": fx("Private DNS on, no subnet selected: NODATA.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", errclass.NoData, nil).Answer("169.254.169.253", errclass.NoData, nil).
				Agent("10.0.0.2", errclass.NoData, nil),
			wtn(DNSEndpointNoAddress, finding.SevFail, []string{"describe-vpc-endpoints", "no subnet selected", "DNS Firewall rule", "list-firewall-rule-group-associations"})),
		"domain-joined-public": fx("The AD DNS server does not forward to the VPC; it answers public addresses, there is no NAT.",
			probetest.NewScen([]string{"10.0.9.9"}, "10.0.0.0/16").Answer("10.0.9.9", none, []string{"203.0.113.X"}).
				Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("10.0.9.9", none, []string{"203.0.113.X"}).Net("203.0.113.X", "timeout").Net("10.0.1.X", "ok"),
			w(DNSResolverBypassesVPC, finding.SevFail)),
		"domain-joined-nat-works": fx("AD DNS answers public, NAT still carries it: fragile, warn.",
			probetest.NewScen([]string{"10.0.9.9"}, "10.0.0.0/16").Answer("10.0.9.9", none, []string{"203.0.113.X"}).
				Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("10.0.9.9", none, []string{"203.0.113.X"}).Net("203.0.113.X", "ok").Net("10.0.1.X", "ok"),
			w(DNSResolverBypassesVPC, finding.SevWarn)),
		"hosts-stale": fx("/etc/hosts pins the names to an old endpoint address.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("hosts", none, []string{"10.0.7.X"}).Net("10.0.7.X", "timeout").Net("10.0.1.X", "ok"),
			w(DNSHostsStale, finding.SevFail)),
		"hosts-override": fx("/etc/hosts pins the names to the right addresses.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("hosts", none, vpce).Net("10.0.1.X", "ok"),
			w(DNSHostsOverride, finding.SevWarn)),
		"second-nameserver-silent": fx("resolv.conf lists a dead nameserver next to the VPC resolver.",
			probetest.NewScen([]string{"10.0.0.2", "10.0.8.8"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("10.0.8.8", errclass.Timeout, nil).
				Answer("169.254.169.253", none, vpce).Agent("10.0.0.2", none, vpce).Net("10.0.1.X", "ok"),
			w(DNSNameserverUnresponsive, finding.SevWarn)),
		"connection-refused": fx("A local REJECT rule resets 443.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("10.0.0.2", none, vpce).Net("10.0.1.X", "refused"),
			w(NetConnectionRefused, finding.SevFail)),
		"tls-inspection": fx("A TLS-inspecting firewall presents its own CA.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, pub).Answer("169.254.169.253", none, pub).
				Agent("10.0.0.2", none, pub).Net("52.119.0.X", "untrusted"),
			w(NetTLSFailed, finding.SevFail)),
		"clock-skew-10min": fx("The endpoints' Date is 10 minutes behind the host.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("10.0.0.2", none, vpce).Net("10.0.1.X", "skew:600"),
			w(NetClockSkew, finding.SevFail)),
		"clock-skew-1min": fx("One minute off: warn.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("10.0.0.2", none, vpce).Net("10.0.1.X", "skew:-60"),
			w(NetClockSkew, finding.SevWarn)),
		"optional-s3-blocked": fx("Sessions work, but the s3 endpoint cannot be reached.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("10.0.0.2", none, vpce).Net("10.0.1.X", "ok", "ssm", "ssmmessages", "ec2messages", "logs", "kms").
				Net("10.0.1.X", "timeout", "s3"),
			w(NetOptionalEndpointUnreach, finding.SevWarn)),
		"stub-resolver": fx("systemd-resolved stub: resolv.conf names 127.0.0.53, the upstream is the VPC resolver; healthy.",
			probetest.Stubbed(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("127.0.0.53", none, vpce).Net("10.0.1.X", "ok")),
			w(DNSStubResolver, finding.SevInfo)),
		"proxy-works": fx("The only way out is the agent's proxy, and it carries every endpoint; direct dials time out, which is not the agent's path.",
			probetest.Proxied(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, pub).Answer("169.254.169.253", none, pub).
				Agent("10.0.0.2", none, pub).Net("52.119.0.X", "timeout"), "localhost,169.254.169.254", "ok")),
		"proxy-refuses": fx("The agent's proxy refuses CONNECT to the endpoints.",
			probetest.Proxied(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, pub).Answer("169.254.169.253", none, pub).
				Agent("10.0.0.2", none, pub).Net("52.119.0.X", "timeout"), "localhost,169.254.169.254", "refused"),
			w(NetProxyFailed, finding.SevFail)),
		"proxy-imds-not-excluded": fx("The proxy works, but no_proxy does not cover 169.254.169.254.",
			probetest.Proxied(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, pub).Answer("169.254.169.253", none, pub).
				Agent("10.0.0.2", none, pub).Net("52.119.0.X", "timeout"), "localhost,127.0.0.1", "ok"),
			w(NetProxyIMDSNotExcluded, finding.SevWarn)),
		"hybrid-no-route": fx("Not in a VPC (no CIDRs): public addresses time out.",
			probetest.NewScen([]string{"192.0.2.53"}).Answer("192.0.2.53", none, pub).Agent("192.0.2.53", none, pub).Net("52.119.0.X", "timeout"),
			w(NetNoRoute, finding.SevFail)),
	}
}
