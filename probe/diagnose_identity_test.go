package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/imds"
)

// identityFamilies are the finding families the identity rules own.
var identityFamilies = []string{"imds.", "iam.", "agent.", "host.disk-full"}

// identityOnly keeps the findings of the identity families.
func identityOnly(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		for _, p := range identityFamilies {
			if strings.HasPrefix(string(f.ID), p) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// identityIDSev renders findings as sorted "id/severity" strings for comparison.
func identityIDSev(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, string(f.ID)+"/"+string(f.Severity))
	}
	sort.Strings(out)
	return out
}

// identityText joins everything a reader sees of f.
func identityText(f Finding) string {
	return f.Summary + "\n" + strings.Join(f.Evidence, "\n") + "\n" + strings.Join(f.Remediation, "\n")
}

const identityFixtures = "testdata/obs/identity"

// TestDiagnoseIdentity table-tests the imds.*, iam.*, agent.* and host.*
// rules from the fixtures in testdata/obs/identity, written from
// identityScenarios (go test -run TestDiagnoseIdentity ./probe -update).
func TestDiagnoseIdentity(t *testing.T) {
	if golden.Update() {
		for name, f := range identityScenarios(t) {
			writeFixture(t, identityFixtures, name, f)
		}
	}
	runFixtures(t, identityFixtures, identityFamilies...)
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

// identityHealthyIMDS is IMDS as a healthy EC2 instance with a profile answers it.
func identityHealthyIMDS(now time.Time) *imds.Identity {
	return &imds.Identity{
		Endpoint: DefaultIMDSEndpoint, Reachable: true, Access: imds.AccessV2,
		Token:  imds.TokenResult{Status: 200, TCPOpened: true, Obtained: true},
		Region: "ap-northeast-1", InstanceID: "i-0123456789abcdef0", Domain: "amazonaws.com",
		Profile: imds.Profile{State: imds.ProfilePresent, Status: 200, InfoCode: "Success", Role: "app-ssm-role",
			Credentials: &imds.CredStatus{Status: 200, Code: "Success", Expiration: now.Add(6 * time.Hour)}},
	}
}

// factRoot returns the path of a fact package's fixture tree, reused
// here by relative path.
func factRoot(pkg, name string) string { return filepath.Join(pkg, "testdata", "roots", name) }

// TestDiagnoseAgentFixtures runs the real agent and host checks
// (checks_agent.go) on the fact packages' fixture trees, with IMDS as a
// healthy instance (or without a profile), and diagnoses the result.
func TestDiagnoseAgentFixtures(t *testing.T) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name, agentRoot string
		proc            bool // scan the fixture's proc directory
		noProfile       bool
		want            []string
		text            map[ID][]string
	}{
		{name: "deb", agentRoot: "deb"},
		{name: "deb without profile: DHMC can serve", agentRoot: "deb", noProfile: true,
			want: []string{"iam.no-instance-profile/warn"}},
		{name: "snap", agentRoot: "snap"},
		{name: "not installed", agentRoot: "not-installed",
			want: []string{"agent.not-installed/fail"},
			text: map[ID][]string{AgentNotInstalled: {"/etc/systemd/system/amazon-ssm-agent.service is masked"}}},
		{name: "not installed, no profile", agentRoot: "not-installed", noProfile: true,
			want: []string{"agent.not-installed/fail", "iam.no-instance-profile/fail"},
			text: map[ID][]string{IAMNoInstanceProfile: {"the agent is not installed"}}},
		{name: "old version", agentRoot: "old",
			want: []string{"agent.outdated/fail"},
			text: map[ID][]string{AgentOutdated: {"2.3.50.0", "(from log)", "2.3.68.0"}}},
		{name: "overrides", agentRoot: "overrides",
			want: []string{"agent.endpoint-override/info"},
			text: map[ID][]string{AgentEndpointOverride: {"Mds.Endpoint = https://vpce-0abc-ec2messages.ap-northeast-1.vpce.amazonaws.com", "Kms.Endpoint"}}},
		{name: "hibernating", agentRoot: "hibernating",
			want: []string{"agent.hibernating/warn"},
			text: map[ID][]string{AgentHibernating: {"1200 s", "restart"}}},
		{name: "proxy in the environment, running", agentRoot: "proxy", proc: true},
		{name: "running but no environ", agentRoot: "no-environ", proc: true},
		// An EC2 instance (IMDS answers) whose agent holds a hybrid
		// registration: a cloned registration (issue 17).
		{name: "hybrid registration", agentRoot: "hybrid",
			want: []string{"agent.foreign-registration/fail"},
			text: map[ID][]string{AgentForeignRegistration: {"/var/lib/amazon/ssm/registration", "mi-"}}},
		{name: "agents beside an impostor, a zombie and a container's", agentRoot: "procs", proc: true},
		{name: "only a zombie agent", agentRoot: "zombie", proc: true,
			want: []string{"agent.not-running/fail"},
			text: map[ID][]string{AgentNotRunning: {"pid 4101 (amazon-ssm-agent) has exited (state Z, a zombie)", "systemctl enable --now amazon-ssm-agent"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Root = factRoot("agent", c.agentRoot)
			if c.proc {
				cfg.ProcDir = filepath.Join(cfg.Root, "proc")
			}
			cfg.Now = func() time.Time { return now }
			obs := &Observations{StartedAt: now, Root: cfg.Root, IMDS: identityHealthyIMDS(now)}
			if c.noProfile {
				obs.IMDS.Profile = imds.Profile{State: imds.ProfileAbsent, Status: 404}
			}
			out := runOne(context.Background(), &cfg, agentCheck(&cfg))
			obs.add(out.seen)
			// The host facts come from an EC2 fixture, and its disks are
			// replaced by healthy ones: the build machine's free space is
			// not under test here.
			hcfg := cfg
			hcfg.Root = factRoot("host", "ec2-xen")
			hout := runOne(context.Background(), &hcfg, hostCheck(&hcfg))
			obs.add(hout.seen)
			obs.Host.Disks = []host.Disk{{Path: "/", Checked: true, TotalBytes: 100, FreeBytes: 50, FreePercent: 50}}

			if c.proc && !obs.Agent.RunningChecked {
				t.Fatalf("process table not read: %s", obs.Agent.RunningReason)
			}
			if !c.proc && obs.Agent.Installed && (obs.Agent.RunningChecked || out.Status != StatusSkip) {
				t.Errorf("offline fixture: running checked %v, check status %s; want not checked and skip", obs.Agent.RunningChecked, out.Status)
			}
			got := identityOnly(Diagnose(obs))
			want := append([]string{}, c.want...)
			sort.Strings(want)
			if want == nil {
				want = []string{}
			}
			if g := identityIDSev(got); !reflect.DeepEqual(g, want) {
				t.Fatalf("got %v\nwant %v", g, want)
			}
			for _, f := range got {
				txt := identityText(f)
				for _, s := range c.text[f.ID] {
					if !strings.Contains(txt, s) {
						t.Errorf("%s does not mention %q:\n%s", f.ID, s, txt)
					}
				}
			}
		})
	}
}

// TestHostCheckGaps checks that the host check names what it could not
// read instead of passing silently.
func TestHostCheckGaps(t *testing.T) {
	cfg := testConfig(t)
	cfg.Root = factRoot("host", "offline")
	out := runOne(context.Background(), &cfg, hostCheck(&cfg))
	if out.Status != StatusWarn || !strings.Contains(out.Reason, "EC2 identity") {
		t.Errorf("offline tree: status %s reason %q; want warn naming the EC2 identity", out.Status, out.Reason)
	}
	cfg.Root = factRoot("host", "ec2-xen")
	out = runOne(context.Background(), &cfg, hostCheck(&cfg))
	if out.Status != StatusPass {
		t.Errorf("ec2-xen tree: status %s reason %q; want pass (an absent /var/lib/amazon/ssm is no gap)", out.Status, out.Reason)
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
			o := &Observations{Agent: &agent.Facts{Installed: true, Version: c.version, VersionSource: agent.SourceDpkg},
				IMDS: identityHealthyIMDS(time.Now())}
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
		fs := diagnoseHost(&cat, &Observations{Host: &host.Facts{Disks: []host.Disk{d}}})
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
