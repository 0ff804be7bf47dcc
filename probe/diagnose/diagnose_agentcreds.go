package diagnose

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The findings about the credentials the agent holds or would be handed.
const (
	AgentCredentialsExpired  finding.ID = "agent.credentials-expired"
	AgentCredentialsShadowed finding.ID = "agent.credentials-shadowed"
)

// Where AWS documents the credentials the agent stores and which
// credentials take precedence over the instance role.
const (
	docAgentCredentials   = "https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-technical-details.html"
	docCredentialsOrder   = "https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-technical-details.html#credentials-precedence"
	docSDKCredentialChain = "https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html"
)

// agentCredsFamily pairs the findings about the agent's credentials with
// their rules.
func agentCredsFamily() family {
	restart := "{{if .windows}}" + winRestart + "{{else if .snap}}sudo snap restart amazon-ssm-agent{{else}}sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}{{end}}"
	return family{rules: []rule{credentialsExpired, credentialsShadowed}, entries: []finding.Entry{
		{ID: AgentCredentialsExpired, Severity: finding.SevFail,
			Title: "The agent runs on cached credentials that have expired",
			Fix:   "Restart the agent so that it fetches new credentials and rewrites its cache: " + restart + "; if they expire again, its credential refresher is failing: " + winOr("Select-String -Pattern credential -Path \""+winAgentLog+"\"", "sudo grep -i credential /var/log/amazon/ssm/amazon-ssm-agent.log") + " names why.",
			Docs:  []string{docAgentCredentials, finding.DocAgentStatus},
			DependsOn: []finding.ID{IAMNoInstanceProfile, IAMCredsUnavailable, IMDSTokenTimeout, IMDSDisabled, IMDSUnreachable,
				IMDSUnusable, NetClockSkew}},
		{ID: AgentCredentialsShadowed, Severity: finding.SevWarn,
			Title: "Credentials other than the instance role's are set for the agent",
			Fix:   "Remove what takes precedence over the instance role ({{.WHERE}}): delete the default profile's credentials from root's AWS files (keep credentials a script needs under a named profile it selects with --profile) and the AWS_* credential variables from the agent's unit (sudo systemctl edit " + "{{or .unit \"amazon-ssm-agent\"}}), then restart the agent: " + restart,
			Docs:  []string{docCredentialsOrder, docSDKCredentialChain}},
	}}
}

// credentialsStartGrace is how long after its start the agent is given to
// rewrite an expired cache: its refresher fetches credentials at start,
// within seconds when the role answers.
const credentialsStartGrace = 2 * time.Minute

// expiredLineRE reads the two times of the shared provider's refusal
// (sharedprovider.go:82).
var expiredLineRE = regexp.MustCompile(`retrieved at (\S+) and expired at (\S+)`)

// credentialsExpired builds agent.credentials-expired: the running agent's
// identity_config.json says its cached credentials expired before the run,
// or its logs hold the workers' refusal of them (`shared credentials are
// already expired, …`) with no credentials after it. An agent that is not
// running is agent.not-running's; a stopped agent's cache expires as a
// matter of course.
func credentialsExpired(in *input) []finding.Finding {
	o := in.o
	a := o.Agent
	if a == nil || (a.RunningChecked && !a.Running) {
		return nil
	}
	running := a.RunningChecked && a.Running
	var ev []string
	var retrieved, expires string
	var retrievedAt time.Time
	sev := finding.SevWarn
	start := time.Time{}
	if o.Logs != nil {
		start = lastStart(o.Logs)
	}
	// An agent that started after the expiry, moments before the run, may
	// not have rewritten its cache yet: its refresher runs at start.
	justStarted := !start.IsZero() && o.StartedAt.Sub(start) < credentialsStartGrace
	if c := a.SharedCredentials; c != nil && running && !c.ExpiresAt.IsZero() && c.ExpiresAt.Before(o.StartedAt) &&
		!(justStarted && start.After(c.ExpiresAt)) {
		sev = finding.SevFail
		expires, retrieved, retrievedAt = rfc3339(c.ExpiresAt), rfc3339(c.RetrievedAt), c.RetrievedAt
		ev = append(ev, fmt.Sprintf("%s: CredentialsExpiresAt %s, CredentialsRetrievedAt %s; the run began %s, %s after the expiry",
			agent.IdentityPath, expires, orUnknown(retrieved), rfc3339(o.StartedAt), o.StartedAt.Sub(c.ExpiresAt).Round(time.Second)))
		if c.ShareFile != "" {
			ev = append(ev, "the cached credentials are in "+c.ShareFile+" (not read)")
		}
		ev = append(ev, fmt.Sprintf("the agent is running (pid %s)", pidList(a.PIDs)))
	}
	if s := logSummary(o, journal.KindCredentialsExpired); s != nil {
		// Credentials got, or an agent start, after the refusal supersede it.
		if since := credentialsSince(o.Logs); (since.IsZero() || since.Before(s.Last)) && !start.After(s.Last) {
			if recentLog(o, s) && running {
				sev = finding.SevFail
			}
			if n := len(s.Samples); n > 0 && expires == "" {
				if m := expiredLineRE.FindStringSubmatch(s.Samples[n-1].Text); m != nil {
					retrieved, expires = strings.TrimRight(m[1], ",."), strings.TrimRight(m[2], ",.")
					retrievedAt, _ = time.Parse(time.RFC3339, retrieved)
				}
			}
			ev = append(ev, summaryEvidence(s)...)
		}
	}
	if len(ev) == 0 {
		return nil
	}
	summary := fmt.Sprintf("The agent's cached credentials expired at %s (retrieved at %s) and were not renewed: its credential refresher has stopped replacing them, so its workers refuse them (shared credentials are already expired) and sessions and commands fail to authenticate, while the instance role itself may be fine.",
		orUnknown(expires), orUnknown(retrieved))
	// The refresher's errors since the cached credentials were retrieved
	// say why it stopped; older ones were overcome.
	if ce := logSummary(o, journal.KindCredentialsError); ce != nil && (retrievedAt.IsZero() || ce.Last.After(retrievedAt)) {
		summary += " The logs show why the refresher failed; its latest lines are below."
		if n := len(ce.Samples); n > 0 {
			sm := ce.Samples[n-1]
			ev = append(ev, fmt.Sprintf("credential refresher: %s: %s", sm.Source, sm.Text))
		}
	}
	if fault, why := liveCredentialFault(in); fault {
		// The instance role gives no credentials now: a restart would not
		// help, and the iam.* or imds.* finding it folds into names why.
		sev = finding.SevWarn
		ev = append(ev, "live check: "+why)
	}
	f := in.cat.NewAt(AgentCredentialsExpired, sev, summary, ev, agentFill(o))
	return []finding.Finding{f}
}

// rfc3339 formats t in UTC; "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// pidList joins pids with commas.
func pidList(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = fmt.Sprint(p)
	}
	return orUnknown(strings.Join(s, ", "))
}

// onEC2Identity reports whether the agent's identity is EC2's: the host is
// an EC2 instance (IMDS or DMI) and no hybrid registration overrides it.
func onEC2Identity(o *obs.Observations) bool {
	if o.Agent != nil && o.Agent.Registration != nil {
		return false
	}
	if id, _ := ec2InstanceID(o); id != "" {
		return true
	}
	return o.Host != nil && o.Host.EC2.Verdict == host.EC2Yes
}

// credentialsShadowed builds agent.credentials-shadowed: on an EC2
// identity, root's AWS files give a default profile credentials, or the
// agent's environment or a drop-in of its unit sets credential variables,
// all of which the AWS SDKs and CLI take before the instance role. Only
// file and variable names are shown, never a value.
func credentialsShadowed(in *input) []finding.Finding {
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
	o := in.o
	a := o.Agent
	if a == nil || !onEC2Identity(o) {
		return nil
	}
	var e evidence
	var where []string
	for _, f := range a.CredentialFiles {
		e.lines = append(e.lines, fmt.Sprintf("%s: profile [%s] sets %s (values not shown)", f.Path, f.Profile, strings.Join(f.Names, ", ")))
		where = append(where, fmt.Sprintf("[%s] in %s", f.Profile, f.Path))
	}
	if len(a.CredentialVars) > 0 {
		e.lines = append(e.lines, fmt.Sprintf("the running agent's environment (pid %s) sets %s (values not shown)", pidList(a.PIDs), strings.Join(a.CredentialVars, ", ")))
		where = append(where, strings.Join(a.CredentialVars, ", ")+" in the agent's environment")
	}
	for _, f := range a.CredentialDropIns {
		e.lines = append(e.lines, fmt.Sprintf("%s: Environment= sets %s (values not shown)", f.Path, strings.Join(f.Names, ", ")))
		where = append(where, strings.Join(f.Names, ", ")+" in "+f.Path)
	}
	if len(e.lines) == 0 {
		return nil
	}
	summary := fmt.Sprintf("This EC2 instance's agent would be handed credentials other than its instance role's: %s. The AWS SDKs and CLI take environment variables, then the shared credentials and config files' profile, before the instance role, so the agent (3.1.1927.0 and earlier) and the AWS calls of the commands it runs as root go out as that other identity, and fail once its keys are revoked or lack the permissions.",
		strings.Join(where, "; "))
	fill := agentFill(o)
	fill["WHERE"] = strings.Join(where, "; ")
	return in.found(AgentCredentialsShadowed, summary, e, fill)
}
