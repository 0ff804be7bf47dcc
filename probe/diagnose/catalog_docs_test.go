package diagnose

import (
	"testing"

	"github.com/ssm-probe/ssm-probe/docs"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// TestCatalogMatchesFindingsDoc holds docs/FINDINGS.md and the catalog to
// each other in both directions: every documented ID has a catalog entry
// of the documented severity, and every catalog ID is documented.
func TestCatalogMatchesFindingsDoc(t *testing.T) {
	rows, err := docs.Findings()
	if err != nil {
		t.Fatal(err)
	}
	cat := NewCatalog()
	documented := map[finding.ID]bool{}
	for _, r := range rows {
		id := finding.ID(r.ID)
		if documented[id] {
			t.Errorf("docs/FINDINGS.md:%d: %s documented twice", r.Line, id)
		}
		documented[id] = true
		e, ok := cat[id]
		if !ok {
			t.Errorf("docs/FINDINGS.md:%d: %s is documented but not in the catalog", r.Line, id)
			continue
		}
		if string(e.Severity) != r.Severity {
			t.Errorf("docs/FINDINGS.md:%d: %s is %s in the document, %s in the catalog", r.Line, id, r.Severity, e.Severity)
		}
	}
	for _, id := range AllIDs() {
		if !documented[id] {
			t.Errorf("%s is in the catalog but not in docs/FINDINGS.md", id)
		}
	}
}
