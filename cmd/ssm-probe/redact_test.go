//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs/rootfstest"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
	"github.com/ssm-probe/ssm-probe/probe/prefs/prefstest"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// redactAttempt is the --timeout of the redaction runs: far above a
// loopback round trip, and short, because the hanging-PUT mode waits it out.
const redactAttempt = "700ms"

// redactServedTimeout bounds the direct GET of the fake's credentials: a
// loopback answer takes microseconds; two seconds only guards against a hang.
const redactServedTimeout = 2 * time.Second

// redactSecrets are the fake secrets the fake IMDS serves; none may reach
// the probe's output or its debug log.
func redactSecrets() []string {
	return []string{imdstest.FakeAccessKeyID, imdstest.FakeSecretAccessKey, imdstest.FakeToken, imdstest.FakeIMDSToken}
}

// redactRoot builds an EC2 host tree with a deb agent whose resolv.conf
// names only 127.0.0.1, so that every DNS query goes to the test's server.
func redactRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	rootfstest.CopyTree(t, filepath.Join("..", "..", "probe", "host", "testdata", "roots", "ec2-xen"), root)
	rootfstest.CopyTree(t, filepath.Join("..", "..", "probe", "agent", "testdata", "roots", "deb"), root)
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "resolv.conf"), []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// closedLoopbackPort returns a loopback port nothing listens on (it was
// free a moment ago), so that endpoint dials are refused at once.
func closedLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// TestRedaction runs the CLI in-process against the fake IMDS in every
// mode, with text and JSON output and the debug log on, and checks that no
// fake secret appears in stdout or stderr. Every address the run can dial
// is loopback: the fake IMDS, a DNS server that answers every name with
// 127.0.0.1 (asked as both the system and the VPC resolver), and a closed
// endpoint port.
func TestRedaction(t *testing.T) {
	root := redactRoot(t)
	dnsSrv := resolvtest.Start(t, resolvtest.Zone{"*": {Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}})
	endpointPort := closedLoopbackPort(t)
	for _, mode := range imdstest.AllModes() {
		t.Run(string(mode), func(t *testing.T) {
			srv := imdstest.New(imdstest.DefaultConfig(mode))
			defer srv.Close()
			if mode == imdstest.V2Optional {
				redactServed(t, srv.URL)
			}
			for _, format := range []string{"text", "json", "prom", "emf"} {
				var stdout, stderr redactBuffer
				saved := filepath.Join(t.TempDir(), "observations.json")
				code := run([]string{"run", "--save-observations", saved,
					"--root", root, "--live",
					"--imds-endpoint", srv.URL,
					"--vpc-dns", dnsSrv.Addr.Addr().String(),
					"--signing-dns", dnsSrv.Addr.Addr().String(),
					"--dns-port", strconv.Itoa(int(dnsSrv.Addr.Port())),
					"--endpoint-port", strconv.Itoa(endpointPort),
					"--timeout", redactAttempt, "--deadline", "10s",
					"--format", format, "--log-level", "debug", "--no-color",
				}, &stdout, &stderr)
				noSecretAnywhere(t, format, code, stdout.String(), stderr.String(), saved)
				// The run must really have happened: a debug log, a report
				// naming the fake instance, and (for JSON) a parseable one.
				if !strings.Contains(stderr.String(), "check start") {
					t.Errorf("%s: no debug log on stderr:\n%s", format, stderr.String())
				}
				if format == "emf" && !strings.Contains(stdout.String(), `"CloudWatchMetrics"`) {
					t.Errorf("emf: no CloudWatchMetrics:\n%s", stdout.String())
				}
				if format == "prom" && !strings.Contains(stdout.String(), "ssm_probe_status") {
					t.Errorf("prom: no ssm_probe_status:\n%s", stdout.String())
				}
				if format != "prom" && format != "emf" && mode != imdstest.Disabled403 && mode != imdstest.RejectToken && mode != imdstest.HugeBody &&
					!strings.Contains(stdout.String(), imdstest.DefaultConfig(mode).InstanceID) {
					t.Errorf("%s: report does not name instance %s:\n%s", format, imdstest.DefaultConfig(mode).InstanceID, stdout.String())
				}
				if format == "json" && !json.Valid(stdout.Bytes()) {
					t.Errorf("json output is not JSON:\n%s", stdout.String())
				}
			}
		})
	}
}

// noSecretSaved checks that the --save-observations file at path was
// written, is JSON, and holds none of secrets.
// noSecretAnywhere checks one redaction run: no usage error, and no secret
// in its stdout, its stderr (the debug log) or its saved observations.
func noSecretAnywhere(t *testing.T, format string, code int, stdout, stderr, saved string) {
	t.Helper()
	if code == exitUsage {
		t.Fatalf("%s: usage error: %s", format, stderr)
	}
	for _, s := range redactSecrets() {
		if strings.Contains(stdout, s) {
			t.Errorf("%s: stdout holds secret %q", format, s)
		}
		if strings.Contains(stderr, s) {
			t.Errorf("%s: stderr holds secret %q", format, s)
		}
	}
	noSecretSaved(t, saved, redactSecrets())
}

func noSecretSaved(t *testing.T, path string, secrets []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("--save-observations wrote nothing: %v", err)
	}
	if !json.Valid(b) || !bytes.Contains(b, []byte(`"checks"`)) {
		t.Fatalf("%s is not an observations file:\n%s", path, b)
	}
	for _, s := range secrets {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("the saved observations hold secret %q", s)
		}
	}
}

// redactBuffer is a bytes.Buffer safe for the concurrent writes of the
// probe's logger, which logs from every check's goroutine.
type redactBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (r *redactBuffer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.Write(p)
}

func (r *redactBuffer) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.b.String()
}

func (r *redactBuffer) Bytes() []byte { return []byte(r.String()) }

// redactServed checks that the fake really serves the secrets the test
// looks for, so that TestRedaction cannot pass because none were sent.
func redactServed(t *testing.T, base string) {
	t.Helper()
	c := imdstest.DefaultConfig(imdstest.V2Optional)
	hc := &http.Client{Timeout: redactServedTimeout, Transport: &http.Transport{}}
	resp, err := hc.Get(base + imdstest.MetadataPath + "iam/security-credentials/" + c.Role)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{imdstest.FakeAccessKeyID, imdstest.FakeSecretAccessKey, imdstest.FakeToken} {
		if !bytes.Contains(b, []byte(s)) {
			t.Fatalf("the fake IMDS does not serve %q; the redaction test would be vacuous", s)
		}
	}
}

// TestRedactionSigningPath runs the CLI against the fake IMDS and the
// prefstest fake of the signed APIs, with the debug log on: the role's
// credentials are fetched and used to sign GetDocument and HeadBucket
// (the fake verifies the signatures with the IMDS fake's secrets, which
// proves they were used), yet no secret reaches stdout or stderr. In the
// second case the fake holds another secret key, so it rejects the
// signature and echoes the canonical request, session token included, as
// AWS does; the probe must scrub it.
func TestRedactionSigningPath(t *testing.T) {
	root := redactRoot(t)
	lo := netip.MustParseAddr("127.0.0.1")
	dnsSrv := resolvtest.Start(t, resolvtest.Zone{"*": {Addrs: []netip.Addr{lo}}})
	ca := nettest.NewCA(t, "redaction test root")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	imdsCfg := imdstest.DefaultConfig(imdstest.V2Required)
	cases := []struct {
		name      string
		secret    string // the fake's secret key; "" means the IMDS fake's
		wantValid bool
	}{
		{"signatures verify", "", true},
		{"signature rejected with the canonical request echoed", "another-secret-key", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			imdsSrv := imdstest.New(imdsCfg)
			defer imdsSrv.Close()
			fc := prefstest.Config{Region: imdsCfg.Region,
				Document: prefstest.Document(map[string]any{"s3BucketName": "deleted-session-logs"})}
			if c.secret != "" {
				fc.AccessKeyID, fc.SecretAccessKey, fc.SessionToken = imdstest.FakeAccessKeyID, c.secret, imdstest.FakeToken
			}
			fake := prefstest.New(fc)
			port := prefstest.Start(t, fake, []netip.Addr{lo}, ca)
			for _, format := range []string{"text", "json", "prom"} {
				var stdout, stderr redactBuffer
				saved := filepath.Join(t.TempDir(), "observations.json")
				code := run([]string{"run", "--save-observations", saved,
					"--root", root, "--live",
					"--imds-endpoint", imdsSrv.URL,
					"--vpc-dns", dnsSrv.Addr.Addr().String(),
					"--signing-dns", dnsSrv.Addr.Addr().String(),
					"--dns-port", strconv.Itoa(int(dnsSrv.Addr.Port())),
					"--endpoint-port", strconv.Itoa(port),
					"--ca-file", caFile,
					"--timeout", redactAttempt, "--deadline", "10s",
					"--format", format, "--log-level", "debug", "--no-color",
				}, &stdout, &stderr)
				noSecretAnywhere(t, format, code, stdout.String(), stderr.String(), saved)
				// The run really signed: the JSON checks record the call, and
				// the verified calls found the deleted bucket.
				if format == "json" && !strings.Contains(stdout.String(), "ssm:GetDocument") {
					t.Errorf("%s: the report does not record the signed call:\n%s", format, stdout.String())
				}
				if c.wantValid && !strings.Contains(stdout.String(), "prefs.s3-bucket-missing") {
					t.Errorf("%s: the report lacks prefs.s3-bucket-missing:\n%s", format, stdout.String())
				}
			}
			if c.wantValid && fake.Valid() < 4 { // GetDocument and HeadBucket, per format
				t.Errorf("the fake verified %d signed requests, want at least 4: %+v", fake.Valid(), fake.Requests())
			}
			if !c.wantValid && (fake.Signed() < 2 || fake.Valid() != 0) {
				t.Errorf("signed %d, verified %d: want signed requests that all fail to verify", fake.Signed(), fake.Valid())
			}
		})
	}
}

// proxyLinePasswords are the password forms a proxy setting can hold,
// each logged by the agent at start as "NAME: value": a scheme-less value
// whose password ends in '=' (base64), and passwords holding a blank, '=',
// ',', ';', a quote or a bracket, with and without a scheme. Each password
// is distinct, so that a leak names its form.
var proxyLinePasswords = []struct{ name, value, password string }{
	{"https_proxy", "alice:%s@10.0.0.5:3128", "Xk9fQ2sAbCdE=="},
	{"https_proxy", "alice:%s@10.0.0.5:3128", "Pq7Lm3 Zt8Wy"},
	{"http_proxy", "alice:%s@10.0.0.5:3128", "Rv4Hn6=Jk2Gd"},
	{"HTTPS_PROXY", "alice:%s@10.0.0.5:3128", "Bf8Tc1,Ys5Qw"},
	{"HTTP_PROXY", "alice:%s@10.0.0.5:3128", "Mz3Kx9;Np6Vr"},
	{"https_proxy", "alice:%s@10.0.0.5:3128", `Dw2Fg7"Hs4Jl`},
	{"https_proxy", "alice:%s@10.0.0.5:3128", "Cu5Ei8'Ob1Ta"},
	{"https_proxy", "alice:%s@10.0.0.5:3128", "Gy6Wq[Lo3]Ux"},
	{"https_proxy", "http://alice:%s@10.0.0.5:3128", `Sn9 "Ah7, Ke;4=`},
}

// proxyLineFragments returns every 4-byte window of every password: none
// may appear in any output.
func proxyLineFragments() []string {
	var out []string
	for _, p := range proxyLinePasswords {
		for i := 0; i+4 <= len(p.password); i++ {
			out = append(out, p.password[i:i+4])
		}
	}
	return out
}

// proxyLineRoot writes a root whose agent log holds the proxy lines, and
// returns it with the log directory.
func proxyLineRoot(t *testing.T) (root, logDir string) {
	t.Helper()
	root = t.TempDir()
	logDir = filepath.Join(root, "var", "log", "amazon", "ssm")
	var b strings.Builder
	b.WriteString("2024-03-01 10:00:00.0000 INFO [amazon-ssm-agent] Proxy environment variables:\n")
	for _, p := range proxyLinePasswords {
		fmt.Fprintf(&b, "2024-03-01 10:00:00.0000 INFO [amazon-ssm-agent] %s: "+p.value+"\n", p.name, p.password)
	}
	b.WriteString("2024-03-01 10:00:00.0000 INFO [amazon-ssm-agent] no_proxy: 169.254.169.254\n")
	writeTestFile(t, filepath.Join(logDir, "amazon-ssm-agent.log"), []byte(b.String()))
	return root, logDir
}

// noFragment fails the test when out holds a fragment of a password.
func noFragment(t *testing.T, what, out string) {
	t.Helper()
	for _, f := range proxyLineFragments() {
		if strings.Contains(out, f) {
			i := strings.Index(out, f)
			t.Errorf("%s shows password fragment %q: …%s…", what, f, out[max(0, i-60):min(len(out), i+40)])
			return
		}
	}
}

// TestProxyLinePasswordNeverShown runs the CLI on an agent log whose
// proxy-variable lines hold passwords in every form proxyLinePasswords
// lists, and checks that no fragment of a password is in the output of
// "ssm-probe logs" (JSON, text), of a full offline run (text, JSON, prom,
// the debug log), in the --save-observations file, or in its replay
// (--observations, every format). The JSON outputs must still show the
// redacted values, so that the test cannot pass on lines never read.
func TestProxyLinePasswordNeverShown(t *testing.T) {
	root, logDir := proxyLineRoot(t)
	const redacted = "https_proxy=REDACTED@10.0.0.5:3128"
	for _, format := range []string{"json", "text"} {
		code, out, stderr := runCLI(t, "logs", "--since", "0", "--format", format, "--log-level", "debug", logDir)
		if code == exitUsage || code == exitUnknown {
			t.Fatalf("logs --format %s: exit %d: %s", format, code, stderr)
		}
		noFragment(t, "logs --format "+format, out)
		noFragment(t, "logs --format "+format+" stderr", stderr)
		if format == "json" && !strings.Contains(out, redacted) {
			t.Errorf("logs --format json does not show %q: the lines were not read\n%s", redacted, out)
		}
	}
	saved := filepath.Join(t.TempDir(), "observations.json")
	for _, format := range []string{"json", "text", "prom"} {
		code, out, stderr := runCLI(t, "run", "--root", root, "--since", "0", "--format", format,
			"--log-level", "debug", "--no-color", "--save-observations", saved, "--imds-endpoint", "http://127.0.0.1:1")
		if code == exitUsage {
			t.Fatalf("run --format %s: usage error: %s", format, stderr)
		}
		noFragment(t, "run --format "+format, out)
		noFragment(t, "run --format "+format+" stderr", stderr)
		if format == "json" && !strings.Contains(out, redacted) {
			t.Errorf("run --format json does not show %q: the lines were not read\n%s", redacted, out)
		}
		noSecretSaved(t, saved, proxyLineFragments())
		b, _ := os.ReadFile(saved)
		if !strings.Contains(string(b), "REDACTED@10.0.0.5:3128") {
			t.Errorf("the saved observations do not hold the redacted proxy line: the lines were not read")
		}
	}
	for _, format := range []string{"json", "text", "prom"} {
		code, out, stderr := runCLI(t, "--observations", saved, "--format", format, "--no-color", "--log-level", "debug")
		if code == exitUsage || code == exitUnknown && out == "" {
			t.Fatalf("--observations --format %s: exit %d: %s", format, code, stderr)
		}
		noFragment(t, "replay --format "+format, out)
		noFragment(t, "replay --format "+format+" stderr", stderr)
		if format == "json" && !strings.Contains(out, redacted) {
			t.Errorf("replay --format json does not show %q\n%s", redacted, out)
		}
	}
}
