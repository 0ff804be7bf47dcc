// Package finding holds what a diagnosis says: findings, the catalog
// entries and their fix templates, how findings settle, and the verdict
// values.
package finding

import (
	"fmt"
	"sort"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/host/changes"
)

// ID names a finding. IDs are a contract (docs/FINDINGS.md): they never change
// meaning and are never reused. Every ID is a constant beside its catalog
// entry, in the file of the rule that raises it.
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
	// (host names); the verdict rules read it (probe/diagnose, verdict.go).
	Endpoints []string `json:"endpoints,omitempty"`
	// Explains lists the IDs of the findings folded into this one: symptoms
	// of the same root cause (Catalog.Settle).
	Explains []ID `json:"explains"`

	// Since and ChangesBefore date the headline finding (diagnose, timeline.go):
	// when its failures began in the agent's logs, and what changed on the
	// host in the window before. Absent on the other findings.
	Since         time.Time        `json:"since,omitzero"`
	ChangesBefore []changes.Change `json:"changes_before,omitempty"`

	fills []Fill // what the rule filled the fix template with (Catalog.Refill)
}

// Names reports whether f names the endpoint host.
func (f *Finding) Names(host string) bool {
	for _, h := range f.Endpoints {
		if h == host {
			return true
		}
	}
	return false
}

// About adds hosts to the endpoints f explains, once each.
func (f *Finding) About(hosts ...string) {
	for _, h := range hosts {
		if h != "" && !f.Names(h) {
			f.Endpoints = append(f.Endpoints, h)
		}
	}
}

// Entry is the catalog's description of a finding ID, declared beside the
// rule that raises it (diagnose_*.go): its severity as docs/FINDINGS.md
// lists it, its title, its one fix template, its doc links, and the
// upstream findings that, when present, explain it (DependsOn). A finding
// whose upstream is present is folded into that upstream as evidence: one
// root cause gives one finding (docs/FINDINGS.md, "Rules").
//
// Fix is a text/template (fix.go), one fix per line, that the rule fills
// with the names and addresses involved (a Fill); rendered with nothing,
// it is the placeholder form the catalog prints.
type Entry struct {
	ID        ID
	Severity  Severity
	Title     string
	Fix       string
	Docs      []string
	DependsOn []ID

	fix *fixTemplate // Fix, parsed by NewCatalog
}

// RenderFix returns the entry's fixes filled with fills; with none, the
// placeholder form (VPC_ID, REGION, …).
func (e Entry) RenderFix(fills ...Fill) []string {
	if e.fix == nil && e.Fix != "" {
		e.fix = parseFix(e.ID, e.Fix)
	}
	return e.fix.render(fills...)
}

// Catalog maps IDs to their entries. It is built once by NewCatalog and
// never changed afterwards.
type Catalog map[ID]Entry

// NewCatalog builds a catalog from entries, parsing each fix template. It
// panics on an empty or duplicate ID, a DependsOn naming an unknown ID, or
// a fix template that does not parse: all are programming errors that the
// catalog test catches before release.
func NewCatalog(entries ...Entry) Catalog {
	c := make(Catalog, len(entries))
	for _, e := range entries {
		if e.ID == "" {
			panic("finding catalog: entry with an empty ID")
		}
		if _, dup := c[e.ID]; dup {
			panic(fmt.Sprintf("finding catalog: %s registered twice", e.ID))
		}
		e.fix = parseFix(e.ID, e.Fix)
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

// New builds a finding of id at the entry's severity: title, docs and the
// fix template come from the entry; summary and evidence from the rule
// that fired, and fills (merged, later ones winning) fill the fix.
func (c Catalog) New(id ID, summary string, evidence []string, fills ...Fill) Finding {
	return c.NewAt(id, c.entry(id).Severity, summary, evidence, fills...)
}

// NewAt is New for a rule that decides the severity itself (a warn while
// the path still works, info off EC2): the decision is made here, once,
// when the finding is built.
func (c Catalog) NewAt(id ID, sev Severity, summary string, evidence []string, fills ...Fill) Finding {
	e := c.entry(id)
	return Finding{
		ID:          id,
		Severity:    sev,
		Title:       e.Title,
		Summary:     summary,
		Evidence:    append([]string{}, evidence...),
		Remediation: append([]string{}, e.RenderFix(fills...)...),
		Docs:        append([]string{}, e.Docs...),
		fills:       fills,
	}
}

// Refill renders f's fix again with what its rule filled and more, which a
// diagnosis-wide fact (the unit the agent runs under) adds after the rules
// have run.
func (c Catalog) Refill(f *Finding, more Fill) {
	f.fills = append(f.fills[:len(f.fills):len(f.fills)], more)
	f.Remediation = append([]string{}, c.entry(f.ID).RenderFix(f.fills...)...)
}

func (c Catalog) entry(id ID) Entry {
	e, ok := c[id]
	if !ok {
		panic(fmt.Sprintf("finding catalog: unknown ID %s", id))
	}
	return e
}

// maxFolded is how many evidence lines of a folded finding are carried
// into the finding that explains it.
const maxFolded = 3

// Settle applies DependsOn and orders findings. A finding whose upstream is
// present is removed, and its title and first evidence lines are added to
// the finding that finally explains it: a chain (a folds into b, b into c)
// ends at c, so no evidence is lost with b. The result is sorted fail,
// warn, info, then by ID and summary so that reports are stable.
func (c Catalog) Settle(fs []Finding) []Finding {
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
		fs[root].About(f.Endpoints...)
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
