package diagnose

import (
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// The IPv6-only host.
const (
	NetIPv6OnlyEndpoints finding.ID = "net.ipv6-only-endpoints"
)

// ipv6Family pairs the findings about IPv6-only hosts with the rules that raise them.
func ipv6Family() family {
	return family{rules: []rule{diagnoseIPv6Only}, entries: []finding.Entry{
		{ID: NetIPv6OnlyEndpoints, Severity: finding.SevFail,
			Title: "This IPv6-only host uses endpoint names that have no IPv6 address",
			Fix: finding.FixLines(
				"In {{.AGENT_CONFIG}} set the dual-stack endpoints (merge into the existing sections): {{.DUAL_STACK_SECTIONS}}; then sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}. Agent 3.3.3270.0 and later can instead be told to use the dual-stack endpoints itself (its UseDualStackEndpoint option; https://github.com/aws/amazon-ssm-agent/releases/tag/3.3.3270.0).",
				"{{if .imdsV4}}Turn on IMDS's IPv6 endpoint: aws ec2 modify-instance-metadata-options --instance-id {{.INSTANCE_ID}} --http-protocol-ipv6 enabled --region {{.REGION}}",
				"And point the agent's AWS SDK at it: sudo systemctl edit {{or .unit \"amazon-ssm-agent\"}}, add [Service] Environment=AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6, then sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}. To check it from here: ssm-probe --imds-endpoint "+imdsIPv6+"{{end}}",
				"{{if .dnsV4}}Resolve over IPv6: the Route 53 Resolver answers at "+resolverIPv6+" on Nitro instances; DHCPv6 in an IPv6-only subnet hands it out (check the subnet's DHCP options set and the host's network configuration: netplan, NetworkManager, systemd-networkd), or set it: nameserver "+resolverIPv6+" in /etc/resolv.conf, or the upstream of systemd-resolved.{{end}}",
				"Or give the subnet IPv4 (a dual-stack subnet with a NAT path or interface endpoints), since the standard endpoint names (*.amazonaws.com) answer IPv4 only."),
			Docs: []string{finding.DocDualStack, finding.DocIMDSOptions, finding.DocAgentConfig}},
	}}
}

// imdsIPv6 is the instance metadata service's IPv6 address on Nitro
// instances.
const imdsIPv6 = "http://[fd00:ec2::254]"

// resolverIPv6 is the Route 53 Resolver's (AmazonProvidedDNS) IPv6 address
// on Nitro instances.
const resolverIPv6 = "fd00:ec2::253"

// dualStackSuffix ends the dual-stack (IPv4 and IPv6) endpoint names of the
// aws partition: <service>.<region>.api.aws.
const dualStackSuffix = ".api.aws"

// diagnoseIPv6Only reports net.ipv6-only-endpoints: the host has an IPv6
// default route but no IPv4 default route and no IPv4 address beyond
// loopback and link-local, and the agent talks to endpoint names that are
// not dual-stack (<service>.<region>.api.aws): the standard names answer
// with IPv4 addresses only, which this host cannot  The fix is the
// exact amazon-ssm-agent.json change, and IMDS at [fd00:ec2::254]. A
// subnet with DNS64 and NAT64 reaches the IPv4-only names anyway; the
// agent paths then show it (verdict.go) and the finding is downgraded.
func diagnoseIPv6Only(in *input) []finding.Finding {
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
	cat, o := in.cat, in.o
	r := o.Routes
	if !r.IPv6Only() || o.Plan == nil || o.Plan.Region == "" {
		return nil
	}
	region := o.Plan.Region
	var ev, sections, bad []string
	ev = append(ev, fmt.Sprintf("IPv6 default route via %s; no IPv4 default route; IPv4 addresses: none beyond loopback and link-local; IPv6 addresses: %s",
		r.IPv6Default, strings.Join(r.IPv6Addrs, ", ")))
	for _, e := range o.Plan.Endpoints {
		key := e.Service.ConfigSection()
		if !e.Required || key == "" || strings.HasSuffix(e.Host, dualStackSuffix) {
			continue
		}
		bad = append(bad, e.Host)
		ds := string(e.Service) + "." + region + dualStackSuffix
		ev = append(ev, fmt.Sprintf("the agent uses %s, which has no IPv6 address; the dual-stack name is %s", e.Host, ds))
		sections = append(sections, fmt.Sprintf(`"%s": {"Endpoint": "%s"}`, key, ds))
	}
	if len(bad) == 0 {
		return nil
	}
	path := agent.ConfigPath
	if a := o.Agent; a != nil && a.Config != nil && a.Config.Path != "" {
		path = a.Config.Path
	}
	fill := finding.Fill{"AGENT_CONFIG": path, "DUAL_STACK_SECTIONS": "{" + strings.Join(sections, ", ") + "}",
		"INSTANCE_ID": instanceOf(o), "REGION": region}
	if id := o.IMDS; id == nil || !id.Reachable {
		ev = append(ev, "IMDS at 169.254.169.254 is IPv4; on this host it answers only at "+imdsIPv6)
		fill["imdsV4"] = true
	}
	if f := o.Resolv; f != nil {
		var v4 []string
		all4 := true
		for _, a := range f.SystemAddrs() {
			if a.Unmap().Is4() && !a.IsLoopback() {
				v4 = append(v4, a.String())
			} else {
				all4 = false
			}
		}
		if all4 && len(v4) > 0 {
			ev = append(ev, "the resolver is asked over IPv4 only ("+strings.Join(v4, ", ")+"), which this host cannot reach")
			fill["dnsV4"] = true
		}
	}
	summary := fmt.Sprintf("This host is IPv6-only, and the agent talks to %s, whose names answer with IPv4 addresses only: the agent cannot reach Systems Manager. On an IPv6-only host it needs the dual-stack endpoints (<service>.%s.api.aws) and IMDS at [fd00:ec2::254].", strings.Join(bad, ", "), region)
	f := cat.New(NetIPv6OnlyEndpoints, summary, ev, fill)
	// Naming the endpoints lets the verdict rules weigh the agent's own
	// paths: behind DNS64 and NAT64 the IPv4-only names still work, and
	// the finding is then only a warning.
	f.About(bad...)
	return []finding.Finding{f}
}
