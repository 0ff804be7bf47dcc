package probe

import (
	"net/netip"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/internal/golden"
	"github.com/ssm-probe/ssm-probe/resolv"
)

const pathFixtures = "testdata/obs/path"

// TestDiagnosePaths table-tests the rules that explain a broken agent path
// (dns.resolver-error, dns.search-list-hijack, host.resolv-conf-problem as
// a fail, probe.unexplained) and the verdict rules that hold the findings
// to the paths, from the fixtures in testdata/obs/path (regenerate: go test
// -run TestDiagnosePaths ./probe -update).
func TestDiagnosePaths(t *testing.T) {
	if golden.Update() {
		for name, f := range pathScenarios() {
			writeFixture(t, pathFixtures, name, f)
		}
	}
	runFixtures(t, pathFixtures)
}

// agentFail records a failed agent-view lookup for every endpoint (or only
// those in only): resolver r answered class with rcode.
func (s *scen) agentFail(r string, class errclass.Class, rcode string, only ...string) *scen {
	for _, e := range s.o.Plan.Endpoints {
		if len(only) > 0 && !contains(only, e.Service) {
			continue
		}
		q := resolv.Answer{Server: r + ":53", Name: e.Host + ".", Type: "A", Rcode: rcode, Class: class, Attempts: 1,
			Detail: "the server answered " + rcode}
		if rcode == "" {
			q.Detail = "read udp: " + string(class)
		}
		a := resolv.AgentAnswer{Name: e.Host, Order: resolv.OrderFilesDNS, Class: class, Detail: q.Detail, Queries: []resolv.Answer{q}}
		s.o.AgentDNS = append(s.o.AgentDNS, AgentDNSObs{Service: e.Service, Host: e.Host, Answer: a})
	}
	return s
}

// rcode records resolver r answering every endpoint with an error rcode.
func (s *scen) rcode(r string, class errclass.Class, rcode string) *scen {
	s.answer(r, class, nil)
	for i := range s.o.DNS {
		d := &s.o.DNS[i]
		if d.Resolver == netip.MustParseAddr(r) {
			d.A.Rcode, d.AAAA.Rcode = rcode, rcode
		}
	}
	return s
}

// expanded records agent-view answers that came from the search domain
// domain: the agent asked HOST.domain. first and r answered addrs.
func (s *scen) expanded(r, domain string, ndots int, addrs []string) *scen {
	s.o.Resolv.Conf.Search = []string{domain}
	s.o.Resolv.Conf.Options.Ndots = ndots
	s.agent(r, errclass.None, addrs)
	for i := range s.o.AgentDNS {
		s.o.AgentDNS[i].Answer.FQDN = s.o.AgentDNS[i].Host + "." + domain + "."
	}
	return s
}

// noNameservers empties resolv.conf (or removes it when missing).
func (s *scen) noNameservers(missing bool) *scen {
	s.o.Resolv.Conf = &resolv.Conf{Path: "/etc/resolv.conf", Missing: missing,
		Options: resolv.Options{Ndots: 1, Timeout: 5, Attempts: 2}}
	s.o.Plan.System = nil
	return s
}

// tcpOther records a TCP failure of a class no rule knows.
func (s *scen) tcpOther(addr string) *scen {
	s.net(addr, "refused")
	for i := range s.o.Net {
		s.o.Net[i].TCP = Stage{Class: errclass.Other, Detail: "connect: protocol not available", DurationMS: 1}
	}
	return s
}

func pathScenarios() map[string]fixture {
	none := errclass.None
	vpce := []string{"10.0.1.X"}
	pub := []string{"52.119.0.X"}
	corp := []string{"10.0.9.9"}
	return map[string]fixture{
		"resolver-servfail-forwarding": fx("The corporate resolver answers SERVFAIL for every endpoint name; AmazonProvidedDNS answers them: its forwarding is at fault.",
			newScen(corp, "10.0.0.0/16").rcode("10.0.9.9", errclass.ServFail, "SERVFAIL").
				answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agentFail("10.0.9.9", errclass.ServFail, "SERVFAIL").net("10.0.1.X", "ok"),
			w(DNSResolverError, SevFail)),
		"resolver-refused-in-vpc": fx("The VPC resolver itself answers REFUSED (a DNS Firewall rule, say): the cause is inside the VPC.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").rcode("10.0.0.2", errclass.DNSRefused, "REFUSED").
				rcode("169.254.169.253", errclass.DNSRefused, "REFUSED").
				agentFail("10.0.0.2", errclass.DNSRefused, "REFUSED"),
			w(DNSResolverError, SevFail)),
		"resolver-notimp": fx("The corporate resolver answers NOTIMP: an rcode the agent cannot use, while AmazonProvidedDNS answers.",
			newScen(corp, "10.0.0.0/16").rcode("10.0.9.9", errclass.DNSError, "NOTIMP").
				answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agentFail("10.0.9.9", errclass.DNSError, "NOTIMP"),
			w(DNSResolverError, SevFail)),
		"search-list-hijack": fx("ndots:5 and a search domain with a wildcard record: the agent asks ssm.REGION.amazonaws.com.corp.example. first and dials the wildcard's address, where TLS fails.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				expanded("10.0.0.2", "corp.example", 5, []string{"10.0.50.7"}).net("10.0.50.7", "untrusted").net("10.0.1.X", "ok"),
			w(DNSSearchListHijack, SevFail)),
		"search-list-hijack-public": fx("ndots:4 with a search domain whose wildcard points outside the VPC: TCP times out. The true cause is the search list, not private DNS.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				expanded("10.0.0.2", "corp.example", 4, []string{"198.51.100.7"}).net("198.51.100.7", "timeout").net("10.0.1.X", "ok"),
			w(DNSSearchListHijack, SevFail)),
		"search-list-hijack-works": fx("The search domain answers, but with the endpoint's own address: sessions work by accident; warn.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				expanded("10.0.0.2", "corp.example", 5, vpce).net("10.0.1.X", "ok"),
			w(DNSSearchListHijack, SevWarn)),
		"resolv-conf-empty": fx("An empty /etc/resolv.conf: the agent asks 127.0.0.1:53, which refuses. The root cause is the file, not the VPC's DNS.",
			newScen(nil, "10.0.0.0/16").noNameservers(false).answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agentFail("127.0.0.1", errclass.Refused, ""),
			w(HostResolvConf, SevFail)),
		"resolv-conf-missing": fx("No /etc/resolv.conf at all: the same as an empty one.",
			newScen(nil, "10.0.0.0/16").noNameservers(true).answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agentFail("127.0.0.1", errclass.Refused, ""),
			w(HostResolvConf, SevFail)),
		"resolv-conf-empty-local-dns": fx("An empty resolv.conf, but a DNS server on 127.0.0.1 answers: the agent's lookups work; only a warn.",
			newScen(nil, "10.0.0.0/16").noNameservers(false).answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("127.0.0.1", none, vpce).net("10.0.1.X", "ok"),
			w(HostResolvConf, SevWarn)),
		"unexplained-tcp": fx("TCP fails with a class no rule knows: the path is broken, so the safety net names it.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16").answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("10.0.0.2", none, vpce).tcpOther("10.0.1.X"),
			w(ProbeUnexplained, SevFail)),
		"vpc-silent-path-works": fx("AmazonProvidedDNS is silent, but the host asks a corporate resolver that answers public addresses, reachable through NAT: the agent's path works, so the silent VPC resolver is a warn.",
			newScen(corp, "10.0.0.0/16").answer("10.0.9.9", none, pub).answer("10.0.0.2", errclass.Timeout, nil).
				answer("169.254.169.253", errclass.Timeout, nil).agent("10.0.9.9", none, pub).net("52.119.0.X", "ok"),
			w(DNSVPCResolverSilent, SevWarn)),
		"resolver-refused-falls-through": fx("The first nameserver answers REFUSED, the second (the VPC resolver) answers: the agent's lookups work, but only by falling through; a warn.",
			newScen([]string{"10.0.9.9", "10.0.0.2"}, "10.0.0.0/16").rcode("10.0.9.9", errclass.DNSRefused, "REFUSED").
				answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce).
				agent("10.0.0.2", none, vpce).net("10.0.1.X", "ok"),
			w(DNSResolverError, SevWarn)),
		"stub-not-running": fx("resolv.conf names the systemd-resolved stub, no upstream file, and nothing answers on 127.0.0.53: the stub is down; not a forwarding problem.",
			stubbed(newScen([]string{"127.0.0.53"}, "10.0.0.0/16").answer("127.0.0.53", errclass.Refused, nil).
				answer("10.0.0.2", none, vpce).answer("169.254.169.253", none, vpce)).agentFail("127.0.0.53", errclass.Refused, ""),
			w(DNSNameserverUnresponsive, SevFail), w(DNSStubResolver, SevInfo)),
		"agent-path-unknown": fx("No agent-view lookup finished and no resolver answered: the path is unknown, never ok.",
			newScen([]string{"10.0.0.2"}, "10.0.0.0/16"),
			w(ProbeIncomplete, SevInfo)),
	}
}
