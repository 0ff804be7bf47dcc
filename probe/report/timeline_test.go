package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/host/changes"
)

// timelineSample is sample() with the headline finding dated and a
// timeline: the agent worked at 18:57, failed from 19:01, and resolv.conf
// changed at 19:00.
func timelineSample() *diagnose.Result {
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 22, h, m, s, 0, time.UTC) }
	r := sample()
	ch := []changes.Change{
		{Time: at(18, 20, 0), What: "amazon-ssm-agent upgraded (3.3.1142.0-1)", Path: "/var/log/dpkg.log:5"},
		{Time: at(19, 0, 10), What: "/etc/resolv.conf (-> ../run/systemd/resolve/stub-resolv.conf) modified", Path: "/etc/resolv.conf"},
	}
	r.Timeline = &diagnose.Timeline{
		Zone:        "UTC (UTC+00:00)",
		LastSuccess: &journal.Mark{Kind: journal.KindHealthPingOK, Endpoint: "ssm", Time: at(18, 57, 3), Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:3", Inferred: true},
		Since:       at(19, 1, 0),
		Failing: []journal.Run{{Kind: journal.KindEndpointTimeout, Endpoint: "ssm", Since: at(19, 1, 0), Last: at(9+1, 0, 0), Count: 12,
			After: at(18, 57, 3), Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:4"}},
		LastStart:  &journal.Start{Time: at(18, 21, 0), Version: "3.3.1142.0", Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:1"},
		WindowFrom: at(18, 1, 0),
		Changes:    ch,
	}
	r.Findings[0].Since = r.Timeline.Since
	r.Findings[0].ChangesBefore = ch
	return r
}

func TestTimelineGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, timelineSample(), meta, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	golden.Bytes(t, filepath.Join("testdata", "report-timeline.txt"), b.Bytes())
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[3], "  last worked 18:57:03 (health ping); failing since 19:01:00") || !strings.Contains(b.String(), "/etc/resolv.conf 19:00:10") {
		t.Errorf("no timeline under the verdict:\n%s", strings.Join(lines[:6], "\n"))
	}
	b.Reset()
	if err := JSON(&b, timelineSample(), meta); err != nil {
		t.Fatal(err)
	}
	validReport(t, b.Bytes())
	golden.Bytes(t, filepath.Join("testdata", "report-timeline.json"), b.Bytes())
}

func TestTimelineLine(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	run := []journal.Run{{Kind: journal.KindDNSError, Endpoint: "ssmmessages", Since: at(22, 19, 1)}}
	for _, c := range []struct {
		name string
		tl   *diagnose.Timeline
		want string
	}{
		{"none", nil, ""},
		{"no success line", &diagnose.Timeline{NoSuccess: "no success line (health ping, control channel, registration) in the agent's logs that were read", Since: at(22, 19, 1), Failing: run, WindowFrom: at(22, 18, 1)},
			"last worked: unknown, no success line (health ping, control channel, registration) in the agent's logs that were read; failing since 19:01:00 (dns-error to ssmmessages); no change on the host in the hour before (UTC)"},
		{"healthy", &diagnose.Timeline{LastSuccess: &journal.Mark{Kind: journal.KindControlChannelUp, Time: at(22, 19, 1)}},
			"last worked 19:01:00 (control channel); no failure in the logs since (UTC)"},
		{"other day, many changes", &diagnose.Timeline{LastSuccess: &journal.Mark{Kind: journal.KindRegistered, Time: at(21, 23, 59)}, Since: at(22, 0, 30), Failing: run,
			WindowFrom: at(21, 23, 30), Changes: []changes.Change{
				{Time: at(21, 23, 31), What: "/etc/hosts modified"}, {Time: at(21, 23, 40), What: "/etc/nsswitch.conf modified"},
				{Time: at(21, 23, 50), What: "host booted"}, {Time: at(22, 0, 10), What: "/etc/resolv.conf modified"}}},
			"last worked 2026-11-21 23:59:00 (registration); failing since 00:30:00 (dns-error to ssmmessages); changed before that: /etc/nsswitch.conf 2026-11-21 23:40:00, host booted 2026-11-21 23:50:00, /etc/resolv.conf 00:10:00 (and 1 earlier) (UTC)"},
	} {
		if got := TimelineLine(c.tl); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// TestTimelineLineKills holds the one-line timeline to the kills it names:
// the last kill and who killed, with or without the agent's own lines.
func TestTimelineLineKills(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, time.UTC) }
	oom := journal.Kill{Time: at(22, 1, 12), Cause: journal.CauseOOM, By: "kernel", Process: "amazon-ssm-agen", PID: 7}
	sig := journal.Kill{Time: at(22, 1, 13), Cause: journal.CauseSignal, By: "systemd", Signal: "9/KILL"}
	for _, c := range []struct {
		name string
		tl   *diagnose.Timeline
		want string
	}{
		{"kill only", &diagnose.Timeline{NoSuccess: "no success line", Kills: []journal.Kill{oom}},
			"last worked: unknown, no success line; killed 01:12:00 (OOM killer) (UTC)"},
		{"kill after success", &diagnose.Timeline{LastSuccess: &journal.Mark{Kind: journal.KindControlChannelUp, Time: at(22, 1, 0)}, Kills: []journal.Kill{oom, sig}},
			"last worked 01:00:00 (control channel); killed 01:13:00 (signal 9/KILL), 2 kill lines in all; no failure in the logs since (UTC)"},
		{"no kill, nothing", &diagnose.Timeline{}, ""},
	} {
		if got := TimelineLine(c.tl); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}
