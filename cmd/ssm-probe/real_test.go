//go:build linux

package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// TestLogsRealAgent runs `ssm-probe logs --since 0` on each capture of the
// real amazon-ssm-agent 3.3.1142.0 (journal/testdata/real) and
// holds its findings to testdata/real-<folder>.want.json: nothing for the
// healthy agents (directly and through a proxy), one credentials warn
// naming both missing sources with no instance profile, and no error when
// the endpoints drop 443 (an info: the registration is still waiting).
func TestLogsRealAgent(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		code int
		ids  []string
	}{
		{"healthy-vpce", 0, nil},
		{"proxy-works", 0, nil},
		{"no-instance-profile", 1, []string{"log.credentials-error"}},
		{"endpoint-sg-blocks", 0, []string{"log.registration-pending"}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			code, out, stderr := runCLI(t, "logs", "--since", "0", "--format", "json", filepath.Join("..", "..", "journal", "testdata", "real", tc.dir))
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tc.code, stderr)
			}
			type fnd struct {
				ID       string   `json:"id"`
				Severity string   `json:"severity"`
				Summary  string   `json:"summary"`
				Evidence []string `json:"evidence"`
				Explains []string `json:"explains"`
			}
			var doc struct {
				Status   string `json:"status"`
				Findings []fnd  `json:"findings"`
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			var ids []string
			for _, f := range doc.Findings {
				ids = append(ids, f.ID)
				if f.Severity == "fail" || (f.Severity == "warn" && tc.code == 0) {
					t.Errorf("%s at %s", f.ID, f.Severity)
				}
			}
			if len(ids) != len(tc.ids) || (len(ids) > 0 && ids[0] != tc.ids[0]) {
				t.Errorf("findings %v, want %v", ids, tc.ids)
			}
			if doc.Findings == nil {
				doc.Findings = []fnd{}
			}
			golden.JSON(t, filepath.Join("testdata", "real-"+tc.dir+".want.json"), doc)
		})
	}
}
