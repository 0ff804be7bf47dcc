package diagnose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The registration the agent holds.
const (
	AgentForeignRegistration finding.ID = "agent.foreign-registration"
)

// registrationFamily pairs the findings about the agent's registration with the rules that raise them.
func registrationFamily() family {
	return family{rules: []rule{diagnoseRegistration}, entries: []finding.Entry{
		{ID: AgentForeignRegistration, Severity: finding.SevFail,
			Title: "The agent holds another machine's registration",
			Fix: finding.FixLines(
				"sudo systemctl stop amazon-ssm-agent && sudo rm -f {{.FILES}} && sudo systemctl start amazon-ssm-agent (the agent then logs \"Agent will take identity from EC2\" in /var/log/amazon/ssm/amazon-ssm-agent.log)",
				"{{if .foreignMI}}If no machine uses the hybrid node {{.foreignMI}} any more, deregister it: aws ssm deregister-managed-instance --instance-id {{.foreignMI}} --region {{.REGION_OF_THE_NODE}}{{end}}",
				"Before baking an AMI from a host that ran the agent, stop the agent and remove /var/lib/amazon/ssm/registration, /var/lib/amazon/ssm/Vault and /var/lib/amazon/ssm/runtimeconfig/identity_config.json, so that instances launched from it register as themselves."),
			Docs: []string{finding.DocDeregisterHybrid, finding.DocAgentInstall}},
	}}
}

// diagnoseRegistration reports agent.foreign-registration: the host is an
// EC2 instance, but the agent's state holds a hybrid (OnPrem) registration
// (mi-…) or the registration of another EC2 instance. The agent tries the
// OnPrem identity before the EC2 one (aws/amazon-ssm-agent
// common/identity/identity_selector.go:85), so a disk cloned from a hybrid
// node registers as that node, or fails with its dead activation or a
// changed fingerprint. It is fail when the host is known to be EC2 (IMDS,
// or DMI under --root); under --root with no EC2 identity to read it is
// warn, since the volume may belong to a real hybrid server.
func diagnoseRegistration(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	a := o.Agent
	if a == nil {
		return nil
	}
	selfID, selfFrom := ec2InstanceID(o)
	verdict := host.EC2Unknown
	if o.Host != nil {
		verdict = o.Host.EC2.Verdict
	}
	if verdict == host.EC2No && selfID == "" {
		return nil // a hybrid server: its registration is its own
	}
	var ev, files []string
	foreignMI, foreignRegion := "", ""
	if r := a.Registration; r != nil && strings.HasPrefix(r.ManagedInstanceID, "mi-") {
		ev = append(ev, fmt.Sprintf("%s holds the hybrid registration ManagedInstanceID %s (region %s)", r.Path, r.ManagedInstanceID, orUnknown(r.Region)))
		files = append(files, r.Path)
		foreignMI, foreignRegion = r.ManagedInstanceID, r.Region
	}
	if v := a.Vault; v != nil {
		for _, e := range v.Entries {
			switch {
			case strings.HasPrefix(e.InstanceID, "mi-"):
				ev = append(ev, fmt.Sprintf("%s holds the hybrid registration of %s (region %s)", e.Path, e.InstanceID, orUnknown(e.Region)))
				files = append(files, e.Path)
				if foreignMI == "" {
					foreignMI, foreignRegion = e.InstanceID, e.Region
				}
			case strings.HasPrefix(e.InstanceID, "i-") && selfID != "" && e.InstanceID != selfID:
				ev = append(ev, fmt.Sprintf("%s holds the registration of instance %s, not of this instance %s", e.Path, e.InstanceID, selfID))
				files = append(files, e.Path)
			}
		}
	}
	if len(files) == 0 {
		return nil
	}
	severity := finding.SevFail
	switch {
	case selfID != "":
		ev = append([]string{fmt.Sprintf("this host is EC2 instance %s (%s)", selfID, selfFrom)}, ev...)
	case verdict == host.EC2Yes:
		ev = append([]string{"this host is an EC2 instance (" + o.Host.EC2.DecidedBy + ")"}, ev...)
	default:
		severity = finding.SevWarn
		ev = append([]string{"whether this host is EC2 could not be read (no IMDS answer, no DMI identity under the root)"}, ev...)
	}
	ev = append(ev, registrationLogEvidence(o)...)
	if v := a.Vault; v != nil {
		if v.Fingerprint != "" {
			files = append(files, v.Fingerprint)
		}
		if v.Manifest {
			files = append(files, agent.VaultManifestPath)
		}
	}
	files = append(files, agent.IdentityPath)
	slices.Sort(files)
	files = slices.Compact(files)
	summary := "This EC2 instance's agent holds a registration made for another machine, so it takes that machine's identity instead of its own: the agent tries the hybrid (OnPrem) identity before the EC2 one. The instance then appears in Systems Manager as the other node, or not at all (a dead activation, a changed fingerprint). This happens when an AMI is baked from a host that ran the agent."
	if severity == finding.SevWarn {
		summary = "The agent's state under this root holds a hybrid registration. If this volume belongs to an EC2 instance, that registration was made for another machine (an AMI baked from a registered host), and the agent takes it instead of the instance's own EC2 identity."
	}
	return []finding.Finding{cat.NewAt(AgentForeignRegistration, severity, summary, ev,
		finding.Fill{"FILES": strings.Join(files, " "), "foreignMI": foreignMI, "REGION_OF_THE_NODE": foreignRegion})}
}

// ec2InstanceID returns this instance's EC2 ID and where it came from: IMDS,
// else the DMI board asset tag.
func ec2InstanceID(o *obs.Observations) (string, string) {
	if o.IMDS != nil && strings.HasPrefix(o.IMDS.InstanceID, "i-") {
		return o.IMDS.InstanceID, "from IMDS"
	}
	if o.Host != nil && strings.HasPrefix(o.Host.EC2.InstanceID, "i-") {
		return o.Host.EC2.InstanceID, "from " + o.Host.EC2.DecidedBy
	}
	return "", ""
}

// registrationLogEvidence quotes what the agent's logs say about the
// identity it took and about its registration.
func registrationLogEvidence(o *obs.Observations) []string {
	if o.Logs == nil {
		return nil
	}
	var ev []string
	for i := range o.Logs.Events {
		s := &o.Logs.Events[i]
		switch s.Kind {
		case journal.KindIdentitySelected:
			if len(s.Values) > 0 {
				ev = append(ev, "the agent's logs: \"Agent will take identity from "+strings.Join(s.Values, ", ")+"\" (last "+s.Last.Format("2006-01-02 15:04:05")+")")
			}
		case journal.KindFingerprintChanged, journal.KindRegistrationError:
			ev = append(ev, summaryEvidence(s)...)
		}
	}
	return ev
}
