package observe

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv"
)

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

// BuildPlan derives the plan from the configuration and the facts.
func BuildPlan(cfg *Config, o *obs.Observations) *obs.Plan {
	p := &obs.Plan{}
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
	case vaultRegion(o) != "":
		// The agent reads its hybrid registration from the Vault; the
		// registration file is only written beside it by -register.
		p.Region, p.RegionSource = vaultRegion(o), "registration"
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
	p.System = o.Resolv.SystemAddrs()
	if o.Resolv != nil && o.Resolv.Windows != nil {
		// On Windows the system resolvers are the DNS servers of the
		// adapters that are up, in the client's order (resolv.WinLookup).
		// An NRPT rule's servers serve only the names of its namespace,
		// while the plan's resolvers are asked for every endpoint: the
		// agent view asks them for the names they serve (through the
		// run's DNS cache), and they are not listed here.
		p.System = o.Resolv.Windows.UpServers()
	}
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
	for _, e := range obs.Services() {
		e.Host = string(e.Service) + "." + p.Region + "." + p.Domain
		if h := overrideHost(e.Service.OverrideIn(ov)); h != "" {
			e.Host, e.Why = h, e.Why+"; endpoint overridden in "+ov.Path
		}
		if e.Service == obs.ServiceEC2Messages && newEC2Messages {
			e.Required = false
			e.Why = fmt.Sprintf("agent %s (>= %s) uses ssmmessages alone; ec2messages only when MGS is denied", o.Agent.Version, agent.MinNoEC2Messages)
		}
		p.Endpoints = append(p.Endpoints, e)
	}
	if o.Host != nil && o.Host.OS.Bottlerocket() {
		// The agent runs in the control container, pulled from ECR, its
		// layers from S3 (docs/AGENT-FACTS.md, "Bottlerocket").
		for i := range p.Endpoints {
			if p.Endpoints[i].Service == obs.ServiceS3 {
				p.Endpoints[i].Why += "; on Bottlerocket also the control container's image layers"
			}
		}
		p.Endpoints = append(p.Endpoints, obs.BottlerocketEndpoints(p.Region, p.Domain)...)
	}
	return p
}

// vaultRegion returns the region of the hybrid (mi-) registration the
// agent's Vault holds, or "".
func vaultRegion(o *obs.Observations) string {
	if o.Agent == nil || o.Agent.Vault == nil {
		return ""
	}
	for _, e := range o.Agent.Vault.Entries {
		if strings.HasPrefix(e.InstanceID, "mi-") && e.Region != "" {
			return e.Region
		}
	}
	return ""
}

// agentAtLeast reports whether the agent's known version is at least min;
// an unknown version is not.
func agentAtLeast(o *obs.Observations, min string) bool {
	if o.Agent == nil {
		return false
	}
	v, err := o.Agent.ParsedVersion()
	return err == nil && v.AtLeast(min)
}

// overrideHost returns the host name of an endpoint the agent config sets,
// raw as written there, or "". The agent accepts a bare host or a URL
// (docs/AGENT-FACTS.md, "Endpoints and configuration").
func overrideHost(raw string) string {
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
