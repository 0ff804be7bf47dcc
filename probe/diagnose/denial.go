package diagnose

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/prefs"
)

// denialFix is the fix of an access denial whose message names the policy
// type that refused (fill "cause", set by fillDenial): that policy only.
// It opens an {{if}} chain that the entry using it closes with its own
// {{else}} (no policy named) and {{end}}.
const denialFix = `{{if eq .cause "vpce"}}VPC endpoint policy: the interface endpoint the call went through refuses {{.ACTION}}. See its policy: aws ec2 describe-vpc-endpoints --filters Name=service-name,Values=com.amazonaws.{{.REGION}}.{{.SERVICE}} --query 'VpcEndpoints[].[VpcEndpointId,PolicyDocument]' --region {{.REGION}} (an endpoint shared from another VPC is described in that VPC's account); it must allow {{.ACTION}} for role {{.ROLE}}, or reset it to full access: aws ec2 modify-vpc-endpoint --vpc-endpoint-id VPCE_ID --reset-policy --region {{.REGION}}` +
	`{{else if eq .cause "scp"}}Service control policy: in the Organizations management account, list the SCPs on this account and on each OU above it (aws organizations list-policies-for-target --target-id ACCOUNT_ID --filter SERVICE_CONTROL_POLICY; aws organizations list-parents --child-id ACCOUNT_ID), find the one that {{if .explicit}}denies{{else}}does not allow{{end}} {{.ACTION}}, and exempt role {{.ROLE}} or the Systems Manager actions (ssm:*, ssmmessages:*, ec2messages:*)` +
	`{{else if eq .cause "rcp"}}Resource control policy: in the Organizations management account, list the RCPs on this account and the OUs above it (aws organizations list-policies-for-target --target-id ACCOUNT_ID --filter RESOURCE_CONTROL_POLICY), find the one that {{if .explicit}}denies{{else}}does not allow{{end}} {{.ACTION}}, and exempt role {{.ROLE}}` +
	`{{else if eq .cause "boundary"}}Permissions boundary: aws iam get-role --role-name {{.ROLE}} --query Role.PermissionsBoundary names it; it must allow {{.ACTION}} (and the other ssm, ssmmessages and ec2messages calls of AmazonSSMManagedInstanceCore), or remove it: aws iam delete-role-permissions-boundary --role-name {{.ROLE}}` +
	`{{else if eq .cause "session"}}Session policy: the credentials were issued with a session policy that {{if .explicit}}denies{{else}}does not allow{{end}} {{.ACTION}}; it is passed by whatever assumes role {{.ROLE}} for this host (an instance profile passes none): find which credentials the agent uses (its log names the credential source) and the policy passed when they were issued` +
	`{{else if eq .cause "resource"}}Resource-based policy: the policy of the resource the call names {{if .explicit}}denies{{else}}does not allow{{end}} {{.ACTION}} to role {{.ROLE}}; allow it there` +
	`{{else if eq .cause "identity"}}{{if .explicit}}Identity-based policy: a policy of role {{.ROLE}} denies {{.ACTION}}: aws iam list-attached-role-policies --role-name {{.ROLE}}; aws iam list-role-policies --role-name {{.ROLE}}; remove or narrow that Deny{{else}}Identity-based policy: no policy of role {{.ROLE}} allows {{.ACTION}}; attach the managed policy: aws iam attach-role-policy --role-name {{.ROLE}} --policy-arn arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore{{end}}`

// denialCause is the fill "cause" of each policy type.
var denialCause = map[prefs.PolicyType]string{
	prefs.PolicyVPCEndpoint: "vpce", prefs.PolicySCP: "scp", prefs.PolicyRCP: "rcp",
	prefs.PolicyBoundary: "boundary", prefs.PolicySession: "session",
	prefs.PolicyResource: "resource", prefs.PolicyIdentity: "identity",
}

// fillDenial fills the fields of denialFix from a parsed denial.
func fillDenial(fill finding.Fill, d prefs.Denial) {
	fill["cause"] = denialCause[d.Policy]
	fill["explicit"] = d.Explicit
	fill["ACTION"] = d.Action
	svc, _, _ := strings.Cut(d.Action, ":")
	fill["SERVICE"] = orPlaceholder(svc, "SERVICE")
}

// denialWords says in a sentence which policy refused, as the message did.
func denialWords(d prefs.Denial) string {
	s := fmt.Sprintf("The answer names the policy type that refused: no %s allows %s.", d.Policy, d.Action)
	if d.Explicit {
		s = fmt.Sprintf("The answer names the policy type that refused: an explicit Deny in a %s.", d.Policy)
	}
	if d.PolicyID != "" {
		s = strings.TrimSuffix(s, ".") + " (" + d.PolicyID + ")."
	}
	return s + " That policy is the one to fix; when several policy types refuse a call, the message names only one."
}

// viaInterfaceEndpoint says whether a signed call went through an
// interface endpoint, as far as its address shows: a private address (one
// in the VPC, or one shared from another VPC) is an endpoint's; a public
// one is not; through a proxy the probe cannot see where it went.
func viaInterfaceEndpoint(in *input, addrPort, proxy string) (bool, string) {
	if proxy != "" {
		return true, "the call went through the agent's proxy " + proxy + ", so the address it reached is the proxy's to choose"
	}
	ap, err := netip.ParseAddrPort(addrPort)
	if err != nil {
		return true, "the address the call reached was not recorded"
	}
	a := ap.Addr().Unmap()
	if in.o.Plan != nil {
		if c, ok := in.o.Plan.InVPC(a); ok {
			return true, fmt.Sprintf("the call reached %s, inside %s: an interface endpoint in this VPC", a, c)
		}
	}
	if privateAddr(a) {
		return true, fmt.Sprintf("the call reached %s, a private address: an interface endpoint", a)
	}
	return false, fmt.Sprintf("the call reached %s, a public address, not an interface endpoint", a)
}

// cgnat is the shared address space (RFC 6598) that VPCs may use.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// privateAddr reports whether a is a private address: RFC 1918, RFC 6598
// or an IPv6 unique local address.
func privateAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsPrivate() || cgnat.Contains(a)
}

// logDenial reads the denial clause of the agent's access-denied lines
// (the agent logs the service's message whole: docs/AGENT-FACTS.md,
// "Access denied"). The latest sample that names a policy type decides. A
// VPC endpoint policy is checked against the addresses the agent's path
// uses for that service's endpoint.
func logDenial(in *input, s *journal.Summary) (summary string, ev []string, fill finding.Fill, ok bool) {
	var d prefs.Denial
	for i := len(s.Samples) - 1; i >= 0 && !ok; i-- {
		d, ok = prefs.ParseDenial(s.Samples[i].Text)
	}
	if !ok {
		return "", nil, nil, false
	}
	role := d.Role
	if role == "" && in.o.IMDS != nil {
		role = in.o.IMDS.Profile.Role
	}
	region := regionOf(in.o)
	if region == "" {
		region = d.Region
	}
	fill = finding.Fill{"ROLE": orPlaceholder(role, "ROLE"), "REGION": orPlaceholder(region, "REGION")}
	fillDenial(fill, d)
	action := orPlaceholder(d.Action, "its calls")
	summary = fmt.Sprintf("The agent's calls are denied (%s).", action)
	summary += " " + strings.Replace(denialWords(d), "The answer names", "The service's message names", 1)
	if d.Policy == prefs.PolicyVPCEndpoint {
		svc, _, _ := strings.Cut(d.Action, ":")
		if fits, why, known := agentViaEndpoint(in, obs.Service(svc)); known {
			ev = append(ev, why)
			if !fits {
				summary += " That does not fit the address evidence: " + why + "; a VPC endpoint policy applies only to calls through an interface endpoint, so the denial may be older than the current addresses, or a proxy or firewall carries the calls into one."
			}
		}
	}
	return summary, ev, fill, true
}

// agentViaEndpoint says whether the agent's path to the service's endpoint
// uses an interface endpoint's address (a private one); known is false when
// the probe has no address for it, or the agent goes through its proxy.
func agentViaEndpoint(in *input, svc obs.Service) (fits bool, why string, known bool) {
	for i := range in.views {
		v := &in.views[i]
		if v.Endpoint.Service != svc || v.Proxy != nil {
			continue
		}
		addrs, _ := v.AgentAddrs()
		if len(addrs) == 0 {
			return false, "", false
		}
		for _, a := range addrs {
			if privateAddr(a) {
				return true, fmt.Sprintf("the agent's path to %s uses %s, a private address: an interface endpoint", v.Endpoint.Host, a), true
			}
		}
		return false, fmt.Sprintf("the agent's path to %s uses %s, public addresses, not an interface endpoint", v.Endpoint.Host, obs.JoinAddrs(addrs)), true
	}
	return false, "", false
}
