package diagnose

import (
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
)

const pathFixtures = "testdata/obs/path"

// TestDiagnosePaths table-tests the rules that explain a broken agent path
// (dns.resolver-error, dns.search-list-hijack, host.resolv-conf-problem as
// a fail, probe.unexplained) and the verdict rules that hold the findings
// to the paths, from the fixtures in testdata/obs/path (regenerate: go test
// -run TestDiagnosePaths ./probe/diagnose -update).
func TestDiagnosePaths(t *testing.T) {
	fixtureDir(t, pathFixtures, pathScenarios())
}

func pathScenarios() map[string]fixture {
	none := errclass.None
	vpce := []string{"10.0.1.X"}
	pub := []string{"52.119.0.X"}
	corp := []string{"10.0.9.9"}
	return map[string]fixture{
		"resolver-servfail-forwarding": fx("The corporate resolver answers SERVFAIL for every endpoint name; AmazonProvidedDNS answers them: its forwarding is at fault.",
			probetest.NewScen(corp, "10.0.0.0/16").Rcode("10.0.9.9", errclass.ServFail, "SERVFAIL").
				Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				AgentFail("10.0.9.9", errclass.ServFail, "SERVFAIL").Net("10.0.1.X", "ok"),
			w(DNSResolverError, finding.SevFail)),
		"resolver-refused-in-vpc": fx("The VPC resolver itself answers REFUSED (a DNS Firewall rule, say): the cause is inside the VPC.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Rcode("10.0.0.2", errclass.DNSRefused, "REFUSED").
				Rcode("169.254.169.253", errclass.DNSRefused, "REFUSED").
				AgentFail("10.0.0.2", errclass.DNSRefused, "REFUSED"),
			w(DNSResolverError, finding.SevFail)),
		"resolver-notimp": fx("The corporate resolver answers NOTIMP: an rcode the agent cannot use, while AmazonProvidedDNS answers.",
			probetest.NewScen(corp, "10.0.0.0/16").Rcode("10.0.9.9", errclass.DNSError, "NOTIMP").
				Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				AgentFail("10.0.9.9", errclass.DNSError, "NOTIMP"),
			w(DNSResolverError, finding.SevFail)),
		"search-list-hijack": fx("ndots:5 and a search domain with a wildcard record: the agent asks ssm.REGION.amazonaws.com.corp.example. first and dials the wildcard's address, where TLS fails.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Expanded("10.0.0.2", "corp.example", 5, []string{"10.0.50.7"}).Net("10.0.50.7", "untrusted").Net("10.0.1.X", "ok"),
			w(DNSSearchListHijack, finding.SevFail)),
		"search-list-hijack-public": fx("ndots:4 with a search domain whose wildcard points outside the VPC: TCP times out. The true cause is the search list, not private DNS.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Expanded("10.0.0.2", "corp.example", 4, []string{"198.51.100.7"}).Net("198.51.100.7", "timeout").Net("10.0.1.X", "ok"),
			w(DNSSearchListHijack, finding.SevFail)),
		"search-list-hijack-works": fx("The search domain answers, but with the endpoint's own address: sessions work by accident; warn.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Expanded("10.0.0.2", "corp.example", 5, vpce).Net("10.0.1.X", "ok"),
			w(DNSSearchListHijack, finding.SevWarn)),
		"resolv-conf-empty": fx("An empty /etc/resolv.conf: the agent asks 127.0.0.1:53, which refuses. The root cause is the file, not the VPC's DNS.",
			probetest.NewScen(nil, "10.0.0.0/16").NoNameservers(false).Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				AgentFail("127.0.0.1", errclass.Refused, ""),
			w(HostResolvConf, finding.SevFail)),
		"resolv-conf-missing": fx("No /etc/resolv.conf at all: the same as an empty one.",
			probetest.NewScen(nil, "10.0.0.0/16").NoNameservers(true).Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				AgentFail("127.0.0.1", errclass.Refused, ""),
			w(HostResolvConf, finding.SevFail)),
		"resolv-conf-empty-local-dns": fx("An empty resolv.conf, but a DNS server on 127.0.0.1 answers: the agent's lookups work; only a warn.",
			probetest.NewScen(nil, "10.0.0.0/16").NoNameservers(false).Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("127.0.0.1", none, vpce).Net("10.0.1.X", "ok"),
			w(HostResolvConf, finding.SevWarn)),
		"unexplained-tcp": fx("TCP fails with a class no rule knows: the path is broken, so the safety net names it.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("10.0.0.2", none, vpce).TCPOther("10.0.1.X"),
			w(ProbeUnexplained, finding.SevFail)),
		"vpc-silent-path-works": fx("AmazonProvidedDNS is silent, but the host asks a corporate resolver that answers public addresses, reachable through NAT: the agent's path works, so the silent VPC resolver is a warn.",
			probetest.NewScen(corp, "10.0.0.0/16").Answer("10.0.9.9", none, pub).Answer("10.0.0.2", errclass.Timeout, nil).
				Answer("169.254.169.253", errclass.Timeout, nil).Agent("10.0.9.9", none, pub).Net("52.119.0.X", "ok"),
			w(DNSVPCResolverSilent, finding.SevWarn)),
		"resolver-refused-falls-through": fx("The first nameserver answers REFUSED, the second (the VPC resolver) answers: the agent's lookups work, but only by falling through; a warn.",
			probetest.NewScen([]string{"10.0.9.9", "10.0.0.2"}, "10.0.0.0/16").Rcode("10.0.9.9", errclass.DNSRefused, "REFUSED").
				Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("10.0.0.2", none, vpce).Net("10.0.1.X", "ok"),
			w(DNSResolverError, finding.SevWarn)),
		"stub-not-running": fx("resolv.conf names the systemd-resolved stub, no upstream file, and nothing answers on 127.0.0.53: the stub is down; not a forwarding problem.",
			probetest.Stubbed(probetest.NewScen([]string{"127.0.0.53"}, "10.0.0.0/16").Answer("127.0.0.53", errclass.Refused, nil).
				Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce)).AgentFail("127.0.0.53", errclass.Refused, ""),
			w(DNSNameserverUnresponsive, finding.SevFail), w(DNSStubResolver, finding.SevInfo)),
		"agent-path-unknown": fx("No agent-view lookup finished and no resolver answered: the path is unknown, never ok.",
			probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16"),
			w(ProbeIncomplete, finding.SevInfo)),
	}
}
