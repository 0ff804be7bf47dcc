//go:build linux

package lab

import (
	"context"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
	"github.com/ssm-probe/ssm-probe/probe/prefs"
)

// prefsResult is what the probe's preferences client learns from the lab's
// endpoints.
type prefsResult struct {
	Missing  bool // no document
	Bucket   string
	LogGroup string
	KMSKeyID string
	BucketSt prefs.BucketState
	GroupSt  prefs.LogGroupState
	Fault    prefs.Fault
}

// TestServePrefs serves each preferences spec with Serve on a loopback
// endpoint and reads it back with the probe's own SigV4 client, signed
// with the fake IMDS's credentials, as the probe does in the lab.
func TestServePrefs(t *testing.T) {
	kms := "arn:aws:kms:ap-northeast-1:123456789012:key/00000000-fake-key0-0000-000000000000"
	cases := []struct {
		name   string
		spec   *PrefsSpec
		offset time.Duration
		want   prefsResult
	}{
		{"nil: no document", nil, 0, prefsResult{Missing: true}},
		{"none", &PrefsSpec{Document: PrefsNone}, 0, prefsResult{Missing: true}},
		{"saved, no logging", &PrefsSpec{Document: PrefsSaved}, 0, prefsResult{}},
		{"existing destinations", &PrefsSpec{Document: PrefsSaved, S3BucketName: "corp-session-logs",
			CloudWatchLogGroupName: "/ssm/session-logs", KMSKeyID: kms}, 0,
			prefsResult{Bucket: "corp-session-logs", LogGroup: "/ssm/session-logs", KMSKeyID: kms,
				BucketSt: prefs.BucketExists, GroupSt: prefs.LogGroupExists}},
		{"deleted bucket", &PrefsSpec{Document: PrefsSaved, S3BucketName: "corp-session-logs", BucketDeleted: true}, 0,
			prefsResult{Bucket: "corp-session-logs", BucketSt: prefs.BucketMissing}},
		{"deleted log group", &PrefsSpec{Document: PrefsSaved, CloudWatchLogGroupName: "/ssm/session-logs", LogGroupDeleted: true}, 0,
			prefsResult{LogGroup: "/ssm/session-logs", GroupSt: prefs.LogGroupMissing}},
		{"clock off", &PrefsSpec{Document: PrefsSaved}, -10 * time.Minute, prefsResult{Fault: prefs.FaultClockSkew}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := netip.AddrPortFrom(loopback, freePort(t))
			spec := &ServerSpec{
				CAFile:     filepath.Join(t.TempDir(), "ca.pem"),
				IMDS:       netip.AddrPortFrom(loopback, freePort(t)),
				IMDSMode:   string(imdstest.V2Required),
				Endpoints:  []netip.AddrPort{ep},
				DateOffset: tc.offset,
				Prefs:      tc.spec,
			}
			stop := serveForTest(t, spec)
			defer stop()

			creds := aws.Credentials{AccessKeyID: imdstest.FakeAccessKeyID, SecretAccessKey: imdstest.FakeSecretAccessKey,
				SessionToken: imdstest.FakeToken}
			cl := prefs.New(prefs.Options{Region: Region, Port: int(ep.Port()), Dial: nettest.Loopback(t).Dial,
				RootCAs: caPool(t, spec.CAFile), Timeout: clientTimeout}, creds)
			target := func(svc string) prefs.Target { return prefs.Target{Host: Host(svc), Addrs: []netip.Addr{loopback}} }
			ctx := context.Background()
			d := cl.GetDocument(ctx, target("ssm"))
			var got prefsResult
			got.Missing, got.Fault = d.Missing, d.Call.Fault
			if !d.Call.Answered() {
				t.Fatalf("GetDocument: %s", d.Call.Summary())
			}
			if d.Problem != "" {
				t.Fatalf("GetDocument: the document cannot be read: %s", d.Problem)
			}
			if d.Document != nil && d.Document.Prefs != nil {
				p := d.Document.Prefs
				got.Bucket, got.LogGroup, got.KMSKeyID = p.S3BucketName, p.CloudWatchLogGroupName, p.KMSKeyID
				if p.UsesS3() {
					got.BucketSt = cl.HeadBucket(ctx, target("s3"), p.S3BucketName).State
				}
				if p.UsesLogs() {
					got.GroupSt = cl.LogGroup(ctx, target("logs"), p.CloudWatchLogGroupName).State
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// serveForTest runs Serve until the returned function is called.
func serveForTest(t *testing.T, spec *ServerSpec) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, spec, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Serve: %v", err)
	case <-time.After(clientTimeout):
		cancel()
		t.Fatal("not ready")
	}
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(clientTimeout):
			t.Error("Serve did not return after cancel")
		}
	}
}

// TestServeBadPrefs: a spec whose preferences are invalid is refused by
// LoadServerSpec's validation and by Serve alike, without a hang.
func TestServeBadPrefs(t *testing.T) {
	spec := &ServerSpec{IMDS: netip.AddrPortFrom(loopback, freePort(t)), IMDSMode: string(imdstest.V2Required),
		Endpoints: []netip.AddrPort{netip.AddrPortFrom(loopback, freePort(t))},
		Prefs:     &PrefsSpec{Document: PrefsSaved, S3BucketName: "Not_A_Bucket"}}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	if err := Serve(ctx, spec, func() { t.Error("ready with an invalid bucket name") }); err == nil {
		t.Error("Serve accepted an invalid bucket name")
	}
}

// TestBadPrefsScenarios: each testdata/bad file about preferences is
// rejected for its preferences, not for something else.
func TestBadPrefsScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*prefs*.json")
	if len(files) == 0 {
		t.Fatal("no bad preferences scenarios")
	}
	for _, f := range files {
		_, err := LoadScenario(f)
		if err == nil {
			t.Errorf("%s: accepted", f)
			continue
		}
		// The message starts with the file's name, which says prefs too.
		msg := strings.TrimPrefix(err.Error(), f+": ")
		if !strings.HasPrefix(msg, "prefs: ") && msg != `json: unknown field "s3_bucket"` {
			t.Errorf("%s: %q, want a preferences error", f, msg)
		}
	}
}
