// Package report renders a probe.Result as text, JSON or Prometheus
// exposition. Every format is rendered from the same findings; the JSON
// form is the versioned contract of INTERFACE.md.
package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/ssm-probe/ssm-probe/probe"
)

// Schema is the JSON report's schema identifier. A breaking change to the
// JSON shape gets a new schema version; additions do not.
const Schema = "ssm-probe/report/v1"

// Meta identifies the probe build that wrote a report.
type Meta struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// Doc is the JSON report document (INTERFACE.md, "JSON report").
type Doc struct {
	Schema     string              `json:"schema"`
	Probe      Meta                `json:"probe"`
	StartedAt  string              `json:"started_at"`
	DurationMS int64               `json:"duration_ms"`
	Status     probe.Verdict       `json:"status"`
	Context    probe.Context       `json:"context"`
	Findings   []probe.Finding     `json:"findings"`
	Checks     []probe.CheckRecord `json:"checks"`
	Paths      []probe.AgentPath   `json:"paths"`              // the agent's path to every planned endpoint (additive to v1)
	Timeline   *probe.Timeline     `json:"timeline,omitempty"` // since when, and what changed then (additive to v1)
}

// NewDoc builds the JSON document of r. Empty lists are rendered as [] and
// never as null, so consumers can iterate without a nil check.
func NewDoc(r *probe.Result, m Meta) Doc {
	d := Doc{
		Schema:     Schema,
		Probe:      m,
		StartedAt:  r.StartedAt.UTC().Format(time.RFC3339),
		DurationMS: r.Duration.Milliseconds(),
		Status:     r.Verdict,
		Context:    r.Context,
		Findings:   make([]probe.Finding, 0, len(r.Findings)),
		Checks:     make([]probe.CheckRecord, 0, len(r.Checks)),
		Paths:      append(make([]probe.AgentPath, 0, len(r.Paths)), r.Paths...),
		Timeline:   r.Timeline,
	}
	if d.Context.VPCCIDRs == nil {
		d.Context.VPCCIDRs = []string{}
	}
	if d.Context.Resolvers.System == nil {
		d.Context.Resolvers.System = []string{}
	}
	if d.Context.Resolvers.VPC == nil {
		d.Context.Resolvers.VPC = []string{}
	}
	for _, f := range r.Findings {
		f.Evidence = nonNil(f.Evidence)
		f.Remediation = nonNil(f.Remediation)
		f.Docs = nonNil(f.Docs)
		if f.Explains == nil {
			f.Explains = []probe.ID{}
		}
		d.Findings = append(d.Findings, f)
	}
	for _, c := range r.Checks {
		if c.Detail == nil {
			c.Detail = struct{}{}
		}
		d.Checks = append(d.Checks, c)
	}
	return d
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// JSON writes r as an indented JSON report.
func JSON(w io.Writer, r *probe.Result, m Meta) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewDoc(r, m))
}
