package diagnose

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The instance metadata service findings.
const (
	IMDSUnreachable  finding.ID = "imds.unreachable"
	IMDSTokenTimeout finding.ID = "imds.token-timeout"
	IMDSDisabled     finding.ID = "imds.disabled"
	IMDSUnusable     finding.ID = "imds.unusable"
)

// imdsEnableFix turns the metadata endpoint on.
const imdsEnableFix = "aws ec2 modify-instance-metadata-options --instance-id {{.INSTANCE_ID}} --http-endpoint enabled{{.regionFlag}}"

// imdsPlacementFix is the fix of a metadata service that gives the agent
// nothing: on EC2, turn it on and look for what catches its address; off
// EC2 (hybrid), an activation, or nothing when the agent has one
// (placement.fill).
var imdsPlacementFix = "{{if .hybrid}}{{if .registered}}Nothing to fix for IMDS: a hybrid node does not use it. The agent's credentials come from its registration.{{else}}" +
	"Create an activation and register the agent with it: aws ssm create-activation --iam-role SSM_SERVICE_ROLE --region {{.REGION}}, then: " + winOr("& \"$env:ProgramFiles\\Amazon\\SSM\\amazon-ssm-agent.exe\" -register -code ACTIVATION_CODE -id ACTIVATION_ID -region {{.REGION}}; "+winRestart, "sudo amazon-ssm-agent -register -code ACTIVATION_CODE -id ACTIVATION_ID -region {{.REGION}} && sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}") + "{{end}}{{else}}" +
	"Make sure the metadata endpoint is enabled: " + imdsEnableFix + "\n" +
	"Look for a host firewall rule or route that catches 169.254.169.254: " + winOr("Find-NetRoute -RemoteIPAddress 169.254.169.254; Get-NetFirewallRule -Direction Outbound -Action Block -Enabled True", "sudo iptables -S OUTPUT; sudo nft list ruleset; ip route get 169.254.169.254") + "{{end}}"

// imdsFamily pairs the findings about the instance metadata service with the rules that raise them.
func imdsFamily() family {
	return family{rules: []rule{diagnoseIMDS}, entries: []finding.Entry{
		{ID: IMDSUnreachable, Severity: finding.SevFail,
			Title:     "The instance metadata service cannot be reached",
			Fix:       imdsPlacementFix,
			Docs:      []string{finding.DocIMDSOptions},
			DependsOn: []finding.ID{NetIPv6OnlyEndpoints, IMDSStaleRoute}},
		{ID: IMDSTokenTimeout, Severity: finding.SevFail,
			Title: "IMDSv2 token requests get no answer (hop limit)",
			Fix: finding.FixLines(
				"aws ec2 modify-instance-metadata-options --instance-id {{.INSTANCE_ID}} --http-put-response-hop-limit 2{{.regionFlag}}",
				"Or run the agent (and this probe) in the host's network namespace."),
			Docs: []string{finding.DocIMDSOptions}},
		{ID: IMDSDisabled, Severity: finding.SevFail,
			Title: "The instance metadata service is turned off",
			Fix:   imdsEnableFix,
			Docs:  []string{finding.DocIMDSOptions}},
		// Something answers, but not usefully: a 401 to every request with
		// the token, or nothing readable, gets the placement fix; an iam/info
		// that fails, the search for what answers in IMDS's place.
		{ID: IMDSUnusable, Severity: finding.SevFail,
			Title: "The instance metadata service answers, but not usefully",
			Fix: "{{if .placement}}" + imdsPlacementFix + "{{else}}" +
				"Look for something answering in IMDS's place (a proxy without no_proxy=169.254.169.254, a DNAT rule, a container metadata emulator): " + winOr("Find-NetRoute -RemoteIPAddress 169.254.169.254; netsh winhttp show proxy", "ip route get 169.254.169.254; sudo iptables -t nat -S; sudo nft list ruleset") + "{{end}}",
			Docs: []string{finding.DocIMDSOptions}},
	}}
}

// placeholderInstance stands in for the instance ID in a fix when neither
// IMDS nor the DMI board asset tag gave it.
const placeholderInstance = "INSTANCE_ID"

// diagnoseIMDS names what keeps the instance metadata service from serving
// the agent (docs/FINDINGS.md, "Instance identity and credentials"):
//   - imds.unreachable: no TCP connection, or a connection on which nothing
//     usable is ever answered. It is a fail on EC2 and info elsewhere, where
//     the agent runs in hybrid mode. "On EC2" comes from the host facts (DMI,
//     hypervisor; see ec2Placement), never from IMDS itself.
//   - imds.disabled: 403 (AWS docs, "Use the Instance Metadata Service":
//     403 means the metadata endpoint is turned off).
//   - imds.token-timeout: TCP opens, the IMDSv2 token PUT is never answered,
//     a tokenless GET is: the PUT response hop limit.
//
// Without IMDS observations (an offline --root) it returns nothing: the
// imds check record already says why it did not run.
func diagnoseIMDS(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	id := o.IMDS
	if id == nil {
		return nil
	}
	switch id.Failure {
	case imds.FailUnreachable, imds.FailNoAnswer:
		if _, ok := in.imdsCaptured(); ok {
			return nil // net.local-route names the route that takes it
		}
		return []finding.Finding{imdsUnreachable(cat, o, IMDSUnreachable)}
	case imds.FailUnauthorized, imds.FailOther:
		return []finding.Finding{imdsUnreachable(cat, o, IMDSUnusable)}
	case imds.FailDisabled:
		return []finding.Finding{imdsDisabled(cat, o)}
	case imds.FailTokenTimeout:
		return []finding.Finding{imdsTokenTimeout(cat, o)}
	}
	if id.Profile.State == imds.ProfileError {
		return []finding.Finding{cat.New(IMDSUnusable,
			fmt.Sprintf("The instance metadata service at %s answers, but its meta-data/iam/info fails, so whether an instance profile is attached is unknown and the agent cannot get credentials from it.", id.Endpoint),
			[]string{fmt.Sprintf("GET meta-data/iam/info: HTTP %d %s %s", id.Profile.Status, id.Profile.Class, id.Profile.Detail)})}
	}
	return nil
}

// imdsUnreachable builds id (imds.unreachable, or imds.unusable for a 401
// or nothing readable) for every failure that leaves the agent without
// metadata and is neither 403 nor the hop limit: no TCP, no answer on an
// open connection, every GET refused with 401, or nothing readable at all.
// Off EC2 it is info: the agent runs in hybrid mode there.
func imdsUnreachable(cat *finding.Catalog, o *obs.Observations, fid finding.ID) finding.Finding {
	id := o.IMDS
	pl := ec2Placement(o)
	var summary string
	ev := []string{}
	switch id.Failure {
	case imds.FailUnreachable:
		summary = fmt.Sprintf("There is no TCP connection to the instance metadata service at %s, so the agent can learn neither its region nor its credentials from it.", id.Endpoint)
		ev = append(ev, fmt.Sprintf("connect to %s: %s: %s", id.Endpoint, id.Class, id.Detail))
	case imds.FailNoAnswer:
		summary = fmt.Sprintf("TCP connections to the instance metadata service at %s open, but neither the IMDSv2 token PUT nor a plain GET is answered, so the agent gets no metadata from it. Something on the path (a host firewall, a proxy, a network namespace) swallows the requests.", id.Endpoint)
		ev = append(ev, tokenEvidence(id), tokenlessEvidence(id))
	case imds.FailUnauthorized:
		summary = fmt.Sprintf("The instance metadata service at %s hands out an IMDSv2 token but answers 401 Unauthorized to the metadata requests that carry it, so the agent gets no metadata. Something between the host and IMDS (a proxy or a DNAT rule) is answering in its place, or the token is rejected.", id.Endpoint)
		ev = append(ev, tokenEvidence(id), tokenlessEvidence(id))
		ev = append(ev, fieldEvidence(id, http.StatusUnauthorized)...)
	default:
		summary = fmt.Sprintf("The instance metadata service at %s answers, but no metadata could be read from it, so the agent gets neither its region nor its credentials.", id.Endpoint)
		if id.Detail != "" {
			ev = append(ev, fmt.Sprintf("%s: %s", id.Class, id.Detail))
		}
		ev = append(ev, tokenEvidence(id), tokenlessEvidence(id))
	}
	ev = append(ev, pl.evidence...)
	summary += " " + pl.summary
	sev := (*cat)[fid].Severity
	if !pl.onEC2 {
		sev = finding.SevInfo
	}
	return cat.NewAt(fid, sev, summary, ev, idFill(o), pl.fill(o))
}

// imdsDisabled builds imds.disabled, naming each request that got 403.
func imdsDisabled(cat *finding.Catalog, o *obs.Observations) finding.Finding {
	id := o.IMDS
	var ev []string
	if id.Token.Status == http.StatusForbidden {
		ev = append(ev, "PUT /latest/api/token: HTTP 403")
	}
	if g := id.TokenlessGET; g != nil && g.Status == http.StatusForbidden {
		ev = append(ev, fmt.Sprintf("GET %s without a token: HTTP 403", g.Path))
	}
	ev = append(ev, fieldEvidence(id, http.StatusForbidden)...)
	ev = append(ev, ec2Placement(o).evidence...)
	return cat.New(IMDSDisabled,
		fmt.Sprintf("The instance metadata service at %s answers 403 Forbidden: the metadata endpoint of instance %s is turned off, so the agent gets no identity and no credentials.", id.Endpoint, instanceOf(o)),
		ev, idFill(o))
}

// imdsTokenTimeout builds imds.token-timeout. Whether the tokenless GET got
// 200 (IMDSv1 allowed: the agent falls back after the PUT times out) or 401
// (IMDSv2 required: the agent gets nothing) is evidence, not a second
// finding.
func imdsTokenTimeout(cat *finding.Catalog, o *obs.Observations) finding.Finding {
	id := o.IMDS
	ev := []string{fmt.Sprintf("PUT /latest/api/token: the TCP connection opened, no answer within %d ms (%s)", id.Token.DurationMS, id.Token.Class)}
	summary := fmt.Sprintf("The IMDSv2 token request to %s opens a TCP connection but is never answered, while a request without a token is. The token response dies in transit: the PUT response hop limit of instance %s is too low for a container or a second network namespace.", id.Endpoint, instanceOf(o))
	if g := id.TokenlessGET; g != nil {
		ev = append(ev, fmt.Sprintf("GET %s without a token: HTTP %d", g.Path, g.Status))
		switch {
		case g.Status == http.StatusOK:
			summary += " IMDSv1 is still allowed, so the agent falls back to it after each token timeout (slowly); Default Host Management Configuration needs IMDSv2 and cannot work."
		case g.Status == http.StatusUnauthorized:
			summary += " IMDSv2 is required (a request without a token gets 401), so the agent gets no metadata and no credentials at all."
		}
	}
	ev = append(ev, fmt.Sprintf("metadata read: %s", accessWords(id.Access)))
	return cat.New(IMDSTokenTimeout, summary, ev, idFill(o))
}

// placement is what the host facts say about where the probe runs, for the
// rules whose severity depends on it.
type placement struct {
	onEC2    bool     // treat the host as an EC2 instance
	summary  string   // one sentence for a finding's summary
	evidence []string // the files that decided, and the hybrid registration
}

// ec2Placement decides "on EC2" from the host's DMI and hypervisor identity
// (host.DetectEC2; AWS guide "Detect whether a host is an EC2 instance"),
// never from IMDS, because the question is asked precisely when IMDS
// failed. A host whose identity could not be read is treated as EC2 unless
// the agent holds a hybrid registration: not knowing is never taken as the
// harmless answer.
func ec2Placement(o *obs.Observations) placement {
	var p placement
	var reg string
	if r := hybridRegistration(o); r.id != "" {
		reg = fmt.Sprintf("%s registers this host as hybrid managed node %s in %s", r.path, r.id, orUnknown(r.region))
	}
	verdict, why := host.EC2Unknown, "no host facts were gathered"
	if o.Host != nil {
		e := o.Host.EC2
		verdict = e.Verdict
		switch e.Verdict {
		case host.EC2Yes:
			why = fmt.Sprintf("%s reads %q", e.DecidedBy, evidenceValue(e, e.DecidedBy))
		case host.EC2No:
			var read []string
			for _, x := range e.Evidence {
				if x.Error == "" {
					read = append(read, fmt.Sprintf("%s=%q", x.Path, x.Value))
				}
			}
			why = "no identity file names EC2: " + strings.Join(read, ", ")
		default:
			why = e.Reason
		}
	}
	switch {
	case verdict == host.EC2Yes:
		p.onEC2 = true
		p.summary = "This host is an EC2 instance, so the agent depends on IMDS."
		p.evidence = append(p.evidence, "EC2 instance: "+why)
	case verdict == host.EC2No:
		p.summary = "This host does not look like EC2, so the agent must run in hybrid mode (an activation) instead of using IMDS."
		p.evidence = append(p.evidence, "not EC2: "+why)
	case reg != "" && onPremises(o).yes:
		p.summary = "This host is an on-premises hybrid node: the agent holds a hybrid registration, no DMI or hypervisor identity names EC2 and IMDS accepts no connection, so the agent does not need IMDS."
		p.evidence = append(p.evidence, "EC2 identity unknown: "+why)
	case reg != "":
		p.summary = "Whether this host is EC2 could not be read, but the agent holds a hybrid registration, so it does not need IMDS."
		p.evidence = append(p.evidence, "EC2 identity unknown: "+why)
	default:
		p.onEC2 = true
		p.summary = "Whether this host is EC2 could not be read from DMI or the hypervisor, so the probe assumes it is and that the agent depends on IMDS."
		p.evidence = append(p.evidence, "EC2 identity unknown: "+why)
	}
	if reg != "" {
		p.evidence = append(p.evidence, reg)
	}
	return p
}

// fill fills imdsPlacementFix: off EC2 the host needs a hybrid activation
// (AWS docs, "Setting up Systems Manager for hybrid and multicloud
// environments") in the --region given, or nothing when it already has one.
func (p placement) fill(o *obs.Observations) finding.Fill {
	return finding.Fill{"placement": true, "hybrid": !p.onEC2,
		"registered": hybridRegistration(o).id != "", "REGION": orPlaceholder(regionOf(o), hybridRegistration(o).region)}
}

// evidenceValue returns the value read from path p in e.
func evidenceValue(e host.EC2Identity, p string) string {
	for _, x := range e.Evidence {
		if x.Path == p {
			return x.Value
		}
	}
	return ""
}

// tokenEvidence describes the raw IMDSv2 token PUT. The token itself is
// never part of the observation.
func tokenEvidence(id *imds.Identity) string {
	t := id.Token
	switch {
	case t.Obtained:
		return "PUT /latest/api/token: HTTP 200, token obtained"
	case t.Status != 0:
		return fmt.Sprintf("PUT /latest/api/token: HTTP %d", t.Status)
	case t.TCPOpened:
		return fmt.Sprintf("PUT /latest/api/token: the TCP connection opened, no answer within %d ms (%s)", t.DurationMS, t.Class)
	}
	return fmt.Sprintf("PUT /latest/api/token: %s %s", t.Class, t.Detail)
}

// tokenlessEvidence describes the raw GET sent without a token.
func tokenlessEvidence(id *imds.Identity) string {
	g := id.TokenlessGET
	switch {
	case g == nil:
		return "GET without a token: not sent"
	case g.Status != 0:
		return fmt.Sprintf("GET %s without a token: HTTP %d", g.Path, g.Status)
	}
	return fmt.Sprintf("GET %s without a token: %s %s", g.Path, g.Class, g.Detail)
}

// fieldEvidence lists the metadata GETs that got status, in path order, at
// most maxFieldEvidence of them.
func fieldEvidence(id *imds.Identity, status int) []string {
	const maxFieldEvidence = 3
	var paths []string
	for p, r := range id.Fields {
		if r.Status == status {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var ev []string
	for i, p := range paths {
		if i == maxFieldEvidence {
			ev = append(ev, fmt.Sprintf("… and %d more metadata paths with HTTP %d", len(paths)-i, status))
			break
		}
		tok := "without a token"
		if id.Fields[p].TokenSent {
			tok = "with the IMDSv2 token"
		}
		ev = append(ev, fmt.Sprintf("GET /latest/meta-data/%s %s: HTTP %d", p, tok, status))
	}
	return ev
}

// accessWords says in words how metadata was read.
func accessWords(a imds.Access) string {
	switch a {
	case imds.AccessV2:
		return "with an IMDSv2 token"
	case imds.AccessV1:
		return "only without a token (IMDSv1)"
	}
	return "nothing"
}
