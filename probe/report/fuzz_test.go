package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// fuzzResult builds a Result whose every host- or network-supplied string
// is a fuzzed one: summary, evidence, targets, reasons, region, the detail.
func fuzzResult(a, b, c string, ms int64, verdict uint8) *diagnose.Result {
	verdicts := []finding.Verdict{finding.VerdictOK, finding.VerdictWarn, finding.VerdictFail, finding.VerdictUnknown}
	cat := diagnose.NewCatalog()
	return &diagnose.Result{
		StartedAt: time.Unix(1_700_000_000+ms%1_000_000, 0).UTC(),
		Duration:  time.Duration(ms%3_600_000) * time.Millisecond,
		Verdict:   verdicts[int(verdict)%len(verdicts)],
		Context: diagnose.Context{Mode: "ec2", Region: a, Domain: "amazonaws.com", InstanceID: c,
			VPCCIDRs: []string{b}, Resolvers: diagnose.Resolvers{System: []string{a, b}}},
		Findings: []finding.Finding{
			cat.New(diagnose.NetEndpointBlocked, a, []string{b, c}),
			cat.New(diagnose.DNSStubResolver, c, nil),
		},
		Checks: []obs.CheckRecord{
			{Name: "dns", Target: a, Status: obs.StatusFail, Class: errclass.Timeout, Reason: b, DurationMS: ms, Detail: c},
			{Name: obs.CheckName(b), Target: c, Status: obs.StatusSkip, Reason: a, Detail: nil},
			{Name: obs.CheckName(b), Target: c, Status: obs.StatusPass, DurationMS: ms / 2},
		},
	}
}

// valid replaces invalid UTF-8 the way encoding/json does on output.
func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// FuzzJSONRoundTrip renders a fuzzed Result as the JSON report, decodes it
// and compares it with the document it was rendered from.
func FuzzJSONRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b, c string, ms int64, verdict uint8) {
		a, b, c = valid(a), valid(b), valid(c)
		if ms < 0 {
			ms = -ms
		}
		r := fuzzResult(a, b, c, ms, verdict)
		var out bytes.Buffer
		if err := JSON(&out, r, Meta{Version: a, Commit: b}); err != nil {
			t.Fatal(err)
		}
		var got Doc
		dec := json.NewDecoder(&out)
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("decode: %v\n%s", err, out.String())
		}
		want := NewDoc(r, Meta{Version: a, Commit: b})
		// Detail is any: a string stays a string, the empty object of a
		// nil detail decodes to an empty map.
		want.Checks[1].Detail, want.Checks[2].Detail = map[string]any{}, map[string]any{}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip differs:\n got %#v\nwant %#v", got, want)
		}
	})
}

// FuzzText renders a fuzzed Result as text, with and without colour, at a
// fuzzed width: it never panics, and without colour every byte is
// printable ASCII or a line feed (a serial console shows it as is).
func FuzzText(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b, c string, ms int64, verdict uint8, width uint8) {
		r := fuzzResult(a, b, c, ms, verdict)
		var out bytes.Buffer
		if err := Text(&out, r, Meta{Version: a, Commit: c}, TextOptions{Width: int(width)}); err != nil {
			t.Fatal(err)
		}
		for i, ch := range out.Bytes() {
			if ch >= 0x80 || (ch < 0x20 && ch != '\n') {
				t.Fatalf("byte %d is %#x in plain text:\n%q", i, ch, out.String())
			}
		}
		out.Reset()
		if err := Text(&out, r, Meta{}, TextOptions{Color: true, Width: int(width)}); err != nil {
			t.Fatal(err)
		}
	})
}

// promSample is one parsed sample line of the text exposition format.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseProm is a strict reader of the subset Prom writes: HELP and TYPE
// comments, then `name{k="v",...} value` with \\ and \" escapes (and \n,
// which the format allows). It returns an error message for anything else.
func parseProm(s string) ([]promSample, string) {
	var out []promSample
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		var smp promSample
		i := strings.IndexAny(line, "{ ")
		if i <= 0 {
			return nil, "no metric name: " + line
		}
		smp.name, line = line[:i], line[i:]
		if line[0] == '{' {
			smp.labels = map[string]string{}
			line = line[1:]
			for line != "" && line[0] != '}' {
				eq := strings.Index(line, `="`)
				if eq <= 0 {
					return nil, "bad label: " + line
				}
				key := line[:eq]
				line = line[eq+2:]
				var v strings.Builder
				for {
					if line == "" {
						return nil, "unterminated label value"
					}
					ch := line[0]
					line = line[1:]
					if ch == '"' {
						break
					}
					if ch == '\n' {
						return nil, "raw line feed in a label value"
					}
					if ch == '\\' {
						if line == "" {
							return nil, "dangling backslash"
						}
						switch line[0] {
						case '\\', '"':
							v.WriteByte(line[0])
						case 'n':
							v.WriteByte('\n')
						default:
							return nil, "bad escape"
						}
						line = line[1:]
						continue
					}
					v.WriteByte(ch)
				}
				smp.labels[key] = v.String()
				line = strings.TrimPrefix(line, ",")
			}
			if line == "" {
				return nil, "unterminated label set"
			}
			line = line[1:]
		}
		if !strings.HasPrefix(line, " ") {
			return nil, "no space before the value"
		}
		v, err := strconv.ParseFloat(line[1:], 64)
		if err != nil {
			return nil, "bad value " + line
		}
		smp.value = v
		out = append(out, smp)
	}
	return out, ""
}

// FuzzPromRoundTrip renders a fuzzed Result in the exposition format,
// parses it back with a strict reader, and checks that every label value
// reads back as the sanitised input and every duration as the input's.
func FuzzPromRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b, c string, ms int64, verdict uint8) {
		if ms < 0 {
			ms = -ms
		}
		ms %= 1 << 40
		r := fuzzResult(a, b, c, ms, verdict)
		var out bytes.Buffer
		if err := Prom(&out, r, Meta{Version: a, Commit: b}); err != nil {
			t.Fatal(err)
		}
		samples, bad := parseProm(out.String())
		if bad != "" {
			t.Fatalf("%s\n%s", bad, out.String())
		}
		var durations []promSample
		for _, s := range samples {
			switch s.name {
			case MetricStatus:
				if int(s.value) != r.Verdict.ExitCode() {
					t.Fatalf("status %v, verdict %s", s.value, r.Verdict)
				}
			case MetricInfo:
				if s.labels["version"] != Sanitize(a, false) || s.labels["commit"] != Sanitize(b, false) {
					t.Fatalf("info labels %q", s.labels)
				}
			case MetricCheckDuration:
				durations = append(durations, s)
			}
		}
		if len(durations) != 2 {
			t.Fatalf("%d duration samples, want 2 (one check is a repeat)", len(durations))
		}
		d0 := durations[0]
		if d0.labels["name"] != "dns" || d0.labels["target"] != Sanitize(a, false) || d0.value != float64(ms)/1000 {
			t.Fatalf("first duration %+v, want dns/%q/%v", d0, Sanitize(a, false), float64(ms)/1000)
		}
		if d1 := durations[1]; d1.labels["name"] != Sanitize(b, false) || d1.labels["target"] != Sanitize(c, false) {
			t.Fatalf("second duration %+v", d1)
		}
	})
}
