//go:build linux

package observe

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/prefs/prefstest"
)

// bigLogBytes is the size of the generated log set: more than the scan's
// 512 MiB byte budget, as on the host where 700 MB of error lines once
// kept every endpoint check from starting.
const bigLogBytes = 700 << 20

// writeErrorLogs writes about total bytes of the agent's error lines into
// dir as a rolled set (amazon-ssm-agent.log.1 … .6 and the live file): one
// generated block, written again and again, so that it takes a second,
// not a minute.
func writeErrorLogs(t *testing.T, dir string, total int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	at := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; block.Len() < 1<<20; i++ {
		at = at.Add(7 * time.Millisecond)
		ts := at.Format("2006-01-02 15:04:05.0000")
		fmt.Fprintf(&block, "%s ERROR [ssm-agent-worker] [HealthCheck] error when calling AWS APIs. error details - RequestError: send request failed\n"+
			"caused by: Post \"https://ssm.%s.amazonaws.com/\": dial tcp 10.0.1.%d:443: i/o timeout\n", ts, labRegion, i%200)
		fmt.Fprintf(&block, "%s ERROR [ssm-agent-worker] [MessageService] [MGSInteractor] Failed to get controlchannel token, error: dial tcp: lookup ssmmessages.%s.amazonaws.com on 10.0.0.2:53: no such host\n", ts, labRegion)
	}
	const files = 7
	per := total / files
	for i := 0; i < files; i++ {
		name := "amazon-ssm-agent.log"
		if i < files-1 {
			name += fmt.Sprintf(".%d", files-1-i)
		}
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for n := int64(0); n < per; n += int64(block.Len()) {
			if _, err := f.Write(block.Bytes()); err != nil {
				f.Close()
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLogsNeverGateLiveChecks runs a healthy loopback world whose agent
// logs are 700 MB of error lines (more than the scan reads in its budget),
// with a log budget that runs out at once, a short one and the default
// share of the deadline. The log scan runs beside the live checks: every
// DNS, endpoint and preferences check completes and passes in every run,
// and a scan cut short says how far it got. The verdict is the same
// whenever the scan read anything (the lines repeat, so any part holds
// every kind of event); a budget that reads nothing leaves the required
// logs check unchecked, so that run can only be unknown, never fail or ok
// on the logs' account. Statuses are asserted, never durations.
func TestLogsNeverGateLiveChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 700 MB of logs")
	}
	l, _, _ := prefsWorld(t, prefstest.Config{}, "127.0.1")
	l.fakeAgentProc("PATH=/usr/bin")
	writeErrorLogs(t, filepath.Join(l.cfg.Root, "var/log/amazon/ssm"), bigLogBytes)
	l.cfg.Since = 0 // every line is matched, none skipped as old
	l.cfg.NoJournal = true

	var verdicts []finding.Verdict
	for _, budget := range []time.Duration{time.Nanosecond, time.Second, 0} {
		l.cfg.LogBudget = budget
		res, _ := l.run()
		verdicts = append(verdicts, res.Verdict)
		for _, f := range res.Findings {
			t.Logf("budget %v: finding %s %s: %s", budget, f.Severity, f.ID, f.Summary)
		}
		counts := map[obs.CheckName]int{}
		for _, c := range res.Checks {
			switch c.Name {
			case "dns", "dns.agent", "endpoint", obs.CheckPrefs:
				counts[c.Name]++
				if c.Status != obs.StatusPass {
					t.Errorf("budget %v: %s %s: %s %s", budget, c.Name, c.Target, c.Status, c.Reason)
				}
			case "logs":
				if budget == time.Nanosecond && !strings.Contains(c.Reason, "time budget of") {
					t.Errorf("budget %v: logs %s: %s, want the budget named", budget, c.Status, c.Reason)
				}
				t.Logf("budget %v: logs %s: %s", budget, c.Status, c.Reason)
			}
		}
		for name, want := range map[obs.CheckName]int{"dns": len(services6), "dns.agent": len(services6), "endpoint": len(services6), obs.CheckPrefs: 1} {
			if counts[name] != want {
				t.Errorf("budget %v: %d %s checks, want %d", budget, counts[name], name, want)
			}
		}
	}
	if verdicts[1] != verdicts[2] {
		t.Errorf("verdict %s with a 1 s log budget, %s with the default one", verdicts[1], verdicts[2])
	}
	if verdicts[0] != finding.VerdictUnknown {
		t.Errorf("verdict %s with a spent log budget: the logs were not looked at, so unknown", verdicts[0])
	}
}
