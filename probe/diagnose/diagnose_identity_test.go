package diagnose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

const identityFixtures = "testdata/obs/identity"

// TestDiagnoseIdentity table-tests the imds.*, iam.*, agent.* and host.*
// rules from the fixtures in testdata/obs/identity, written from
// identityScenarios (go test -run TestDiagnoseIdentity ./probe/diagnose -update).
func TestDiagnoseIdentity(t *testing.T) {
	fixtureDir(t, identityFixtures, identityScenarios(t), probetest.IdentityFamilies...)
}

// TestDiagnoseIdentityPure checks that diagnosis does not change its input
// and gives the same findings twice.
func TestDiagnoseIdentityPure(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "obs", "identity", "iam-no-profile-old-agent.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c fixture
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(c.Observations)
	first := Diagnose(&c.Observations)
	second := Diagnose(&c.Observations)
	after, _ := json.Marshal(c.Observations)
	if !bytes.Equal(before, after) {
		t.Error("Diagnose changed its observations")
	}
	if !reflect.DeepEqual(first, second) {
		t.Error("Diagnose gave different findings for the same observations")
	}
}

// TestAgentOutdatedThresholds walks versions around both thresholds, with
// and without an instance profile.
func TestAgentOutdatedThresholds(t *testing.T) {
	cases := []struct {
		version   string
		noProfile bool
		want      string // "" for no finding, else the severity
	}{
		{"2.3.67.0", false, "fail"},
		{"2.3.68.0", false, ""},
		{"3.2.581.0", false, ""},
		{"2.3.68.0", true, "warn"},
		{"3.2.581.9", true, "warn"},
		{"3.2.582.0", true, ""},
		{"1:3.2.582.0-1", true, ""},
		{"not a version", true, ""},
	}
	cat := NewCatalog()
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/noProfile=%v", c.version, c.noProfile), func(t *testing.T) {
			o := &obs.Observations{Agent: &agent.Facts{Installed: true, Version: c.version, VersionSource: agent.SourceDpkg},
				IMDS: probetest.IdentityHealthyIMDS(time.Now())}
			if c.noProfile {
				o.IMDS.Profile = imds.Profile{State: imds.ProfileAbsent, Status: 404}
			}
			f, ok := agentOutdated(&cat, o)
			got := ""
			if ok {
				got = string(f.Severity)
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestDiskThresholds checks the boundaries of host.disk-full.
func TestDiskThresholds(t *testing.T) {
	cases := []struct {
		free, inodes float64
		inodesKnown  bool
		want         string
	}{
		{50, 50, true, ""},
		{5, 5, true, ""},
		{4.99, 50, true, "warn"},
		{50, 4.99, true, "warn"},
		{1, 50, true, "warn"},
		{0.99, 50, true, "fail"},
		{50, 0, true, "fail"},
		{50, 0, false, ""}, // no inode count (btrfs): only space counts
	}
	cat := NewCatalog()
	for _, c := range cases {
		d := host.Disk{Path: "/", Checked: true, TotalBytes: 1 << 30, FreePercent: c.free,
			InodesKnown: c.inodesKnown, FreeInodesPercent: c.inodes, TotalInodes: 1000}
		fs := diagnoseHost(newInput(&cat, &obs.Observations{Host: &host.Facts{Disks: []host.Disk{d}}}))
		got := ""
		if len(fs) == 1 {
			got = string(fs[0].Severity)
		} else if len(fs) > 1 {
			t.Fatalf("%v: %d findings", c, len(fs))
		}
		if got != c.want {
			t.Errorf("free %.2f%% inodes %.2f%% (known %v): got %q, want %q", c.free, c.inodes, c.inodesKnown, got, c.want)
		}
	}
}

// TestOneCredentialsHeadline: where iam.no-instance-profile is raised, the
// agent's log lines about credentials are its evidence, never a second
// headline: no identity fixture's findings hold log.credentials-error
// beside it, and where the log shows the agent without credentials the
// root cause is a fail.
func TestOneCredentialsHeadline(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(identityFixtures, "iam-no-profile-*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var c fixture
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		ids := map[finding.ID]finding.Severity{}
		for _, f := range Diagnose(&c.Observations) {
			ids[f.ID] = f.Severity
		}
		if _, ok := ids[IAMNoInstanceProfile]; !ok {
			continue
		}
		if sev, ok := ids[LogCredentialsError]; ok {
			t.Errorf("%s: log.credentials-error (%s) stands beside iam.no-instance-profile (%s)", filepath.Base(p), sev, ids[IAMNoInstanceProfile])
		}
	}
}
