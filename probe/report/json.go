// Package report renders a diagnose.Result as text, JSON or Prometheus
// exposition. Every format is rendered from the same findings; the JSON
// form is the versioned contract of docs/INTERFACE.md.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/redact"
)

// Schema is the JSON report's schema identifier. A breaking change to the
// JSON shape gets a new schema version; additions do not.
const Schema = "ssm-probe/report/v1"

// Meta identifies the probe build that wrote a report.
type Meta struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// Doc is the JSON report document (docs/INTERFACE.md, "JSON report (schema ssm-probe/report/v1)").
type Doc struct {
	Schema     string                `json:"schema"`
	Probe      Meta                  `json:"probe"`
	StartedAt  string                `json:"started_at"`
	DurationMS int64                 `json:"duration_ms"`
	Status     finding.Verdict       `json:"status"`
	Context    diagnose.Context      `json:"context"`
	Findings   []finding.Finding     `json:"findings"`
	Checks     []obs.CheckRecord     `json:"checks"`
	Paths      []agentpath.AgentPath `json:"paths"`              // the agent's path to every planned endpoint (additive to v1)
	Timeline   *diagnose.Timeline    `json:"timeline,omitempty"` // since when, and what changed then (additive to v1)
}

// NewDoc builds the JSON document of r. Empty lists are rendered as [] and
// never as null, so consumers can iterate without a nil check.
func NewDoc(r *diagnose.Result, m Meta) Doc {
	d := Doc{
		Schema:     Schema,
		Probe:      m,
		StartedAt:  r.StartedAt.UTC().Format(time.RFC3339),
		DurationMS: r.Duration.Milliseconds(),
		Status:     r.Verdict,
		Context:    r.Context,
		Findings:   make([]finding.Finding, 0, len(r.Findings)),
		Checks:     make([]obs.CheckRecord, 0, len(r.Checks)),
		Paths:      append(make([]agentpath.AgentPath, 0, len(r.Paths)), r.Paths...),
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
		f.Summary = redact.Text(f.Summary)
		f.Evidence = nonNil(redactAll(f.Evidence))
		f.Remediation = nonNil(f.Remediation)
		f.Docs = nonNil(f.Docs)
		if f.Explains == nil {
			f.Explains = []finding.ID{}
		}
		d.Findings = append(d.Findings, f)
	}
	for _, c := range r.Checks {
		if c.Detail == nil {
			c.Detail = struct{}{}
		}
		c.Reason = redact.Text(c.Reason)
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

// redactAll redacts URL user information in each string (package redact).
func redactAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = redact.Text(s)
	}
	return out
}

// JSON writes r as an indented JSON report. C1 controls and the bidi
// controls are written as \u escapes (see EscapeInvisible).
func JSON(w io.Writer, r *diagnose.Result, m Meta) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(NewDoc(r, m)); err != nil {
		return err
	}
	_, err := w.Write(EscapeInvisible(buf.Bytes()))
	return err
}

// EscapeInvisible rewrites, in encoded JSON, the C1 controls (U+0080–U+009F,
// among them U+009B, the 8-bit CSI a terminal obeys) and the bidi
// embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) as \u
// escapes. encoding/json passes them through raw; a reader that cats the
// report would see text reordered or escape sequences run. JSON's
// structure is ASCII, so these runes occur only inside strings, where the
// escape means the same rune.
func EscapeInvisible(b []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x80 && r < 0xa0 || isBidiControl(r) {
			if out == nil {
				out = make([]byte, 0, len(b)+16)
			}
			out = append(out, b[last:i]...)
			out = fmt.Appendf(out, `\u%04x`, r)
			last = i + size
		}
		i += size
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}
