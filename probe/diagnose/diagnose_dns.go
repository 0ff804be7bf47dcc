package diagnose

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The DNS findings that compare the host's resolvers, AmazonProvidedDNS and
// the hosts file.
const (
	DNSVPCResolverSilent      finding.ID = "dns.vpc-resolver-silent"
	DNSResolverBypassesVPC    finding.ID = "dns.resolver-bypasses-vpc"
	DNSEndpointNoAddress      finding.ID = "dns.endpoint-no-address"
	DNSHostsOverride          finding.ID = "dns.hosts-override"
	DNSHostsStale             finding.ID = "dns.hosts-stale"
	DNSNameserverUnresponsive finding.ID = "dns.nameserver-unresponsive"
)

// dnsFamily pairs the findings about the answers to the endpoint names with the rules that raise them.
func dnsFamily() family {
	return family{rules: []rule{diagnoseDNS}, entries: []finding.Entry{
		{ID: DNSVPCResolverSilent, Severity: finding.SevFail,
			Title: "AmazonProvidedDNS does not answer",
			Fix: finding.FixLines(
				"Turn on the VPC attribute \"DNS resolution\": VPC console > Your VPCs > {{.VPC_ID}} > Actions > Edit VPC settings, or: aws ec2 modify-vpc-attribute --vpc-id {{.VPC_ID}} --enable-dns-support \"{\\\"Value\\\":true}\"",
				"Check that no host firewall rule "+winOr("(Get-NetFirewallRule -Direction Outbound -Action Block -Enabled True)", "(iptables/nftables)")+" drops UDP and TCP port 53 to the VPC resolver."),
			Docs:      []string{finding.DocVPCDNS},
			DependsOn: []finding.ID{NetIPv6OnlyEndpoints, NetLocalRoute}},
		{ID: DNSResolverBypassesVPC, Severity: finding.SevFail,
			Title: "The host's DNS servers do not see the VPC's endpoint zone",
			Fix: winOr(finding.FixLines(
				"On the domain controllers (DNS servers {{.DNS_SERVERS}}{{.via}}), forward the region's zone to a Route 53 Resolver inbound endpoint in {{.VPC}} (create one first, and allow UDP and TCP 53 from the domain controllers on its security group): Add-DnsServerConditionalForwarderZone -Name \"{{.REGION}}.{{or .domain \"amazonaws.com\"}}\" -MasterServers INBOUND_ENDPOINT_IP_1,INBOUND_ENDPOINT_IP_2 -ReplicationScope Forest (AWS: "+DocADResolver+")",
				"Where the domain controllers are EC2 instances in this VPC, -MasterServers {{.VPC_RESOLVER}} (AmazonProvidedDNS) also works; it answers no query from outside the VPC.",
				"On AWS Managed Microsoft AD, whose DNS does not know the VPC's private names and whose servers you do not administer, set the directory's conditional forwarder instead: aws ds create-conditional-forwarder --directory-id DIRECTORY_ID --remote-domain-name {{.REGION}}.{{or .domain \"amazonaws.com\"}} --dns-ip-addrs INBOUND_ENDPOINT_IP_1 INBOUND_ENDPOINT_IP_2",
				"For this host alone, an NRPT rule sends the endpoint names to the VPC resolver: Add-DnsClientNrptRule -Namespace \".{{.REGION}}.{{or .domain \"amazonaws.com\"}}\" -NameServers {{.VPC_RESOLVER}}; Clear-DnsClientCache; "+winRestart,
				"Or give the subnet a NAT path so that the public addresses work."), finding.FixLines(
				"On the DNS servers {{.DNS_SERVERS}}: add a conditional forwarder for {{.REGION}}.{{or .domain \"amazonaws.com\"}} to the IP addresses of a Route 53 Resolver inbound endpoint in {{.VPC}}.",
				"Recommended: create a Route 53 Resolver inbound endpoint in the VPC and add a conditional forwarder for the region's amazonaws.com zone (e.g. REGION.amazonaws.com) on the host's DNS servers, pointing at the inbound endpoint's addresses. AmazonProvidedDNS itself does not answer queries from outside the VPC.",
				"Or give the subnet a NAT path so that the public addresses work.",
				"Stop-gap only: pin the endpoint names in /etc/hosts to the endpoint's private addresses (they break when the endpoint is recreated).")),
			Docs:      []string{finding.DocResolverIn, finding.DocVPCEndpoints, DocADForwarders},
			DependsOn: []finding.ID{HostResolvConf}},
		{ID: DNSEndpointNoAddress, Severity: finding.SevFail,
			Title: "An endpoint name has no address",
			Fix: finding.FixLines(
				"{{if .nxdomain}}"+resolverRulesFix+"{{end}}",
				"Find the endpoints: aws ec2 describe-vpc-endpoints --filters Name=vpc-id,Values={{.VPC_ID}} --query 'VpcEndpoints[].[VpcEndpointId,ServiceName,SubnetIds]'; for one with no subnet (VPC console > Endpoints > the endpoint > Actions > Manage subnets): aws ec2 modify-vpc-endpoint --vpc-endpoint-id VPCE_ID --add-subnet-ids {{.SUBNET_ID}}",
				"{{if and .vpcNoData (not .nxdomain)}}"+resolverRulesFix+"{{end}}",
				"Check the region and domain in the "+winOr(winConfig, "/etc/amazon/ssm/amazon-ssm-agent.json")+" overrides."),
			Docs:      []string{finding.DocVPCEndpoints, finding.DocPrivateDNS, finding.DocDNSFirewall, finding.DocResolverRules},
			DependsOn: []finding.ID{HostResolvConf}},
		{ID: DNSHostsOverride, Severity: finding.SevWarn,
			Title: "/etc/hosts pins an endpoint name",
			Fix:   "Remove the pin from " + winOr(winHosts, "/etc/hosts") + " and let DNS answer; the pin breaks silently when the endpoint is recreated.",
			Docs:  []string{finding.DocPrivateDNS}},
		{ID: DNSHostsStale, Severity: finding.SevFail,
			Title: "/etc/hosts pins an endpoint name to a wrong address",
			Fix:   "Remove the stale line from " + winOr(winHosts, "/etc/hosts") + " (or correct it to what AmazonProvidedDNS answers), then restart the agent: " + winOr("Clear-DnsClientCache; "+winRestart, "sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}"),
			Docs:  []string{finding.DocPrivateDNS}},
		{ID: DNSNameserverUnresponsive, Severity: finding.SevWarn,
			Title: "A configured nameserver does not answer",
			Fix: winOr("Remove or fix the silent DNS server of the adapter (Set-DnsClientServerAddress -InterfaceAlias \"{{.ADAPTER}}\" -ServerAddresses ..., or -ResetServerAddresses to take the DHCP options set's), or the Group Policy that sets it.", "Remove or fix the silent nameserver in /etc/resolv.conf (or the DHCP options set / systemd-resolved configuration that writes it).") +
				"{{if and .stub (not .windows)}}\n127.0.0.53 is the systemd-resolved stub, and nothing answers there: sudo systemctl status systemd-resolved; start it (sudo systemctl enable --now systemd-resolved), or point /etc/resolv.conf at the upstream file: sudo ln -sf /run/systemd/resolve/resolv.conf /etc/resolv.conf{{end}}",
			Docs:      []string{finding.DocVPCDNS},
			DependsOn: []finding.ID{DNSVPCResolverSilent, HostResolvConf, NetIPv6OnlyEndpoints, NetLocalRoute}},
	}}
}

// diagnoseDNS implements the dns.* findings of docs/FINDINGS.md: it compares what
// the host's resolvers, AmazonProvidedDNS and the hosts file say about each
// endpoint name, and combines that with what port 443 did.
func diagnoseDNS(in *input) []finding.Finding {
	if in.o.Plan == nil || len(in.o.DNS)+len(in.o.AgentDNS) == 0 {
		return nil
	}
	var out []finding.Finding
	for _, r := range []rule{vpcSilent, unresponsive, resolverBypassesVPC, endpointNoAddress, hostsStale, hostsOverride} {
		out = append(out, r(in)...)
	}
	return out
}

// lookupCase is what a required endpoint's lookup shows, in the DNS rule's
// order: a hosts-file pin first (stale, or an override that works), then
// resolvers that bypass the VPC's, then no address at all.
type lookupCase int

const (
	lookupFine lookupCase = iota
	lookupHostsStale
	lookupHostsOverride
	lookupBypass
	lookupNoAddress
)

// lookupOf classifies v's lookup and gives the evidence lines of its case.
// A name the agent reaches through its proxy is the proxy's to resolve; a
// search-list hijack and an error rcode have their own rules.
func (in *input) lookupOf(v *agentpath.View) (lookupCase, []string) {
	host := v.Endpoint.Host
	ap := in.byHost[host]
	if !v.Endpoint.Required || v.Proxy != nil || ap != nil && (ap.SearchExpanded() || ap.RcodeFailed() || ap.SilentFailed()) {
		return lookupFine, nil
	}
	p := in.o.Plan
	vpcAddrs, vpcBy := v.VPCAnswer()
	switch {
	case v.FromHosts():
		pins := v.Agent.Answer.Addrs
		where := v.Agent.Answer.Detail // "/etc/hosts line N"
		if where == "" {
			where = hostsPath(in.o)
		}
		ev := fmt.Sprintf("%s pins %s to %s", where, host, obs.JoinAddrs(pins))
		switch {
		case vpcBy != nil && !overlap(pins, vpcAddrs):
			return lookupHostsStale, []string{ev + fmt.Sprintf("; AmazonProvidedDNS %s answers %s", vpcBy.Resolver, obs.JoinAddrs(vpcAddrs))}
		case in.brokenAt(host, agentpath.StageTCP):
			return lookupHostsStale, []string{ev + "; port 443 on it does not answer: " + netSummary(v, pins)}
		case in.hostOK(host):
			return lookupHostsOverride, []string{ev + "; it still matches AmazonProvidedDNS and port 443 answers"}
		}
	case in.bypassed(v):
		ev := bypassEvidence(p, v, vpcAddrs, vpcBy)
		if r, ok := in.nrptBypass(v); ok {
			ev = nrptBypassEvidence(p, v, r, vpcAddrs, vpcBy) // diagnose_winhost.go
		}
		if in.hostOK(host) {
			addrs, _ := v.AgentAddrs()
			ev = append(ev, fmt.Sprintf("%s still answers on %s through another path (NAT or internet)", host, obs.JoinAddrs(addrs)))
		}
		return lookupBypass, ev
	case noAddress(v):
		return lookupNoAddress, []string{noAddressEvidence(v, vpcAddrs, vpcBy)}
	}
	return lookupFine, nil
}

// lookups gathers the evidence of every endpoint whose lookup is of case c.
func (in *input) lookups(c lookupCase) evidence {
	var e evidence
	for i := range in.views {
		if got, lines := in.lookupOf(&in.views[i]); got == c {
			e.add(in.views[i].Endpoint.Host, lines...)
		}
	}
	return e
}

// resolverBypassesVPC is dns.resolver-bypasses-vpc: the host's resolvers
// answer outside the VPC where AmazonProvidedDNS answers inside it; a warn
// while every bypassed name still answers on its public address.
func resolverBypassesVPC(in *input) []finding.Finding {
	e := in.lookups(lookupBypass)
	works := true
	for _, h := range e.hosts {
		works = works && in.hostOK(h)
	}
	p := in.o.Plan
	summary := fmt.Sprintf("The DNS servers this host uses (%s) do not forward to the VPC resolver, so they never see the private DNS of the VPC's interface endpoints; AmazonProvidedDNS, which does, answers with addresses inside the VPC. AmazonProvidedDNS does not answer queries from outside the VPC, so the fix is a Route 53 Resolver inbound endpoint with a conditional forwarder, or a NAT path.",
		obs.JoinAddrs(p.System))
	sev := finding.SevFail
	if works {
		sev = finding.SevWarn
		summary += " Today the public addresses still answer, so sessions work, but they bypass the VPC endpoints and break as soon as the NAT or internet path goes."
	}
	fill := finding.Fill{"DNS_SERVERS": obs.JoinAddrs(p.System), "REGION": p.Region, "domain": p.Domain, "VPC": vpcName(in.o)}
	if in.o.IsWindows() && len(e.lines) > 0 {
		// The Windows DNS client's adapters, and the fix in PowerShell (diagnose_winhost.go).
		wsum, wev, wfill := winBypass(in, e.hosts)
		summary = wsum
		if works {
			summary += " Today the public addresses still answer, so sessions work, but they bypass the VPC endpoints and break as soon as the NAT or internet path goes."
		}
		e.lines = append(wev, e.lines...)
		maps.Copy(fill, wfill)
	}
	if len(p.VPC) > 0 {
		fill["VPC_RESOLVER"] = p.VPC[0].String()
	}
	return in.foundAt(DNSResolverBypassesVPC, sev, summary, e, fill)
}

// resolverRulesFix shows the Route 53 Resolver rules that act on the
// VPC's queries: DNS Firewall rule groups and forwarding rules.
const resolverRulesFix = "Look for a Route 53 Resolver rule that answers for the endpoint names in this VPC: DNS Firewall rule groups (aws route53resolver list-firewall-rule-group-associations --vpc-id {{.VPC_ID}} --region {{.REGION}}; then aws route53resolver list-firewall-rules --firewall-rule-group-id RULE_GROUP_ID for a BLOCK rule whose domain list holds amazonaws.com names) and forwarding rules (aws route53resolver list-resolver-rule-associations --filters Name=VPCId,Values={{.VPC_ID}} --region {{.REGION}}; then aws route53resolver get-resolver-rule --resolver-rule-id RULE_ID for a FORWARD rule on {{.REGION}}.amazonaws.com or amazonaws.com). Exempt the Systems Manager names from the block, or drop the forwarding rule."

// endpointNoAddress is dns.endpoint-no-address: the agent's resolver
// answers NODATA or NXDOMAIN. When AmazonProvidedDNS itself answers
// NXDOMAIN for a regional endpoint name, which exists in public DNS
// whatever the VPC, the likely cause is a Route 53 Resolver DNS Firewall
// rule or a forwarding rule in the VPC (an endpoint without a subnet gives
// NODATA); its NODATA is either that or a DNS Firewall block, whose
// default response is NODATA.
func endpointNoAddress(in *input) []finding.Finding {
	subnet := "SUBNET_ID"
	if in.o.IMDS != nil && in.o.IMDS.SubnetID != "" {
		subnet = in.o.IMDS.SubnetID
	}
	e := in.lookups(lookupNoAddress)
	if len(e.lines) == 0 {
		return nil
	}
	summary := "The resolver the agent uses answers endpoint names with no address (NODATA or NXDOMAIN), so the agent cannot connect at all. NODATA for a regional name is the mark of an interface endpoint with private DNS enabled but no subnet selected."
	fill := finding.Fill{"VPC_ID": vpcID(in.o), "SUBNET_ID": subnet, "REGION": orPlaceholder(regionOf(in.o), "REGION")}
	nx, nodata := vpcNoAddress(in, e.hosts)
	switch {
	case len(nx) > 0:
		summary = fmt.Sprintf("The resolver the agent uses answers endpoint names with no address, so the agent cannot connect at all. AmazonProvidedDNS itself answers NXDOMAIN for %s, names that exist in public DNS whatever the VPC: an interface endpoint without a subnet gives NODATA, not NXDOMAIN, so the likely cause is a Route 53 Resolver DNS Firewall rule that blocks them (with an NXDOMAIN response) or a Resolver forwarding rule that sends them to servers that do not know them.",
			strings.Join(nx, ", "))
		fill["nxdomain"] = true
	case len(nodata) > 0:
		summary += fmt.Sprintf(" AmazonProvidedDNS itself answers NODATA for %s: that, or a Route 53 Resolver DNS Firewall rule that blocks the names (NODATA is its default block response).", strings.Join(nodata, ", "))
		fill["vpcNoData"] = true
	}
	return in.found(DNSEndpointNoAddress, summary, e, fill)
}

// vpcNoAddress lists the hosts among hosts for which AmazonProvidedDNS
// answered NXDOMAIN, and those it answered NODATA.
func vpcNoAddress(in *input, hosts []string) (nx, nodata []string) {
	for i := range in.o.DNS {
		d := &in.o.DNS[i]
		if !d.Has(obs.RoleVPC) || !slices.Contains(hosts, d.Host) {
			continue
		}
		switch d.Class() {
		case errclass.NXDomain:
			nx = appendUnique(nx, d.Host)
		case errclass.NoData:
			nodata = appendUnique(nodata, d.Host)
		}
	}
	nodata = slices.DeleteFunc(nodata, func(h string) bool { return slices.Contains(nx, h) })
	return nx, nodata
}

// hostsStale is dns.hosts-stale: /etc/hosts pins a name to an address
// AmazonProvidedDNS no longer gives, or whose port 443 does not answer.
func hostsStale(in *input) []finding.Finding {
	return in.found(DNSHostsStale,
		"/etc/hosts pins endpoint names to addresses that are no longer right; the agent reads /etc/hosts before DNS and connects there.",
		in.lookups(lookupHostsStale))
}

// hostsOverride is dns.hosts-override: /etc/hosts pins a name, and the pin
// works today.
func hostsOverride(in *input) []finding.Finding {
	return in.found(DNSHostsOverride,
		"/etc/hosts pins endpoint names. The pins work today, but they break silently when the endpoint is recreated or its addresses change.",
		in.lookups(lookupHostsOverride))
}

// vpcSilent is dns.vpc-resolver-silent: the host is in a VPC, and neither
// AmazonProvidedDNS address answered any question at all.
func vpcSilent(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	p := o.Plan
	if len(p.VPCCIDRs) == 0 {
		return nil
	}
	asked, quiet := 0, 0
	per := map[netip.Addr]string{}
	for _, d := range o.DNS {
		if !d.Has(obs.RoleVPC) {
			continue
		}
		asked++
		if agentpath.Silent(&d) {
			quiet++
			per[d.Resolver] = fmt.Sprintf("%s: %s (%s after %d attempt(s))", d.Resolver, d.A.Class, d.Host, d.A.Attempts)
		}
	}
	if asked == 0 || quiet < asked {
		return nil
	}
	var ev []string
	for _, a := range p.VPC {
		if s, ok := per[a]; ok {
			ev = append(ev, s)
		}
	}
	ev = append(ev, fmt.Sprintf("%d of %d questions to AmazonProvidedDNS got no answer; VPC CIDR %s", quiet, asked, prefixes(p.VPCCIDRs)))
	f := cat.New(DNSVPCResolverSilent,
		fmt.Sprintf("This host is in %s, but AmazonProvidedDNS (%s) gives no answer at all. The VPC attribute \"DNS resolution\" (enableDnsSupport) is most likely off, or a host firewall drops port 53 to the resolver.",
			vpcName(o), obs.JoinAddrs(p.VPC)),
		ev, finding.Fill{"VPC_ID": vpcID(o)})
	if hostAsksVPC(o) {
		// The host asks the silent resolver itself: every lookup that
		// broke broke here.
		f.About(in.brokenAtResolve(false)...)
	}
	return []finding.Finding{f}
}

// hostAsksVPC reports whether one of the host's own resolvers is
// AmazonProvidedDNS.
func hostAsksVPC(o *obs.Observations) bool {
	for _, s := range o.Plan.System {
		for _, v := range o.Plan.VPC {
			if s == v {
				return true
			}
		}
	}
	return false
}

// unresponsive is dns.nameserver-unresponsive: the agent's own lookups
// that got no usable answer (fail, or warn when only optional endpoints are
// affected); else a configured nameserver that answered no question while
// another did (warn), or none answered (fail).
func unresponsive(in *input) []finding.Finding {
	dead, alive := silentServers(in.o)
	quiet, quietServers, quietRequired := in.silentLookups()
	if len(dead) == 0 && len(quiet.hosts) == 0 {
		return nil
	}
	cat, o := in.cat, in.o
	var ev []string
	if len(dead) > 0 {
		ev = append(ev, fmt.Sprintf("no answer from %s to any of its questions (each waited %s)", strings.Join(dead, ", "), "--timeout"))
	}
	if s := agentStallEvidence(o); s != "" {
		ev = append(ev, s)
	}
	switch {
	case len(quiet.hosts) > 0:
		servers := strings.Join(quietServers, ", ")
		if servers == "" {
			servers = strings.Join(systemOrDefault(o), ", ")
		}
		ev = append(ev, quiet.lines...)
		if len(alive) > 0 {
			ev = append(ev, "answering other questions: "+strings.Join(alive, ", "))
		}
		sev := finding.SevFail
		if !quietRequired {
			sev = finding.SevWarn
		}
		f := cat.NewAt(DNSNameserverUnresponsive, sev,
			fmt.Sprintf("The nameservers the agent asks (%s) give no usable answer for %s, so the agent cannot resolve those endpoint names.", servers, strings.Join(quiet.hosts, ", ")), ev, stubFill(dead, quietServers), adapterFill(o, slices.Concat(dead, quietServers)))
		if !quietRequired {
			f.Summary += " Only optional endpoints are affected."
		}
		f.About(quiet.hosts...)
		return []finding.Finding{f}
	case len(alive) > 0:
		ev = append(ev, "answering: "+strings.Join(alive, ", "))
		return []finding.Finding{cat.New(DNSNameserverUnresponsive,
			fmt.Sprintf("The nameserver(s) %s in %s do not answer while %s do, so every lookup that reaches them first waits for a timeout.",
				strings.Join(dead, ", "), resolvPath(o), strings.Join(alive, ", ")), ev, stubFill(dead, nil), adapterFill(o, dead))}
	}
	f := cat.NewAt(DNSNameserverUnresponsive, finding.SevFail,
		fmt.Sprintf("None of the nameservers the host uses (%s) answers, so the agent cannot resolve any endpoint name.", strings.Join(dead, ", ")), ev, stubFill(dead, nil), adapterFill(o, dead))
	f.About(in.brokenAtResolve(false)...)
	return []finding.Finding{f}
}

// silentServers sorts the host's nameservers, in resolv.conf order, into
// those that answered none of the questions asked of them (dead) and those
// that answered some (alive).
func silentServers(o *obs.Observations) (dead, alive []string) {
	type tally struct{ asked, quiet int }
	t := map[netip.Addr]*tally{}
	for _, d := range o.DNS {
		if !d.Has(obs.RoleSystem) {
			continue
		}
		x := t[d.Resolver]
		if x == nil {
			x = &tally{}
			t[d.Resolver] = x
		}
		x.asked++
		if agentpath.Silent(&d) {
			x.quiet++
		}
	}
	for _, a := range o.Plan.System {
		switch x := t[a]; {
		case x == nil:
		case x.quiet == x.asked:
			dead = append(dead, a.String())
		default:
			alive = append(alive, a.String())
		}
	}
	return dead, alive
}

// silentLookups gathers the agent's own lookups that got no usable answer
// at all: the nameservers it asks are silent for those names, whatever they
// do for the others. It also names those nameservers, and whether a
// required endpoint is among the names.
func (in *input) silentLookups() (e evidence, servers []string, required bool) {
	for _, p := range in.paths {
		if !p.SilentFailed() {
			continue
		}
		required = required || p.Required
		if s := p.Nameserver(); s != "" {
			servers = appendUnique(servers, s)
		}
		line := fmt.Sprintf("the agent's lookup of %s got no answer (%s)", p.Host, p.Class)
		if p.Detail != "" {
			line += ": " + p.Detail
		}
		e.add(p.Host, line)
	}
	return e, servers, required
}

// stubFill sets the template's stub condition when a silent nameserver is
// the systemd-resolved stub, 127.0.0.53: then systemd-resolved itself is
// down, and fixing an upstream server would not help.
func stubFill(dead, quiet []string) finding.Fill {
	for _, s := range append(append([]string{}, dead...), quiet...) {
		if s == "127.0.0.53" {
			return finding.Fill{"stub": true}
		}
	}
	return nil
}

// agentStallEvidence is what the agent's own resolver waits on silent
// nameservers, from the first agent-view lookup that waits on any.
func agentStallEvidence(o *obs.Observations) string {
	for _, a := range o.AgentDNS {
		if s := a.Answer.StallSummary(); s != "" {
			return a.Host + ": " + s
		}
	}
	return ""
}

// systemOrDefault names the nameservers the agent asks: resolv.conf's, or
// Go's defaults when it names none.
func systemOrDefault(o *obs.Observations) []string {
	var out []string
	for _, a := range o.Plan.System {
		out = append(out, a.String())
	}
	if len(out) == 0 {
		out = []string{"127.0.0.1", "::1"}
	}
	return out
}

// bypassed reports whether v's lookup bypasses the VPC resolver: through
// the host's resolvers (bypasses), or on Windows through an NRPT rule whose
// servers the agent asks instead of the adapters' (nrptBypass).
func (in *input) bypassed(v *agentpath.View) bool {
	if bypasses(in.o.Plan, v) {
		return true
	}
	_, ok := in.nrptBypass(v)
	return ok
}

// bypasses reports whether the host's own resolvers, which are not
// AmazonProvidedDNS, answer an endpoint name with a public address, with
// nothing, or not at all, while AmazonProvidedDNS answers inside the VPC.
func bypasses(p *obs.Plan, v *agentpath.View) bool {
	vpcAddrs, vpcBy := v.VPCAnswer()
	if len(p.System) == 0 || vpcBy == nil || len(p.VPCCIDRs) == 0 || !anyInVPC(p, vpcAddrs) {
		return false
	}
	for _, d := range v.System {
		if d.Has(obs.RoleVPC) {
			return false // the host asks the VPC resolver itself
		}
	}
	addrs, _ := v.AgentAddrs()
	return !anyInVPC(p, addrs)
}

func bypassEvidence(p *obs.Plan, v *agentpath.View, vpcAddrs []netip.Addr, vpcBy *obs.DNSObs) []string {
	var ev []string
	for _, d := range v.System {
		switch c := d.Class(); c {
		case errclass.None:
			ev = append(ev, fmt.Sprintf("%s answered %s with %s (%s)", d.Resolver, v.Endpoint.Host, obs.JoinAddrs(d.Addrs()), placeAddrs(p, d.Addrs())))
		default:
			ev = append(ev, fmt.Sprintf("%s answered %s with no address (%s)", d.Resolver, v.Endpoint.Host, c))
		}
	}
	ev = append(ev, fmt.Sprintf("AmazonProvidedDNS %s answered %s with %s (%s)", vpcBy.Resolver, v.Endpoint.Host, obs.JoinAddrs(vpcAddrs), placeAddrs(p, vpcAddrs)))
	return ev
}

// noAddress reports whether the agent's resolver path answers NODATA or
// NXDOMAIN for the name.
func noAddress(v *agentpath.View) bool {
	if v.Agent != nil {
		c := v.Agent.Answer.Class
		return c == errclass.NXDomain || c == errclass.NoData
	}
	for _, d := range v.System {
		if c := d.Class(); c == errclass.NXDomain || c == errclass.NoData {
			return true
		}
	}
	return false
}

func noAddressEvidence(v *agentpath.View, vpcAddrs []netip.Addr, vpcBy *obs.DNSObs) string {
	var asked netip.AddrPort
	server, class := "", errclass.Class("")
	if v.Agent != nil {
		asked, class = v.Agent.Answer.Server, v.Agent.Answer.Class
		if asked.IsValid() {
			server = asked.String()
		}
	}
	for _, d := range v.System {
		if !asked.IsValid() || asked.Addr() == d.Resolver {
			server, class = d.Resolver.String(), d.Class()
			break
		}
	}
	s := fmt.Sprintf("%s answered %s with %s", server, v.Endpoint.Host, strings.ToUpper(string(class)))
	if vpcBy != nil {
		s += fmt.Sprintf("; AmazonProvidedDNS %s has %s", vpcBy.Resolver, obs.JoinAddrs(vpcAddrs))
	}
	return s
}
