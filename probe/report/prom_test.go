package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// promtoolTimeout bounds one `promtool check metrics` run, which parses a
// few hundred bytes and exits in milliseconds; 30 s only guards a hang on
// a loaded CI machine.
const promtoolTimeout = 30 * time.Second

func TestPromGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Prom(&b, sample(), meta); err != nil {
		t.Fatal(err)
	}
	golden.Bytes(t, filepath.Join("testdata", "report.prom"), b.Bytes())
}

// hostile returns a result whose labels need escaping and whose series
// repeat: a target with a quote, a backslash, a line break and an ANSI
// escape, the same finding twice, and the same check twice.
func hostile() *diagnose.Result {
	cat := diagnose.NewCatalog()
	f := cat.New(diagnose.DNSHostsStale, "", nil)
	return &diagnose.Result{
		StartedAt: time.Unix(1700000000, 250e6),
		Verdict:   finding.VerdictFail,
		Findings:  []finding.Finding{f, f},
		Checks: []obs.CheckRecord{
			{Name: "hosts", Target: "C:\\etc\\hosts \"pinned\"\nnext\x1b[31m", DurationMS: 7},
			{Name: "tcp", Target: "10.0.0.1:443", DurationMS: 5},
			{Name: "tcp", Target: "10.0.0.1:443", DurationMS: 1500},
		},
	}
}

func TestPromEscapingAndDuplicates(t *testing.T) {
	var b bytes.Buffer
	if err := Prom(&b, hostile(), Meta{Version: "v1", Commit: "c"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`ssm_probe_check_duration_seconds{name="hosts",target="C:\\etc\\hosts \"pinned\" next?[31m"} 0.007` + "\n",
		`ssm_probe_check_duration_seconds{name="tcp",target="10.0.0.1:443"} 1.5` + "\n",
		`ssm_probe_finding{id="dns.hosts-stale",severity="fail"} 1` + "\n",
		"ssm_probe_status 2\n",
		"ssm_probe_last_run_timestamp_seconds 1700000000.25\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "ssm_probe_finding{"); n != 1 {
		t.Errorf("%d finding samples, want 1 (duplicates merged):\n%s", n, out)
	}
	if n := strings.Count(out, `name="tcp"`); n != 1 {
		t.Errorf("%d tcp samples, want 1 (duplicates merged):\n%s", n, out)
	}
	promtoolCheck(t, b.Bytes())
}

func TestPromPassesPromtool(t *testing.T) {
	for name, r := range map[string]*diagnose.Result{
		"sample":  sample(),
		"hostile": hostile(),
		"empty":   {Verdict: finding.VerdictUnknown},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Prom(&b, r, meta); err != nil {
				t.Fatal(err)
			}
			promtoolCheck(t, b.Bytes())
		})
	}
}

func TestPromEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{`a"b`, `a\"b`},
		{`a\b`, `a\\b`},
		{"a\nb", "a b"},
		{"bad \xff", "bad ?"},
		{"\u540d", "\u540d"},
	} {
		if got := PromEscape(tc.in); got != tc.want {
			t.Errorf("PromEscape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// promtoolCheck runs `promtool check metrics` (Debian package prometheus)
// on metrics. Without promtool the test is skipped, except under CI=true,
// where CI installs it and its absence is a failure.
func promtoolCheck(t *testing.T, metrics []byte) {
	t.Helper()
	if runtime.GOOS == "windows" {
		// The Windows test binary (make test-windows, under wine) renders
		// the same metrics as the Linux one, which promtool checks.
		t.Skip("promtool is Debian's Linux program: the Linux run of this test checks the same metrics with it")
	}
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("promtool not found under CI=true (apt-get install prometheus): %v", err)
		}
		t.Skipf("promtool not installed (Debian package prometheus); skipping the exposition-format check")
	}
	ctx, cancel := context.WithTimeout(context.Background(), promtoolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(metrics)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\n--- input\n%s", err, out, metrics)
	}
	// promtool exits 0 on lint warnings too; the output must be clean.
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("promtool check metrics complained:\n%s\n--- input\n%s", s, metrics)
	}
}
