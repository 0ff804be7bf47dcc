package probe

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// Endpoint is one service endpoint the agent talks to.
type Endpoint struct {
	Service  string `json:"service"`  // ssm, ssmmessages, ec2messages, s3, logs, kms
	Host     string `json:"host"`     // e.g. ssm.ap-northeast-1.amazonaws.com
	Required bool   `json:"required"` // Session Manager cannot work without it
	Why      string `json:"why"`      // why it is (not) required, or where an override came from
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

// services lists the endpoints of docs/AGENT-FACTS.md, "Endpoints and configuration": the three
// that sessions need, then the optional ones with what each serves. STS is
// not used by the agent and is not tested.
func services() []Endpoint {
	return []Endpoint{
		{Service: "ssm", Required: true, Why: "needed for sessions"},
		{Service: "ssmmessages", Required: true, Why: "needed for sessions"},
		{Service: "ec2messages", Required: true, Why: "needed for sessions"},
		{Service: "s3", Why: "agent updates and session logs to S3"},
		{Service: "logs", Why: "session logs to CloudWatch Logs"},
		{Service: "kms", Why: "session encryption"},
	}
}

// partitionDomain returns the DNS suffix of region's partition
// (docs/AGENT-FACTS.md): amazonaws.com.cn for cn-, c2s.ic.gov for us-iso-,
// sc2s.sgov.gov for us-isob-, amazonaws.com otherwise.
func partitionDomain(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "amazonaws.com.cn"
	case strings.HasPrefix(region, "us-isob-"):
		return "sc2s.sgov.gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "c2s.ic.gov"
	}
	return "amazonaws.com"
}

// buildPlan derives the plan from the configuration and the facts.
func buildPlan(cfg *Config, o *Observations) *Plan {
	p := &Plan{}
	var ov *agent.ConfigOverrides
	if o.Agent != nil {
		ov = o.Agent.Config
	}
	// The region as the agent chooses it (docs/INTERFACE.md, --region): the flag,
	// the agent config, IMDS, then the hybrid registration.
	switch {
	case cfg.Region != "":
		p.Region, p.RegionSource = cfg.Region, "flag"
	case ov != nil && ov.Region != "":
		p.Region, p.RegionSource = ov.Region, "agent-config"
	case o.IMDS != nil && o.IMDS.Region != "":
		p.Region, p.RegionSource = o.IMDS.Region, "imds"
	case o.Agent != nil && o.Agent.Registration != nil && o.Agent.Registration.Region != "":
		p.Region, p.RegionSource = o.Agent.Registration.Region, "registration"
	}
	switch {
	case ov != nil && ov.ServiceDomain != "":
		p.Domain, p.DomainSource = ov.ServiceDomain, "agent-config"
	case o.IMDS != nil && o.IMDS.Domain != "":
		p.Domain, p.DomainSource = o.IMDS.Domain, "imds"
	case p.Region != "":
		p.Domain, p.DomainSource = partitionDomain(p.Region), "partition"
	}
	if o.IMDS != nil {
		for _, c := range o.IMDS.VPCCIDRs {
			if pfx, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil {
				p.VPCCIDRs = append(p.VPCCIDRs, pfx.Masked())
			}
		}
	}
	p.System = o.Resolv.systemAddrs()
	switch {
	case len(cfg.VPCDNS) > 0:
		p.VPC = append(p.VPC, cfg.VPCDNS...)
	case len(p.VPCCIDRs) > 0:
		p.VPC = resolv.AmazonProvidedDNS(p.VPCCIDRs[0], o.IMDS != nil && o.IMDS.HasIPv6)
	}
	if p.Region == "" {
		p.Problem = "the region is unknown (no --region, and IMDS gave none)"
		return p
	}
	newEC2Messages := agentAtLeast(o, agent.MinNoEC2Messages)
	for _, e := range services() {
		e.Host = e.Service + "." + p.Region + "." + p.Domain
		if h := overrideHost(ov, e.Service); h != "" {
			e.Host, e.Why = h, e.Why+"; endpoint overridden in "+ov.Path
		}
		if e.Service == "ec2messages" && newEC2Messages {
			e.Required = false
			e.Why = fmt.Sprintf("agent %s (>= %s) uses ssmmessages alone; ec2messages only when MGS is denied", o.Agent.Version, agent.MinNoEC2Messages)
		}
		p.Endpoints = append(p.Endpoints, e)
	}
	return p
}

// agentAtLeast reports whether the agent's known version is at least min;
// an unknown version is not.
func agentAtLeast(o *Observations, min string) bool {
	if o.Agent == nil {
		return false
	}
	v, err := o.Agent.ParsedVersion()
	return err == nil && v.AtLeast(min)
}

// overrideHost returns the host name the agent config sets for service, or
// "". The agent accepts a bare host or a URL (docs/AGENT-FACTS.md, "Endpoints and configuration").
func overrideHost(ov *agent.ConfigOverrides, service string) string {
	if ov == nil {
		return ""
	}
	raw := map[string]string{"ssm": ov.SsmEndpoint, "ssmmessages": ov.MgsEndpoint, "ec2messages": ov.MdsEndpoint,
		"s3": ov.S3Endpoint, "kms": ov.KmsEndpoint}[service]
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// systemAddrs returns the DNS servers the host really asks: the stub's
// upstreams when resolv.conf names the systemd-resolved stub, else the
// nameservers of resolv.conf.
func (f *ResolvFacts) systemAddrs() []netip.Addr {
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

// inVPC reports whether a lies in one of the VPC's CIDR blocks.
func (p *Plan) inVPC(a netip.Addr) (netip.Prefix, bool) {
	a = a.Unmap()
	for _, c := range p.VPCCIDRs {
		if c.Contains(a) {
			return c, true
		}
	}
	return netip.Prefix{}, false
}
