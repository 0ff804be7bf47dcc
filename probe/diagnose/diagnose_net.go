// Package reach holds the reachability rules: resolv.conf, DNS and
// resolution, the network and proxy paths, IPv6, IMDS, IAM and the session
// preferences, and the verdict, which holds findings to the agent's own
// paths.
package diagnose

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The network path findings: what the addresses the agent dials did.
const (
	NetEndpointBlocked         finding.ID = "net.endpoint-blocked"
	DNSEndpointResolvesPub     finding.ID = "dns.endpoint-resolves-public"
	NetNoRoute                 finding.ID = "net.no-route"
	NetConnectionRefused       finding.ID = "net.connection-refused"
	NetTLSFailed               finding.ID = "net.tls-failed"
	NetClockSkew               finding.ID = "net.clock-skew"
	NetOptionalEndpointUnreach finding.ID = "net.optional-endpoint-unreachable"
	NetLocalRoute              finding.ID = "net.local-route"
	NetSharedEndpointBlocked   finding.ID = "net.shared-endpoint-blocked"
)

// netFamily pairs the findings about the network path to the endpoints with the rules that raise them.
func netFamily() family {
	return family{rules: []rule{diagnoseNet}, entries: []finding.Entry{
		{ID: NetEndpointBlocked, Severity: finding.SevFail,
			Title: "The VPC endpoint does not accept HTTPS from this instance",
			Fix: finding.FixLines(
				"On the security group of each endpoint (VPC console > Endpoints > the endpoint > Security groups): aws ec2 authorize-security-group-ingress --group-id ENDPOINT_SG_ID --protocol tcp --port 443 --cidr {{.VPC_CIDR}} (or --source-group with this instance's security group)",
				"Less often: the instance's security group egress rules or the subnet's network ACL block 443 to the endpoint."),
			Docs: []string{finding.DocEndpointSG, finding.DocVPCEndpoints}},
		{ID: DNSEndpointResolvesPub, Severity: finding.SevFail,
			Title: "Endpoint names resolve to public addresses that cannot be reached",
			Fix: finding.FixLines(
				"If interface endpoints exist, make their private DNS take effect, checking in this order: (1) VPC attribute \"DNS hostnames\": aws ec2 modify-vpc-attribute --vpc-id VPC_ID --enable-dns-hostnames \"{\\\"Value\\\":true}\"; (2) VPC attribute \"DNS resolution\": aws ec2 modify-vpc-attribute --vpc-id VPC_ID --enable-dns-support \"{\\\"Value\\\":true}\"; (3) the endpoint's \"Private DNS names\": aws ec2 modify-vpc-endpoint --vpc-endpoint-id VPCE_ID --private-dns-enabled",
				"If there are no interface endpoints, create them for ssm, ssmmessages and ec2messages, or give the subnet a NAT gateway or internet gateway route."),
			Docs: []string{finding.DocVPCDNS, finding.DocPrivateDNS, finding.DocVPCEndpoints},
			// A proxy the agent cannot see is the path the host meant (diagnose_winhost.go).
			DependsOn: []finding.ID{NetProxyUserOnly}},
		{ID: NetNoRoute, Severity: finding.SevFail,
			Title: "No network path to the public endpoints",
			Fix: finding.FixLines(
				"Give the subnet a route to a NAT gateway (private subnet) or an internet gateway with a public IP (public subnet), or an HTTP proxy for the agent.",
				"Or create interface endpoints for ssm, ssmmessages and ec2messages with private DNS enabled."),
			Docs:      []string{finding.DocNAT, finding.DocVPCEndpoints},
			DependsOn: []finding.ID{DNSEndpointResolvesPub, NetProxyUserOnly}},
		{ID: NetConnectionRefused, Severity: finding.SevFail,
			Title: "Connections to the endpoint are refused",
			Fix:   "Look for a local firewall REJECT rule (" + winOr("Get-NetFirewallRule -Direction Outbound -Action Block -Enabled True", "iptables -S; nft list ruleset") + ") or an appliance in the path that resets port 443.",
			Docs:  []string{finding.DocTroubleshoot}},
		{ID: NetTLSFailed, Severity: finding.SevFail,
			Title: "TLS to the endpoint fails",
			Fix: finding.FixLines(
				"If a TLS-inspecting proxy or firewall sits in the path, exempt the Systems Manager endpoints from inspection.",
				"Otherwise install the Amazon Trust Services roots (Amazon Root CA 1, Starfield Services Root CA - G2) in the system trust store (ca-certificates)."),
			Docs: []string{finding.DocTroubleshoot}},
		{ID: NetClockSkew, Severity: finding.SevFail,
			Title: "The clock is off",
			Fix:   winOr("Synchronise the clock with the Amazon Time Sync Service (169.254.169.123): w32tm /config /manualpeerlist:169.254.169.123 /syncfromflags:manual /update; Restart-Service w32time; w32tm /resync; then "+winRestart+". SigV4 rejects requests more than 5 minutes off.", "Synchronise the clock with the Amazon Time Sync Service (169.254.169.123) through chrony, then restart the agent. SigV4 rejects requests more than 5 minutes off."),
			Docs:  []string{finding.DocTimeSync, DocWindowsTime}},
		{ID: NetOptionalEndpointUnreach, Severity: finding.SevWarn,
			Title:     "An optional endpoint (s3, logs or kms) cannot be reached",
			Fix:       "If session logging or encryption is used, add the matching endpoint (an S3 gateway endpoint, or interface endpoints for logs and kms) or a NAT path; otherwise sessions stall for minutes before the prompt appears.",
			Docs:      []string{finding.DocSessionLogging, finding.DocVPCEndpoints},
			DependsOn: []finding.ID{PrefsLoggingEndpointUnreach}},
		{ID: NetSharedEndpointBlocked, Severity: finding.SevFail,
			Title: "Endpoints shared from another VPC cannot be reached",
			Fix: finding.FixLines(
				"1. Routes, both ways: this subnet's route table must send the hub's range (it holds {{.HUB_ADDR}}) to the transit gateway or the peering connection (aws ec2 describe-route-tables --filters Name=association.subnet-id,Values=SUBNET_ID --region {{.REGION}}), the transit gateway's route tables must carry the hub's range towards the hub's attachment and {{.VPC_CIDR}} back towards this VPC's (aws ec2 search-transit-gateway-routes --transit-gateway-route-table-id TGW_RTB_ID --filters Name=state,Values=active --region {{.REGION}}), and the hub subnets' route tables must send {{.VPC_CIDR}} back.",
				"2. The hub endpoint's security group must allow TCP 443 from {{.VPC_CIDR}}: in the hub account, aws ec2 describe-vpc-endpoints --filters Name=service-name,Values=com.amazonaws.{{.REGION}}.ssm --query 'VpcEndpoints[].Groups' --region {{.REGION}}, then aws ec2 authorize-security-group-ingress --group-id ENDPOINT_SG_ID --protocol tcp --port 443 --cidr {{.VPC_CIDR}}",
				"3. The private hosted zone that answers the endpoint names must be associated with {{.VPC_ID}} and point at the hub endpoints' current addresses: aws route53 list-hosted-zones-by-vpc --vpc-id {{.VPC_ID}} --vpc-region {{.REGION}}; aws route53 list-resource-record-sets --hosted-zone-id ZONE_ID"),
			Docs: []string{finding.DocCentralEndpoints, finding.DocEndpointSG, finding.DocVPCEndpoints}},
		{ID: NetLocalRoute, Severity: finding.SevFail,
			Title: "A local route takes the traffic meant for the VPC",
			Fix:   localRouteFix,
			Docs:  []string{finding.DocVPCEndpoints, finding.DocTroubleshoot}},
	}}
}

// Clock skew thresholds (docs/FINDINGS.md, net.clock-skew). SigV4 rejects a
// request whose clock is more than 5 minutes off.
const (
	skewFailSeconds = 300
	skewWarnSeconds = 30
)

// diagnoseNet implements the net.* findings: for each endpoint, what the
// addresses the agent would dial did at TCP, TLS and HTTP, read together
// with where those addresses lie (inside the VPC: an interface endpoint;
// outside: a public endpoint). Each finding has its own function below;
// netLinesOf sorts every endpoint's evidence into them once.
func diagnoseNet(in *input) []finding.Finding {
	// A local route can take IMDS's address before any plan is made (no
	// region without IMDS): it is judged whatever else was observed.
	out := localRouteFinding(in)
	if in.o.Plan == nil || len(in.o.Net) == 0 && len(in.o.AgentDNS) == 0 {
		return out
	}
	for _, r := range []rule{endpointBlocked, sharedEndpointBlocked, endpointUnreachable, connectionRefused, tlsFailed, optionalUnreachable, clockSkew} {
		out = append(out, r(in)...)
	}
	return out
}

// netCase is the finding a line of network evidence belongs to.
type netCase int

const (
	netBlocked  netCase = iota // TCP times out on an interface endpoint's address
	netPublic                  // TCP times out on a public address
	netRefused                 // TCP is refused
	netTLS                     // TLS or HTTP fails on the address that connected
	netOptional                // an optional endpoint does not answer
	netShared                  // TCP times out on a private address outside the VPC: an endpoint shared from a hub VPC
)

// netLine is one line of network evidence, with the certificate issuer a
// failed handshake named.
type netLine struct {
	what   netCase
	line   string
	issuer string
}

// netLinesOf sorts what the agent's path to v shows into evidence lines.
// The agent's path decides what is broken: Go's dialer moves to the next
// address only when TCP fails, and a TLS or HTTP failure on the address
// that connected ends the request.
func (in *input) netLinesOf(v *agentpath.View) []netLine {
	p, host := in.o.Plan, v.Endpoint.Host
	if v.Proxy != nil { // the agent does not go direct
		if stage, class, detail := v.Proxy.Failed(); stage != obs.ProxyNone && !v.Endpoint.Required {
			return []netLine{{what: netOptional, line: fmt.Sprintf("%s (%s) via %s: %s failed (%s): %s", host, v.Endpoint.Why, v.Proxy.Proxy, stage, class, detail)}}
		}
		return nil // a required endpoint through the proxy is judged by diagnoseProxy
	}
	ap := in.byHost[host]
	if ap != nil && ap.SearchExpanded() {
		return nil // judged by dns.search-list-hijack
	}
	if in.capturedHost(v) {
		return nil // judged by net.local-route: the packets never left the host
	}
	addrs, src := v.AgentAddrs()
	if len(addrs) == 0 {
		if !v.Endpoint.Required && (v.Agent != nil || len(v.System) > 0) {
			return []netLine{{what: netOptional, line: fmt.Sprintf("%s (%s): no address from the agent's resolver", host, v.Endpoint.Why)}}
		}
		return nil
	}
	if ap == nil || ap.State != agentpath.PathBroken || ap.Failed == agentpath.StageResolve || in.bypassed(v) {
		return nil // working, not checked, or judged by the DNS rules
	}
	if v.FromHosts() && ap.Failed == agentpath.StageTCP {
		return nil // a pin that does not answer: dns.hosts-stale
	}
	if !v.Endpoint.Required {
		return []netLine{{what: netOptional, line: fmt.Sprintf("%s (%s): %s", host, v.Endpoint.Why, netSummary(v, addrs))}}
	}
	if ap.Failed != agentpath.StageTCP {
		n := v.Net[ap.Dialed]
		if n == nil {
			return nil
		}
		stage, _ := n.Failed()
		l := netLine{what: netTLS, line: fmt.Sprintf("%s -> %s (from %s): %s", host, ap.Dialed, src, stageLine(n, stage))}
		if n.TLS != nil && n.TLS.Issuer != "" && !n.TLS.OK {
			l.issuer = n.TLS.Issuer
		}
		return []netLine{l}
	}
	var out []netLine
	for _, a := range addrs {
		n := v.Net[a]
		if n == nil {
			continue
		}
		stage, class := n.Failed()
		line := fmt.Sprintf("%s -> %s (from %s): %s", host, a, src, stageLine(n, stage))
		switch {
		case stage == obs.NetTCP && class == errclass.Refused:
			out = append(out, netLine{what: netRefused, line: line})
		case stage == obs.NetTCP && (class == errclass.Timeout || class == errclass.Unreachable):
			if c, inside := p.InVPC(a); inside {
				out = append(out, netLine{what: netBlocked, line: line + fmt.Sprintf(" [%s is inside %s: an interface endpoint]", a, c)})
			} else if note, ok := sharedNote(p, v, a); ok {
				out = append(out, netLine{what: netShared, line: line + note})
			} else {
				out = append(out, netLine{what: netPublic, line: line + publicNote(p, v, a)})
			}
		}
	}
	return out
}

// netEvidence gathers the lines of case c over every endpoint, and the
// issuers they name.
func (in *input) netEvidence(c netCase) (evidence, []string) {
	var e evidence
	var issuers []string
	for i := range in.views {
		for _, l := range in.netLinesOf(&in.views[i]) {
			if l.what != c {
				continue
			}
			e.add(in.views[i].Endpoint.Host, l.line)
			if l.issuer != "" {
				issuers = appendUnique(issuers, l.issuer)
			}
		}
	}
	return e, issuers
}

// endpointBlocked is net.endpoint-blocked: TCP 443 to an interface
// endpoint's address times out.
func endpointBlocked(in *input) []finding.Finding {
	e, _ := in.netEvidence(netBlocked)
	return in.found(NetEndpointBlocked,
		fmt.Sprintf("Endpoint names resolve to addresses inside %s, which belong to interface VPC endpoints, and TCP 443 to them times out: the endpoints' security group does not allow HTTPS from this instance. Private DNS of an interface endpoint is VPC-wide: creating the endpoint redirected every subnet, including subnets that used to reach the service through a NAT or internet gateway, which is why instances that worked before broke.",
			vpcName(in.o)),
		e, finding.Fill{"VPC_CIDR": firstCIDR(in.o.Plan)})
}

// sharedEndpointBlocked is net.shared-endpoint-blocked: the names resolve
// to private addresses outside the VPC's CIDRs, which are interface
// endpoints of another VPC (a hub reached through a transit gateway or a
// peering, its private hosted zone associated with this VPC), and TCP 443
// to them times out. Not public: neither "enable private DNS" nor a NAT is
// the fix.
func sharedEndpointBlocked(in *input) []finding.Finding {
	e, _ := in.netEvidence(netShared)
	if len(e.lines) == 0 {
		return nil
	}
	hub := sharedAddrs(in)
	summary := fmt.Sprintf("Endpoint names resolve to private addresses outside %s (%s): interface endpoints shared from another VPC (a hub reached through a transit gateway or a VPC peering, whose private hosted zone answers the names). TCP 443 to them times out, so the agent cannot reach Systems Manager. The addresses are not public: private DNS, a NAT or new endpoints in this VPC are not the fix. Check, in order: the routes to the hub's range and back (this subnet's route table, the transit gateway's or the peering's), the hub endpoint's security group (443 from this VPC's CIDR), and the private hosted zone's association and records.",
		vpcName(in.o), strings.Join(hub, ", "))
	fill := finding.Fill{"VPC_CIDR": firstCIDR(in.o.Plan), "VPC_ID": vpcID(in.o), "REGION": orPlaceholder(in.o.Plan.Region, "REGION")}
	if len(hub) > 0 {
		fill["HUB_ADDR"] = hub[0]
	}
	return in.found(NetSharedEndpointBlocked, summary, e, fill)
}

// sharedNote says why a, which the agent dialled, is taken for a shared
// endpoint: a private address (RFC 1918, RFC 6598) outside the VPC's
// CIDRs, and what AmazonProvidedDNS answers beside it. (When
// AmazonProvidedDNS answers inside the VPC, the host's resolver bypasses
// it and the DNS rules speak before this is asked.)
func sharedNote(p *obs.Plan, v *agentpath.View, a netip.Addr) (string, bool) {
	if len(p.VPCCIDRs) == 0 || !privateAddr(a) {
		return "", false
	}
	vpcAddrs, by := v.VPCAnswer()
	switch {
	case by == nil:
		return fmt.Sprintf(" [%s is a private address outside the VPC; AmazonProvidedDNS gave no answer to compare]", a), true
	case overlap([]netip.Addr{a}, vpcAddrs):
		return fmt.Sprintf(" [%s is a private address outside the VPC; AmazonProvidedDNS %s also answers %s]", a, by.Resolver, obs.JoinAddrs(vpcAddrs)), true
	}
	return fmt.Sprintf(" [%s is a private address outside the VPC, from the host's resolver; AmazonProvidedDNS %s answers %s: the name is not shared with this VPC through a private hosted zone]", a, by.Resolver, obs.JoinAddrs(vpcAddrs)), true
}

// sharedAddrs lists the shared endpoints' addresses whose TCP failed.
func sharedAddrs(in *input) []string {
	var out []string
	for i := range in.views {
		v := &in.views[i]
		addrs, _ := v.AgentAddrs()
		for _, a := range addrs {
			n := v.Net[a]
			if n == nil {
				continue
			}
			if stage, _ := n.Failed(); stage != obs.NetTCP {
				continue
			}
			if _, ok := sharedNote(in.o.Plan, v, a); ok {
				out = appendUnique(out, a.String())
			}
		}
	}
	return out
}

// endpointUnreachable is dns.endpoint-resolves-public in a VPC, and
// net.no-route off one: TCP 443 to a public address times out.
func endpointUnreachable(in *input) []finding.Finding {
	e, _ := in.netEvidence(netPublic)
	if len(in.o.Plan.VPCCIDRs) > 0 {
		return in.found(DNSEndpointResolvesPub,
			fmt.Sprintf("Endpoint names resolve, through the host's resolver and AmazonProvidedDNS alike, to public addresses outside %s, and port 443 on them cannot be reached. If interface endpoints exist, their private DNS is not in effect; otherwise this subnet has no NAT or internet path.", vpcName(in.o)),
			e)
	}
	return in.found(NetNoRoute,
		"Endpoint names resolve to public addresses and TCP 443 to them times out or is unreachable: there is no NAT, internet gateway or proxy path from this host.",
		e)
}

// connectionRefused is net.connection-refused: TCP 443 is reset.
func connectionRefused(in *input) []finding.Finding {
	e, _ := in.netEvidence(netRefused)
	return in.found(NetConnectionRefused,
		"TCP 443 to the endpoint is actively refused (a reset came back): a local firewall REJECT rule or an appliance in the path.", e)
}

// tlsFailed is net.tls-failed: TCP connects, and the handshake or the
// request on that address fails.
func tlsFailed(in *input) []finding.Finding {
	e, issuers := in.netEvidence(netTLS)
	s := "TCP 443 connects, but the TLS handshake fails or the certificate chain does not verify against the system roots."
	if len(issuers) > 0 {
		s += fmt.Sprintf(" The certificate was issued by %s, which is not a trusted Amazon or Starfield root: a TLS-inspecting proxy or firewall, or missing roots on the host.", strings.Join(issuers, "; "))
	}
	return in.found(NetTLSFailed, s, e)
}

// optionalUnreachable is net.optional-endpoint-unreachable. An optional
// endpoint is its own finding only when every required one works;
// otherwise it fails for the same root cause as they do.
func optionalUnreachable(in *input) []finding.Finding {
	if !in.requiredReached() {
		return nil
	}
	e, _ := in.netEvidence(netOptional)
	sev, summary := finding.SevWarn, "Optional endpoints cannot be reached. Sessions work without them unless session logging (S3, CloudWatch Logs) or KMS encryption is on; if it is, sessions stall for minutes before the prompt appears, or fail."
	if logsShow(in.o, journal.KindSessionLoggingBlocked) {
		sev, summary = finding.SevFail, "Session logging is in use (the agent's logs show the session worker retrying its S3 bucket or CloudWatch log group), and the endpoint it needs cannot be reached: every session's screen stays blank for minutes before the prompt appears. The setting is account- and region-wide."
	}
	return in.foundAt(NetOptionalEndpointUnreach, sev, summary, e)
}

// clockSkew is net.clock-skew, from the endpoints' HTTP Date headers: the
// largest offset seen decides.
func clockSkew(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	var worst int64
	var from string
	for _, n := range o.Net {
		if n.HTTP == nil || n.HTTP.SkewSeconds == nil {
			continue
		}
		s := *n.HTTP.SkewSeconds
		if abs(s) > abs(worst) {
			worst, from = s, fmt.Sprintf("%s (%s) sent Date: %s", n.Host, n.Addr, n.HTTP.Date)
		}
	}
	if abs(worst) < skewWarnSeconds {
		return nil
	}
	dir := "ahead of"
	if worst < 0 {
		dir = "behind"
	}
	sev := finding.SevFail
	if abs(worst) < skewFailSeconds {
		sev = finding.SevWarn
	}
	summary := fmt.Sprintf("The local clock is %d s %s the endpoints' clock. SigV4 rejects requests more than 300 s off, so the agent's calls fail with signature errors once the skew passes 5 minutes.", abs(worst), dir)
	ev := []string{from, fmt.Sprintf("local clock minus endpoint Date: %+d s", worst)}
	if w := w32timeEvidence(o); len(w) > 0 {
		// The Windows Time service is why (diagnose_winhost.go).
		summary += " The Windows Time service does not sync this clock from any time source."
		ev = append(ev, w...)
	}
	f := cat.NewAt(NetClockSkew, sev, summary, ev)
	return []finding.Finding{f}
}

// stageLine says what one stage did, e.g. "TCP 443 timeout after 2000 ms".
func stageLine(n *obs.NetObs, stage obs.NetStage) string {
	switch stage {
	case obs.NetTCP:
		return fmt.Sprintf("TCP %d %s after %d ms", n.Port, n.TCP.Class, n.TCP.DurationMS)
	case obs.NetTLS:
		s := fmt.Sprintf("TLS %s: %s", n.TLS.Class, n.TLS.Detail)
		if n.TLS.Issuer != "" {
			s += "; issuer " + n.TLS.Issuer
		}
		return s
	case obs.NetHTTP:
		return fmt.Sprintf("HTTPS request %s: %s", n.HTTP.Class, n.HTTP.Detail)
	}
	if n.HTTP != nil {
		return fmt.Sprintf("HTTPS answered %d", n.HTTP.Status)
	}
	return "connected"
}

// publicNote adds what AmazonProvidedDNS said for a public address.
func publicNote(p *obs.Plan, v *agentpath.View, a netip.Addr) string {
	vpcAddrs, by := v.VPCAnswer()
	if by == nil {
		return fmt.Sprintf(" [%s is outside the VPC]", a)
	}
	return fmt.Sprintf(" [%s is outside the VPC; AmazonProvidedDNS %s also answers %s]", a, by.Resolver, obs.JoinAddrs(vpcAddrs))
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// requiredReached reports whether every required endpoint's agent path
// reaches HTTPS.
func (in *input) requiredReached() bool {
	for _, p := range in.paths {
		if p.Required && !p.OK() {
			return false
		}
	}
	return true
}

// logsShow reports whether the agent's logs hold events of kind k.
func logsShow(o *obs.Observations, k journal.Kind) bool {
	if o.Logs == nil {
		return false
	}
	for _, s := range o.Logs.Events {
		if s.Kind == k && s.Count > 0 {
			return true
		}
	}
	return false
}
