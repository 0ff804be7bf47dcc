package diagnose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

const channelFixtures = "testdata/obs/channel"

// TestDiagnoseChannel table-tests agent.control-channel-down from the
// fixtures in testdata/obs/channel, written from channelScenarios (go test
// -run TestDiagnoseChannel ./probe/diagnose -update).
func TestDiagnoseChannel(t *testing.T) {
	fixtureDir(t, channelFixtures, channelScenarios())
}

const agentLog = "/var/log/amazon/ssm/amazon-ssm-agent.log"

// chLine is one dated line of the agent's log, ago before runAt.
func chLine(n int, ago time.Duration, text string) journal.Sample {
	at := runAt.Add(-ago)
	return journal.Sample{Source: agentLog + ":" + itoa(n), Time: at,
		Text: at.Format("2006-01-02 15:04:05.0000") + " " + text}
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

// chSummary is a summary of kind k made of lines.
func chSummary(k journal.Kind, lines ...journal.Sample) journal.Summary {
	s := journal.Summary{Kind: k, Count: len(lines), First: lines[0].Time, Last: lines[len(lines)-1].Time}
	s.Samples = lines
	return s
}

// The real agent's control channel lines (journal/testdata/real/healthy-vpce,
// lines 86 and 87) and its failures (controlchannel.go:93, :134).
func chUp(n int, ago time.Duration) journal.Sample {
	return chLine(n, ago, "INFO [ssm-agent-worker] [MessageService] [MGSInteractor] Set up control channel successfully")
}

func chStatus(n int, ago time.Duration, channel string) journal.Sample {
	return chLine(n, ago, "INFO [ssm-agent-worker] [MessageService] [MGSInteractor] SSM Connection channel status is set to "+channel)
}

func chReconnectFailed(n int, ago time.Duration) journal.Sample {
	return chLine(n, ago, "ERROR [ssm-agent-worker] [MessageService] [MGSInteractor] failed to reconnect to the control channel with error: failed to reconnect controlchannel with error: failed to connect controlchannel with error: dial tcp 10.0.1.12:443: i/o timeout")
}

func chTokenFailed(n int, ago time.Duration) journal.Sample {
	return chLine(n, ago, "ERROR [ssm-agent-worker] [MessageService] [MGSInteractor] Failed to get controlchannel token, error: CreateControlChannel failed with error: createControlChannel request failed: unexpected response from the service <BadRequest>")
}

func channelScenarios() map[string]fixture {
	none := errclass.None
	vpce := []string{"10.0.1.X"}
	healthy := func() *probetest.Scen {
		return probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
			Agent("10.0.0.2", none, vpce).Net("10.0.1.X", "ok")
	}
	withAgent := func(s *probetest.Scen, version string, running bool) *probetest.Scen {
		s.O.Agent = &agent.Facts{Root: "/", Installed: true, Version: version, VersionSource: agent.SourceDpkg,
			Install:        []agent.InstallEvidence{{Kind: agent.KindBinary, Path: agent.BinaryPath}},
			RunningChecked: true, Running: running, ProxyChecked: running}
		if running {
			s.O.Agent.PIDs = []int{812}
		}
		return s
	}
	dropped := []journal.Summary{
		chSummary(journal.KindControlChannelUp, chUp(86, 26*time.Hour)),
		chSummary(journal.KindControlChannelError, chReconnectFailed(4120, 3*time.Hour), chReconnectFailed(4188, 2*time.Hour)),
		chSummary(journal.KindChannelInUse, chStatus(87, 26*time.Hour, "ssmmessages")),
	}
	ws := func(w ...wantFinding) []wantFinding { return w }
	return map[string]fixture{
		"dropped-path-ok": fx("The control channel came up yesterday, failed to reconnect three hours ago, and nothing since; ssmmessages answers now: the drop is the root cause, a fail, with both times and the restart.",
			withLogs(healthy(), true, dropped...),
			ws(wt(AgentControlChannelDown, finding.SevFail, "last success was at 2026-11-21 08:00:00 UTC", "first failure after it at 2026-11-22 07:00:00 UTC",
				"ssmmessages.ap-northeast-1.amazonaws.com answers over HTTPS now", "failed to reconnect to the control channel", "sudo systemctl restart amazon-ssm-agent", "TargetNotConnected"))...),
		"dropped-old-agent": fx("The same on agent 3.3.551.0, which predates the websocket heartbeat: the fix also says to update it.",
			withAgent(withLogs(healthy(), true, dropped...), "3.3.551.0", true),
			ws(wt(AgentControlChannelDown, finding.SevFail, "agent 3.3.551.0 predates 3.3.987.0", "AWS-UpdateSSMAgent"))...),
		"dropped-to-ec2messages": fx("After the last success, the token request failed and the agent fell back to ec2messages (SSM Connection channel status is set to ec2messages): fail.",
			withLogs(healthy(), true,
				chSummary(journal.KindControlChannelUp, chUp(86, 5*time.Hour)),
				chSummary(journal.KindControlChannelError, chTokenFailed(900, 90*time.Minute)),
				chSummary(journal.KindChannelInUse, chStatus(87, 5*time.Hour, "ssmmessages"), chStatus(901, 90*time.Minute, "ec2messages"))),
			ws(wt(AgentControlChannelDown, finding.SevFail, "first failure after it at 2026-11-22 08:30:00 UTC", "set to ec2messages", "Failed to get controlchannel token"))...),
		"dropped-ec2messages-status-only": fx("Only the channel status line says the agent fell back to ec2messages after the last success: fail.",
			withLogs(healthy(), true,
				chSummary(journal.KindControlChannelUp, chUp(86, 5*time.Hour)),
				chSummary(journal.KindChannelInUse, chStatus(87, 5*time.Hour, "ssmmessages"), chStatus(901, time.Hour, "ec2messages"))),
			ws(wt(AgentControlChannelDown, finding.SevFail, "first failure after it at 2026-11-22 09:00:00 UTC"))...),
		"dropped-path-blocked": fx("The control channel dropped and ssmmessages does not answer now: the blocked endpoint is the headline, the log lines its evidence.",
			withLogs(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce).
				Agent("10.0.0.2", none, vpce).Net("10.0.1.X", "ok", "ssm", "ec2messages", "s3", "logs", "kms").Net("10.0.1.X", "timeout", "ssmmessages"), true, dropped...),
			ws(wt(NetEndpointBlocked, finding.SevFail, "also explains: The agent's control channel to ssmmessages dropped and never came back", "failed to reconnect to the control channel"))...),
		"dropped-logs-only": fx("ssm-probe logs: the drop is in the logs, nothing shows whether ssmmessages answers now: warn.",
			withLogs(probetest.NewScen(nil), false, dropped...),
			ws(wt(AgentControlChannelDown, finding.SevWarn, "Without live checks"))...),
		"near-miss-reconnected": fx("Near miss: a reconnect failed, then the control channel came up again: no finding.",
			withLogs(healthy(), true,
				chSummary(journal.KindControlChannelUp, chUp(86, 26*time.Hour), chUp(4300, time.Hour)),
				chSummary(journal.KindControlChannelError, chReconnectFailed(4120, 3*time.Hour)),
				chSummary(journal.KindChannelInUse, chStatus(87, 26*time.Hour, "ssmmessages"), chStatus(4301, time.Hour, "ssmmessages")))),
		"near-miss-healthy-status": fx("Near miss: the real healthy start, Set up control channel successfully then SSM Connection channel status is set to ssmmessages: no finding.",
			withLogs(healthy(), true,
				chSummary(journal.KindControlChannelUp, chUp(86, 2*time.Hour)),
				chSummary(journal.KindChannelInUse, chStatus(87, 2*time.Hour-time.Millisecond, "ssmmessages")))),
		"near-miss-ec2messages-before-up": fx("Near miss: the agent started on ec2messages and then set up its control channel: no finding.",
			withLogs(healthy(), true,
				chSummary(journal.KindChannelInUse, chStatus(40, 2*time.Hour+time.Second, "ec2messages")),
				chSummary(journal.KindControlChannelUp, chUp(86, 2*time.Hour)))),
		"near-miss-never-connected": fx("Near miss: the control channel failed and the logs hold no success at all: not a drop (the live and other log findings speak).",
			withLogs(healthy(), true, chSummary(journal.KindControlChannelError, chTokenFailed(900, time.Hour)))),
		"near-miss-restarted-after-drop": fx("Near miss: the channel dropped, then the agent restarted (its start line is after the last failure) and the logs end before its new channel's outcome: not claimed.",
			withLogs(healthy(), true, append(append([]journal.Summary{}, dropped...),
				chSummary(journal.KindAgentVersion, chLine(5000, time.Minute, "INFO [amazon-ssm-agent] Starting Core Agent: amazon-ssm-agent - v3.3.1142.0")))...)),
		"dropped-restart-before-drop": fx("The agent's last start was before the drop: the drop stands, fail.",
			withLogs(healthy(), true, append(append([]journal.Summary{}, dropped...),
				chSummary(journal.KindAgentVersion, chLine(1, 26*time.Hour+time.Second, "INFO [amazon-ssm-agent] Starting Core Agent: amazon-ssm-agent - v3.3.1142.0")))...),
			ws(wt(AgentControlChannelDown, finding.SevFail))...),
		"near-miss-data-channel-dial": fx("Near miss: after the control channel came up, a session's data channel failed to dial its websocket (the session worker's line, a catalog control-channel-error): not the control channel.",
			withLogs(healthy(), true,
				chSummary(journal.KindControlChannelUp, chUp(86, 5*time.Hour)),
				chSummary(journal.KindControlChannelError, chLine(900, time.Hour, "ERROR [ssm-session-worker] [alice-0a1b2c3d4e5f67890] [DataBackend] Failed to dial websocket: dial tcp 10.0.1.12:443: connect: connection refused")))),
		"dropped-many-failures": fx("Twelve failures, some before the last success and some after, of which only the first and latest two lines are kept: the time is the earliest kept line after the success, said to be an upper bound.",
			withLogs(healthy(), true, chSummary(journal.KindControlChannelUp, chUp(86, 26*time.Hour)),
				journal.Summary{Kind: journal.KindControlChannelError, Count: 12, First: runAt.Add(-30 * time.Hour), Last: runAt.Add(-2 * time.Hour),
					Samples: []journal.Sample{chTokenFailed(10, 30*time.Hour), chReconnectFailed(4120, 3*time.Hour), chReconnectFailed(4188, 2*time.Hour)}}),
			ws(wt(AgentControlChannelDown, finding.SevFail, "failures after it by 2026-11-22 07:00:00 UTC (the earliest line kept)"))...),
		"near-miss-agent-stopped": fx("Near miss: the channel dropped, but the agent is not running now: agent.not-running is the finding.",
			withAgent(withLogs(healthy(), true, dropped...), "3.3.1142.0", false),
			ws(wt(AgentNotRunning, finding.SevFail))...),
	}
}

// scanReal scans the agent log folder dir and returns observations of an
// offline run a minute after its last line.
func scanReal(t *testing.T, dir string) *obs.Observations {
	t.Helper()
	res := journal.Scan(context.Background(), journal.Options{Paths: []string{dir}, Location: time.UTC})
	var last time.Time
	for _, s := range res.Sources {
		if s.Last.After(last) {
			last = s.Last
		}
	}
	if last.IsZero() {
		t.Fatalf("%s: no dated line", dir)
	}
	return &obs.Observations{StartedAt: last.Add(time.Minute), Logs: res}
}

// TestRealCapturesChannel runs the agent's real logs through the scanner and
// diagnosis: none of the real captures (a healthy agent, one behind a
// proxy, one without an instance profile, one whose endpoint drops 443) is
// a dropped control channel, and the healthy capture followed by the
// agent's own reconnect failure is one.
func TestRealCapturesChannel(t *testing.T) {
	real := filepath.Join("..", "..", "journal", "testdata", "real")
	for _, dir := range []string{"healthy-vpce", "proxy-works", "no-instance-profile", "endpoint-sg-blocks"} {
		for _, f := range Diagnose(scanReal(t, filepath.Join(real, dir))) {
			if f.ID == AgentControlChannelDown || f.ID == AgentCredentialsExpired {
				t.Errorf("%s: %s: %s", dir, f.ID, f.Summary)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(real, "healthy-vpce", "amazon-ssm-agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	b = append(b, []byte("2026-12-07 01:10:00.1234 ERROR [ssm-agent-worker] [MessageService] [MGSInteractor] failed to reconnect to the control channel with error: failed to reconnect controlchannel with error: failed to connect controlchannel with error: dial tcp 10.0.1.101:443: i/o timeout\n")...)
	if err := os.WriteFile(filepath.Join(tmp, "amazon-ssm-agent.log"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var got *finding.Finding
	for _, f := range Diagnose(scanReal(t, tmp)) {
		if f.ID == AgentControlChannelDown {
			got = &f
		}
	}
	if got == nil || got.Severity != finding.SevWarn ||
		!strings.Contains(got.Summary, "last success was at 2026-12-06 23:29:03 UTC") || !strings.Contains(got.Summary, "first failure after it at 2026-12-07 01:10:00 UTC") {
		t.Fatalf("the real capture with a reconnect failure: %+v", got)
	}
}
