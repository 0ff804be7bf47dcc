//go:build linux

package observe

import (
	"context"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// identityOnly keeps the findings of the identity families.
func identityOnly(fs []finding.Finding) []finding.Finding {
	var out []finding.Finding
	for _, f := range fs {
		for _, p := range probetest.IdentityFamilies {
			if strings.HasPrefix(string(f.ID), p) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// identityIDSev renders findings as sorted "id/severity" strings for comparison.
func identityIDSev(fs []finding.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, string(f.ID)+"/"+string(f.Severity))
	}
	sort.Strings(out)
	return out
}

// identityText joins everything a reader sees of f.
func identityText(f finding.Finding) string {
	return f.Summary + "\n" + strings.Join(f.Evidence, "\n") + "\n" + strings.Join(f.Remediation, "\n")
}

// factRoot returns the path of a fact package's fixture tree, reused
// here by relative path.
func factRoot(pkg, name string) string { return filepath.Join("..", pkg, "testdata", "roots", name) }

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
		text            map[finding.ID][]string
	}{
		{name: "deb", agentRoot: "deb"},
		{name: "deb without profile: DHMC can serve", agentRoot: "deb", noProfile: true,
			want: []string{"iam.no-instance-profile/warn"}},
		{name: "snap", agentRoot: "snap"},
		{name: "not installed", agentRoot: "not-installed",
			want: []string{"agent.not-installed/fail"},
			text: map[finding.ID][]string{diagnose.AgentNotInstalled: {"/etc/systemd/system/amazon-ssm-agent.service is masked"}}},
		{name: "not installed, no profile", agentRoot: "not-installed", noProfile: true,
			want: []string{"agent.not-installed/fail", "iam.no-instance-profile/fail"},
			text: map[finding.ID][]string{diagnose.IAMNoInstanceProfile: {"the agent is not installed"}}},
		{name: "old version", agentRoot: "old",
			want: []string{"agent.outdated/fail"},
			text: map[finding.ID][]string{diagnose.AgentOutdated: {"2.3.50.0", "(from log)", "2.3.68.0"}}},
		{name: "overrides", agentRoot: "overrides",
			want: []string{"agent.endpoint-override/info"},
			text: map[finding.ID][]string{diagnose.AgentEndpointOverride: {"Mds.Endpoint = https://vpce-0abc-ec2messages.ap-northeast-1.vpce.amazonaws.com", "Kms.Endpoint"}}},
		{name: "hibernating", agentRoot: "hibernating",
			want: []string{"agent.hibernating/warn"},
			text: map[finding.ID][]string{diagnose.AgentHibernating: {"1200 s", "restart"}}},
		{name: "proxy in the environment, running", agentRoot: "proxy", proc: true},
		{name: "running but no environ", agentRoot: "no-environ", proc: true},
		// An EC2 instance (IMDS answers) whose agent holds a hybrid
		// registration, as an image baked from a registered host holds.
		{name: "hybrid registration", agentRoot: "hybrid",
			want: []string{"agent.foreign-registration/fail"},
			text: map[finding.ID][]string{diagnose.AgentForeignRegistration: {"/var/lib/amazon/ssm/registration", "mi-"}}},
		// Two agents of this host run, from /usr/bin and from the snap:
		// they are named, beside what is not counted.
		{name: "agents beside an impostor, a zombie and a container's", agentRoot: "procs", proc: true,
			want: []string{"agent.duplicate-install/fail"},
			text: map[finding.ID][]string{diagnose.AgentDuplicateInstall: {"pid 900", "pid 812", "/usr/bin/amazon-ssm-agent"}}},
		// D8b: the only amazon-ssm-agent is a user's copy with its own
		// https_proxy: the agent is not running, and the user's proxy is
		// not the agent's.
		{name: "only a user's copy of the agent", agentRoot: "user-agent", proc: true,
			want: []string{"agent.not-running/fail"},
			text: map[finding.ID][]string{diagnose.AgentNotRunning: {"pid 3100 (amazon-ssm-agent) runs as uid 1000 (effective 1000), not root"}}},
		{name: "only a --pid=host container's agent", agentRoot: "hostpid-container", proc: true,
			want: []string{"agent.not-running/fail"},
			text: map[finding.ID][]string{diagnose.AgentNotRunning: {"pid 3200 (amazon-ssm-agent) runs in another network namespace (net:[4026532615])"}}},
		{name: "only a zombie agent", agentRoot: "zombie", proc: true,
			want: []string{"agent.not-running/fail"},
			text: map[finding.ID][]string{diagnose.AgentNotRunning: {"pid 4101 (amazon-ssm-agent) has exited (state Z, a zombie)", "systemctl enable --now amazon-ssm-agent"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Root = factRoot("agent", c.agentRoot)
			if c.proc {
				cfg.ProcDir = filepath.Join(cfg.Root, "proc")
			}
			cfg.Now = func() time.Time { return now }
			ob := &obs.Observations{StartedAt: now, Root: cfg.Root, IMDS: probetest.IdentityHealthyIMDS(now)}
			if c.noProfile {
				ob.IMDS.Profile = imds.Profile{State: imds.ProfileAbsent, Status: 404}
			}
			out := runOne(context.Background(), &cfg, agentCheck(&cfg))
			ob.Add(out.seen)
			// The host facts come from an EC2 fixture, and its disks are
			// replaced by healthy ones: the build machine's free space is
			// not under test here.
			hcfg := cfg
			hcfg.Root = factRoot("host", "ec2-xen")
			hout := runOne(context.Background(), &hcfg, hostCheck(&hcfg))
			ob.Add(hout.seen)
			ob.Host.Disks = []host.Disk{{Path: "/", Checked: true, TotalBytes: 100, FreeBytes: 50, FreePercent: 50}}

			if c.proc && !ob.Agent.RunningChecked {
				t.Fatalf("process table not read: %s", ob.Agent.RunningReason)
			}
			if !c.proc && ob.Agent.Installed && (ob.Agent.RunningChecked || out.Status != obs.StatusSkip) {
				t.Errorf("offline fixture: running checked %v, check status %s; want not checked and skip", ob.Agent.RunningChecked, out.Status)
			}
			got := identityOnly(diagnose.Diagnose(ob))
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
	if out.Status != obs.StatusWarn || !strings.Contains(out.Reason, "EC2 identity") {
		t.Errorf("offline tree: status %s reason %q; want warn naming the EC2 identity", out.Status, out.Reason)
	}
	cfg.Root = factRoot("host", "ec2-xen")
	out = runOne(context.Background(), &cfg, hostCheck(&cfg))
	if out.Status != obs.StatusPass {
		t.Errorf("ec2-xen tree: status %s reason %q; want pass (an absent /var/lib/amazon/ssm is no gap)", out.Status, out.Reason)
	}
}
