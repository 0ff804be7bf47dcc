package journal

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// TestRealCaptures scans each capture of the real agent (testdata/real) and
// compares what the catalog and the timeline make of it with its golden
// testdata/real/<folder>.want.json: the healthy captures hold no failure
// kind, no-instance-profile shows both credential sources failing, and
// endpoint-sg-blocks ends on a registration with no outcome.
func TestRealCaptures(t *testing.T) {
	for _, dir := range []string{"healthy-vpce", "proxy-works", "no-instance-profile", "endpoint-sg-blocks"} {
		t.Run(dir, func(t *testing.T) {
			res := Scan(context.Background(), Options{Paths: []string{filepath.Join("testdata", "real", dir)}, Location: time.UTC})
			for _, s := range res.Sources {
				if s.Status != StatusRead {
					t.Errorf("source %s: %s %s", s.Name, s.Status, s.Reason)
				}
			}
			golden.JSON(t, filepath.Join("testdata", "real", dir+".want.json"), struct {
				Events   []Summary
				Timeline *Timeline
			}{res.Events, res.Timeline})
			for _, s := range res.Events {
				if (dir == "healthy-vpce" || dir == "proxy-works") && isFailure(s.Kind) {
					t.Errorf("a healthy agent's log read as %s: %+v", s.Kind, s.Samples)
				}
			}
		})
	}
}
