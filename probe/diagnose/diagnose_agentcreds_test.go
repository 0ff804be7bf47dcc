package diagnose

import (
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

const agentCredsFixtures = "testdata/obs/agentcreds"

// agentCredsFamilies are the families whose findings the agentcreds
// fixtures compare: their own, and those they fold into.
var agentCredsFamilies = []string{"agent.", "iam.", "imds.", "log.", "net.clock-skew"}

// TestDiagnoseAgentCreds table-tests agent.credentials-expired and
// agent.credentials-shadowed from the fixtures in testdata/obs/agentcreds,
// written from agentCredsScenarios (go test -run TestDiagnoseAgentCreds
// ./probe/diagnose -update).
func TestDiagnoseAgentCreds(t *testing.T) {
	fixtureDir(t, agentCredsFixtures, agentCredsScenarios(t), agentCredsFamilies...)
}

// expiredLog is the workers' refusal of the cached credentials
// (sharedprovider.go:82), at t.
func expiredLog(t time.Time, retrieved, expired string) journal.Summary {
	text := t.Format("2006-01-02 15:04:05.0000") + " ERROR [ssm-session-worker] [alice-0a1b2c3d4e5f67890] failed to get credentials: shared credentials are already expired, they were retrieved at " + retrieved + " and expired at " + expired
	return journal.Summary{Kind: journal.KindCredentialsExpired, Count: 4, First: t.Add(-30 * time.Minute), Last: t,
		Classes: nil, Samples: []journal.Sample{{Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:310", Time: t, Text: text}}}
}

// refresherErrorLog is the core agent's refresher failing, at t.
func refresherErrorLog(t time.Time) journal.Summary {
	return journal.Summary{Kind: journal.KindCredentialsError, Count: 2, First: t.Add(-2 * time.Hour), Last: t,
		Values: []string{journal.CredSourceInstanceProfile},
		Samples: []journal.Sample{{Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:120", Time: t,
			Text: t.Format("2006-01-02 15:04:05.0000") + " ERROR [CredentialRefresher] Retrieve credentials produced error: failed to retrieve instance profile role credentials. Err: RequestError: send request failed"}}}
}

// startLog is the core agent's start line, at t.
func startLog(t time.Time) journal.Summary {
	return journal.Summary{Kind: journal.KindAgentVersion, Count: 1, First: t, Last: t, Values: []string{"3.3.1142.0"},
		Samples: []journal.Sample{{Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:1", Time: t,
			Text: t.Format("2006-01-02 15:04:05.0000") + " INFO [amazon-ssm-agent] Starting Core Agent: amazon-ssm-agent - v3.3.1142.0"}}}
}

func agentCredsScenarios(t *testing.T) map[string]fixture {
	c := func(comment string, want []wantFinding, patches ...obj) fixture {
		return idCase(t, comment, want, patches...)
	}
	ws := func(w ...wantFinding) []wantFinding { return w }
	agentP := func(p obj) obj { return obj{"agent": p} }
	shared := func(retrieved, expires string) obj {
		return agentP(obj{"shared_credentials": obj{"retrieved_at": retrieved, "expires_at": expires, "share_file": "/var/lib/amazon/ssm/credentials"}})
	}
	at := func(h, m int) time.Time { return time.Date(2024, 6, 1, h, m, 0, 0, time.UTC) }
	offline := agentP(obj{"running_checked": false, "running": false, "pids": nil, "agents": nil,
		"running_reason": "not checked: offline root", "proxy_checked": false, "proxy_reason": "not checked: offline root"})
	credFile := obj{"path": "/root/.aws/credentials", "profile": "default", "names": arr{"aws_access_key_id", "aws_secret_access_key"}}
	return map[string]fixture{
		"expired-file": c("identity_config.json says the cached credentials expired an hour before the run, and the agent runs: fail, naming both times and the share file, with the restart as the fix.",
			ws(wt(AgentCredentialsExpired, finding.SevFail, "expired at 2024-06-01T11:00:00Z", "retrieved at 2024-06-01T05:00:00Z",
				"CredentialsExpiresAt 2024-06-01T11:00:00Z", "/var/lib/amazon/ssm/credentials (not read)", "sudo systemctl restart amazon-ssm-agent", "1h0m0s after")),
			shared("2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z")),
		"expired-file-snap": c("The same on the snap: the fix restarts the snap.",
			ws(wt(AgentCredentialsExpired, finding.SevFail, "sudo snap restart amazon-ssm-agent")),
			shared("2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z"),
			agentP(obj{"units": arr{obj{"path": "/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service", "enabled": true, "masked": false}}})),
		"expired-log": c("The workers logged `shared credentials are already expired` two minutes before the run, after the refresher's last error, with no credentials after: fail, with both times from the line and the refresher's error as why.",
			ws(wt(AgentCredentialsExpired, finding.SevFail, "expired at 2024-06-01T11:00:00Z", "retrieved at 2024-06-01T05:00:00Z", "refresher",
				"failed to retrieve instance profile role credentials"),
				wt(LogCredentialsError, finding.SevWarn)),
			logsPatch([]journal.Summary{refresherErrorLog(at(10, 50)), expiredLog(at(11, 58), "2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z")})),
		"expired-log-offline": c("An offline --root: only the logs say so, and nothing shows the agent running now: warn.",
			ws(wt(AgentCredentialsExpired, finding.SevWarn, "expired at 2024-06-01T11:00:00Z")),
			obj{"live": false, "imds": nil}, offline,
			logsPatch([]journal.Summary{expiredLog(at(11, 58), "2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z")})),
		"near-miss-expired-just-started": c("Near miss: the cache expired at 11:00, and the agent started 30 s before the run: its refresher, which runs at start, may not have rewritten the file yet: no finding.", nil,
			shared("2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z"), logsPatch([]journal.Summary{startLog(at(11, 59).Add(30 * time.Second))})),
		"expired-file-restarted-long-ago": c("The agent started at 11:30, after the expiry, and half an hour later the cache is still expired: fail.",
			ws(wt(AgentCredentialsExpired, finding.SevFail, "expired at 2024-06-01T11:00:00Z")),
			shared("2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z"), logsPatch([]journal.Summary{startLog(at(11, 30))})),
		"near-miss-expired-log-then-restart": c("Near miss: the workers refused expired credentials at 11:30 and the agent restarted at 11:40 (a start, no credentials line after): the restart supersedes the refusal, and the cache file says nothing: no finding.", nil,
			logsPatch([]journal.Summary{expiredLog(at(11, 30), "2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z"), startLog(at(11, 40))})),
		"expired-file-old-refresher-error": c("The cache expired; the only refresher error is from before the cached credentials were retrieved (overcome then): fail, without blaming it (TestExpiredOldRefresherError).",
			ws(wt(AgentCredentialsExpired, finding.SevFail, "expired at 2024-06-01T11:00:00Z"), wt(LogCredentialsError, finding.SevWarn)),
			shared("2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z"), logsPatch([]journal.Summary{refresherErrorLog(at(4, 0))})),
		"near-miss-not-expired": c("Near miss: the cached credentials expire five hours after the run: no finding.", nil,
			shared("2024-06-01T11:00:00Z", "2024-06-01T17:00:00Z")),
		"near-miss-expired-agent-stopped": c("Near miss: the cache expired, but the agent is not running (a stopped agent renews nothing): agent.not-running only.",
			ws(wt(AgentNotRunning, finding.SevFail)),
			shared("2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z"), agentP(compose(idAgentStopped, idNotRunningWhy).(obj))),
		"near-miss-expired-offline-file": c("Near miss: an offline volume whose cache expired and whose logs say nothing: the instance may simply be stopped: no finding.", nil,
			obj{"live": false, "imds": nil}, offline, shared("2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z")),
		"near-miss-expired-then-ready": c("Near miss: the workers refused expired credentials, then the refresher got new ones (Credentials ready): no finding.", nil,
			logsPatch([]journal.Summary{expiredLog(at(11, 30), "2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z"), credentialsReadyLog(at(11, 40))})),
		"expired-no-profile": c("The cache expired because the instance profile was detached: iam.no-instance-profile is the root cause (a restart alone would not help), and the expiry folds into it.",
			ws(wt(IAMNoInstanceProfile, finding.SevWarn, "HTTP 404", "also explains: The agent runs on cached credentials that have expired", "CredentialsExpiresAt 2024-06-01T11:00:00Z")),
			idNoProfileFull(), shared("2024-06-01T05:00:00Z", "2024-06-01T11:00:00Z")),

		"shadow-credentials-file": c("root's shared credentials file has a [default] profile with an access key: warn naming the file and the keys, never a value.",
			ws(wt(AgentCredentialsShadowed, finding.SevWarn, "/root/.aws/credentials: profile [default] sets aws_access_key_id, aws_secret_access_key (values not shown)", "[default] in /root/.aws/credentials", "sudo systemctl restart amazon-ssm-agent")),
			agentP(obj{"credential_files": arr{credFile}})),
		"shadow-config-profile": c("root's config file has [profile default] with a role to assume: warn.",
			ws(wt(AgentCredentialsShadowed, finding.SevWarn, "/root/.aws/config: profile [profile default] sets role_arn, source_profile")),
			agentP(obj{"credential_files": arr{obj{"path": "/root/.aws/config", "profile": "profile default", "names": arr{"role_arn", "source_profile"}}}})),
		"shadow-environ": c("The running agent's environment sets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: warn naming the variables.",
			ws(wt(AgentCredentialsShadowed, finding.SevWarn, "the running agent's environment (pid 812) sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (values not shown)")),
			agentP(obj{"credential_vars": arr{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}})),
		"shadow-drop-in": c("A drop-in of the agent's unit sets AWS_PROFILE and AWS_SHARED_CREDENTIALS_FILE: warn naming the drop-in.",
			ws(wt(AgentCredentialsShadowed, finding.SevWarn, "/etc/systemd/system/amazon-ssm-agent.service.d/aws.conf: Environment= sets AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE")),
			agentP(obj{"credential_drop_ins": arr{obj{"path": "/etc/systemd/system/amazon-ssm-agent.service.d/aws.conf", "names": arr{"AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"}}}})),
		"shadow-ec2-by-dmi-offline": c("An offline volume whose DMI says EC2, with a [default] credentials profile: warn.",
			ws(wt(AgentCredentialsShadowed, finding.SevWarn, "/root/.aws/credentials")),
			obj{"live": false, "imds": nil}, offline, agentP(obj{"credential_files": arr{credFile}})),
		"near-miss-shadow-hybrid": c("Near miss: a hybrid node outside EC2 (its credentials come from its registration) with a [default] profile: not this finding.",
			ws(wt(IMDSUnreachable, finding.SevInfo)),
			idUnreachable(), obj{"host": obj{"ec2": idNotEC2}}, agentP(obj{"registration": idRegistration, "credential_source": "None", "credential_files": arr{credFile}})),
		"near-miss-shadow-unknown-host": c("Near miss: whether the host is EC2 could not be read (no IMDS, no DMI): not named.", nil,
			obj{"live": false, "imds": nil}, offline, obj{"host": obj{"ec2": idUnknownEC2}}, agentP(obj{"credential_files": arr{credFile}})),
	}
}

// TestExpiredOldRefresherError: a refresher error older than the cached
// credentials is not given as why they expired.
func TestExpiredOldRefresherError(t *testing.T) {
	f := agentCredsScenarios(t)["expired-file-old-refresher-error"]
	for _, x := range Diagnose(&f.Observations) {
		if x.ID != AgentCredentialsExpired {
			continue
		}
		if strings.Contains(x.Summary, "refresher failed") || strings.Contains(strings.Join(x.Evidence, "\n"), "credential refresher:") {
			t.Errorf("an error overcome before the retrieval is blamed: %s %v", x.Summary, x.Evidence)
		}
		return
	}
	t.Fatal("no agent.credentials-expired")
}
