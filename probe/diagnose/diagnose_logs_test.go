package diagnose

import (
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
)

const logFixtures = "testdata/obs/logs"

// TestDiagnoseLogs table-tests the log.* rules and their cross-reference
// with live checks, from the fixtures in testdata/obs/logs.
func TestDiagnoseLogs(t *testing.T) {
	fixtureDir(t, logFixtures, logScenarios())
}

var runAt = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func withLogs(s *probetest.Scen, live bool, events ...journal.Summary) *probetest.Scen {
	s.O.StartedAt = runAt
	s.O.Live = live
	if !live { // ssm-probe logs: nothing but the logs was observed
		s.O.Resolv, s.O.Plan, s.O.IMDS = nil, nil, nil
	}
	s.O.Logs = &journal.Result{Sources: []journal.Source{{Name: "/var/log/amazon/ssm/amazon-ssm-agent.log",
		Kind: journal.SourceFile, Status: journal.StatusRead}}, Events: events}
	return s
}

func event(k journal.Kind, ago time.Duration, addrs ...string) journal.Summary {
	return journal.Summary{Kind: k, Count: 12, First: runAt.Add(-ago - time.Hour), Last: runAt.Add(-ago),
		Addresses: addrs, Samples: []journal.Sample{{Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:42",
			Text: "2026-11-22 09:59:00.0000 ERROR [HealthCheck] error when calling AWS APIs"}}}
}

// deniedEvent is an access-denied summary whose sample is an agent line
// quoting the service's message, ending in clause.
func deniedEvent(clause string) journal.Summary {
	e := event(journal.KindAccessDenied, time.Minute)
	action := "ssm:UpdateInstanceInformation"
	if strings.Contains(clause, "service control") {
		action = "ssmmessages:CreateDataChannel"
	}
	e.Samples = []journal.Sample{{Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:42",
		Text: "2026-11-22 09:59:00.0000 ERROR [HealthCheck] error when calling AWS APIs. error details - AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/app-ssm-role/i-0123456789abcdef0 is not authorized to perform: " + action + " on resource: arn:aws:ec2:ap-northeast-1:123456789012:instance/i-0123456789abcdef0 " + clause}}
	return e
}

// credEvent is a credentials-error summary naming the sources that failed,
// with the real agent's words (journal/testdata/real/no-instance-profile).
func credEvent(ago time.Duration, sources ...string) journal.Summary {
	e := event(journal.KindCredentialsError, ago)
	e.Values = sources
	e.Samples = []journal.Sample{{Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:23",
		Text: "2026-12-06 23:30:29.2900 WARN EC2RoleProvider Failed to connect to Systems Manager with instance profile role credentials. Err: retrieved credentials failed to report to ssm. Error: EC2RoleRequestError: no EC2 instance role found"}}
	return e
}

// regEvent is one registration line of the real agent (journal/testdata/real).
func regEvent(k journal.Kind, ago time.Duration) journal.Summary {
	text := map[journal.Kind]string{
		journal.KindRegistering:        "2026-12-06 23:31:53.0124 INFO [EC2Identity] Registering EC2 instance with Systems Manager",
		journal.KindRegistered:         "2026-12-06 23:29:02.2835 INFO [EC2Identity] EC2 registration was successful.",
		journal.KindRegistrationFailed: "2026-12-06 23:33:52.9925 ERROR [Registrar] failed to register identity: error calling RegisterManagedInstance API: RequestError: send request failed",
	}[k]
	return journal.Summary{Kind: k, Count: 1, First: runAt.Add(-ago), Last: runAt.Add(-ago),
		Samples: []journal.Sample{{Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:18", Time: runAt.Add(-ago), Text: text}}}
}

func logScenarios() map[string]fixture {
	none := errclass.None
	vpce := []string{"10.0.1.X"}
	healthy := func() *probetest.Scen {
		return probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
			Agent("10.0.0.2", none, vpce)
	}
	return map[string]fixture{
		"timeouts-logs-only": fx("ssm-probe logs on an agent's endpoint timeouts: no live check, so warn.",
			withLogs(probetest.NewScen(nil), false, event(journal.KindEndpointTimeout, 5*time.Minute, "172.30.4.52:443")),
			w(LogEndpointTimeout, finding.SevWarn)),
		"timeouts-folded-into-blocked": fx("Live: the log timeouts are evidence of net.endpoint-blocked, not a second finding.",
			withLogs(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, []string{"10.0.4.X"}).
				Answer("169.254.169.253", none, []string{"10.0.4.X"}).Agent("10.0.0.2", none, []string{"10.0.4.X"}).
				Net("10.0.4.X", "timeout"), true, event(journal.KindEndpointTimeout, 2*time.Minute, "10.0.4.11:443")),
			w(NetEndpointBlocked, finding.SevFail)),
		"timeouts-in-the-past": fx("Old timeouts, everything answers now: warn, not fail.",
			withLogs(healthy().Net("10.0.1.X", "ok"), true, event(journal.KindEndpointTimeout, 3*time.Hour, "10.0.1.11:443")),
			w(LogEndpointTimeout, finding.SevWarn)),
		"session-logging-s3-blocked": fx("The logs show the DataBackend HEAD retries and the s3 endpoint does not answer: one fail finding.",
			withLogs(healthy().Net("10.0.1.X", "ok", "ssm", "ssmmessages", "ec2messages", "logs", "kms").Net("10.0.1.X", "timeout", "s3"),
				true, event(journal.KindSessionLoggingBlocked, time.Minute)),
			w(NetOptionalEndpointUnreach, finding.SevFail)),
		"session-logging-logs-only": fx("The session worker's HEAD retries through ssm-probe logs: warn.",
			withLogs(probetest.NewScen(nil), false, event(journal.KindSessionLoggingBlocked, time.Minute)),
			w(LogSessionLoggingBlocked, finding.SevWarn)),
		"access-denied": fx("AccessDenied on ssm calls: the role lacks the managed policy; no live check confirms it.",
			withLogs(healthy().Net("10.0.1.X", "ok"), true, event(journal.KindAccessDenied, time.Minute)),
			w(LogAccessDenied, finding.SevWarn)),
		"access-denied-vpce": fx("The agent's UpdateInstanceInformation is denied because no VPC endpoint policy allows it, and its ssm path uses an endpoint address: the endpoint policy alone.",
			withLogs(healthy().Net("10.0.1.X", "ok"), true, deniedEvent("because no VPC endpoint policy allows the ssm:UpdateInstanceInformation action")),
			wtn(LogAccessDenied, finding.SevWarn, []string{"VPC endpoint policy", "describe-vpc-endpoints", "ssm:UpdateInstanceInformation", "app-ssm-role", "a private address"},
				"attach-role-policy", "organizations", "does not fit")),
		"access-denied-vpce-public": fx("The agent's log names a VPC endpoint policy while its ssm path uses public addresses: named, and said not to fit.",
			withLogs(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").
				Answer("10.0.0.2", errclass.None, []string{"52.119.0.X"}).
				Agent("10.0.0.2", errclass.None, []string{"52.119.0.X"}).
				Net("52.119.0.X", "ok"), true, deniedEvent("because no VPC endpoint policy allows the ssm:UpdateInstanceInformation action")),
			wtn(LogAccessDenied, finding.SevWarn, []string{"VPC endpoint policy", "does not fit"})),
		"access-denied-scp-logs-only": fx("ssm-probe logs: CreateDataChannel denied by an explicit deny in an SCP names the SCP alone.",
			withLogs(probetest.NewScen(nil), false, deniedEvent("with an explicit deny in a service control policy")),
			wtn(LogAccessDenied, finding.SevWarn, []string{"service control policy", "SERVICE_CONTROL_POLICY", "app-ssm-role"}, "describe-vpc-endpoints", "attach-role-policy")),
		"credentials-logs-only": fx("Credential errors through ssm-probe logs: warn.",
			withLogs(probetest.NewScen(nil), false, event(journal.KindCredentialsError, time.Minute)),
			w(LogCredentialsError, finding.SevWarn)),
		"dns-errors-logs-only": fx("Lookup failures through ssm-probe logs: warn.",
			withLogs(probetest.NewScen(nil), false, event(journal.KindDNSError, time.Minute)),
			w(LogDNSError, finding.SevWarn)),
		"dns-errors-folded-into-resolver-error": fx("Live: the resolver answers SERVFAIL; the agent's lookup errors are its evidence, not a second finding.",
			withLogs(probetest.NewScen([]string{"10.0.9.9"}, "10.0.0.0/16").Rcode("10.0.9.9", errclass.ServFail, "SERVFAIL").
				Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				AgentFail("10.0.9.9", errclass.ServFail, "SERVFAIL"), true, event(journal.KindDNSError, time.Minute)),
			w(DNSResolverError, finding.SevFail)),
		"tls-errors-logs-only": fx("Certificate errors through ssm-probe logs: warn.",
			withLogs(probetest.NewScen(nil), false, event(journal.KindTLSError, time.Minute)),
			w(LogTLSError, finding.SevWarn)),
		"proxy-errors-logs-only": fx("proxyconnect errors through ssm-probe logs: warn.",
			withLogs(probetest.NewScen(nil), false, event(journal.KindProxyError, time.Minute)),
			w(LogProxyError, finding.SevWarn)),
		"throttled-logs-only": fx("ThrottlingException through ssm-probe logs: warn.",
			withLogs(probetest.NewScen(nil), false, event(journal.KindThrottled, time.Minute)),
			w(LogThrottled, finding.SevWarn)),
		"credentials-both-sources-logs-only": fx("The real agent with no instance profile and no Default Host Management, through ssm-probe logs: one warn that names both missing sources.",
			withLogs(probetest.NewScen(nil), false, credEvent(2*time.Minute, journal.CredSourceInstanceProfile, journal.CredSourceDHMC)),
			wt(LogCredentialsError, finding.SevWarn, "from either source", "no instance profile is attached", "Default Host Management, its fallback, failed too")),
		"credentials-recovered": fx("Near miss: a credential error, then the agent settled on the instance profile (Successfully connected with instance profile role credentials): no finding.",
			withLogs(probetest.NewScen(nil), false, credEvent(10*time.Minute, journal.CredSourceInstanceProfile),
				journal.Summary{Kind: journal.KindCredentialSource, Count: 1, First: runAt.Add(-5 * time.Minute), Last: runAt.Add(-5 * time.Minute), Values: []string{"EC2"}})),
		"registration-pending-logs-only": fx("The real agent behind a security group that drops 443: its last word is Registering EC2 instance with Systems Manager, with no outcome: an info, no error.",
			withLogs(probetest.NewScen(nil), false, regEvent(journal.KindRegistering, 75*time.Second)),
			wt(LogRegistrationPending, finding.SevInfo, "Registering EC2 instance with Systems Manager", "still waiting")),
		"registration-done-logs-only": fx("Near miss: Registering, then EC2 registration was successful.: nothing to say.",
			withLogs(probetest.NewScen(nil), false, regEvent(journal.KindRegistering, 2*time.Minute), regEvent(journal.KindRegistered, 2*time.Minute-5*time.Millisecond))),
		"registration-failed-logs-only": fx("Near miss: Registering, then failed to register identity: not pending (the failure's own kinds speak).",
			withLogs(probetest.NewScen(nil), false, regEvent(journal.KindRegistering, 2*time.Minute), regEvent(journal.KindRegistrationFailed, time.Minute))),
		"registration-pending-folded-into-blocked": fx("Live: the endpoint drops 443, and the agent's registration waits: the pending registration is evidence of net.endpoint-blocked.",
			withLogs(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, []string{"10.0.4.X"}).
				Answer("169.254.169.253", none, []string{"10.0.4.X"}).Agent("10.0.0.2", none, []string{"10.0.4.X"}).
				Net("10.0.4.X", "timeout"), true, regEvent(journal.KindRegistering, 2*time.Minute)),
			w(NetEndpointBlocked, finding.SevFail)),
		"healthy-quiet-logs": fx("Nothing in the logs, everything answers.",
			withLogs(healthy().Net("10.0.1.X", "ok"), true, event(journal.KindControlChannelUp, time.Minute))),
	}
}
