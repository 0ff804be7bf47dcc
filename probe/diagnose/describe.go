package diagnose

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/prefs"
)

// The helpers in this file describe what the rules found: names of the
// instance, region, VPC and files for evidence and fix templates, where an
// address lies, what an endpoint's addresses did, and the agent's log lines.
// Several families use each of them.

func appendUnique(s []string, x string) []string {
	for _, y := range s {
		if y == x {
			return s
		}
	}
	return append(s, x)
}

// instanceOf returns the instance ID from IMDS, else from the DMI board
// asset tag, else a placeholder for a fix.
func instanceOf(o *obs.Observations) string {
	if o.IMDS != nil && o.IMDS.InstanceID != "" {
		return o.IMDS.InstanceID
	}
	if o.Host != nil && o.Host.EC2.InstanceID != "" {
		return o.Host.EC2.InstanceID
	}
	return placeholderInstance
}

// regionOf returns the region from --region, else IMDS, else "".
func regionOf(o *obs.Observations) string {
	if o.Region != "" {
		return o.Region
	}
	if o.IMDS != nil {
		return o.IMDS.Region
	}
	return ""
}

// regionFlag returns " --region R" for an aws CLI command, or "" when the
// region is unknown.
func regionFlag(o *obs.Observations) string {
	if r := regionOf(o); r != "" {
		return " --region " + r
	}
	return ""
}

// idFill fills the instance and region of a fix: the instance ID (or its
// placeholder) and " --region R" when the region is known.
func idFill(o *obs.Observations) finding.Fill {
	return finding.Fill{"INSTANCE_ID": instanceOf(o), "regionFlag": regionFlag(o)}
}

// netSummary describes what happened on the addresses, for evidence.
func netSummary(v *agentpath.View, addrs []netip.Addr) string {
	var s []string
	for _, a := range addrs {
		n := v.Net[a]
		if n == nil {
			s = append(s, a.String()+": not tried")
			continue
		}
		stage, _ := n.Failed()
		s = append(s, a.String()+": "+stageLine(n, stage))
	}
	return strings.Join(s, "; ")
}

// orPlaceholder returns s, or p when s is empty.
func orPlaceholder(s, p string) string {
	if s == "" {
		return p
	}
	return s
}

// orUnknown returns s, or "(unknown)" when s is empty.
func orUnknown(s string) string { return orPlaceholder(s, "(unknown)") }

// dhmcLog is what the agent's own log says of Default Host Management, its
// credential source when no instance profile is attached
// (docs/AGENT-FACTS.md, "Credentials"): it failed (the latest failure is
// after the latest success) or it served.
type dhmcLog struct {
	failed, succeeded bool
	at                time.Time // of the latest failure or success
	words             string    // the agent's words for a failure
	evidence          []string
}

// placeAddrs says where addresses lie relative to the VPC CIDRs.
func placeAddrs(p *obs.Plan, as []netip.Addr) string {
	var in, out []string
	for _, a := range as {
		if c, ok := p.InVPC(a); ok {
			in = append(in, fmt.Sprintf("%s inside %s", a, c))
		} else {
			out = append(out, a.String())
		}
	}
	switch {
	case len(out) == 0:
		return strings.Join(in, ", ")
	case len(p.VPCCIDRs) == 0:
		return "VPC CIDRs unknown"
	}
	s := "outside " + prefixes(p.VPCCIDRs)
	if len(in) > 0 {
		s = strings.Join(in, ", ") + "; " + strings.Join(out, ", ") + " " + s
	}
	return s
}

// resolvPath names the resolv.conf that lists the nameservers the agent
// asks: the stub's upstream file when systemd-resolved's stub is in use.
func resolvPath(o *obs.Observations) string {
	if o.IsWindows() {
		return "the adapters' DNS settings"
	}
	if o.Resolv != nil && o.Resolv.Conf != nil {
		if o.Resolv.Conf.IsStub() && o.Resolv.Upstream != nil {
			return o.Resolv.Upstream.Path
		}
		return o.Resolv.Conf.Path
	}
	return "/etc/resolv.conf"
}

// hostsPath names the hosts file the agent reads.
func hostsPath(o *obs.Observations) string {
	if o.Resolv != nil && o.Resolv.Hosts != nil {
		return o.Resolv.Hosts.Path
	}
	return "/etc/hosts"
}

// vpcID is the VPC's ID, or the VPC_ID placeholder.
func vpcID(o *obs.Observations) string {
	if o.IMDS != nil && o.IMDS.VPCID != "" {
		return o.IMDS.VPCID
	}
	return "VPC_ID"
}

// vpcName names the VPC for a summary: its ID and CIDRs where known.
func vpcName(o *obs.Observations) string {
	s := "the VPC"
	if o.IMDS != nil && o.IMDS.VPCID != "" {
		s = o.IMDS.VPCID
	}
	if o.Plan != nil && len(o.Plan.VPCCIDRs) > 0 {
		s += " (" + prefixes(o.Plan.VPCCIDRs) + ")"
	}
	return s
}

// overlap reports whether a and b share an address.
func overlap(a, b []netip.Addr) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// anyInVPC reports whether any of as lies inside the VPC.
func anyInVPC(p *obs.Plan, as []netip.Addr) bool {
	for _, a := range as {
		if _, ok := p.InVPC(a); ok {
			return true
		}
	}
	return false
}

// prefixes joins CIDR blocks for a summary.
func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// firstCIDR is the VPC's primary CIDR block, or the VPC_CIDR placeholder.
func firstCIDR(p *obs.Plan) string {
	if len(p.VPCCIDRs) > 0 {
		return p.VPCCIDRs[0].String()
	}
	return "VPC_CIDR"
}

// summaryEvidence renders a summary as evidence: the count and span, the
// names and addresses it mentions, and its samples with their positions.
func summaryEvidence(s *journal.Summary) []string {
	line := fmt.Sprintf("%d %s line(s)", s.Count, s.Kind)
	if !s.First.IsZero() {
		line += fmt.Sprintf(", first %s, last %s", s.First.Format("2006-01-02 15:04:05"), s.Last.Format("2006-01-02 15:04:05"))
	}
	ev := []string{line}
	for _, l := range []struct {
		label string
		vals  []string
	}{{"hosts", s.Hosts}, {"addresses", s.Addresses}, {"buckets", s.Buckets}, {"log groups", s.LogGroups},
		{"URLs", s.URLs}, {"APIs", s.APIs}} {
		if len(l.vals) > 0 {
			ev = append(ev, l.label+": "+strings.Join(l.vals, ", "))
		}
	}
	for _, sm := range s.Samples {
		ev = append(ev, fmt.Sprintf("%s: %s", sm.Source, sm.Text))
	}
	return ev
}

// logSummary returns the summary of kind k in the agent's logs, or nil.
func logSummary(o *obs.Observations, k journal.Kind) *journal.Summary {
	if o.Logs == nil {
		return nil
	}
	for i := range o.Logs.Events {
		if o.Logs.Events[i].Kind == k {
			return &o.Logs.Events[i]
		}
	}
	return nil
}

// recentLog reports whether s's last line is within logRecent of a live
// run. Without live checks (ssm-probe logs, an offline --root) nothing
// confirms that the fault is still present, so log lines never make a
// finding fail (FINDINGS.md, "From the agent's logs").
func recentLog(o *obs.Observations, s *journal.Summary) bool {
	return o.Live && s != nil && !s.Last.IsZero() && o.StartedAt.Sub(s.Last) <= logRecent
}

// prefsWhere names the preferences document and its region for evidence.
func prefsWhere(o *obs.Observations) string {
	return fmt.Sprintf("the Session Manager preferences (document %s, region %s)", prefs.DocumentName, orUnknown(o.Prefs.Region))
}
