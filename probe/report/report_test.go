package report

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/docs"
	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/internal/golden"
	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// sample is a fixed result that exercises every part of the reports.
func sample() *diagnose.Result {
	running := true
	cat := diagnose.NewCatalog()
	return &diagnose.Result{
		StartedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC),
		Duration:  812 * time.Millisecond,
		Verdict:   finding.VerdictFail,
		Context: diagnose.Context{
			Mode: "ec2", Region: "ap-northeast-1", Domain: "amazonaws.com", InstanceID: "i-0123456789abcdef0",
			VPCCIDRs:  []string{"172.30.0.0/16"},
			Resolvers: diagnose.Resolvers{System: []string{"172.30.0.2"}, VPC: []string{"172.30.0.2", "169.254.169.253"}},
			Agent:     diagnose.AgentContext{Version: "3.3.1142.0", Running: &running},
		},
		Findings: []finding.Finding{
			explaining(cat.New(diagnose.NetEndpointBlocked,
				"ssm.ap-northeast-1.amazonaws.com resolves to 172.30.4.52, inside the VPC (an interface endpoint), and TCP 443 to it times out. DNS is VPC-wide: creating the endpoint redirected every subnet, including those that used to go out through a NAT or internet gateway.",
				[]string{"172.30.0.2 answered ssm.ap-northeast-1.amazonaws.com with 172.30.4.52 (inside 172.30.0.0/16)",
					"TCP 172.30.4.52:443 timed out after 2000 ms",
					"agent log \u2014 \x1b[31mdial tcp 172.30.4.52:443: i/o timeout\x1b[0m (47 times)"}), diagnose.LogEndpointTimeout),
			cat.New(diagnose.AgentHibernating, "hibernate.log shows the agent backing off.", []string{"/var/log/amazon/ssm/hibernate.log:12"}),
			cat.New(diagnose.DNSStubResolver, "", nil),
		},
		Paths: []agentpath.AgentPath{
			{Service: "ssm", Host: "ssm.ap-northeast-1.amazonaws.com", Required: true, Via: "direct", Source: "dns",
				Server: netip.MustParseAddrPort("172.30.0.2:53"), FQDN: "ssm.ap-northeast-1.amazonaws.com.", Reached: agentpath.StageResolve,
				Addrs: []agentpath.PathAddr{{Addr: netip.MustParseAddr("172.30.4.52"), Checked: true, Failed: agentpath.StageTCP,
					Class: errclass.Timeout, Detail: "dial tcp 172.30.4.52:443: i/o timeout"}},
				State: agentpath.PathBroken, Failed: agentpath.StageTCP, Class: errclass.Timeout, Detail: "dial tcp 172.30.4.52:443: i/o timeout"},
			{Service: "s3", Host: "s3.ap-northeast-1.amazonaws.com", Via: "direct", Source: "dns", Server: netip.MustParseAddrPort("172.30.0.2:53"),
				Addrs:  []agentpath.PathAddr{{Addr: netip.MustParseAddr("52.219.4.1"), Checked: true, Reached: agentpath.StageHTTPS}},
				Dialed: netip.MustParseAddr("52.219.4.1"), State: agentpath.PathOK, Reached: agentpath.StageHTTPS},
		},
		Checks: []obs.CheckRecord{
			{Name: "resolv.conf", Target: "/etc/resolv.conf", Status: obs.StatusPass, DurationMS: 0,
				Detail: map[string]any{"nameservers": []string{"172.30.0.2"}}},
			{Name: "tcp", Target: "ssm.ap-northeast-1.amazonaws.com 172.30.4.52:443", Status: obs.StatusFail,
				Required: true, Class: errclass.Timeout, DurationMS: 2000},
			{Name: "agent.proxy", Target: "/proc/2391/environ", Status: obs.StatusSkip,
				Reason: "not checked: needs root to read /proc/2391/environ"},
		},
	}
}

// explaining records that f folded the findings ids.
func explaining(f finding.Finding, ids ...finding.ID) finding.Finding {
	f.Explains = ids
	return f
}

var meta = Meta{Version: "v0.1.0-test", Commit: "abc1234"}

func TestTextGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  TextOptions
	}{
		{"report.txt", TextOptions{}},
		{"report-color.txt", TextOptions{Color: true}},
	} {
		var b bytes.Buffer
		if err := Text(&b, sample(), meta, tc.opt); err != nil {
			t.Fatal(err)
		}
		golden.Bytes(t, filepath.Join("testdata", tc.name), b.Bytes())
	}
}

func TestTextPlainIsASCII(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, sample(), meta, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, c := range b.Bytes() {
		if c >= 0x80 || (c < 0x20 && c != '\n') {
			t.Fatalf("byte %d is %#x: plain text must be printable ASCII", i, c)
		}
	}
}

func TestTextFirstScreen(t *testing.T) {
	// The verdict and every fail finding must be on the first 24 lines.
	var b bytes.Buffer
	if err := Text(&b, sample(), meta, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.HasPrefix(lines[0], "FAIL:") {
		t.Errorf("first line %q is not the verdict", lines[0])
	}
	first := strings.Join(lines[:24], "\n")
	if !strings.Contains(first, "[FAIL] net.endpoint-blocked") {
		t.Errorf("fail finding not on the first screen:\n%s", first)
	}
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sample(), meta); err != nil {
		t.Fatal(err)
	}
	validReport(t, b.Bytes())
	golden.Bytes(t, filepath.Join("testdata", "report.json"), b.Bytes())
}

// validReport fails the test when b breaks docs/report.schema.json.
func validReport(t *testing.T, b []byte) {
	t.Helper()
	if err := docs.ValidateReport(b); err != nil {
		t.Errorf("%v\n%s", err, b)
	}
}

// TestGoldenReportsKeepTheSchema validates every JSON report golden.
func TestGoldenReportsKeepTheSchema(t *testing.T) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(names) < 2 {
		t.Fatalf("JSON goldens: %v, %v", names, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := docs.ValidateReport(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestJSONContract(t *testing.T) {
	var b bytes.Buffer
	// diagnose.Finish always names the mode; all else is empty.
	empty := &diagnose.Result{Verdict: finding.VerdictUnknown, Context: diagnose.Context{Mode: "hybrid"}}
	if err := JSON(&b, empty, meta); err != nil {
		t.Fatal(err)
	}
	validReport(t, b.Bytes())
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "probe", "started_at", "duration_ms", "status", "context", "findings", "checks"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("top-level key %q missing", k)
		}
	}
	if doc["schema"] != Schema {
		t.Errorf("schema = %v", doc["schema"])
	}
	if _, ok := doc["findings"].([]any); !ok {
		t.Errorf("findings must be an array even when empty, got %v", doc["findings"])
	}
	ctx := doc["context"].(map[string]any)
	for _, k := range []string{"mode", "region", "domain", "instance_id", "vpc_cidrs", "resolvers", "agent"} {
		if _, ok := ctx[k]; !ok {
			t.Errorf("context key %q missing", k)
		}
	}
}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, ascii, utf string }{
		{"plain", "plain", "plain"},
		{"esc\x1b[31mred", "esc?[31mred", "esc?[31mred"},
		{"dash \u2014 ok", "dash - ok", "dash \u2014 ok"},
		{"bad \xff byte", "bad ? byte", "bad ? byte"},
		{"tab\there", "tab here", "tab here"},
		{"\u540d\u524d", "??", "\u540d\u524d"},
		{"csi \u009b31m c1", "csi ?31m c1", "csi ?31m c1"},
		{"abc\u202Efed\u2066x\u2069", "abc?fed?x?", "abc?fed?x?"},
		{"via http://u:p w@proxy:3128", "via http://REDACTED@proxy:3128", "via http://REDACTED@proxy:3128"},
	} {
		if got := Sanitize(tc.in, true); got != tc.ascii {
			t.Errorf("Sanitize(%q, ascii) = %q, want %q", tc.in, got, tc.ascii)
		}
		if got := Sanitize(tc.in, false); got != tc.utf {
			t.Errorf("Sanitize(%q, utf8) = %q, want %q", tc.in, got, tc.utf)
		}
	}
}

// TestJSONEscapesInvisible: a C1 control (the 8-bit CSI) and the bidi
// controls in any string reach the JSON report as \u escapes, never raw,
// and decode back to the same text; user information in a reason is
// redacted.
func TestJSONEscapesInvisible(t *testing.T) {
	r := sample()
	reason := "csi \u009b31m bidi \u202e\u2066x\u2069 proxy http://user:pass/word@proxy:3128"
	r.Checks[2].Reason = reason
	var buf bytes.Buffer
	if err := JSON(&buf, r, meta); err != nil {
		t.Fatal(err)
	}
	validReport(t, buf.Bytes())
	for _, raw := range []string{"\u009b", "\u202e", "\u2066", "\u2069"} {
		if strings.Contains(buf.String(), raw) {
			t.Errorf("the JSON report holds %U raw", []rune(raw)[0])
		}
	}
	for _, esc := range []string{`\u009b`, `\u202e`, `\u2066`, `\u2069`} {
		if !strings.Contains(buf.String(), esc) {
			t.Errorf("the JSON report lacks the escape %s", esc)
		}
	}
	var d Doc
	if err := json.Unmarshal(buf.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	want := "csi \u009b31m bidi \u202e\u2066x\u2069 proxy http://REDACTED@proxy:3128"
	if got := d.Checks[2].Reason; got != want {
		t.Errorf("decoded reason %q, want %q", got, want)
	}
}

// TestFixtureReportsKeepTheSchema diagnoses every observation fixture of
// the rule tests (probe/diagnose/testdata/obs) and validates each one's
// JSON report against docs/report.schema.json: every finding the rules
// raise, every kind of check and agent path, in a report.
func TestFixtureReportsKeepTheSchema(t *testing.T) {
	var files []string
	err := filepath.WalkDir(filepath.Join("..", "diagnose", "testdata", "obs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) < 100 {
		t.Fatalf("%d fixtures: %v", len(files), err)
	}
	ids := map[finding.ID]bool{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var fx struct {
			Observations *obs.Observations `json:"observations"`
		}
		if err := json.Unmarshal(b, &fx); err != nil || fx.Observations == nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		r := diagnose.Finish(fx.Observations, 0)
		var buf bytes.Buffer
		if err := JSON(&buf, r, meta); err != nil {
			t.Fatal(err)
		}
		if err := docs.ValidateReport(buf.Bytes()); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		for _, f := range r.Findings {
			ids[f.ID] = true
		}
	}
	t.Logf("%d fixtures, %d finding IDs", len(files), len(ids))
	if len(ids) < 50 {
		t.Errorf("the fixtures' reports hold only %d finding IDs: the walk missed them", len(ids))
	}
}
