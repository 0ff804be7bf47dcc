package prefs

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
	"github.com/ssm-probe/ssm-probe/probe/prefs/prefstest"
)

// testTimeout is one stage's limit here: far above a loopback round trip.
const testTimeout = 2 * time.Second

const region = "ap-northeast-1"

var lo = netip.MustParseAddr("127.0.0.1")

func fakeCreds() aws.Credentials {
	return aws.Credentials{AccessKeyID: imdstest.FakeAccessKeyID, SecretAccessKey: imdstest.FakeSecretAccessKey,
		SessionToken: imdstest.FakeToken}
}

func secrets() []string {
	return []string{imdstest.FakeAccessKeyID, imdstest.FakeSecretAccessKey, imdstest.FakeToken}
}

// world is one fake and a client pointed at it.
type world struct {
	fake *prefstest.Server
	cl   *Client
	port int
}

func newWorld(t *testing.T, cfg prefstest.Config, creds aws.Credentials, now func() time.Time) *world {
	t.Helper()
	cfg.Region = region
	fake := prefstest.New(cfg)
	ca := nettest.NewCA(t, "prefs test root")
	port := prefstest.Start(t, fake, []netip.Addr{lo}, ca)
	cl := New(Options{Region: region, Port: port, Dial: nettest.Loopback(t).Dial, RootCAs: ca.Pool, Timeout: testTimeout, Now: now}, creds)
	return &world{fake: fake, cl: cl, port: port}
}

func target(svc string) Target {
	return Target{Host: svc + "." + region + ".amazonaws.com", Addrs: []netip.Addr{lo}}
}

// noSecrets fails when v, rendered as JSON and with %+v, holds a secret.
func noSecrets(t *testing.T, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	for _, s := range secrets() {
		if strings.Contains(string(b), s) || strings.Contains(fmt.Sprintf("%+v %#v", v, v), s) {
			t.Errorf("secret %q leaked into %T", s, v)
		}
	}
}

func TestGetDocument(t *testing.T) {
	doc := prefstest.Document(map[string]any{"s3BucketName": "corp-logs", "cloudWatchLogGroupName": "/ssm/x",
		"kmsKeyId": "alias/ssm", "s3EncryptionEnabled": true})
	cases := []struct {
		name    string
		cfg     prefstest.Config
		creds   aws.Credentials
		now     func() time.Time
		status  int
		fault   Fault
		missing bool
		valid   int // requests the fake verified
		bucket  string
		inMsg   string
	}{
		{name: "ok", cfg: prefstest.Config{Document: doc}, status: 200, valid: 1, bucket: "corp-logs"},
		{name: "missing", cfg: prefstest.Config{}, status: 400, missing: true, valid: 1},
		{name: "denied", cfg: prefstest.Config{Document: doc, DenyGetDocument: true}, status: 400, fault: FaultDenied, valid: 1,
			inMsg: "assumed-role/ssm-probe-fake-role/"},
		{name: "clock 10 min slow", cfg: prefstest.Config{Document: doc}, now: func() time.Time { return time.Now().Add(-10 * time.Minute) },
			status: 400, fault: FaultClockSkew, inMsg: "Signature expired"},
		{name: "clock 10 min fast", cfg: prefstest.Config{Document: doc}, now: func() time.Time { return time.Now().Add(10 * time.Minute) },
			status: 400, fault: FaultClockSkew, inMsg: "not yet current"},
		{name: "wrong secret", cfg: prefstest.Config{Document: doc}, status: 400, fault: FaultSignature, inMsg: "[redacted]",
			creds: aws.Credentials{AccessKeyID: imdstest.FakeAccessKeyID, SecretAccessKey: "not-the-fake-secret", SessionToken: imdstest.FakeToken}},
		{name: "wrong token", cfg: prefstest.Config{Document: doc}, status: 400, fault: FaultBadToken,
			creds: aws.Credentials{AccessKeyID: imdstest.FakeAccessKeyID, SecretAccessKey: imdstest.FakeSecretAccessKey, SessionToken: "other-token"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creds := c.creds
			if creds.AccessKeyID == "" {
				creds = fakeCreds()
			}
			w := newWorld(t, c.cfg, creds, c.now)
			r := w.cl.GetDocument(context.Background(), target("ssm"))
			if r.Call.Status != c.status || r.Call.Fault != c.fault || r.Missing != c.missing {
				t.Fatalf("status %d fault %q missing %v, want %d %q %v (%s)", r.Call.Status, r.Call.Fault, r.Missing,
					c.status, c.fault, c.missing, r.Call.Summary())
			}
			if got := w.fake.Valid(); got != c.valid {
				t.Errorf("fake verified %d requests, want %d", got, c.valid)
			}
			if w.fake.Signed() != 1 {
				t.Errorf("fake saw %d signed requests, want 1", w.fake.Signed())
			}
			if c.bucket != "" && (r.Document == nil || r.Document.Prefs == nil || r.Document.Prefs.S3BucketName != c.bucket) {
				t.Errorf("document %+v, want bucket %s", r.Document, c.bucket)
			}
			if c.inMsg != "" && !strings.Contains(r.Call.Message, c.inMsg) {
				t.Errorf("message %q lacks %q", r.Call.Message, c.inMsg)
			}
			if c.fault == FaultClockSkew && (r.Call.SkewSeconds == nil || abs(*r.Call.SkewSeconds) < 590) {
				t.Errorf("skew %v, want about 600 s", r.Call.SkewSeconds)
			}
			noSecrets(t, r)
		})
	}
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestWrongSecretEchoIsScrubbed guards the scrubbing: the fake's
// signature-mismatch answer really echoes the session token, and the
// recorded message does not.
func TestWrongSecretEchoIsScrubbed(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: imdstest.FakeAccessKeyID, SecretAccessKey: "wrong", SessionToken: imdstest.FakeToken}
	w := newWorld(t, prefstest.Config{}, creds, nil)
	// Unscrubbed, the fake's answer to a wrongly signed request holds the token.
	req := jsonRequest("ssm."+region+".amazonaws.com", "AmazonSSM.GetDocument", []byte(`{"Name":"x"}`))
	if err := w.cl.sign(context.Background(), req, "ssm"); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	w.fake.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), imdstest.FakeToken) {
		t.Fatalf("the fake's mismatch answer does not echo the token; the scrub test would be vacuous: %s", rec.Body.String())
	}
	r := w.cl.GetDocument(context.Background(), target("ssm"))
	if r.Call.Fault != FaultSignature || strings.Contains(r.Call.Message, imdstest.FakeToken) ||
		!strings.Contains(r.Call.Message, "x-amz-security-token:[redacted]") {
		t.Errorf("fault %q, message not scrubbed: %q", r.Call.Fault, r.Call.Message)
	}
}

func TestHeadBucket(t *testing.T) {
	buckets := map[string]string{"corp-logs": region, "far-logs": "eu-west-1"}
	cases := []struct {
		name, bucket string
		status       int
		state        BucketState
		region       string
	}{
		{"exists", "corp-logs", 0, BucketExists, region},
		{"deleted", "gone-logs", 0, BucketMissing, ""},
		{"other region", "far-logs", 0, BucketOtherRegion, "eu-west-1"},
		{"forbidden", "corp-logs", 403, BucketForbidden, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, prefstest.Config{Buckets: buckets, BucketStatus: c.status}, fakeCreds(), nil)
			r := w.cl.HeadBucket(context.Background(), target("s3"), c.bucket)
			if r.State != c.state || r.Region != c.region {
				t.Errorf("state %q region %q, want %q %q (%s)", r.State, r.Region, c.state, c.region, r.Call.Summary())
			}
			if w.fake.Valid() != 1 {
				t.Errorf("fake verified %d requests, want 1: %+v", w.fake.Valid(), w.fake.Requests())
			}
			noSecrets(t, r)
		})
	}
	t.Run("skew on HEAD is inconclusive", func(t *testing.T) {
		w := newWorld(t, prefstest.Config{Buckets: buckets}, fakeCreds(), func() time.Time { return time.Now().Add(time.Hour) })
		r := w.cl.HeadBucket(context.Background(), target("s3"), "corp-logs")
		if r.State != BucketForbidden || r.Call.SkewSeconds == nil || *r.Call.SkewSeconds < 3500 {
			t.Errorf("state %q skew %v, want forbidden with the skew recorded", r.State, r.Call.SkewSeconds)
		}
	})
	t.Run("invalid name sends nothing", func(t *testing.T) {
		w := newWorld(t, prefstest.Config{}, fakeCreds(), nil)
		r := w.cl.HeadBucket(context.Background(), target("s3"), "Bad/Name")
		if r.State != BucketUnknown || r.Call.Class != errclass.Malformed || len(w.fake.Requests()) != 0 {
			t.Errorf("state %q class %q, %d requests", r.State, r.Call.Class, len(w.fake.Requests()))
		}
	})
}

func TestLogGroup(t *testing.T) {
	groups := []string{"/ssm/sessions", "/ssm/sessions-old", "/other"}
	cases := []struct {
		name, group string
		deny        bool
		state       LogGroupState
		encrypted   bool
	}{
		{"exists encrypted", "/ssm/sessions", false, LogGroupExists, true},
		{"deleted, a longer name remains", "/ssm/sess", false, LogGroupMissing, false},
		{"deleted", "/ssm/gone", false, LogGroupMissing, false},
		{"denied", "/ssm/sessions", true, LogGroupDenied, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, prefstest.Config{LogGroups: groups, EncryptedGroups: []string{"/ssm/sessions"}, DenyLogs: c.deny}, fakeCreds(), nil)
			r := w.cl.LogGroup(context.Background(), target("logs"), c.group)
			if r.State != c.state || r.Encrypted != c.encrypted {
				t.Errorf("state %q encrypted %v, want %q %v (%s)", r.State, r.Encrypted, c.state, c.encrypted, r.Call.Summary())
			}
			if w.fake.Valid() != 1 {
				t.Errorf("fake verified %d requests, want 1", w.fake.Valid())
			}
			noSecrets(t, r)
		})
	}
}

// TestTransport covers the paths that give no answer: a refused first
// address with a working second, every address refused, an untrusted
// chain, no address at all.
func TestTransport(t *testing.T) {
	w := newWorld(t, prefstest.Config{}, fakeCreds(), nil)
	dead := netip.MustParseAddr("127.0.0.2") // nothing listens on 127.0.0.2 at the fake's port
	t.Run("fallback to the second address", func(t *testing.T) {
		r := w.cl.GetDocument(context.Background(), Target{Host: "ssm." + region + ".amazonaws.com", Addrs: []netip.Addr{dead, lo}})
		if !r.Call.Answered() || len(r.Call.Attempts) != 1 || !strings.Contains(r.Call.Attempts[0], "refused") {
			t.Errorf("call %s, attempts %v", r.Call.Summary(), r.Call.Attempts)
		}
	})
	t.Run("refused", func(t *testing.T) {
		r := w.cl.GetDocument(context.Background(), Target{Host: "ssm." + region + ".amazonaws.com", Addrs: []netip.Addr{dead}})
		if r.Call.Stage != "tcp" || r.Call.Class != errclass.Refused {
			t.Errorf("call %s", r.Call.Summary())
		}
	})
	t.Run("no address", func(t *testing.T) {
		r := w.cl.GetDocument(context.Background(), Target{Host: "ssm." + region + ".amazonaws.com"})
		if r.Call.Answered() || r.Call.Stage != "dns" {
			t.Errorf("call %s", r.Call.Summary())
		}
	})
	t.Run("untrusted", func(t *testing.T) {
		other := nettest.NewCA(t, "Corp TLS Inspection CA")
		cl := New(Options{Region: region, Port: w.port, Dial: nettest.Loopback(t).Dial, RootCAs: other.Pool, Timeout: testTimeout}, fakeCreds())
		before := len(w.fake.Requests())
		r := cl.GetDocument(context.Background(), target("ssm"))
		if r.Call.Stage != "tls" || r.Call.Class != errclass.TLSUntrusted || len(w.fake.Requests()) != before {
			t.Errorf("call %s; a request was sent over an unverified connection: %v", r.Call.Summary(), len(w.fake.Requests()) != before)
		}
	})
	t.Run("black hole costs one timeout", func(t *testing.T) {
		hole := netip.MustParseAddr("127.0.0.3")
		port := nettest.FreePort(t, hole)
		nettest.BlackHole(t, hole, port)
		cl := New(Options{Region: region, Port: port, Dial: nettest.Loopback(t).Dial, Timeout: 300 * time.Millisecond}, fakeCreds())
		t0 := time.Now()
		r := cl.GetDocument(context.Background(), Target{Host: "ssm." + region + ".amazonaws.com", Addrs: []netip.Addr{hole}})
		if took := time.Since(t0); r.Call.Class != errclass.Timeout || took > time.Second {
			t.Errorf("call %s took %v", r.Call.Summary(), took)
		}
	})
}

// TestClientNeverPrintsCredentials: fmt and JSON renderings of a Client
// hide the credentials.
func TestClientNeverPrintsCredentials(t *testing.T) {
	cl := New(Options{Region: region}, fakeCreds())
	//lint:ignore SA9005 marshalling a Client on purpose: its JSON must hold no secret
	b, _ := json.Marshal(cl)
	for _, out := range []string{fmt.Sprint(cl), fmt.Sprintf("%+v", cl), fmt.Sprintf("%#v", cl), fmt.Sprintf("%v", *cl),
		fmt.Sprintf("%+v", *cl), fmt.Sprintf("%#v", *cl), string(b)} {
		for _, s := range secrets() {
			if strings.Contains(out, s) {
				t.Errorf("%q holds secret %q", out, s)
			}
		}
	}
	if !strings.Contains(cl.String(), "[redacted]") {
		t.Errorf("String %q does not say the credentials are redacted", cl.String())
	}
}

// failingProxy is an agent proxy whose tunnels always fail, with a class.
type failingProxy struct{ covered string }

type classedErr struct{}

func (classedErr) Error() string {
	return "CONNECT ssm…:443 through http://127.0.0.9:3128: the proxy answered 407"
}

func (classedErr) Class() errclass.Class { return errclass.HTTPStatus }

func (p failingProxy) Via(host string) string {
	if host == p.covered {
		return "" // no_proxy covers it
	}
	return "http://127.0.0.9:3128"
}

func (failingProxy) Tunnel(context.Context, string) (net.Conn, error) {
	return nil, classedErr{}
}

// TestClientProxy checks that a call to a host the agent's proxy covers
// goes through its tunnel, needs no address of its own, and records the
// proxy and the tunnel's failure class; a host no_proxy covers goes direct.
func TestClientProxy(t *testing.T) {
	cl := New(Options{Region: region, Dial: nettest.Loopback(t).Dial, Timeout: testTimeout,
		Proxy: failingProxy{covered: "logs." + region + ".amazonaws.com"}}, fakeCreds())
	d := cl.GetDocument(context.Background(), Target{Host: "ssm." + region + ".amazonaws.com"})
	c := d.Call
	if c.Stage != "proxy" || c.Class != errclass.HTTPStatus || c.Proxy != "http://127.0.0.9:3128" || c.Addr != "" {
		t.Errorf("call %+v, want a proxy-stage failure through http://127.0.0.9:3128", c)
	}
	if s := c.Summary(); !strings.Contains(s, "through the agent's proxy http://127.0.0.9:3128") {
		t.Errorf("summary %q does not name the proxy", s)
	}
	g := cl.LogGroup(context.Background(), Target{Host: "logs." + region + ".amazonaws.com"}, "/x")
	if g.Call.Proxy != "" || g.Call.Stage != "dns" {
		t.Errorf("no_proxy host: call %+v, want direct (and no address: dns)", g.Call)
	}
}
