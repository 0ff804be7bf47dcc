//go:build linux

package observe

import (
	"context"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// TestIMDSStalledBodies: an IMDS that answers every metadata GET with 200
// and its headers but never its body gave no value, so the check must not
// pass and the access must not read "v1".
func TestIMDSStalledBodies(t *testing.T) {
	srv := imdstest.New(imdstest.DefaultConfig(imdstest.StalledBody))
	t.Cleanup(srv.Close)
	cfg := testConfig(t)
	cfg.IMDSEndpoint = srv.URL
	cfg.Timeout = 300 * time.Millisecond
	out := runOne(context.Background(), &cfg, imdsCheck(&cfg))
	id := out.seen.IMDS
	if id == nil {
		t.Fatalf("no identity: %+v", out)
	}
	if out.Status == obs.StatusPass || id.Access != imds.AccessNone {
		t.Errorf("status %s, access %s (%s); want no pass and no access", out.Status, id.Access, out.Reason)
	}
	t.Logf("%s %s: %s", out.Status, out.Class, out.Reason)
}
