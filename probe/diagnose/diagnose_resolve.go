package diagnose

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The findings of the agent's own resolver path.
const (
	DNSResolverError    finding.ID = "dns.resolver-error"
	DNSSearchListHijack finding.ID = "dns.search-list-hijack"
)

// resolveFamily pairs the findings about the agent's resolver: error replies and search-list expansion with the rules that raise them.
func resolveFamily() family {
	return family{rules: []rule{diagnoseResolverError, diagnoseSearchListHijack}, entries: []finding.Entry{
		{ID: DNSResolverError, Severity: finding.SevFail,
			Title: "The resolver the agent uses answers endpoint names with an error",
			// Both halves apply unless the rule saw only one kind of answer.
			Fix: finding.FixLines(
				"{{if not .vpcOnly}}On the DNS server(s) {{.DNS_SERVERS}}: fix the forwarding of {{.REGION}}.{{or .domain \"amazonaws.com\"}} (a conditional forwarder to a Route 53 Resolver inbound endpoint in {{.VPC}}, or to the VPC resolver when the server runs inside the VPC); check its logs for the failing upstream.",
				"Or point the host at AmazonProvidedDNS: set the VPC's DHCP options set to domain-name-servers=AmazonProvidedDNS (VPC console > DHCP option sets), then renew the lease or reboot.{{end}}",
				"{{if not .forwardOnly}}List the Resolver rules associated with the VPC and look for one covering {{.REGION}}.{{or .domain \"amazonaws.com\"}} or amazonaws.com: aws route53resolver list-resolver-rule-associations --filters Name=VPCId,Values={{.VPC_ID}}; then aws route53resolver get-resolver-rule --resolver-rule-id RULE_ID; disassociate a rule whose targets do not answer (aws route53resolver disassociate-resolver-rule --vpc-id {{.VPC_ID}} --resolver-rule-id RULE_ID) or fix its targets.",
				"Check DNS Firewall: aws route53resolver list-firewall-rule-group-associations --vpc-id {{.VPC_ID}}; a rule group that blocks or fails the zone answers like this.",
				"Check DNSSEC validation: aws route53resolver get-resolver-dnssec-config --resource-id {{.VPC_ID}}; if validation is on and a private zone breaks the chain, turn it off for the VPC while you fix the zone.{{end}}"),
			Docs:      []string{finding.DocVPCDNS, finding.DocResolverIn, finding.DocResolverRules, finding.DocDNSFirewall},
			DependsOn: []finding.ID{HostResolvConf}},
		{ID: DNSSearchListHijack, Severity: finding.SevFail,
			Title: "A search domain answers the endpoint names before the real names are asked",
			Fix: finding.FixLines(
				"In {{.RESOLV_CONF}} (or what writes it: the DHCP options set, NetworkManager, systemd-resolved, cloud-init), set options ndots:1, or any ndots of at most {{.DOTS}}, so that the endpoint names are asked as they are first; then restart the agent: sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}",
				"Or remove the search domain {{.SEARCH_DOMAINS}} from {{.RESOLV_CONF}}, or its wildcard record (*.{{.SEARCH_DOMAIN}}) from its DNS zone.",
				"Or give the agent fully qualified endpoint names in /etc/amazon/ssm/amazon-ssm-agent.json, with a trailing dot (e.g. \"Ssm\": {\"Endpoint\": \"{{.ENDPOINT}}.\"}), which the resolver never expands."),
			Docs: []string{finding.DocDHCPOptions, finding.DocAgentConfig}},
	}}
}

// diagnoseResolverError is dns.resolver-error: the resolver the agent asks
// answers endpoint names with SERVFAIL, REFUSED, NOTIMP or FORMERR. Whether
// AmazonProvidedDNS answers the same names tells where the fault lies: if it
// does, the configured resolver's forwarding; if it does not, or the
// configured resolver is AmazonProvidedDNS, something inside the VPC (a
// Route 53 Resolver rule forwarding to an unreachable target, DNS Firewall,
// or a DNSSEC validation failure).
func diagnoseResolverError(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	p := o.Plan
	if p == nil {
		return nil
	}
	var forwardEv, vpcEv, hosts, servers, rcodes []string
	required := false
	for i := range in.views {
		v := &in.views[i]
		ap := in.byHost[v.Endpoint.Host]
		if ap == nil || !ap.RcodeFailed() {
			continue
		}
		server := ap.Nameserver()
		rcode := ap.Rcode
		if rcode == "" {
			rcode = strings.ToUpper(string(ap.Class))
		}
		line := fmt.Sprintf("%s answered %s for %s", orPlaceholder(server, "the resolver"), rcode, orPlaceholder(ap.FQDN, v.Endpoint.Host))
		vpcAddrs, vpcBy := v.VPCAnswer()
		askedIsVPC := false
		if a, err := netip.ParseAddr(server); err == nil {
			for _, x := range p.VPC {
				askedIsVPC = askedIsVPC || x == a
			}
		}
		if vpcBy != nil && !askedIsVPC {
			forwardEv = append(forwardEv, line+fmt.Sprintf("; AmazonProvidedDNS %s answers it with %s (%s)", vpcBy.Resolver, obs.JoinAddrs(vpcAddrs), placeAddrs(p, vpcAddrs)))
		} else {
			why := "AmazonProvidedDNS gives no address for it either"
			if askedIsVPC {
				why = "that resolver is AmazonProvidedDNS itself"
			}
			vpcEv = append(vpcEv, line+"; "+why)
		}
		hosts = append(hosts, v.Endpoint.Host)
		servers = appendUnique(servers, orPlaceholder(server, "the resolver"))
		rcodes = appendUnique(rcodes, rcode)
		required = required || v.Endpoint.Required
	}
	if len(hosts) == 0 {
		return fallThrough(in)
	}
	summary := fmt.Sprintf("The resolver the agent asks (%s) answers %s for the endpoint names, so the agent cannot resolve them.",
		strings.Join(servers, ", "), strings.Join(rcodes, "/"))
	if len(forwardEv) > 0 {
		summary += " AmazonProvidedDNS answers the same names, so the configured resolver's forwarding is at fault."
	}
	if len(vpcEv) > 0 {
		summary += " AmazonProvidedDNS does not answer them either, so the cause is inside the VPC: a Route 53 Resolver rule that forwards the zone to an unreachable target, a DNS Firewall rule, or a DNSSEC validation failure."
	}
	sev := finding.SevFail
	if !required {
		sev = finding.SevWarn
		summary += " Only optional endpoints are affected."
	}
	ev := append(forwardEv, vpcEv...)
	f := cat.NewAt(DNSResolverError, sev, summary, ev, finding.Fill{
		"vpcOnly": len(forwardEv) == 0, "forwardOnly": len(vpcEv) == 0,
		"DNS_SERVERS": strings.Join(servers, ", "), "REGION": p.Region, "domain": p.Domain,
		"VPC": vpcName(o), "VPC_ID": vpcID(o)})
	f.About(hosts...)
	return []finding.Finding{f}
}

// fallThrough is dns.resolver-error as a warn: a nameserver the host
// lists answers the required endpoint names with an error rcode, and the
// agent's lookups still work because Go's resolver moves on to the next
// nameserver. Every lookup then asks the failing server first, and the
// names break as soon as the working one goes.
func fallThrough(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	var ev, servers, rcodes []string
	for i := range o.DNS {
		d := &o.DNS[i]
		ap := in.byHost[d.Host]
		if !d.Has(obs.RoleSystem) || ap == nil || !ap.Required || !ap.OK() || ap.Source != "dns" || !agentpath.RcodeError(d.A.Class, d.A.Rcode) {
			continue
		}
		ev = append(ev, fmt.Sprintf("%s answered %s for %s; the agent's lookup went on to %s", d.Resolver, d.A.Rcode, d.Host,
			orPlaceholder(ap.Nameserver(), "the next nameserver")))
		servers = appendUnique(servers, d.Resolver.String())
		rcodes = appendUnique(rcodes, d.A.Rcode)
	}
	if len(ev) == 0 {
		return nil
	}
	f := cat.NewAt(DNSResolverError, finding.SevWarn,
		fmt.Sprintf("The nameserver(s) %s in %s answer %s for the endpoint names. The agent's lookups work only because its resolver moves on to the next nameserver; they break as soon as that one goes.",
			strings.Join(servers, ", "), resolvPath(o), strings.Join(rcodes, "/")), ev,
		finding.Fill{"forwardOnly": true, "DNS_SERVERS": strings.Join(servers, ", "), "REGION": o.Plan.Region, "domain": o.Plan.Domain,
			"VPC": vpcName(o), "VPC_ID": vpcID(o)})
	return []finding.Finding{f}
}

// diagnoseSearchListHijack is dns.search-list-hijack: the agent's resolver
// expanded an endpoint name through the search list before it asked the
// name itself, and a search domain answered. Go's resolver (the agent is a
// Go program) tries the name as given first only when it has at least
// ndots dots; otherwise each search domain comes first (Go's
// net/dnsconfig_unix.go, nameList; resolv.NameList follows it). RES_OPTIONS
// and LOCALDOMAIN in the agent's environment do not change this: Go's
// net/conf.go only lets them switch a cgo-enabled binary to libc, and the
// agent's Linux release binaries are built without cgo.
func diagnoseSearchListHijack(in *input) []finding.Finding {
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
	cat, o := in.cat, in.o
	p := o.Plan
	if p == nil {
		return nil
	}
	ndots := 1
	conf := "/etc/resolv.conf"
	if o.Resolv != nil && o.Resolv.Conf != nil {
		ndots, conf = o.Resolv.Conf.Options.Ndots, o.Resolv.Conf.Path
	}
	var ev, hosts, domains []string
	broken := false
	example := ""
	for _, ap := range in.paths {
		h := ap.Host
		if !ap.SearchExpanded() {
			continue
		}
		domain := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(ap.FQDN), strings.ToLower(h)+"."), ".")
		var addrs []string
		for _, a := range ap.Addrs {
			addrs = append(addrs, a.Addr.String())
		}
		line := fmt.Sprintf("%s: asked first as %s, which %s answered with %s", h, ap.FQDN,
			orPlaceholder(ap.Nameserver(), "the resolver"), strings.Join(addrs, ", "))
		if ap.State == agentpath.PathOK {
			line += "; HTTPS on it answers"
		} else {
			line += fmt.Sprintf("; the agent's path stops there: %s %s", ap.Failed, ap.Class)
			broken = broken || ap.Required
		}
		ev = append(ev, line)
		hosts = append(hosts, h)
		domains = appendUnique(domains, orPlaceholder(domain, "a search domain"))
		if example == "" || ap.Service == obs.ServiceSSM {
			example = h
		}
	}
	if len(hosts) == 0 {
		return nil
	}
	dots := strings.Count(hosts[0], ".")
	summary := fmt.Sprintf("%s sets ndots:%d, more than the %d dots in the endpoint names, so the agent's resolver asks each name with the search domain %s appended first; that domain's DNS answers (a wildcard record), and the agent connects to the wrong address.",
		conf, ndots, dots, strings.Join(domains, ", "))
	sev := finding.SevFail
	if !broken {
		sev = finding.SevWarn
		summary += " Today that address still answers HTTPS, so sessions work, but only by accident of the search domain's records."
	}
	f := cat.NewAt(DNSSearchListHijack, sev, summary, ev, finding.Fill{
		"RESOLV_CONF": conf, "DOTS": fmt.Sprint(dots), "SEARCH_DOMAINS": strings.Join(domains, ", "),
		"SEARCH_DOMAIN": domains[0], "ENDPOINT": example})
	f.About(hosts...)
	return []finding.Finding{f}
}
