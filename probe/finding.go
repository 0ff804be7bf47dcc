package probe

import (
	"fmt"
	"sort"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/host/changes"
)

// ID names a finding. IDs are a contract (docs/FINDINGS.md): they never change
// meaning and are never reused. Every ID is a constant in ids.go.
type ID string

// Severity ranks a finding (docs/FINDINGS.md, "Severity levels").
type Severity string

// The severities, most severe first.
const (
	SevFail Severity = "fail" // Session Manager cannot work, or will not work
	SevWarn Severity = "warn" // works now but fragile, degraded or slow; or an optional feature is broken
	SevInfo Severity = "info" // context a person needs to read the rest
)

// rank orders severities for sorting: fail first.
func (s Severity) rank() int {
	switch s {
	case SevFail:
		return 0
	case SevWarn:
		return 1
	default:
		return 2
	}
}

// Finding is one conclusion of the probe: a root cause with its evidence and
// its fix. Its JSON form is the "findings" element of the report contract.
type Finding struct {
	ID          ID       `json:"id"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`
	Summary     string   `json:"summary"`
	Evidence    []string `json:"evidence"`
	Remediation []string `json:"remediation"`
	Docs        []string `json:"docs"`
	// Endpoints names the endpoints whose broken path this finding explains
	// (host names); the verdict rules read it (verdict.go).
	Endpoints []string `json:"endpoints,omitempty"`
	// Explains lists the IDs of the findings folded into this one: symptoms
	// of the same root cause (Catalog.settle).
	Explains []ID `json:"explains"`

	// Since and ChangesBefore date the headline finding (timeline.go):
	// when its failures began in the agent's logs, and what changed on the
	// host in the window before. Absent on the other findings.
	Since         time.Time        `json:"since,omitzero"`
	ChangesBefore []changes.Change `json:"changes_before,omitempty"`
}

// names reports whether f names the endpoint host.
func (f *Finding) names(host string) bool {
	for _, h := range f.Endpoints {
		if h == host {
			return true
		}
	}
	return false
}

// about adds hosts to the endpoints f explains, once each.
func (f *Finding) about(hosts ...string) {
	for _, h := range hosts {
		if h != "" && !f.names(h) {
			f.Endpoints = append(f.Endpoints, h)
		}
	}
}

// Entry is the catalog's description of a finding ID: its default severity,
// its title, the fixes and doc links every instance carries, and the
// upstream findings that, when present, explain it (DependsOn). A finding
// whose upstream is present is folded into that upstream as evidence: one
// root cause gives one finding (docs/FINDINGS.md, "Rules").
type Entry struct {
	ID          ID
	Severity    Severity
	Title       string
	Remediation []string
	Docs        []string
	DependsOn   []ID
}

// Catalog maps IDs to their entries. It is built once by newCatalog and
// never changed afterwards.
type Catalog map[ID]Entry

// newCatalog builds a catalog from entries. It panics on an empty or
// duplicate ID, or on a DependsOn naming an unknown ID: both are
// programming errors that the catalog test catches before release.
func newCatalog(entries ...Entry) Catalog {
	c := make(Catalog, len(entries))
	for _, e := range entries {
		if e.ID == "" {
			panic("finding catalog: entry with an empty ID")
		}
		if _, dup := c[e.ID]; dup {
			panic(fmt.Sprintf("finding catalog: %s registered twice", e.ID))
		}
		c[e.ID] = e
	}
	for _, e := range entries {
		for _, d := range e.DependsOn {
			if _, ok := c[d]; !ok {
				panic(fmt.Sprintf("finding catalog: %s depends on unknown %s", e.ID, d))
			}
		}
	}
	return c
}

// New builds a finding of id from the catalog: severity, title, generic
// remediation and docs come from the entry; summary and evidence from the
// rule that fired. Rule-specific fixes come first in Remediation.
func (c Catalog) New(id ID, summary string, evidence []string, fixes ...string) Finding {
	e, ok := c[id]
	if !ok {
		panic(fmt.Sprintf("finding catalog: unknown ID %s", id))
	}
	rem := append(append([]string{}, fixes...), e.Remediation...)
	return Finding{
		ID:          id,
		Severity:    e.Severity,
		Title:       e.Title,
		Summary:     summary,
		Evidence:    append([]string{}, evidence...),
		Remediation: rem,
		Docs:        append([]string{}, e.Docs...),
	}
}

// maxFolded is how many evidence lines of a folded finding are carried
// into the finding that explains it.
const maxFolded = 3

// settle applies DependsOn and orders findings. A finding whose upstream is
// present is removed, and its title and first evidence lines are added to
// the finding that finally explains it: a chain (a folds into b, b into c)
// ends at c, so no evidence is lost with b. The result is sorted fail,
// warn, info, then by ID and summary so that reports are stable.
func (c Catalog) settle(fs []Finding) []Finding {
	present := make(map[ID]int, len(fs))
	for i, f := range fs {
		if j, ok := present[f.ID]; !ok || f.Severity.rank() < fs[j].Severity.rank() {
			present[f.ID] = i // the most severe instance stands for its ID
		}
	}
	into := make([]int, len(fs)) // the finding each folds into, or -1
	for i, f := range fs {
		into[i] = -1
		for _, up := range c[f.ID].DependsOn {
			// A root cause explains a symptom only when it is at least as
			// severe: a warn about resolv.conf's options does not swallow a
			// fail about an endpoint.
			if j, ok := present[up]; ok && j != i && fs[j].Severity.rank() <= f.Severity.rank() {
				into[i] = j
				break
			}
		}
	}
	keep := make([]bool, len(fs))
	for i, f := range fs {
		root := i
		for steps := 0; into[root] >= 0 && steps < len(fs); steps++ {
			root = into[root]
		}
		if root == i || into[root] >= 0 { // not folded, or a cycle: keep it
			keep[i] = true
			continue
		}
		fs[root].Explains = appendID(fs[root].Explains, f.ID)
		for _, x := range f.Explains {
			fs[root].Explains = appendID(fs[root].Explains, x)
		}
		fs[root].about(f.Endpoints...)
		fs[root].Evidence = append(fs[root].Evidence, "also explains: "+f.Title)
		for k, e := range f.Evidence {
			if k == maxFolded {
				fs[root].Evidence = append(fs[root].Evidence, fmt.Sprintf("  (%d more lines)", len(f.Evidence)-k))
				break
			}
			fs[root].Evidence = append(fs[root].Evidence, "  "+e)
		}
	}
	out := make([]Finding, 0, len(fs))
	for i, f := range fs {
		if keep[i] {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Severity.rank() != b.Severity.rank() {
			return a.Severity.rank() < b.Severity.rank()
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Summary < b.Summary
	})
	return out
}

func appendID(ids []ID, id ID) []ID {
	for _, x := range ids {
		if x == id {
			return ids
		}
	}
	return append(ids, id)
}
