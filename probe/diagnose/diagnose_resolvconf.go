package diagnose

import (
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The resolv.conf findings.
const (
	DNSStubResolver finding.ID = "dns.stub-resolver"
	HostResolvConf  finding.ID = "host.resolv-conf-problem"
)

// resolvConfFamily pairs the findings about resolv.conf itself with the rules that raise them.
func resolvConfFamily() family {
	return family{rules: []rule{diagnoseResolvConf}, entries: []finding.Entry{
		{ID: DNSStubResolver, Severity: finding.SevInfo,
			Title: "The system resolver is the systemd-resolved stub"},
		{ID: HostResolvConf, Severity: finding.SevWarn,
			Title: "resolv.conf has problems",
			Fix: finding.FixLines(
				"{{if .broken}}Restore {{.RESOLV_CONF}} with the VPC resolver: echo 'nameserver {{.VPC_RESOLVER}}' | sudo tee {{.RESOLV_CONF}} (or let DHCP rewrite it: sudo dhclient -r && sudo dhclient, or sudo systemctl restart systemd-networkd / NetworkManager); then sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}{{end}}",
				"Fix /etc/resolv.conf (or what generates it: DHCP options set, systemd-resolved, NetworkManager, cloud-init)."),
			Docs: []string{finding.DocVPCDNS}},
	}}
}

// diagnoseResolvConf reports the systemd-resolved stub (info) and the
// problems of resolv.conf that change how names resolve.
func diagnoseResolvConf(in *input) []finding.Finding {
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
	cat, o := in.cat, in.o
	f := o.Resolv
	if f == nil || f.Conf == nil {
		return nil
	}
	var out []finding.Finding
	c := f.Conf
	if c.IsStub() {
		up := "none could be read"
		if f.Upstream != nil && len(f.Upstream.Nameservers) > 0 {
			up = strings.Join(f.SystemResolvers(), ", ")
		}
		out = append(out, cat.New(DNSStubResolver,
			fmt.Sprintf("%s names the systemd-resolved stub; it forwards to the upstream servers in %s: %s. The probe asks those directly.",
				c.Path, upstreamPath(f), up), nil))
	}
	if ev := obs.DescribeProblems(c); len(ev) > 0 || c.Missing || len(c.Nameservers) == 0 {
		summary := fmt.Sprintf("%s has %d problem(s).", c.Path, len(c.Problems))
		noServer := !c.Unreadable && (c.Missing || len(c.Nameservers) == 0)
		switch {
		case c.Missing:
			summary = c.Path + " does not exist: Go programs such as the SSM agent then ask a DNS server on the local host (127.0.0.1:53 and [::1]:53), which usually is not there."
		case c.Unreadable:
			summary = c.Path + " could not be read by the probe, so which nameservers the agent asks is unknown."
		case len(c.Nameservers) == 0:
			summary = c.Path + " names no nameserver (it is empty, or has no nameserver line): Go programs such as the SSM agent then ask 127.0.0.1:53 and [::1]:53, which usually is not there."
		}
		var broken []string
		if noServer {
			broken = in.brokenAtResolve(true)
		}
		if len(broken) > 0 {
			// The agent's own lookups fail for it: this is the root cause.
			summary += fmt.Sprintf(" The agent's lookups of %s fail because of it.", strings.Join(broken, ", "))
			for _, p := range in.paths {
				if p.Required && p.State == agentpath.PathBroken && p.Failed == agentpath.StageResolve {
					ev = append(ev, "agent path: "+p.Line()+": "+p.Detail)
				}
			}
		}
		sev := finding.SevWarn
		if len(broken) > 0 {
			sev = finding.SevFail
		}
		f := cat.NewAt(HostResolvConf, sev, summary, ev, finding.Fill{"broken": len(broken) > 0, "RESOLV_CONF": c.Path, "VPC_RESOLVER": vpcResolverAddr(o)})
		f.About(broken...)
		out = append(out, f)
	}
	return out
}

// vpcResolverAddr is the VPC resolver to name in a fix: the plan's first
// AmazonProvidedDNS address, else the link-local one every VPC has.
func vpcResolverAddr(o *obs.Observations) string {
	if o.Plan != nil && len(o.Plan.VPC) > 0 {
		return o.Plan.VPC[0].String()
	}
	return "169.254.169.253"
}

func upstreamPath(f *obs.ResolvFacts) string {
	if f.Upstream != nil {
		return f.Upstream.Path
	}
	return "the systemd-resolved upstream file"
}
