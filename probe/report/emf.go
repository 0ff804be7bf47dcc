package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// The CloudWatch embedded metric format output (docs/INTERFACE.md, "CloudWatch
// metrics (--format emf)"). The namespace, the dimension and metric names and
// the properties are a contract: alarms and dashboards key on them.
const (
	EMFSchema    = "ssm-probe/emf/v1"
	EMFNamespace = "ssm-probe"

	EMFDimInstance = "InstanceId"
	EMFDimRegion   = "Region"

	EMFMetricStatus   = "Status"   // the exit code: 0 ok, 1 warn, 2 fail, 3 unknown
	EMFMetricDuration = "Duration" // the run's wall time, in milliseconds

	// EMFUnknown stands for a dimension value the run did not learn: a
	// dimension value must be a non-empty string.
	EMFUnknown = "unknown"

	// emfMaxMetrics is the most metrics one directive may define (the
	// specification's limit on a MetricDirective's Metrics).
	emfMaxMetrics = 100

	// emfMaxDimValue is the longest dimension value CloudWatch accepts.
	emfMaxDimValue = 1024
)

// EMFStatusMetrics are the metric names of the four verdicts: the run's is
// 1, the others 0, so that a fleet's fail count is one Sum.
var EMFStatusMetrics = map[finding.Verdict]string{
	finding.VerdictOK:      "StatusOK",
	finding.VerdictWarn:    "StatusWarn",
	finding.VerdictFail:    "StatusFail",
	finding.VerdictUnknown: "StatusUnknown",
}

// emfMetric is a MetricDefinition of the specification.
type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit,omitempty"`
}

// emfDirective is a MetricDirective of the specification.
type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

// EMF writes r as one CloudWatch embedded metric format document, on one
// line, for the CloudWatch agent (its EMF socket, or a log file it ships):
//
//   - the namespace ssm-probe, with the dimensions InstanceId and Region;
//   - Status, the verdict's exit code, and StatusOK, StatusWarn, StatusFail,
//     StatusUnknown: 1 for the run's verdict, 0 for the others;
//   - one metric per finding of the run, named by its ID, of value 1;
//   - Duration, the run's wall time in milliseconds;
//   - the properties Verdict, FindingIds, Mode, ProbeVersion, ProbeCommit
//     and Schema (ssm-probe/emf/v1), which CloudWatch Logs keeps in the log
//     event without making metrics of them.
//
// The metric time stamp is when the run started (when the render runs, for
// replayed observations that do not say when they were made).
func EMF(w io.Writer, r *diagnose.Result, m Meta) error {
	root := map[string]any{
		EMFDimInstance:    dimValue(r.Context.InstanceID),
		EMFDimRegion:      dimValue(r.Context.Region),
		EMFMetricStatus:   r.Verdict.ExitCode(),
		EMFMetricDuration: r.Duration.Milliseconds(),
		"Verdict":         verdictName(r.Verdict),
		"Mode":            r.Context.Mode,
		"ProbeVersion":    m.Version,
		"ProbeCommit":     m.Commit,
		"Schema":          EMFSchema,
	}
	metrics := []emfMetric{{Name: EMFMetricStatus, Unit: "None"}}
	for _, v := range []finding.Verdict{finding.VerdictOK, finding.VerdictWarn, finding.VerdictFail, finding.VerdictUnknown} {
		name := EMFStatusMetrics[v]
		metrics = append(metrics, emfMetric{Name: name, Unit: "Count"})
		root[name] = 0
		if verdictName(r.Verdict) == string(v) {
			root[name] = 1
		}
	}
	ids := []string{}
	for _, f := range r.Findings {
		id := string(f.ID)
		if _, dup := root[id]; dup || id == "" {
			continue // one metric per ID; an ID never names another member (IDs hold a dot)
		}
		ids = append(ids, id)
		root[id] = 1
		metrics = append(metrics, emfMetric{Name: id, Unit: "Count"})
	}
	metrics = append(metrics, emfMetric{Name: EMFMetricDuration, Unit: "Milliseconds"})
	root["FindingIds"] = ids

	var directives []emfDirective
	for chunk := range slices.Chunk(metrics, emfMaxMetrics) {
		directives = append(directives, emfDirective{Namespace: EMFNamespace,
			Dimensions: [][]string{{EMFDimInstance, EMFDimRegion}}, Metrics: chunk})
	}
	stamp := r.StartedAt
	if stamp.IsZero() { // replayed observations that carry no start time
		stamp = time.Now()
	}
	root["_aws"] = map[string]any{
		"Timestamp":         stamp.UnixMilli(),
		"CloudWatchMetrics": directives,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one line: one log event
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("emf: %w", err)
	}
	_, err := w.Write(EscapeInvisible(buf.Bytes()))
	return err
}

// verdictName is the verdict, or unknown when there is none.
func verdictName(v finding.Verdict) string {
	switch v {
	case finding.VerdictOK, finding.VerdictWarn, finding.VerdictFail:
		return string(v)
	}
	return string(finding.VerdictUnknown)
}

// dimValue is a dimension value: never empty, at most emfMaxDimValue bytes.
// It is stripped of control characters and URL user information like
// every text the reports show.
func dimValue(s string) string {
	s = Sanitize(s, false)
	if len(s) > emfMaxDimValue {
		s = Sanitize(s[:emfMaxDimValue], false)
	}
	if strings.TrimSpace(s) == "" {
		return EMFUnknown
	}
	return s
}
