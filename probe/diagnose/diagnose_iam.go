package diagnose

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// codeSuccess is the Code of a usable iam/info or credentials document
// (AWS docs, "Instance metadata categories", iam/info and
// iam/security-credentials/role-name).
const codeSuccess = "Success"

// dhmcRole is the role name the AWS docs use for Default Host Management
// Configuration ("Using the Default Host Management Configuration setting").
const dhmcRole = "AWSSystemsManagerDefaultEC2InstanceManagementRole"

// The instance profile findings.
const (
	IAMNoInstanceProfile finding.ID = "iam.no-instance-profile"
	IAMCredsUnavailable  finding.ID = "iam.credentials-unavailable"
)

// The two fixes of iam.no-instance-profile: attach a profile, or turn on
// Default Host Management Configuration.
const (
	attachProfileFix = "an instance profile whose role has AmazonSSMManagedInstanceCore: aws ec2 associate-iam-instance-profile --instance-id {{.INSTANCE_ID}} --iam-instance-profile Name=PROFILE_NAME --region {{.REGION}}"
	enableDHMCFix    = "Default Host Management Configuration must be turned on for the account and region: aws ssm update-service-setting --setting-id arn:aws:ssm:{{.REGION}}:ACCOUNT_ID:servicesetting/ssm/managed-instance/default-ec2-instance-management-role --setting-value service-role/" + dhmcRole + " --region {{.REGION}}"
)

// iamFamily pairs the findings about the instance's role and its credentials with the rules that raise them.
func iamFamily() family {
	return family{rules: []rule{diagnoseIAM}, entries: []finding.Entry{
		// When DHMC can stand in (dhmcReady), turning it on comes first;
		// otherwise attaching a profile, then what DHMC lacks (dhmc.fill).
		{ID: IAMNoInstanceProfile, Severity: finding.SevFail,
			Title: "No instance profile is attached",
			Fix: finding.FixLines(
				"{{if .dhmcReady}}"+enableDHMCFix, "Or attach "+attachProfileFix+"{{else}}Attach "+attachProfileFix,
				"{{if eq .imdsFix \"hop\"}}For IMDSv2, raise the PUT response hop limit: aws ec2 modify-instance-metadata-options --instance-id {{.INSTANCE_ID}} --http-put-response-hop-limit 2{{.regionFlag}}{{end}}",
				"{{if eq .imdsFix \"endpoint\"}}Make IMDSv2 answer: aws ec2 modify-instance-metadata-options --instance-id {{.INSTANCE_ID}} --http-endpoint enabled{{.regionFlag}}{{end}}",
				"{{if .agentFix}}Update the agent to "+string(agent.MinDefaultHostManagement)+" or later: aws ssm send-command --document-name AWS-UpdateSSMAgent --instance-ids {{.INSTANCE_ID}}{{.regionFlag}} (needs working credentials), or the distribution's package manager.{{end}}",
				"{{if or .imdsFix .agentFix}}Or, once the above is fixed: "+enableDHMCFix+"{{end}}{{end}}"),
			Docs: []string{finding.DocInstanceRole, finding.DocDHMC}},
		// The first fix depends on why the credentials are unusable (cause).
		{ID: IAMCredsUnavailable, Severity: finding.SevFail,
			Title: "The instance role's credentials are unusable",
			Fix: finding.FixLines(
				"{{if eq .cause \"unreadable\"}}Check that role {{.ROLE_NAME}} still exists (aws iam get-role --role-name {{.ROLE_NAME}}) and re-associate the instance profile.{{else if eq .cause \"expired\"}}Check this host's clock first ("+winOr("w32tm /query /status", "timedatectl; chronyc tracking")+"): a clock running ahead makes valid credentials look expired.",
				"If the clock is right, IMDS cannot refresh the role's credentials: re-associate the instance profile: aws ec2 describe-iam-instance-profile-associations --filters Name=instance-id,Values={{.INSTANCE_ID}}{{.regionFlag}}, then aws ec2 replace-iam-instance-profile-association --association-id ASSOCIATION_ID --iam-instance-profile Arn={{.PROFILE_ARN}}{{.regionFlag}}{{else}}"+
					"Let EC2 assume role {{.ROLE_NAME}}: check its trust policy (aws iam get-role --role-name {{.ROLE_NAME}} --query Role.AssumeRolePolicyDocument) allows ec2.amazonaws.com, e.g. aws iam update-assume-role-policy --role-name {{.ROLE_NAME}}"+
					` --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'{{end}}`,
				"Check the role's trust policy (it must trust ec2.amazonaws.com) and that the role still exists; re-associate the instance profile if needed."),
			Docs:      []string{finding.DocInstanceRole},
			DependsOn: []finding.ID{IAMNoInstanceProfile}},
	}}
}

// diagnoseIAM names what keeps the agent from getting credentials through
// the instance profile (docs/FINDINGS.md, "Instance identity and credentials"):
//   - iam.no-instance-profile: meta-data/iam/info is 404. A fail, or a warn
//     when Default Host Management Configuration (DHMC) could stand in,
//     which needs IMDSv2 working and agent 3.2.582.0 or later
//     (docs/AGENT-FACTS.md, "Versions that change what is required").
//   - iam.credentials-unavailable: a role is attached but its credentials
//     document has a Code other than Success, has expired, or cannot be
//     read. No part of the credentials is ever printed: the observation
//     (imds.CredStatus) holds none.
//
// When IMDS did not answer, the profile is unchecked and the imds rules
// speak instead.
func diagnoseIAM(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	id := o.IMDS
	if id == nil {
		return nil
	}
	switch id.Profile.State {
	case imds.ProfileAbsent:
		return []finding.Finding{noInstanceProfile(cat, o)}
	case imds.ProfilePresent:
		if f, ok := credentialsUnavailable(cat, o); ok {
			return []finding.Finding{f}
		}
	}
	return nil
}

// dhmc is whether Default Host Management Configuration could serve this
// instance, with what the probe saw for each of its two needs.
type dhmc struct {
	ok      bool
	have    []string     // needs that are met, in words
	missing []string     // needs that are not met, in words
	fill    finding.Fill // how to meet the missing needs: imdsFix, agentFix
}

// dhmcReadiness checks the two host-side needs of DHMC: IMDSv2 working
// (a token obtained and metadata read with it) and an agent version of
// agent.MinDefaultHostManagement or later. An unknown version counts as
// missing: "not checked" is never "healthy".
func dhmcReadiness(o *obs.Observations) dhmc {
	d := dhmc{fill: finding.Fill{}}
	id := o.IMDS
	if id.Token.Obtained && id.Access == imds.AccessV2 {
		d.have = append(d.have, "IMDSv2 works (token obtained, metadata read with it)")
	} else {
		d.missing = append(d.missing, fmt.Sprintf("IMDSv2 does not work (%s; metadata read %s)", tokenEvidence(id), accessWords(id.Access)))
		if id.Failure == imds.FailTokenTimeout {
			d.fill["imdsFix"] = "hop"
		} else {
			d.fill["imdsFix"] = "endpoint"
		}
	}
	a := o.Agent
	switch {
	case a == nil:
		d.missing = append(d.missing, "the agent version is unknown (the agent facts were not gathered)")
	case bottlerocket(o) != nil:
		d.missing = append(d.missing, "the agent version is unknown here (on Bottlerocket the agent runs in the control container)")
	case !a.Installed:
		d.missing = append(d.missing, "the agent is not installed")
	default:
		v, err := a.ParsedVersion()
		switch {
		case err != nil:
			d.missing = append(d.missing, "the agent version is unknown (no source gave one)")
		case !v.AtLeast(agent.MinDefaultHostManagement):
			d.missing = append(d.missing, fmt.Sprintf("agent %s (from %s) is older than %s", v, a.VersionSource, agent.MinDefaultHostManagement))
			d.fill["agentFix"] = true
		default:
			d.have = append(d.have, fmt.Sprintf("agent %s (from %s) is %s or later", v, a.VersionSource, agent.MinDefaultHostManagement))
		}
	}
	d.ok = len(d.missing) == 0
	return d
}

// noInstanceProfile builds iam.no-instance-profile.
func noInstanceProfile(cat *finding.Catalog, o *obs.Observations) finding.Finding {
	inst, region := instanceOf(o), regionOf(o)
	if region == "" {
		region = "REGION"
	}
	d := dhmcReadiness(o)
	ev := []string{fmt.Sprintf("GET /latest/meta-data/iam/info: HTTP %d (no instance profile on %s)", o.IMDS.Profile.Status, inst)}
	for _, h := range d.have {
		ev = append(ev, "DHMC need met: "+h)
	}
	for _, m := range d.missing {
		ev = append(ev, "DHMC need missing: "+m)
	}
	usesDHMC := false
	if a := o.Agent; a != nil && a.CredentialSource != "" {
		ev = append(ev, fmt.Sprintf("%s: CredentialSource %s", agent.IdentityPath, a.CredentialSource))
		usesDHMC = a.CredentialSource == agent.CredentialSSM
	}
	fill := finding.Fill{"INSTANCE_ID": inst, "REGION": region, "regionFlag": regionFlag(o), "dhmcReady": d.ok}
	logs := dhmcFromLogs(o)
	ev = append(ev, logs.evidence...)
	if d.ok && logs.failed {
		summary := fmt.Sprintf("Instance %s has no instance profile, and Default Host Management Configuration did not stand in: the agent's log shows %s. This host meets its needs (%s), so it is not turned on for the account and region, or its role is missing. The agent has no credentials to reach Systems Manager.",
			inst, logs.words, strings.Join(d.have, "; "))
		return cat.New(IAMNoInstanceProfile, summary, ev, fill)
	}
	if d.ok {
		summary := fmt.Sprintf("Instance %s has no instance profile. Default Host Management Configuration can stand in: %s. It serves only where it is turned on for the account and region.",
			inst, strings.Join(d.have, "; "))
		if usesDHMC {
			summary += " The agent's identity_config.json shows it already gets its credentials that way."
		}
		if logs.succeeded {
			summary += fmt.Sprintf(" The agent's log shows it got them that way at %s UTC.", logs.at.UTC().Format("2006-01-02 15:04:05"))
		}
		return cat.NewAt(IAMNoInstanceProfile, finding.SevWarn, summary, ev, fill)
	}
	summary := fmt.Sprintf("Instance %s has no instance profile, and Default Host Management Configuration cannot stand in: %s. The agent has no credentials to reach Systems Manager.",
		inst, strings.Join(d.missing, "; "))
	if usesDHMC {
		summary += " identity_config.json shows the agent used DHMC before; it cannot now."
	}
	return cat.New(IAMNoInstanceProfile, summary, ev, fill, d.fill)
}

// credentialsUnavailable builds iam.credentials-unavailable when the role's
// credentials document is unusable. It reports false when it is usable or
// was not read. It prints only the document's Code, Message and times.
func credentialsUnavailable(cat *finding.Catalog, o *obs.Observations) (finding.Finding, bool) {
	p := o.IMDS.Profile
	inst := instanceOf(o)
	role := p.Role
	if role == "" {
		role = "ROLE_NAME"
	}
	ev := []string{fmt.Sprintf("instance profile %s on %s", orUnknown(p.ARN), inst)}
	if p.Role != "" {
		ev = append(ev, "role "+p.Role)
	}
	c := p.Credentials
	now := o.StartedAt
	var summary, cause string
	switch {
	case p.InfoCode != "" && p.InfoCode != codeSuccess:
		summary = fmt.Sprintf("The instance profile of %s is attached, but IMDS reports its state as %s instead of Success, so the agent gets no credentials.", inst, p.InfoCode)
		ev = append(ev, "GET /latest/meta-data/iam/info: Code "+p.InfoCode)
	case c == nil:
		return finding.Finding{}, false
	case c.Class != errclass.None:
		summary = fmt.Sprintf("The instance profile of %s is attached, but its credentials document cannot be read, so the agent gets no credentials.", inst)
		ev = append(ev, fmt.Sprintf("credentials: %s %s", c.Class, c.Detail))
		if c.Status != 0 {
			ev = append(ev, fmt.Sprintf("GET /latest/meta-data/iam/security-credentials/%s: HTTP %d", p.Role, c.Status))
		}
		cause = "unreadable"
	case c.Code != "" && c.Code != codeSuccess:
		summary = fmt.Sprintf("Role %s is attached to %s, but IMDS could not get credentials for it: Code %s.", role, inst, c.Code)
		if c.Message != "" {
			summary += " " + c.Message
		}
		ev = append(ev, fmt.Sprintf("GET /latest/meta-data/iam/security-credentials/%s: Code %s", p.Role, c.Code))
		if c.Message != "" {
			ev = append(ev, "Message: "+c.Message)
		}
	case c.Expired:
		summary = fmt.Sprintf("Role %s is attached to %s, but the credentials IMDS hands out expired at %s, so every call the agent signs with them is rejected.",
			role, inst, c.Expiration.UTC().Format(time.RFC3339))
		ev = append(ev, fmt.Sprintf("Expiration %s, LastUpdated %s, probe clock %s",
			c.Expiration.UTC().Format(time.RFC3339), c.LastUpdated.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
		cause = "expired"
	default:
		return finding.Finding{}, false
	}
	return cat.New(IAMCredsUnavailable, summary, ev, idFill(o),
		finding.Fill{"cause": cause, "ROLE_NAME": role, "PROFILE_ARN": p.ARN}), true
}

// dhmcFromLogs reads the agent's log for its Default Host Management
// fallback: `Failed to connect to Systems Manager with SSM role
// credentials`, `Default Host Management Err:` or AWS's `instance
// management role is not configured` is a failure (the catalog's
// credentials-error with the value default-host-management, or
// dhmc-not-configured); `Successfully connected with Systems Manager role
// credentials` (credential-source SSM) a success.
func dhmcFromLogs(o *obs.Observations) dhmcLog {
	var d dhmcLog
	if o.Logs == nil {
		return d
	}
	// fail: the latest failure of Default Host Management itself; anyFail:
	// the latest credentials error of any source; ok: the latest line that
	// shows it serving; held: the latest that shows any credentials.
	var fail, anyFail, ok, held time.Time
	var samples, anySamples []journal.Sample
	later := func(t *time.Time, at time.Time) {
		if at.After(*t) {
			*t = at
		}
	}
	for _, s := range o.Logs.Events {
		switch {
		case s.Kind == journal.KindDHMCNotConfigured,
			s.Kind == journal.KindCredentialsError && slices.Contains(s.Values, journal.CredSourceDHMC):
			later(&fail, s.Last)
			later(&anyFail, s.Last)
			samples = append(samples, s.Samples...)
		case s.Kind == journal.KindCredentialsError:
			later(&anyFail, s.Last)
			anySamples = append(anySamples, s.Samples...)
		case s.Kind == journal.KindCredentialSource && slices.Contains(s.Values, "SSM"):
			later(&ok, s.Last)
			later(&held, s.Last)
		case s.Kind == journal.KindCredentialSource, s.Kind == journal.KindCredentialsReady:
			later(&held, s.Last)
		}
	}
	switch {
	case !fail.IsZero() && fail.After(ok):
		d.failed, d.at = true, fail
		d.words = "it tried and failed at " + fail.UTC().Format("2006-01-02 15:04:05") + " UTC (no valid credentials could be retrieved for ec2 identity)"
		for _, sm := range samples {
			if strings.Contains(sm.Text, "instance management role is not configured") {
				d.words = "it tried and failed at " + fail.UTC().Format("2006-01-02 15:04:05") + " UTC (Systems Manager's instance management role is not configured)"
			}
		}
		seen := map[string]bool{}
		for _, sm := range samples {
			if !seen[sm.Source] && (strings.Contains(sm.Text, "SSM role credentials") || strings.Contains(sm.Text, "Default Host Management") ||
				strings.Contains(sm.Text, "instance management role") || strings.Contains(sm.Text, "no valid credentials")) {
				seen[sm.Source] = true
				d.evidence = append(d.evidence, "agent log: "+sm.Source+": "+sm.Text)
			}
		}
	case !anyFail.IsZero() && anyFail.After(held):
		// The log names no Default Host Management attempt, but its latest
		// credentials line is an error with no credentials after it: the
		// agent has none, so the fallback did not serve (as far as the log
		// goes: it does not say why).
		d.failed, d.at = true, anyFail
		d.words = "the agent's latest credentials line, at " + anyFail.UTC().Format("2006-01-02 15:04:05") + " UTC, is an error and no line after it shows credentials"
		if n := len(anySamples); n > 0 {
			sm := anySamples[n-1]
			d.evidence = append(d.evidence, "agent log: "+sm.Source+": "+sm.Text)
		}
	case !ok.IsZero():
		d.succeeded, d.at = true, ok
		d.evidence = append(d.evidence, "agent log: Successfully connected with Systems Manager role credentials, last at "+ok.UTC().Format("2006-01-02 15:04:05"))
	}
	return d
}
