//go:build linux

package lab

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/docs"
)

// MaxWall is the most any scenario's max_seconds may allow: the probe's
// --timeout (2 s by default, which the lab uses) plus half a second. The
// worst world costs one timeout, since every wait (IMDS, every resolver,
// every address) runs at once and no stage waits for another.
const MaxWall = 2500 * time.Millisecond

// Report is the part of the probe's JSON report (ssm-probe/report/v1) the
// lab checks. It is read independently of package probe, as any consumer
// of the contract would.
type Report struct {
	Schema     string          `json:"schema"`
	Status     string          `json:"status"`
	DurationMS int64           `json:"duration_ms"`
	Findings   []ReportFinding `json:"findings"`
	Checks     []ReportCheck   `json:"checks"`
}

// ReportFinding is one finding of a Report.
type ReportFinding struct {
	ID       string   `json:"id"`
	Severity string   `json:"severity"`
	Title    string   `json:"title"`
	Summary  string   `json:"summary"`
	Evidence []string `json:"evidence"`
	Fix      []string `json:"remediation"`
	Since    string   `json:"since"` // when its failures began (the headline finding only)
	// ChangesBefore are the host changes in the window before Since.
	ChangesBefore []struct {
		Time string `json:"time"`
		What string `json:"what"`
		Path string `json:"path"`
	} `json:"changes_before"`
}

// ReportCheck is one check record of a Report.
type ReportCheck struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// ParseReport decodes a JSON report and validates it against
// docs/report.schema.json.
func ParseReport(b []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("not a JSON report: %w", err)
	}
	if r.Schema != "ssm-probe/report/v1" {
		return nil, fmt.Errorf("schema %q, want ssm-probe/report/v1", r.Schema)
	}
	// The whole report must keep the published contract, as a consumer
	// validating it would require (the schema is embedded: no network).
	if err := docs.ValidateReport(b); err != nil {
		return nil, err
	}
	return &r, nil
}

// exitCodes maps a status to the probe's exit code (docs/INTERFACE.md).
var exitCodes = map[string]int{"ok": 0, "warn": 1, "fail": 2, "unknown": 3}

// splitWant splits "id/severity" (severity optional).
func splitWant(s string) (id, sev string, err error) {
	id, sev, _ = strings.Cut(s, "/")
	if id == "" || strings.ContainsAny(id, " \t") {
		return "", "", fmt.Errorf("want finding %q: id or id/severity", s)
	}
	switch sev {
	case "", "fail", "warn", "info":
	default:
		return "", "", fmt.Errorf("want finding %q: severity fail, warn or info", s)
	}
	return id, sev, nil
}

// Evaluate compares a probe run with what the scenario wants and returns
// every mismatch; none means the scenario passed. exit is the probe's exit
// code and wall its wall time.
func Evaluate(w Want, r *Report, exit int, wall time.Duration) []string {
	var probs []string
	if r.Status != w.Status {
		probs = append(probs, fmt.Sprintf("status %s, want %s", r.Status, w.Status))
	}
	if code, ok := exitCodes[r.Status]; !ok || code != exit {
		probs = append(probs, fmt.Sprintf("exit code %d does not match status %q", exit, r.Status))
	}
	wanted := map[string]bool{}
	for _, s := range w.Findings {
		id, sev, err := splitWant(s)
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		wanted[id] = true
		found := ""
		for _, f := range r.Findings {
			if f.ID == id && (sev == "" || f.Severity == sev) {
				found = f.Severity
				break
			}
		}
		if found == "" {
			got := "absent"
			for _, f := range r.Findings {
				if f.ID == id {
					got = "present as " + f.Severity
				}
			}
			probs = append(probs, fmt.Sprintf("missing finding %s (%s)", s, got))
		}
	}
	for _, s := range w.Absent {
		id, sev, err := splitWant(s)
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		for _, f := range r.Findings {
			if f.ID == id && (sev == "" || f.Severity == sev) {
				probs = append(probs, "finding "+f.ID+"/"+f.Severity+" must be absent: "+f.Title)
			}
		}
	}
	for _, f := range r.Findings {
		if f.ID == "probe.unexplained" {
			// The safety net names a broken path no rule explains; every
			// failure the lab builds has a rule, so this is always a bug.
			probs = append(probs, "probe.unexplained in the lab: "+f.Summary)
			continue
		}
		if f.Severity == "fail" && !wanted[f.ID] {
			probs = append(probs, "unexpected fail finding "+f.ID+": "+f.Title)
		}
	}
	probs = append(probs, named(w, r)...)
	probs = append(probs, dated(w, r)...)
	limit := time.Duration(w.MaxSeconds * float64(time.Second))
	if w.MaxSeconds <= 0 {
		limit = MaxWall // a loaded scenario always has one (Validate)
	}
	if wall > limit {
		probs = append(probs, fmt.Sprintf("took %.2f s, limit %.2f s", wall.Seconds(), limit.Seconds()))
	}
	return probs
}

// Result is the outcome class of one scenario.
type Result string

// The outcome classes. Only Pass and KnownBug leave make e2e green.
const (
	Pass     Result = "PASS"
	Fail     Result = "FAIL"
	KnownBug Result = "KNOWN-PROBE-BUG" // mismatch explained by want.probe_bug
	StaleBug Result = "STALE-BUG-NOTE"  // want.probe_bug is set but the probe now passes
	Broken   Result = "LAB-ERROR"       // the lab itself could not run the scenario
)

// Classify turns the mismatches of a scenario into its Result.
func Classify(w Want, probs []string) Result {
	switch {
	case len(probs) == 0 && w.ProbeBug != "":
		return StaleBug
	case len(probs) == 0:
		return Pass
	case w.ProbeBug != "":
		return KnownBug
	}
	return Fail
}

// OK reports whether the result keeps the run green.
func (r Result) OK() bool { return r == Pass || r == KnownBug }

// named checks want.names and want.not_names against the findings' text:
// summary, evidence and fix.
func named(w Want, r *Report) []string {
	var probs []string
	text := func(id string) (string, bool) {
		for _, f := range r.Findings {
			if f.ID == id {
				return f.Summary + "\n" + strings.Join(f.Evidence, "\n") + "\n" + strings.Join(f.Fix, "\n"), true
			}
		}
		return "", false
	}
	check := func(m map[string][]string, must bool) {
		ids := make([]string, 0, len(m))
		for id := range m {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			txt, ok := text(id)
			if !ok {
				probs = append(probs, "finding "+id+" is absent: cannot check what it names")
				continue
			}
			for _, s := range m[id] {
				if strings.Contains(txt, s) != must {
					if must {
						probs = append(probs, fmt.Sprintf("finding %s does not name %q", id, s))
					} else {
						probs = append(probs, fmt.Sprintf("finding %s names %q, which it must not", id, s))
					}
				}
			}
		}
	}
	check(w.Names, true)
	check(w.NotNames, false)
	return probs
}

// dated checks want.changed_before: the headline finding carries since and
// names each path among the changes before it.
func dated(w Want, r *Report) []string {
	if len(w.ChangedBefore) == 0 {
		return nil
	}
	if len(r.Findings) == 0 {
		return []string{"no headline finding to carry since and changes_before"}
	}
	h := r.Findings[0]
	var probs []string
	if h.Since == "" {
		probs = append(probs, "headline finding "+h.ID+" has no since")
	}
	for _, p := range w.ChangedBefore {
		found := false
		for _, c := range h.ChangesBefore {
			found = found || c.Path == p
		}
		if !found {
			probs = append(probs, fmt.Sprintf("headline finding %s does not name %s as changed before since %s", h.ID, p, h.Since))
		}
	}
	return probs
}

// ReplayProblems compares a run's report with the report of its saved
// observations re-diagnosed (--save-observations, then --observations):
// the status and every finding, with its summary and evidence, must be
// the same. It returns every difference.
func ReplayProblems(run, replay *Report) []string {
	if replay == nil {
		return []string{"no replay of the saved observations"}
	}
	var probs []string
	if run.Status != replay.Status {
		probs = append(probs, fmt.Sprintf("replay: status %s, the run's %s", replay.Status, run.Status))
	}
	key := func(f ReportFinding) string {
		return f.ID + "/" + f.Severity + ": " + f.Summary + " | " + strings.Join(f.Evidence, " | ")
	}
	n := max(len(run.Findings), len(replay.Findings))
	for i := range n {
		var a, b string
		if i < len(run.Findings) {
			a = key(run.Findings[i])
		}
		if i < len(replay.Findings) {
			b = key(replay.Findings[i])
		}
		if a != b {
			probs = append(probs, fmt.Sprintf("replay: finding %d is %q, the run's %q", i+1, b, a))
		}
	}
	return probs
}
