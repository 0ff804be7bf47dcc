//go:build linux

package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestScenarios loads every shipped scenario and checks that the worlds
// the lab must reproduce are all there (the healthy ones and each failure
// the probe names), each by the scenario that reproduces it.
func TestScenarios(t *testing.T) {
	ss, err := LoadScenarios("scenarios")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range ss {
		got[s.Name] = true
		if _, err := s.Servers("/nonexistent/ca.pem"); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		if _, err := Ruleset(s.Firewall); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	for _, want := range []string{"healthy-vpc-endpoints", "healthy-nat", "vpc-dns-resolution-off",
		"private-dns-not-in-effect", "endpoint-sg-no-443", "private-dns-no-subnet", "session-logging-s3-blocked",
		"domain-joined-public", "hosts-stale", "no-instance-profile", "imds-hop-limit", "clock-skew",
		"agent-proxy", "agent-not-running", "all-black-holed", "session-logging-bucket-deleted",
		"session-logging-log-group-deleted", "agent-zombie", "resolver-servfail", "resolver-refused",
		"search-domain-wildcard", "resolv-conf-empty", "getdocument-denied", "resolver-stub-down", "resolver-refused-falls-through"} {
		if !got[want] {
			t.Errorf("scenario %s is missing", want)
		}
	} // The hybrid (on-premises) nodes.
	for _, want := range []string{"hybrid-onprem-healthy", "hybrid-onprem-deregistered", "two-agents-running"} {
		if !got[want] {
			t.Errorf("scenario %s is missing", want)
		}
	}
}

// TestBadScenarios: every file in testdata/bad is rejected.
func TestBadScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.json")
	if len(files) == 0 {
		t.Fatal("no bad scenarios")
	}
	for _, f := range files {
		if s, err := LoadScenario(f); err == nil {
			t.Errorf("%s: accepted: %+v", f, s)
		}
	}
	if _, err := LoadScenario("testdata/bad/does-not-exist.json"); err == nil {
		t.Error("a missing file was accepted")
	}
}

// evalCase is one testdata/evaluate file.
type evalCase struct {
	Want     Want     `json:"want"`
	Report   Report   `json:"report"`
	Exit     int      `json:"exit"`
	WallMS   int64    `json:"wall_ms"`
	Problems []string `json:"problems"`
}

func TestEvaluate(t *testing.T) {
	files, _ := filepath.Glob("testdata/evaluate/*.json")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var c evalCase
			if err := json.Unmarshal(b, &c); err != nil {
				t.Fatal(err)
			}
			got := Evaluate(c.Want, &c.Report, c.Exit, time.Duration(c.WallMS)*time.Millisecond)
			if got == nil {
				got = []string{}
			}
			if !reflect.DeepEqual(got, c.Problems) {
				t.Errorf("problems\n got %q\nwant %q", got, c.Problems)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		bug   string
		probs []string
		want  Result
	}{
		{"", nil, Pass},
		{"", []string{"x"}, Fail},
		{"known", []string{"x"}, KnownBug},
		{"known", nil, StaleBug},
	}
	for _, c := range cases {
		if got := Classify(Want{ProbeBug: c.bug}, c.probs); got != c.want {
			t.Errorf("Classify(%q, %v) = %s, want %s", c.bug, c.probs, got, c.want)
		}
	}
	if !Pass.OK() || !KnownBug.OK() || Fail.OK() || StaleBug.OK() || Broken.OK() {
		t.Error("OK() is wrong")
	}
}

func TestParseReport(t *testing.T) {
	// The last is the right schema name on a report that breaks the schema.
	for _, bad := range []string{``, `{"schema":"other"}`, "\x00binary", `[1,2]`,
		`{"schema":"ssm-probe/report/v1","status":"warn","findings":[{"id":"a.b","severity":"warn"}]}`} {
		if _, err := ParseReport([]byte(bad)); err == nil {
			t.Errorf("ParseReport(%q) accepted", bad)
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "report", "testdata", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseReport(b)
	if err != nil || r.Status != "fail" || len(r.Findings) == 0 || r.Findings[0].ID != "net.endpoint-blocked" {
		t.Errorf("got %+v, %v", r, err)
	}
}

func TestRuleset(t *testing.T) {
	got, err := Ruleset([]Rule{
		{To: SetVPCESG, Port: 443, Proto: "tcp", Why: "endpoint security group without 443"},
		{To: "10.0.0.2,169.254.169.253", Port: 53},
		{To: "10.0.3.99", Proto: "udp", Why: `quote "x"`},
		{To: "all"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/ruleset.want.nft")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("ruleset\n%s\nwant\n%s", got, want)
	}
}

func TestRetime(t *testing.T) {
	in, err := os.ReadFile("testdata/retime.in.log")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/retime.want.log")
	if err != nil {
		t.Fatal(err)
	}
	got := Retime(in, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.UTC)
	if !bytes.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := Retime([]byte("no time\n"), time.Now(), time.UTC); string(got) != "no time\n" {
		t.Errorf("untimed input changed: %q", got)
	}
	// The system logs a scenario writes: rsyslog's traditional and
	// high-precision timestamps.
	for _, name := range []string{"retime-bsd", "retime-iso"} {
		in, err := os.ReadFile("testdata/" + name + ".in.log")
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("testdata/" + name + ".want.log")
		if err != nil {
			t.Fatal(err)
		}
		if got := Retime(in, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.UTC); !bytes.Equal(got, want) {
			t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
		}
	}
}

// TestAddressPlan: every address the lab serves is inside the VPC, the
// link-local range, or a documentation range, and the instance routes them
// all; no default route is planned.
func TestAddressPlan(t *testing.T) {
	var pfx []string
	for _, r := range InstanceRoutes() {
		if r == "0.0.0.0/0" {
			t.Fatal("default route planned")
		}
		pfx = append(pfx, r)
	}
	for _, a := range InfraAddrs(nil) {
		ok := false
		for _, p := range pfx {
			ok = ok || mustPrefix(t, p).Contains(a)
		}
		if !ok {
			t.Errorf("%s is not routed to the infrastructure namespace", a)
		}
	}
}

func TestReplayProblems(t *testing.T) {
	run := &Report{Status: "fail", Findings: []ReportFinding{{ID: "net.endpoint-blocked", Severity: "fail", Summary: "s", Evidence: []string{"a", "b"}}}}
	same := &Report{Status: "fail", Findings: []ReportFinding{{ID: "net.endpoint-blocked", Severity: "fail", Summary: "s", Evidence: []string{"a", "b"}}}}
	if p := ReplayProblems(run, same); len(p) != 0 {
		t.Errorf("identical reports: %v", p)
	}
	for name, r := range map[string]*Report{
		"status":   {Status: "unknown", Findings: same.Findings},
		"evidence": {Status: "fail", Findings: []ReportFinding{{ID: "net.endpoint-blocked", Severity: "fail", Summary: "s", Evidence: []string{"a"}}}},
		"extra":    {Status: "fail", Findings: append(append([]ReportFinding{}, same.Findings...), ReportFinding{ID: "dns.stub-resolver", Severity: "info"})},
		"missing":  {Status: "fail"},
		"none":     nil,
	} {
		if p := ReplayProblems(run, r); len(p) == 0 {
			t.Errorf("%s: a differing replay passed", name)
		}
	}
}

// TestInstanceScript checks the generated script's syntax with bash -n and
// that it carries the scenario's agent (the fake agent binary at the
// package's path, not an exec -a impostor; a zombie when asked) and no
// probe flags but the format.
func TestInstanceScript(t *testing.T) {
	cases := map[string][]string{
		"agent-proxy": {"'https_proxy=http://10.0.9.20:3128'", " /usr/bin/amazon-ssm-agent &\n",
			"W='/tmp/it'\\''s here'", "'/bin/ssm-probe' --format 'json' --no-color --save-observations \"$W/probe.obs.json\" >", "SSL_CERT_FILE="},
		"agent-zombie": {"exec /usr/bin/amazon-ssm-agent -version >/dev/null) & exec sleep 600", "(amazon-ssm-agen) Z ", "exit 1"},
		// /root is overlaid only for a scenario that adds root's AWS files.
		"root-default-credentials": {"for d in '/etc' '/var/lib' '/var/log' '/usr/bin' '/root'; do"},
		"healthy-vpc-endpoints":    {"for d in '/etc' '/var/lib' '/var/log' '/usr/bin'; do"},
		// /usr/sbin is overlaid, and a second agent started from it, only
		// for a scenario with a second binary; it must run from that file.
		"two-agents-running": {"for d in '/etc' '/var/lib' '/var/log' '/usr/bin' '/usr/sbin'; do",
			"env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/amazon-ssm-agent &\n",
			"env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/sbin/amazon-ssm-agent &\n",
			"in /usr/bin/amazon-ssm-agent*) break;;", "in /usr/sbin/amazon-ssm-agent*) break;;",
			"[ \"$(readlink /proc/$agent/exe)\" = '/usr/sbin/amazon-ssm-agent' ] || { echo 'lab: no agent runs from /usr/sbin/amazon-ssm-agent' >&2; exit 1; }",
			"[ ! -L \"$d\" ] || {"},
	}
	for name, wants := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := LoadScenario("scenarios/" + name + ".json")
			if err != nil {
				t.Fatal(err)
			}
			sc := InstanceScript(s, "/tmp/it's here", "/bin/ssm-probe", "json")
			for _, want := range wants {
				if !strings.Contains(sc, want) {
					t.Errorf("script lacks %q:\n%s", want, sc)
				}
			}
			if strings.Contains(sc, "exec -a") {
				t.Errorf("the agent runs under another program's exe:\n%s", sc)
			}
			if strings.Contains(sc, "--vpc-dns") || strings.Contains(sc, "--imds-endpoint") || strings.Contains(sc, "--ca-file") {
				t.Error("the probe must run with its defaults")
			}
			if _, err := exec.LookPath("bash"); err != nil {
				t.Skip("no bash")
			}
			cmd := exec.Command("bash", "-n")
			cmd.Stdin = strings.NewReader(sc)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("bash -n: %v: %s", err, out)
			}
		})
	}
}

// TestSecondBinary: agent.second_binary adds /usr/sbin to the overlays and
// installs the fake agent there as well as at /usr/bin, and only then; a
// second binary elsewhere, or without the agent installed, is rejected
// with a message that names the field.
func TestSecondBinary(t *testing.T) {
	two, err := LoadScenario("scenarios/two-agents-running.json")
	if err != nil {
		t.Fatal(err)
	}
	one, err := LoadScenario("scenarios/healthy-vpc-endpoints.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := two.overlays(), []string{"/etc", "/var/lib", "/var/log", "/usr/bin", "/usr/sbin"}; !reflect.DeepEqual(got, want) {
		t.Errorf("two-agents-running overlays %v, want %v", got, want)
	}
	if got := one.overlays(); slices.Contains(got, "/usr/sbin") {
		t.Errorf("healthy-vpc-endpoints overlays /usr/sbin: %v", got)
	}
	if sc := InstanceScript(one, "/tmp/w", "/bin/ssm-probe", "json"); strings.Contains(sc, "/usr/sbin/amazon-ssm-agent") {
		t.Errorf("a scenario without a second binary starts one:\n%s", sc)
	}
	// Installed but not running: both binaries are there, none is started.
	idle := *two
	idle.Agent.Running = false
	if sc := InstanceScript(&idle, "/tmp/w", "/bin/ssm-probe", "json"); strings.Contains(sc, "amazon-ssm-agent &") {
		t.Errorf("an agent that is not running is started:\n%s", sc)
	}

	self := filepath.Join(t.TempDir(), "ssm-probe-lab")
	if err := os.WriteFile(self, []byte("lab binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &Runner{Self: self, RepoRoot: "../.."}
	for _, c := range []struct {
		s    *Scenario
		want map[string]bool // installed path -> present
	}{
		{two, map[string]bool{"/usr/bin/amazon-ssm-agent": true, "/usr/sbin/amazon-ssm-agent": true}},
		{one, map[string]bool{"/usr/bin/amazon-ssm-agent": true, "/usr/sbin/amazon-ssm-agent": false}},
	} {
		w := filepath.Join(t.TempDir(), c.s.Name)
		if err := r.prepareTree(c.s, w); err != nil {
			t.Fatalf("%s: %v", c.s.Name, err)
		}
		for p, present := range c.want {
			fi, err := os.Stat(filepath.Join(w, "upper", p))
			switch {
			case present && err != nil:
				t.Errorf("%s: %s not installed: %v", c.s.Name, p, err)
			case present && fi.Mode().Perm()&0o100 == 0:
				t.Errorf("%s: %s is not executable: %v", c.s.Name, p, fi.Mode())
			case !present && err == nil:
				t.Errorf("%s: %s installed", c.s.Name, p)
			}
		}
	}

	for file, want := range map[string]string{
		"second-binary-unknown":       `agent.second_binary "/opt/aws/amazon-ssm-agent": one of [/usr/sbin/amazon-ssm-agent]`,
		"second-binary-snap":          `agent.second_binary "/snap/amazon-ssm-agent/current/amazon-ssm-agent": one of`,
		"second-binary-same":          `agent.second_binary "/usr/bin/amazon-ssm-agent": one of [/usr/sbin/amazon-ssm-agent] (an agent install path besides /usr/bin/amazon-ssm-agent)`,
		"second-binary-unclean":       `agent.second_binary "/usr/sbin/../sbin/amazon-ssm-agent": one of`,
		"second-binary-not-installed": "agent.second_binary needs installed",
	} {
		_, err := LoadScenario("testdata/bad/" + file + ".json")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one with %q", file, err, want)
		}
	}
}

// TestOnPremisesScenario: an on-premises server gets no IMDS server and no
// EC2 DMI identity, and its instance script hides the machine's own.
func TestOnPremisesScenario(t *testing.T) {
	s, err := LoadScenario("scenarios/hybrid-onprem-healthy.json")
	if err != nil {
		t.Fatal(err)
	}
	if !s.OnPremises {
		t.Fatal("hybrid-onprem-healthy is not on premises")
	}
	sp, err := s.Servers("/nonexistent/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	if sp.IMDS.IsValid() || sp.IMDSMode != "" {
		t.Errorf("an on-premises server gets an IMDS: %v %q", sp.IMDS, sp.IMDSMode)
	}
	sc := InstanceScript(s, "/tmp/w", "/bin/ssm-probe", "json")
	for _, bad := range []string{"Amazon EC2", "board_asset_tag", "mkdir -p /sys/class/dmi"} {
		if strings.Contains(sc, bad) {
			t.Errorf("the script fakes an EC2 identity (%q):\n%s", bad, sc)
		}
	}
	for _, want := range []string{"ssmp-dmi /sys/class\n", "/sys/devices/virtual/dmi /sys/hypervisor"} {
		if !strings.Contains(sc, want) {
			t.Errorf("script lacks %q:\n%s", want, sc)
		}
	}
	ec2, err := LoadScenario("scenarios/healthy-nat.json")
	if err != nil {
		t.Fatal(err)
	}
	if sp, _ := ec2.Servers("/nonexistent/ca.pem"); !sp.IMDS.IsValid() {
		t.Error("an EC2 scenario lost its IMDS")
	}
	if sc := InstanceScript(ec2, "/tmp/w", "/bin/ssm-probe", "json"); !strings.Contains(sc, "'Amazon EC2' > /sys/class/dmi/id/sys_vendor") {
		t.Errorf("an EC2 scenario lost its DMI identity:\n%s", sc)
	}
}

// TestFakeAgent: the fake agent answers -version as the real binary does,
// refuses other arguments, and runs until its context ends.
func TestFakeAgent(t *testing.T) {
	var out, errb bytes.Buffer
	if code := FakeAgent(context.Background(), []string{"-version"}, &out, &errb); code != 0 || out.String() != "SSM Agent version: "+AgentVersion+"\n" {
		t.Errorf("-version: exit %d, %q", code, out.String())
	}
	if code := FakeAgent(context.Background(), []string{"-register"}, &out, &errb); code != 1 {
		t.Errorf("-register: exit %d, want 1", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if code := FakeAgent(ctx, nil, &out, &errb); code != 0 {
		t.Errorf("run: exit %d", code)
	}
}

// TestAgentFilesLogDir checks that a scenario's log_dir installs a capture
// of the real agent as the agent's log directory, its identity_config.json
// in runtimeconfig, and refuses a folder outside the repository.
func TestAgentFilesLogDir(t *testing.T) {
	got, err := agentFiles("../..", AgentSpec{LogDir: "journal/testdata/real/no-instance-profile",
		Files: map[string]string{"/var/log/amazon/ssm/errors.log": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"/var/log/amazon/ssm/amazon-ssm-agent.log":               "@journal/testdata/real/no-instance-profile/amazon-ssm-agent.log",
		"/var/log/amazon/ssm/errors.log":                         "x",
		"/var/lib/amazon/ssm/runtimeconfig/identity_config.json": "@journal/testdata/real/no-instance-profile/identity_config.json",
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	for _, bad := range []string{"../outside", "/etc", "journal/../../x"} {
		if _, err := agentFiles("../..", AgentSpec{LogDir: bad}); err == nil {
			t.Errorf("log_dir %q accepted", bad)
		}
	}
}
