package diagnose

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The registration the agent holds.
const (
	AgentForeignRegistration finding.ID = "agent.foreign-registration"
	// AgentHybridRegistrationInvalid: ssm no longer honours the hybrid
	// node's registration (deregistered), or an activation was rejected.
	AgentHybridRegistrationInvalid finding.ID = "agent.hybrid-registration-invalid"
)

// registrationFamily pairs the findings about the agent's registration with the rules that raise them.
func registrationFamily() family {
	return family{rules: []rule{diagnoseRegistration, diagnoseHybridRegistration}, entries: []finding.Entry{
		{ID: AgentForeignRegistration, Severity: finding.SevFail,
			Title: "The agent holds another machine's registration",
			Fix: finding.FixLines(
				"sudo systemctl stop {{or .unit \"amazon-ssm-agent\"}} && sudo rm -f {{.FILES}} && sudo systemctl start {{or .unit \"amazon-ssm-agent\"}} (the agent then logs \"Agent will take identity from EC2\" in /var/log/amazon/ssm/amazon-ssm-agent.log)",
				"{{if .foreignMI}}If no machine uses the hybrid node {{.foreignMI}} any more, deregister it: aws ssm deregister-managed-instance --instance-id {{.foreignMI}} --region {{.REGION_OF_THE_NODE}}{{end}}",
				"Before baking an AMI from a host that ran the agent, stop the agent and remove /var/lib/amazon/ssm/registration, /var/lib/amazon/ssm/Vault and /var/lib/amazon/ssm/runtimeconfig/identity_config.json, so that instances launched from it register as themselves."),
			Docs: []string{finding.DocDeregisterHybrid, finding.DocAgentInstall}},
		{ID: AgentHybridRegistrationInvalid, Severity: finding.SevFail,
			Title: "The hybrid node's registration or activation is not valid any more",
			Fix: finding.FixLines(
				"Create a new activation (an activation that expired, was deleted or is used up cannot register again): aws ssm create-activation --iam-role SSM_SERVICE_ROLE --registration-limit 1 --region {{.REGION}}",
				"Register the node again with it, clearing the old registration: sudo systemctl stop {{.UNIT}} && sudo "+hybridAgentBin+" -register -clear && sudo "+hybridAgentBin+" -register -y -code ACTIVATION_CODE -id ACTIVATION_ID -region {{.REGION}} && sudo systemctl start {{.UNIT}}",
				"Check that Systems Manager lists the new managed node as Online: aws ssm describe-instance-information --filters Key=ResourceType,Values=ManagedInstance --region {{.REGION}} (the old {{.NODE_ID}} stays listed until it is deregistered: aws ssm deregister-managed-instance --instance-id {{.NODE_ID}} --region {{.REGION}})"),
			Docs:      []string{finding.DocHybridActivation, finding.DocDeregisterHybrid},
			DependsOn: []finding.ID{AgentForeignRegistration}},
	}}
}

// hybridAgentBin is the agent's binary in a fix: the snap's full path on a
// snap install (its binary is not on PATH for sudo).
const hybridAgentBin = "{{if .snap}}/snap/amazon-ssm-agent/current/amazon-ssm-agent{{else}}amazon-ssm-agent{{end}}"

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
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
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
	if onPremises(o).yes {
		return nil // no EC2 identity and no IMDS: an on-premises server, its registration is its own
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

// hybridNode is the hybrid (OnPrem) registration the agent's state holds:
// the registration file's, else the Vault's.
type hybridNode struct {
	id, region, path string
}

// hybridRegistration returns the hybrid registration of o's agent, or a
// zero value when there is none.
func hybridRegistration(o *obs.Observations) hybridNode {
	if o.Agent == nil {
		return hybridNode{}
	}
	if r := o.Agent.Registration; r != nil && strings.HasPrefix(r.ManagedInstanceID, "mi-") {
		return hybridNode{r.ManagedInstanceID, r.Region, r.Path}
	}
	if v := o.Agent.Vault; v != nil {
		for _, e := range v.Entries {
			if strings.HasPrefix(e.InstanceID, "mi-") {
				return hybridNode{e.InstanceID, e.Region, e.Path}
			}
		}
	}
	return hybridNode{}
}

// onPrem says whether the host is an on-premises hybrid node, and why.
type onPrem struct {
	yes      bool
	evidence []string
}

// onPremises decides that the host is an on-premises (hybrid) node: the
// agent holds a hybrid registration, neither DMI nor the hypervisor names
// EC2 (docs/AGENT-FACTS.md: every EC2 instance has an EC2 DMI or
// hypervisor identity), and IMDS accepted no TCP connection at all. An
// IMDS that answers anything, an EC2 instance ID from any source, or an
// IMDS that was not asked (an offline --root) leaves the question open.
func onPremises(o *obs.Observations) onPrem {
	reg := hybridRegistration(o)
	if reg.id == "" || o.IMDS == nil || o.IMDS.Failure != imds.FailUnreachable {
		return onPrem{}
	}
	if id, _ := ec2InstanceID(o); id != "" {
		return onPrem{}
	}
	if o.Host != nil && o.Host.EC2.Verdict == host.EC2Yes {
		return onPrem{}
	}
	why := "no DMI or hypervisor identity was gathered"
	if o.Host != nil {
		switch e := o.Host.EC2; e.Verdict {
		case host.EC2No:
			why = "no DMI or hypervisor identity file names EC2"
		default:
			why = "no DMI or hypervisor identity names EC2 (" + orUnknown(e.Reason) + ")"
		}
	}
	return onPrem{yes: true, evidence: []string{
		fmt.Sprintf("%s registers this host as hybrid managed node %s in %s", reg.path, reg.id, orUnknown(reg.region)),
		why,
		fmt.Sprintf("IMDS at %s accepts no TCP connection (%s)", o.IMDS.Endpoint, o.IMDS.Class),
	}}
}

// hybridSuccessKinds are the log lines that show ssm honouring the node
// after a failure: a health ping answered, the control channel opened, a
// registration made. "Credentials ready" is not among them: the agent
// reports it from credentials it cached before the node was deregistered.
var hybridSuccessKinds = []journal.Kind{journal.KindHealthPingOK, journal.KindControlChannelUp, journal.KindRegistered}

// diagnoseHybridRegistration reports agent.hybrid-registration-invalid: the
// agent's logs show ssm refusing the hybrid node (InvalidInstanceId: the
// managed node was deregistered) or an activation rejected
// (ActivationExpired, InvalidActivation, InvalidActivationId), and nothing
// the agent logged after that shows ssm honouring the node again. A
// refusal of a managed node other than the one the registration now holds
// is history (the node was registered again since), and so is any of them
// on an EC2 instance whose agent holds no hybrid registration: it takes
// the instance's EC2 identity.
func diagnoseHybridRegistration(in *input) []finding.Finding {
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
	o := in.o
	dereg := logSummary(o, journal.KindNodeDeregistered)
	act := logSummary(o, journal.KindActivationRejected)
	reg := hybridRegistration(o)
	var last time.Time
	for _, k := range hybridSuccessKinds {
		if s := logSummary(o, k); s != nil && s.Last.After(last) {
			last = s.Last
		}
	}
	current := func(s *journal.Summary) bool {
		return s != nil && (last.IsZero() || s.Last.After(last))
	}
	if current(dereg) && reg.id != "" && len(dereg.Values) > 0 && !slices.Contains(dereg.Values, reg.id) {
		dereg = nil // it names another node: this one was registered again since
	}
	if !current(dereg) {
		dereg = nil
	}
	if !current(act) {
		act = nil
	}
	if dereg == nil && act == nil {
		return nil
	}
	if id, _ := ec2InstanceID(o); reg.id == "" && id != "" {
		return nil // no hybrid registration on an EC2 instance: the agent takes its EC2 identity
	}
	node := reg.id
	if node == "" && dereg != nil && len(dereg.Values) > 0 {
		node = dereg.Values[len(dereg.Values)-1]
	}
	region := orPlaceholder(regionOf(o), orPlaceholder(reg.region, "REGION"))
	unit, snap := unitPackage, false
	if o.Agent != nil {
		unit, snap = agentUnit(o.Agent)
	}
	var summary string
	var ev []string
	switch {
	case dereg != nil:
		summary = fmt.Sprintf("Systems Manager no longer knows the hybrid managed node %s: ssm answers InvalidInstanceId (Not existing InstanceId) when the agent asks for the node's credentials, so the node was deregistered (or its registration deleted). The agent gets no credentials, backs off (hibernates) and the node cannot be reached until it is registered again with a new activation.", orPlaceholder(node, "(unknown)"))
		ev = append(ev, summaryEvidence(dereg)...)
	default:
		summary = "Registering this host as a hybrid managed node failed: ssm rejected the activation (" + strings.Join(act.Values, ", ") + "). An activation that expired, was deleted, is used up or whose code and ID do not match cannot register a node; a new one is needed."
		if node != "" {
			summary += fmt.Sprintf(" %s still names %s, the registration from before; a failed registration clears the Vault's, so the agent may hold none.", reg.path, node)
		} else {
			summary += " The agent holds no hybrid registration, so it has no identity here."
		}
	}
	if act != nil {
		ev = append(ev, summaryEvidence(act)...)
	}
	if reg.id != "" {
		ev = append(ev, fmt.Sprintf("%s holds the hybrid registration %s (region %s)", reg.path, reg.id, orUnknown(reg.region)))
	}
	if !last.IsZero() {
		ev = append(ev, "the last sign of ssm honouring the node in the agent's logs: "+last.Format("2006-01-02 15:04:05")+", before the failure")
	} else {
		ev = append(ev, "no health ping answered, control channel opened or registration made in the agent's logs after it")
	}
	return []finding.Finding{in.cat.New(AgentHybridRegistrationInvalid, summary, ev,
		finding.Fill{"REGION": region, "NODE_ID": orPlaceholder(node, "OLD_NODE_ID"), "UNIT": unit, "snap": snap})}
}
