//go:build linux

package observe

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs/rootfstest"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// identityAttempt is the per-attempt timeout of the integration runs: far
// above a loopback round trip, short enough that a hanging PUT costs the
// test well under a second.
const identityAttempt = 700 * time.Millisecond

// identityDeadline caps each integration run. It is far above what the
// runs need (about one attempt), so only a hang reaches it.
const identityDeadline = 8 * time.Second

// identityRoot builds a host tree from an agent fixture and a host fixture,
// with a resolv.conf that names only 127.0.0.1, so that every DNS query of
// the run goes to the test's own server.
func identityRoot(t *testing.T, agentFixture, hostFixture string) string {
	t.Helper()
	root := t.TempDir()
	rootfstest.CopyTree(t, factRoot("host", hostFixture), root)
	rootfstest.CopyTree(t, factRoot("agent", agentFixture), root)
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "resolv.conf"), []byte("nameserver 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// identityConfig returns a Config for one run against the fake IMDS at
// endpoint: every dial is checked to be loopback (testConfig), both the
// system and the VPC resolver are a loopback server that answers NXDOMAIN
// (so no endpoint is dialled), and the root is the given tree.
func identityConfig(t *testing.T, root, endpoint string) Config {
	t.Helper()
	dnsSrv := resolvtest.Start(t, resolvtest.Zone{})
	cfg := testConfig(t)
	cfg.Root = root
	cfg.IMDSEndpoint = endpoint
	cfg.VPCDNS = []netip.Addr{dnsSrv.Addr.Addr()}
	cfg.DNSPort = int(dnsSrv.Addr.Port())
	cfg.Timeout = identityAttempt
	cfg.Deadline = identityDeadline
	return cfg
}

// identityIDs returns the imds.*, iam.* and agent.* findings of res as
// sorted "id/severity" strings. host.disk-full is left out: it depends on
// the build machine's disk, and is covered by the observation fixtures.
func identityIDs(res *diagnose.Result) []string {
	out := []string{}
	for _, f := range res.Findings {
		for _, p := range []string{"imds.", "iam.", "agent."} {
			if strings.HasPrefix(string(f.ID), p) {
				out = append(out, string(f.ID)+"/"+string(f.Severity))
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestIdentityIntegration runs the whole probe against the fake IMDS in
// each of its modes, on an EC2 host tree with a current deb agent, and
// checks the identity findings each mode must give.
func TestIdentityIntegration(t *testing.T) {
	cases := []struct {
		name       string
		mode       imdstest.Mode
		agent      string // agent fixture
		host       string // host fixture
		unreach    bool   // point at a closed loopback port instead of the fake
		want       []string
		wantAccess string
	}{
		{name: "v2 required", mode: imdstest.V2Required, want: nil, wantAccess: "v2"},
		{name: "v2 optional", mode: imdstest.V2Optional, want: nil, wantAccess: "v2"},
		{name: "v1 only", mode: imdstest.V1Only, want: nil, wantAccess: "v1"},
		{name: "disabled 403", mode: imdstest.Disabled403, want: []string{"imds.disabled/fail"}, wantAccess: "none"},
		{name: "hanging PUT", mode: imdstest.HangingPut, want: []string{"imds.token-timeout/fail"}, wantAccess: "v1"},
		{name: "no profile, DHMC can serve", mode: imdstest.NoProfile, want: []string{"iam.no-instance-profile/warn"}, wantAccess: "v2"},
		{name: "no profile, agent too old for DHMC", mode: imdstest.NoProfile, agent: "old",
			want: []string{"agent.outdated/fail", "iam.no-instance-profile/fail"}, wantAccess: "v2"},
		{name: "credentials failed", mode: imdstest.CredsFailed, want: []string{"iam.credentials-unavailable/fail"}, wantAccess: "v2"},
		{name: "credentials expired", mode: imdstest.CredsExpired, want: []string{"iam.credentials-unavailable/fail"}, wantAccess: "v2"},
		{name: "token rejected", mode: imdstest.RejectToken, want: []string{"imds.unusable/fail"}, wantAccess: "none"},
		{name: "huge body", mode: imdstest.HugeBody, want: nil, wantAccess: "v2"},
		{name: "unreachable on EC2", unreach: true, want: []string{"imds.unreachable/fail"}, wantAccess: "none"},
		{name: "unreachable off EC2", unreach: true, host: "not-ec2", want: []string{"imds.unreachable/info"}, wantAccess: "none"},
		{name: "unreachable, hybrid node", unreach: true, host: "hybrid", agent: "hybrid", want: []string{"imds.unreachable/info"}, wantAccess: "none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			agentFx, hostFx := c.agent, c.host
			if agentFx == "" {
				agentFx = "deb"
			}
			if hostFx == "" {
				hostFx = "ec2-xen"
			}
			endpoint := "http://127.0.0.1:1" // nothing listens on port 1: refused
			if !c.unreach {
				srv := imdstest.New(imdstest.DefaultConfig(c.mode))
				t.Cleanup(srv.Close)
				endpoint = srv.URL
			}
			cfg := identityConfig(t, identityRoot(t, agentFx, hostFx), endpoint)
			began := time.Now()
			res := run(context.Background(), cfg)
			took := time.Since(began)

			want := append([]string{}, c.want...)
			sort.Strings(want)
			if got := identityIDs(res); !reflect.DeepEqual(got, want) {
				for _, f := range res.Findings {
					t.Logf("%s %s: %s", f.ID, f.Severity, f.Summary)
				}
				t.Fatalf("got %v, want %v", got, want)
			}
			rec := identityCheck(t, res, "imds")
			id, ok := rec.Detail.(*imds.Identity)
			if !ok {
				t.Fatalf("imds check detail is %T", rec.Detail)
			}
			if string(id.Access) != c.wantAccess {
				t.Errorf("IMDS access %q, want %q", id.Access, c.wantAccess)
			}
			if took > cfg.Deadline {
				t.Errorf("run took %v, over its %v deadline", took, cfg.Deadline)
			}
			t.Logf("imds check %s in %d ms, run %v", rec.Status, rec.DurationMS, took.Round(time.Millisecond))
			if c.mode == imdstest.HangingPut {
				// The hanging PUT costs one attempt; the GETs after it
				// answer at once on loopback.
				if max := 2 * identityAttempt.Milliseconds(); rec.DurationMS > max {
					t.Errorf("imds check took %d ms with a hanging PUT; want at most %d ms (two attempts)", rec.DurationMS, max)
				}
				if rec.Status != obs.StatusFail {
					t.Errorf("imds check status %s, want fail", rec.Status)
				}
			}
		})
	}
}

// identityCheck returns the record of the check named name.
func identityCheck(t *testing.T, res *diagnose.Result, name obs.CheckName) obs.CheckRecord {
	t.Helper()
	for _, c := range res.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %v", name, res.Checks)
	return obs.CheckRecord{}
}
