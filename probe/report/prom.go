package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
)

// The metric names of the Prometheus output (docs/INTERFACE.md, "Prometheus
// output (--format prom)"). They are a contract: dashboards and alert rules key on them.
const (
	MetricStatus        = "ssm_probe_status"
	MetricFinding       = "ssm_probe_finding"
	MetricExplains      = "ssm_probe_finding_explains"
	MetricCheckDuration = "ssm_probe_check_duration_seconds"
	MetricLastRun       = "ssm_probe_last_run_timestamp_seconds"
	MetricInfo          = "ssm_probe_info"
)

// Prom writes r in the Prometheus text exposition format (version 0.0.4),
// for node_exporter's textfile collector:
//
//   - ssm_probe_status: the verdict's exit code (0 ok, 1 warn, 2 fail, 3 unknown);
//   - ssm_probe_finding{id,severity}: 1 for every finding of the run;
//   - ssm_probe_finding_explains{id,explains}: 1 for every finding ID folded
//     into the root cause id (the JSON finding's "explains");
//   - ssm_probe_check_duration_seconds{name,target}: how long each check took;
//   - ssm_probe_last_run_timestamp_seconds: when the run started, in Unix seconds;
//   - ssm_probe_info{version,commit}: 1, naming the probe build.
//
// Every metric is a gauge with HELP and TYPE lines, and the samples of one
// metric are written together, as the format requires. Samples carry no
// timestamp: the textfile collector rejects files that do. A series that
// would appear twice (the same finding ID raised twice, the same check name
// and target) is written once; a repeated check keeps its longest duration.
// Label values are stripped of control characters and invalid UTF-8
// (Sanitize), then escaped: backslash, double quote and line feed, per
// https://prometheus.io/docs/instrumenting/exposition_formats/.
func Prom(w io.Writer, r *diagnose.Result, m Meta) error {
	bw := bufio.NewWriter(w)
	family := func(name, help string) {
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}

	family(MetricStatus, "Verdict of the last ssm-probe run: 0 ok, 1 warn, 2 fail, 3 unknown (the exit code).")
	fmt.Fprintf(bw, "%s %d\n", MetricStatus, r.Verdict.ExitCode())

	family(MetricFinding, "A finding of the last ssm-probe run (1 while present); see docs/FINDINGS.md for the IDs.")
	seen := map[string]bool{}
	for _, f := range r.Findings {
		labels := promLabels("id", string(f.ID), "severity", string(f.Severity))
		if seen[labels] {
			continue
		}
		seen[labels] = true
		fmt.Fprintf(bw, "%s%s 1\n", MetricFinding, labels)
	}

	family(MetricExplains, "A finding of the last ssm-probe run folded into the root cause that explains it (1 while present).")
	for _, f := range r.Findings {
		for _, x := range f.Explains {
			labels := promLabels("id", string(f.ID), "explains", string(x))
			if seen[labels] {
				continue
			}
			seen[labels] = true
			fmt.Fprintf(bw, "%s%s 1\n", MetricExplains, labels)
		}
	}

	family(MetricCheckDuration, "Duration of each check of the last ssm-probe run, in seconds.")
	var order []string
	longest := map[string]int64{}
	for _, c := range r.Checks {
		labels := promLabels("name", string(c.Name), "target", c.Target)
		ms, ok := longest[labels]
		if !ok {
			order = append(order, labels)
		}
		if !ok || c.DurationMS > ms {
			longest[labels] = c.DurationMS
		}
	}
	for _, labels := range order {
		fmt.Fprintf(bw, "%s%s %s\n", MetricCheckDuration, labels, promFloat(float64(longest[labels])/1000))
	}

	family(MetricLastRun, "Unix time at which the last ssm-probe run started, in seconds.")
	fmt.Fprintf(bw, "%s %s\n", MetricLastRun, promFloat(float64(r.StartedAt.UnixMilli())/1000))

	family(MetricInfo, "The ssm-probe build that wrote these metrics (always 1).")
	fmt.Fprintf(bw, "%s%s 1\n", MetricInfo, promLabels("version", m.Version, "commit", m.Commit))
	return bw.Flush()
}

// promLabels renders name/value pairs as a label set: {a="x",b="y"}.
func promLabels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(PromEscape(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// PromEscape makes s a valid label value of the text exposition format:
// control characters (line breaks included) and invalid UTF-8 become '?' or
// a space (Sanitize), then backslash and double quote are escaped. The
// format itself would allow an escaped "\n", but a label value from a
// hostile host file has no business spanning lines in a dashboard.
func PromEscape(s string) string {
	s = Sanitize(s, false)
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// promFloat formats v as the shortest decimal that reads back as v.
func promFloat(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}
