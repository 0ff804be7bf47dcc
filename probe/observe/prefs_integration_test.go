//go:build linux

package observe

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/prefs/prefstest"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// prefsWorld is a loopback lab whose six endpoints are the prefstest fake:
// it validates SigV4 with the fake IMDS's credentials.
func prefsWorld(t *testing.T, fc prefstest.Config, prefix string) (*lab, *prefstest.Server, map[string]netip.Addr) {
	t.Helper()
	l := newLab(t, "127.0.0.1")
	as := addrs(prefix)
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(as)})
	fc.Region = labRegion
	fake := prefstest.New(fc)
	var ips []netip.Addr
	for _, a := range as {
		ips = append(ips, a)
	}
	l.cfg.EndpointPort = prefstest.Start(t, fake, ips, l.ca)
	return l, fake, as
}

// prefsIDs returns the prefs.* and net.* findings as "id/severity".
func prefsIDs(res *diagnose.Result) []string {
	var out []string
	for _, f := range res.Findings {
		if strings.HasPrefix(string(f.ID), "prefs.") || strings.HasPrefix(string(f.ID), "net.") || f.ID == diagnose.IAMSSMAccessDenied {
			out = append(out, string(f.ID)+"/"+string(f.Severity))
		}
	}
	return out
}

func prefsCheck(res *diagnose.Result) *obs.CheckRecord {
	for i := range res.Checks {
		if res.Checks[i].Name == obs.CheckPrefs {
			return &res.Checks[i]
		}
	}
	return nil
}

func wantPrefs(t *testing.T, res *diagnose.Result, want ...string) {
	t.Helper()
	if got := prefsIDs(res); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("prefs/net findings %v, want %v", got, want)
		for _, f := range res.Findings {
			t.Logf("%s %s: %s\n  %s", f.Severity, f.ID, f.Summary, strings.Join(f.Evidence, "\n  "))
		}
		if c := prefsCheck(res); c != nil {
			t.Logf("prefs check: %s %s", c.Status, c.Reason)
		}
	}
}

func doc(inputs map[string]any) string { return prefstest.Document(inputs) }

// TestPrefsStates runs the probe end to end for each state of the
// preferences and checks the findings, the check's status and reason, and
// how many signed requests the fake verified.
func TestPrefsStates(t *testing.T) {
	cases := []struct {
		name       string
		fc         prefstest.Config
		want       []string
		status     obs.Status
		reason     string // substring of the check's reason
		valid      int    // signed requests the fake verified
		summaryHas string // substring of the first prefs finding's summary
	}{
		{name: "S3 bucket deleted",
			fc:   prefstest.Config{Document: doc(map[string]any{"s3BucketName": "corp-session-logs", "s3EncryptionEnabled": false})},
			want: []string{"prefs.s3-bucket-missing/fail"}, status: obs.StatusPass, reason: "end to end", valid: 2,
			summaryHas: "account- and region-wide"},
		{name: "log group deleted",
			fc:   prefstest.Config{Document: doc(map[string]any{"cloudWatchLogGroupName": "/ssm/sessions"}), LogGroups: []string{"/ssm/sessions-old"}},
			want: []string{"prefs.log-group-missing/fail"}, status: obs.StatusPass, reason: "end to end", valid: 2},
		{name: "logging to destinations that exist",
			fc: prefstest.Config{Document: doc(map[string]any{"s3BucketName": "corp-session-logs", "cloudWatchLogGroupName": "/ssm/sessions", "kmsKeyId": "alias/ssm"}),
				Buckets: map[string]string{"corp-session-logs": labRegion}, LogGroups: []string{"/ssm/sessions"}},
			status: obs.StatusPass, reason: "log group /ssm/sessions: exists", valid: 3},
		{name: "bucket in another region",
			fc: prefstest.Config{Document: doc(map[string]any{"s3BucketName": "far-logs"}),
				Buckets: map[string]string{"far-logs": "eu-west-1"}},
			status: obs.StatusPass, reason: "is in region eu-west-1", valid: 2},
		{name: "HeadBucket 403 is inconclusive",
			fc:   prefstest.Config{Document: doc(map[string]any{"s3BucketName": "corp-session-logs"}), BucketStatus: 403},
			want: []string{"prefs.unreadable/info"}, status: obs.StatusPass, reason: "inconclusive", valid: 2, summaryHas: "inconclusive"},
		{name: "no preferences document: defaults",
			fc:     prefstest.Config{},
			status: obs.StatusPass, reason: "defaults, no session logging", valid: 1},
		{name: "preferences without logging",
			fc:     prefstest.Config{Document: doc(map[string]any{"s3BucketName": "", "runAsEnabled": true})},
			status: obs.StatusPass, reason: "turn no session logging", valid: 1},
		{name: "access denied names the role",
			fc:   prefstest.Config{DenyGetDocument: true},
			want: []string{"iam.ssm-access-denied/warn"}, status: obs.StatusSkip, reason: "ssm-probe-fake-role", valid: 1,
			summaryHas: "ssm-probe-fake-role"},
		{name: "log group denied is inconclusive",
			fc:   prefstest.Config{Document: doc(map[string]any{"cloudWatchLogGroupName": "/ssm/sessions"}), DenyLogs: true},
			want: []string{"prefs.unreadable/info"}, status: obs.StatusPass, reason: "log group /ssm/sessions: denied", valid: 2},
		{name: "clock 10 minutes off: the signature is net.clock-skew evidence",
			fc:   prefstest.Config{Document: doc(map[string]any{"s3BucketName": "x-logs"}), ClockOffset: -10 * time.Minute},
			want: []string{"net.clock-skew/fail"}, status: obs.StatusFail, reason: "clock is off", valid: 0},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, fake, _ := prefsWorld(t, c.fc, fmt.Sprintf("127.0.%d", 30+i))
			res, _ := l.run()
			wantPrefs(t, res, c.want...)
			pc := prefsCheck(res)
			if pc == nil {
				t.Fatal("no prefs check ran")
			}
			if pc.Status != c.status || !strings.Contains(pc.Reason, c.reason) {
				t.Errorf("prefs check %s %q, want %s containing %q", pc.Status, pc.Reason, c.status, c.reason)
			}
			if got := fake.Valid(); got != c.valid {
				t.Errorf("fake verified %d signed requests, want %d: %+v", got, c.valid, fake.Requests())
			}
			if c.summaryHas != "" {
				var found bool
				for _, f := range res.Findings {
					if (strings.HasPrefix(string(f.ID), "prefs.") || f.ID == diagnose.IAMSSMAccessDenied) && strings.Contains(f.Summary, c.summaryHas) {
						found = true
					}
				}
				if !found {
					t.Errorf("no prefs finding says %q", c.summaryHas)
				}
			}
			if strings.Contains(c.name, "clock") {
				for _, f := range res.Findings {
					if f.ID == diagnose.NetClockSkew && !strings.Contains(strings.Join(f.Evidence, "\n"), "InvalidSignatureException") {
						t.Errorf("net.clock-skew does not carry the rejected signature as evidence: %v", f.Evidence)
					}
				}
			}
			noSecretIn(t, res)
		})
	}
}

// TestPrefsLoggingEndpointUnreachable: the preferences stream to CloudWatch
// Logs and the logs endpoint is black-holed. The optional endpoint becomes
// required: one fail finding, with net.optional-endpoint-unreachable folded
// into it.
func TestPrefsLoggingEndpointUnreachable(t *testing.T) {
	l := newLab(t, "127.0.0.1")
	as := addrs("127.0.21")
	l.dns([]string{"127.0.0.1"}, []resolvtest.Zone{zone(as)})
	fake := prefstest.New(prefstest.Config{Region: labRegion,
		Document: doc(map[string]any{"cloudWatchLogGroupName": "/ssm/sessions"}), LogGroups: []string{"/ssm/sessions"}})
	var ips []netip.Addr
	for s, a := range as {
		if s != "logs" {
			ips = append(ips, a)
		}
	}
	l.cfg.EndpointPort = prefstest.Start(t, fake, ips, l.ca)
	nettest.BlackHole(t, as["logs"], l.cfg.EndpointPort)
	res, _ := l.run()
	wantPrefs(t, res, "prefs.logging-endpoint-unreachable/fail")
	for _, f := range res.Findings {
		if f.ID == diagnose.PrefsLoggingEndpointUnreach {
			ev := strings.Join(f.Evidence, "\n")
			if !strings.Contains(ev, "cloudWatchLogGroupName") || !strings.Contains(ev, "also explains: An optional endpoint") {
				t.Errorf("evidence lacks the preference or the folded optional-endpoint finding:\n%s", ev)
			}
		}
	}
	noSecretIn(t, res)
}

// TestPrefsNoAPI: with NoAPI no signed request reaches the fake, and the
// check says why it did not look.
func TestPrefsNoAPI(t *testing.T) {
	l, fake, _ := prefsWorld(t, prefstest.Config{Document: doc(map[string]any{"s3BucketName": "corp-session-logs"})}, "127.0.22")
	l.cfg.NoAPI = true
	res, _ := l.run()
	if n := fake.Signed(); n != 0 {
		t.Errorf("%d signed requests were sent under NoAPI: %+v", n, fake.Requests())
	}
	if len(fake.Requests()) == 0 {
		t.Error("the fake saw no request at all: the endpoint checks did not run, so the assertion above is vacuous")
	}
	wantPrefs(t, res)
	if pc := prefsCheck(res); pc == nil || pc.Status != obs.StatusSkip || pc.Reason != NoAPIReason {
		t.Errorf("prefs check %+v, want skipped with %q", pc, NoAPIReason)
	}
}

// TestPrefsNoProfile: without an instance profile nothing is signed, and
// the reason folds into iam.no-instance-profile.
func TestPrefsNoProfile(t *testing.T) {
	l, fake, _ := prefsWorld(t, prefstest.Config{Document: doc(map[string]any{"s3BucketName": "x-logs"})}, "127.0.23")
	ic := imdstest.DefaultConfig(imdstest.NoProfile)
	ic.Region, ic.VPCCIDRs = labRegion, []string{"127.0.0.0/16"}
	srv := imdstest.New(ic)
	t.Cleanup(srv.Close)
	l.cfg.IMDSEndpoint = srv.URL
	res, _ := l.run()
	if fake.Signed() != 0 {
		t.Errorf("%d signed requests without credentials", fake.Signed())
	}
	for _, f := range res.Findings {
		if f.ID == diagnose.PrefsUnreadable {
			t.Errorf("prefs.unreadable not folded into iam.no-instance-profile: %s", f.Summary)
		}
	}
	if pc := prefsCheck(res); pc == nil || pc.Status != obs.StatusSkip || !strings.Contains(pc.Reason, "no instance profile") {
		t.Errorf("prefs check %+v", pc)
	}
}

// noSecretIn fails when the result, as JSON, holds a fake secret.
func noSecretIn(t *testing.T, res *diagnose.Result) {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{imdstest.FakeAccessKeyID, imdstest.FakeSecretAccessKey, imdstest.FakeToken, imdstest.FakeIMDSToken} {
		if strings.Contains(string(b), s) {
			t.Errorf("the result holds secret %q", s)
		}
	}
}
