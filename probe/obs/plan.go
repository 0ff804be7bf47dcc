package obs

import (
	"net/netip"

	"github.com/ssm-probe/ssm-probe/probe/agent"
)

// Service names an AWS service the agent talks to: the first label of its
// endpoint name (ssm.REGION.amazonaws.com).
type Service string

// The services of Services.
const (
	ServiceSSM         Service = "ssm"
	ServiceSSMMessages Service = "ssmmessages"
	ServiceEC2Messages Service = "ec2messages"
	ServiceS3          Service = "s3"
	ServiceLogs        Service = "logs"
	ServiceKMS         Service = "kms"
)

// PrefsServices are the services the session preferences check signs
// calls to: ssm:GetDocument, s3:HeadBucket and logs:DescribeLogGroups.
func PrefsServices() []Service { return []Service{ServiceSSM, ServiceS3, ServiceLogs} }

// ConfigSection is the section of amazon-ssm-agent.json whose Endpoint
// overrides the service's endpoint ("Mgs" for ssmmessages, "Mds" for
// ec2messages); "" for a service the agent's config cannot override
// (docs/AGENT-FACTS.md, "Endpoints and configuration").
func (s Service) ConfigSection() string {
	return map[Service]string{ServiceSSM: "Ssm", ServiceSSMMessages: "Mgs", ServiceEC2Messages: "Mds", ServiceS3: "S3", ServiceKMS: "Kms"}[s]
}

// OverrideIn returns the endpoint the agent's config sets for the service,
// as written there; "" when it sets none.
func (s Service) OverrideIn(ov *agent.ConfigOverrides) string {
	if ov == nil {
		return ""
	}
	return map[Service]string{ServiceSSM: ov.SsmEndpoint, ServiceSSMMessages: ov.MgsEndpoint, ServiceEC2Messages: ov.MdsEndpoint,
		ServiceS3: ov.S3Endpoint, ServiceKMS: ov.KmsEndpoint}[s]
}

// Endpoint is one service endpoint the agent talks to.
type Endpoint struct {
	Service  Service `json:"service"`  // ssm, ssmmessages, ec2messages, s3, logs, kms
	Host     string  `json:"host"`     // e.g. ssm.ap-northeast-1.amazonaws.com
	Required bool    `json:"required"` // Session Manager cannot work without it
	Why      string  `json:"why"`      // why it is (not) required, or where an override came from
}

// Plan is what the probe decided to test: the endpoint names and the
// resolvers to ask. It is derived from the facts (phase 1) and recorded in
// the observations so that a reader sees why each name was tested.
type Plan struct {
	Region       string         `json:"region"`
	RegionSource string         `json:"region_source"` // flag, agent-config, imds, registration
	Domain       string         `json:"domain"`
	DomainSource string         `json:"domain_source"` // agent-config, imds, partition, default
	Endpoints    []Endpoint     `json:"endpoints"`
	System       []netip.Addr   `json:"system_resolvers"`  // what the host's resolver asks
	VPC          []netip.Addr   `json:"vpc_resolvers"`     // AmazonProvidedDNS
	VPCCIDRs     []netip.Prefix `json:"vpc_cidrs"`         // every CIDR block of the VPC, primary first
	Problem      string         `json:"problem,omitempty"` // why no endpoint could be planned
}

// Services lists the endpoints of docs/AGENT-FACTS.md, "Endpoints and configuration": the three
// that sessions need, then the optional ones with what each serves. STS is
// not used by the agent and is not tested.
func Services() []Endpoint {
	return []Endpoint{
		{Service: ServiceSSM, Required: true, Why: "needed for sessions"},
		{Service: ServiceSSMMessages, Required: true, Why: "needed for sessions"},
		{Service: ServiceEC2Messages, Required: true, Why: "needed for sessions"},
		{Service: ServiceS3, Why: "agent updates and session logs to S3"},
		{Service: ServiceLogs, Why: "session logs to CloudWatch Logs"},
		{Service: ServiceKMS, Why: "session encryption"},
	}
}

// SystemAddrs returns the DNS servers the host really asks: the stub's
// upstreams when resolv.conf names the systemd-resolved stub, else the
// nameservers of resolv.conf.
func (f *ResolvFacts) SystemAddrs() []netip.Addr {
	if f == nil || f.Conf == nil {
		return nil
	}
	c := f.Conf
	if c.IsStub() && f.Upstream != nil && len(f.Upstream.Nameservers) > 0 {
		c = f.Upstream
	}
	var out []netip.Addr
	for _, ns := range c.Nameservers {
		out = append(out, ns.Addr)
	}
	return out
}

// InVPC reports whether a lies in one of the VPC's CIDR blocks.
func (p *Plan) InVPC(a netip.Addr) (netip.Prefix, bool) {
	a = a.Unmap()
	for _, c := range p.VPCCIDRs {
		if c.Contains(a) {
			return c, true
		}
	}
	return netip.Prefix{}, false
}
