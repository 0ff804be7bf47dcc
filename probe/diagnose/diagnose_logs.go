package diagnose

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The findings read from the agent's logs.
const (
	LogEndpointTimeout       finding.ID = "log.endpoint-timeout"
	LogSessionLoggingBlocked finding.ID = "log.session-logging-blocked"
	LogCredentialsError      finding.ID = "log.credentials-error"
	LogAccessDenied          finding.ID = "log.access-denied"
	LogDNSError              finding.ID = "log.dns-error"
	LogTLSError              finding.ID = "log.tls-error"
	LogProxyError            finding.ID = "log.proxy-error"
	LogThrottled             finding.ID = "log.throttled"
	LogRegistrationPending   finding.ID = "log.registration-pending"
)

// logFamily pairs the findings about the agent's own logs with the rules that raise them.
func logFamily() family {
	return family{rules: []rule{diagnoseLogs}, entries: []finding.Entry{
		{ID: LogEndpointTimeout, Severity: finding.SevWarn,
			Title: "The agent's logs show timeouts to Systems Manager endpoints",
			Fix:   "Run " + winOr(winProbe, "sudo ssm-probe") + " on the instance: it tells an endpoint security group without 443, a missing NAT path and a DNS problem apart. For an interface endpoint, allow inbound 443 on its security group from the VPC CIDR.",
			Docs:  []string{finding.DocAgentLogs, finding.DocVPCEndpoints},
			DependsOn: []finding.ID{NetLocalRoute, NetSharedEndpointBlocked, NetEndpointBlocked, NetNoRoute, DNSEndpointResolvesPub, DNSResolverBypassesVPC,
				DNSHostsStale, DNSEndpointNoAddress, DNSSearchListHijack, DNSResolverError, ProbeUnexplained}},
		{ID: LogSessionLoggingBlocked, Severity: finding.SevWarn,
			Title: "Session logging cannot reach its S3 bucket or CloudWatch log group",
			Fix: finding.FixLines(
				"Systems Manager > Session Manager > Preferences: correct the S3 bucket / CloudWatch log group or turn session logging off (the setting is account- and region-wide).",
				"Add the s3 (gateway) and logs (interface) endpoints or a NAT path, and grant the role s3:PutObject / logs:PutLogEvents for the destination."),
			Docs:      []string{finding.DocSessionLogging},
			DependsOn: []finding.ID{NetOptionalEndpointUnreach, PrefsS3BucketMissing, PrefsLogGroupMissing, PrefsLoggingEndpointUnreach}},
		{ID: LogCredentialsError, Severity: finding.SevWarn,
			Title:     "The agent's logs show credential errors",
			Fix:       "Give the agent credentials: attach an instance profile whose role has AmazonSSMManagedInstanceCore (aws ec2 associate-iam-instance-profile --instance-id INSTANCE_ID --iam-instance-profile Name=PROFILE_NAME), or turn on Default Host Management Configuration for the account and region; " + winOr(winProbe, "sudo ssm-probe") + " on the instance tells which of IMDS, the profile and the role's credentials fails.",
			Docs:      []string{finding.DocInstanceRole, finding.DocDHMC},
			DependsOn: []finding.ID{IAMNoInstanceProfile, IAMCredsUnavailable, IMDSTokenTimeout, IMDSDisabled, IMDSUnreachable, NetLocalRoute}},
		{ID: LogAccessDenied, Severity: finding.SevWarn,
			Title:     "The agent's logs show access denied",
			Fix:       denialFix + "{{else}}Attach AmazonSSMManagedInstanceCore to the instance role: aws iam attach-role-policy --role-name {{.ROLE}} --policy-arn arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore{{end}}",
			Docs:      []string{finding.DocInstanceRole, finding.DocAccessDenied},
			DependsOn: []finding.ID{IAMSSMAccessDenied}},
		{ID: LogDNSError, Severity: finding.SevWarn,
			Title: "The agent's logs show DNS failures",
			Fix:   winOr("Check the adapters' DNS servers (Get-DnsClientServerAddress)", "Check the nameservers in /etc/resolv.conf") + " and the VPC attributes DNS resolution and DNS hostnames; " + winOr(winProbe, "sudo ssm-probe") + " compares the host's resolvers with AmazonProvidedDNS.",
			Docs:  []string{finding.DocAgentLogs},
			DependsOn: []finding.ID{DNSVPCResolverSilent, DNSResolverBypassesVPC, DNSEndpointNoAddress,
				DNSNameserverUnresponsive, DNSResolverError, DNSSearchListHijack, HostResolvConf}},
		{ID: LogTLSError, Severity: finding.SevWarn,
			Title:     "The agent's logs show TLS certificate errors",
			Fix:       "Exempt the Systems Manager endpoints from TLS inspection, or install the Amazon Trust Services roots (ca-certificates).",
			Docs:      []string{finding.DocTroubleshoot},
			DependsOn: []finding.ID{NetTLSFailed}},
		{ID: LogProxyError, Severity: finding.SevWarn,
			Title:     "The agent's logs show proxy errors",
			Fix:       "Check the proxy named in the agent's environment (" + winOr("Get-ItemProperty HKLM:\\SYSTEM\\CurrentControlSet\\Services\\AmazonSSMAgent -Name Environment; netsh winhttp show proxy", "systemctl show {{or .unit \"amazon-ssm-agent\"}} -p Environment") + "); Session Manager needs an http:// proxy that allows CONNECT to the endpoints.",
			Docs:      []string{finding.DocAgentProxy},
			DependsOn: []finding.ID{NetProxyFailed}},
		{ID: LogRegistrationPending, Severity: finding.SevInfo,
			Title: "The agent's last word is a registration still waiting for ssm",
			Fix:   "Run " + winOr(winProbe, "sudo ssm-probe") + " on the instance: a call to ssm that neither succeeds nor fails is usually held by a security group or firewall that drops 443 on the way to the ssm endpoint (for an interface endpoint, allow inbound 443 on its security group from the VPC CIDR).",
			Docs:  []string{finding.DocAgentLogs, finding.DocVPCEndpoints},
			DependsOn: []finding.ID{NetLocalRoute, NetSharedEndpointBlocked, NetEndpointBlocked, NetNoRoute, DNSEndpointResolvesPub, DNSResolverBypassesVPC,
				DNSHostsStale, DNSEndpointNoAddress, DNSSearchListHijack, DNSResolverError, NetProxyFailed, ProbeUnexplained}},
		{ID: LogThrottled, Severity: finding.SevWarn,
			Title: "The agent's logs show API throttling",
			Fix:   "Throttling is usually transient; if it persists, look for many agents or scripts sharing the account's ssm API rate in this region.",
			Docs:  []string{finding.DocTroubleshoot}},
	}}
}

// logRecent is how close to the run a log finding's last occurrence must be
// for it to count as current (docs/FINDINGS.md, "From the agent's logs").
const logRecent = 15 * time.Minute

// logFinding maps an event kind of the journal catalog to its finding, and
// says how a live check shows the same fault still present.
type logFinding struct {
	id      finding.ID
	summary string
	live    func(*input) (bool, string) // nil: no live check can confirm it
}

// logFindings lists the kinds that make findings, in catalog order.
func logFindings() map[journal.Kind]logFinding {
	return map[journal.Kind]logFinding{
		journal.KindEndpointTimeout: {LogEndpointTimeout,
			"The agent's own logs show its connections to the Systems Manager endpoints timing out.", liveEndpointFault},
		journal.KindSessionLoggingBlocked: {LogSessionLoggingBlocked,
			"The session worker cannot reach, or cannot find, the S3 bucket or CloudWatch log group that the account's Session Manager preferences stream session logs to; the agent retries with back-off, so the session screen stays blank for minutes before the prompt appears. The setting is account- and region-wide: someone else may have set it.", liveOptionalFault},
		journal.KindCredentialsError: {LogCredentialsError,
			"The agent's logs show it cannot get credentials.", liveCredentialFault},
		journal.KindDHMCNotConfigured: {LogCredentialsError,
			"The agent's logs show Default Host Management is not set up for this account and region, and no instance profile serves instead.", liveCredentialFault},
		journal.KindAccessDenied: {LogAccessDenied,
			"The agent's calls are denied: its role lacks the permissions of AmazonSSMManagedInstanceCore.", nil},
		journal.KindDNSError: {LogDNSError,
			"The agent's logs show DNS lookups of its endpoints failing.", liveDNSFault},
		journal.KindTLSError: {LogTLSError,
			"The agent's logs show certificate verification failing on its HTTPS connections.", liveTLSFault},
		journal.KindProxyError: {LogProxyError,
			"The agent's logs show its proxy failing.", liveProxyFault},
		journal.KindThrottled: {LogThrottled,
			"The agent's API calls are being throttled.", nil},
	}
}

// diagnoseLogs turns the agent's log summaries into log.* findings. A
// finding is fail when its last occurrence is within logRecent of the run
// and a live check shows the same fault now; otherwise warn.
func diagnoseLogs(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	if o.Logs == nil {
		return nil
	}
	rules := logFindings()
	type found struct {
		severity finding.Severity
		summary  string
		ev       []string
		fill     finding.Fill
	}
	byID := map[finding.ID]*found{}
	var order []finding.ID
	credOK := credentialsSince(o.Logs)
	for _, s := range o.Logs.Events {
		r, ok := rules[s.Kind]
		if !ok {
			continue
		}
		if r.id == LogCredentialsError && !credOK.IsZero() && !credOK.Before(s.Last) {
			continue // the agent got credentials after its last credential error
		}
		if s.Kind == journal.KindCredentialsError {
			r.summary = credentialsSummary(&s)
		}
		ev := summaryEvidence(&s)
		var fill finding.Fill
		if s.Kind == journal.KindAccessDenied {
			if sum, more, f, ok := logDenial(in, &s); ok {
				r.summary, fill = sum, f
				ev = append(ev, more...)
			}
		}
		if r.id == LogEndpointTimeout {
			ev = append(ev, liveAddresses(o, s.Addresses)...)
		}
		severity := finding.SevWarn
		recent := !s.Last.IsZero() && o.StartedAt.Sub(s.Last) <= logRecent
		if o.Live && r.live != nil {
			if now, why := r.live(in); now && recent {
				severity = finding.SevFail
				ev = append(ev, "live check: "+why)
			} else if now {
				ev = append(ev, "live check: "+why+" (last log line older than 15 minutes)")
			} else {
				ev = append(ev, "live check: not seen now")
			}
		}
		if f, seen := byID[r.id]; seen {
			f.ev = append(f.ev, ev...)
			if severity == finding.SevFail {
				f.severity = finding.SevFail
			}
			continue
		}
		byID[r.id] = &found{severity, r.summary, ev, fill}
		order = append(order, r.id)
	}
	var out []finding.Finding
	for _, id := range order {
		f := byID[id]
		out = append(out, cat.NewAt(id, f.severity, f.summary, f.ev, f.fill))
	}
	if f, ok := registrationPending(cat, o.Logs); ok {
		out = append(out, f)
	}
	return out
}

// credentialsSince is the latest time the logs show the agent holding
// credentials: the credential source it settled on, or `Credentials
// ready`; zero when they show none.
func credentialsSince(l *journal.Result) time.Time {
	var t time.Time
	for _, s := range l.Events {
		if (s.Kind == journal.KindCredentialSource || s.Kind == journal.KindCredentialsReady) && s.Last.After(t) {
			t = s.Last
		}
	}
	return t
}

// credentialsSummary says which of the EC2 identity's two credential
// sources the agent's lines show failing (journal.CredSource*): the
// instance profile, Default Host Management, or both.
func credentialsSummary(s *journal.Summary) string {
	ipr := slices.Contains(s.Values, journal.CredSourceInstanceProfile)
	dhmc := slices.Contains(s.Values, journal.CredSourceDHMC)
	noRole := slices.ContainsFunc(s.Samples, func(sm journal.Sample) bool { return strings.Contains(sm.Text, "no EC2 instance role found") })
	profile := "the instance profile gave it none"
	if noRole {
		profile = "no instance profile is attached (EC2RoleRequestError: no EC2 instance role found)"
	}
	switch {
	case ipr && dhmc:
		return "The agent's logs show it has no credentials from either source: " + profile + ", and Default Host Management, its fallback, failed too (no valid credentials could be retrieved for ec2 identity)."
	case ipr:
		return "The agent's logs show it cannot get credentials from the instance profile: " + profile + "."
	case dhmc:
		return "The agent's logs show Default Host Management failing to give it credentials."
	}
	return "The agent's logs show it cannot get credentials."
}

// registrationPending builds log.registration-pending when the agent's last
// word on its EC2 registration is `Registering EC2 instance with Systems
// Manager` with no outcome after it: the RegisterManagedInstance call is
// still waiting, as calls do when 443 to ssm is dropped. It is information,
// not an error: the logs hold none.
func registrationPending(cat *finding.Catalog, l *journal.Result) (finding.Finding, bool) {
	var reg *journal.Summary
	var outcome time.Time
	for i := range l.Events {
		s := &l.Events[i]
		switch s.Kind {
		case journal.KindRegistering:
			reg = s
		case journal.KindRegistered, journal.KindRegistrationFailed, journal.KindCredentialSource:
			if s.Last.After(outcome) {
				outcome = s.Last
			}
		}
	}
	if reg == nil || reg.Last.IsZero() || !reg.Last.After(outcome) {
		return finding.Finding{}, false
	}
	var end time.Time
	for _, src := range l.Sources {
		if src.Last.After(end) {
			end = src.Last
		}
	}
	summary := fmt.Sprintf("The agent began registering with Systems Manager at %s UTC (Registering EC2 instance with Systems Manager) and its logs hold no outcome after it, neither success nor failure: its RegisterManagedInstance call to ssm is still waiting.",
		reg.Last.UTC().Format("2006-01-02 15:04:05"))
	if end.After(reg.Last) {
		summary += fmt.Sprintf(" The logs read end %s later.", end.Sub(reg.Last).Round(time.Second))
	}
	ev := []string{}
	if n := len(reg.Samples); n > 0 {
		sm := reg.Samples[n-1]
		ev = append(ev, fmt.Sprintf("%s: %s", sm.Source, sm.Text))
	}
	if !end.IsZero() {
		ev = append(ev, "last line of the logs read: "+end.UTC().Format("2006-01-02 15:04:05"))
	}
	return cat.New(LogRegistrationPending, summary, ev), true
}

// liveAddresses cross-references addresses named in the logs with the
// endpoint addresses the live checks tried.
func liveAddresses(o *obs.Observations, addrs []string) []string {
	var ev []string
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil {
			continue
		}
		for _, n := range o.Net {
			if n.Addr == ap.Addr() {
				stage, class := n.Failed()
				state := "answers over HTTPS now"
				if stage != obs.NetNone {
					state = fmt.Sprintf("%s %s now", strings.ToUpper(string(stage)), class)
				}
				ev = append(ev, fmt.Sprintf("%s from the logs is a live address of %s: %s", ap.Addr(), n.Host, state))
				break
			}
		}
	}
	return ev
}

func liveEndpointFault(in *input) (bool, string) {
	for _, v := range in.views {
		if !v.Endpoint.Required {
			continue
		}
		addrs, _ := v.AgentAddrs()
		if v.Tried(addrs) && !v.Reached(addrs) {
			return true, v.Endpoint.Host + " does not answer now: " + netSummary(&v, addrs)
		}
	}
	return false, ""
}

func liveOptionalFault(in *input) (bool, string) {
	for _, v := range in.views {
		if v.Endpoint.Service != obs.ServiceS3 && v.Endpoint.Service != obs.ServiceLogs {
			continue
		}
		addrs, _ := v.AgentAddrs()
		if len(addrs) == 0 && v.Agent != nil {
			return true, v.Endpoint.Host + " has no address now"
		}
		if v.Tried(addrs) && !v.Reached(addrs) {
			return true, v.Endpoint.Host + " does not answer now: " + netSummary(&v, addrs)
		}
	}
	return false, ""
}

func liveCredentialFault(in *input) (bool, string) {
	o := in.o
	id := o.IMDS
	switch {
	case id == nil:
		return false, ""
	case id.Failure != imds.FailNone:
		return true, "IMDS: " + string(id.Failure)
	case id.Profile.State == imds.ProfileAbsent:
		return true, "no instance profile is attached now"
	case id.Profile.Credentials != nil && (id.Profile.Credentials.Code != "Success" || id.Profile.Credentials.Expired):
		return true, "the role's credentials are unusable now"
	}
	return false, ""
}

func liveDNSFault(in *input) (bool, string) {
	o := in.o
	for _, a := range o.AgentDNS {
		if a.Answer.Class != errclass.None {
			return true, fmt.Sprintf("%s: %s now", a.Host, a.Answer.Class)
		}
	}
	return false, ""
}

func liveTLSFault(in *input) (bool, string) {
	o := in.o
	for _, n := range o.Net {
		if n.TLS != nil && !n.TLS.OK {
			return true, fmt.Sprintf("%s (%s): %s now", n.Host, n.Addr, n.TLS.Class)
		}
	}
	return false, ""
}

func liveProxyFault(in *input) (bool, string) {
	o := in.o
	for _, p := range o.Proxy {
		if stage, class, _ := p.Failed(); stage != obs.ProxyNone {
			return true, fmt.Sprintf("%s via %s: %s %s now", p.Host, p.Proxy, stage, class)
		}
	}
	return false, ""
}
