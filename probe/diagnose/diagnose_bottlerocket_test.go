package diagnose

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

const bottlerocketFixtures = "testdata/obs/bottlerocket"

// TestDiagnoseBottlerocket table-tests host.bottlerocket, and the agent
// family's silence on Bottlerocket, from the fixtures in
// testdata/obs/bottlerocket, written from bottlerocketScenarios with -update.
func TestDiagnoseBottlerocket(t *testing.T) {
	fixtureDir(t, bottlerocketFixtures, bottlerocketScenarios(t))
}

var bottlerocketOS = host.OSRelease{Path: "/etc/os-release", ID: "bottlerocket", VersionID: "1.29.0", Variant: "aws-k8s-1.31", Pretty: "Bottlerocket OS 1.29.0 (aws-k8s-1.31)"}

// onOS gives o's host the os-release r, and no agent in this PID
// namespace or file system.
func onOS(o *obs.Observations, r host.OSRelease, agentHere bool) *obs.Observations {
	if o.Host == nil {
		o.Host = &host.Facts{Root: "/"}
	}
	o.Host.OS = &r
	if !agentHere {
		o.Agent = &agent.Facts{Root: "/", RunningChecked: true, PackageDBs: nil}
	}
	return o
}

// netObs loads the observations of one net fixture.
func netObs(t *testing.T, name string) *obs.Observations {
	t.Helper()
	b, err := os.ReadFile("testdata/obs/net/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Observations obs.Observations }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return &f.Observations
}

// withECR plans the ECR endpoints of a Bottlerocket host in o, observed as
// the s3 endpoint was: each of o's records of the s3 host is copied under
// the ECR host's name.
func withECR(t *testing.T, o *obs.Observations) *obs.Observations {
	t.Helper()
	p := o.Plan
	var s3 string
	for _, e := range p.Endpoints {
		if e.Service == obs.ServiceS3 {
			s3 = e.Host
		}
	}
	for _, e := range obs.BottlerocketEndpoints(p.Region, p.Domain) {
		p.Endpoints = append(p.Endpoints, e)
		copyAs := func(v any, out any) {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			s := strings.ReplaceAll(string(b), s3, e.Host)
			s = strings.ReplaceAll(s, `"service":"s3"`, `"service":"`+string(e.Service)+`"`)
			if err := json.Unmarshal([]byte(s), out); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range o.DNS {
			if d.Host == s3 {
				var c obs.DNSObs
				copyAs(d, &c)
				o.DNS = append(o.DNS, c)
			}
		}
		for _, d := range o.AgentDNS {
			if d.Host == s3 {
				var c obs.AgentDNSObs
				copyAs(d, &c)
				o.AgentDNS = append(o.AgentDNS, c)
			}
		}
		for _, n := range o.Net {
			if n.Host == s3 {
				var c obs.NetObs
				copyAs(n, &c)
				o.Net = append(o.Net, c)
			}
		}
	}
	return o
}

func bottlerocketScenarios(t *testing.T) map[string]fixture {
	sc := map[string]fixture{}
	sc["no-agent-here"] = opFx("Bottlerocket: no agent in the host's files or PID namespace, as expected; not agent.not-installed but an info saying where the agent lives: ok.",
		onOS(healthyEC2(t), bottlerocketOS, false),
		wantFinding{ID: HostBottlerocket, Severity: "info", Text: []string{"control host container", "apiclient -u /settings", "ID=bottlerocket"}})

	o := onOS(healthyEC2(t), bottlerocketOS, true)
	o.Agent.Running, o.Agent.PIDs, o.Agent.Agents = false, nil, nil
	sc["agent-files-not-running"] = opFx("Bottlerocket with agent files visible but no agent process in this PID namespace: not agent.not-running.", o,
		wantFinding{ID: HostBottlerocket, Severity: "info", Text: []string{"no running agent in this PID namespace, as expected"}})

	admin := bottlerocketOS
	admin.Path, admin.Container = "/.bottlerocket/rootfs/etc/os-release", true
	sc["admin-container"] = opFx("The probe runs in the admin container, which sees the host's root at /.bottlerocket/rootfs: Bottlerocket all the same.",
		onOS(healthyEC2(t), admin, false),
		wantFinding{ID: HostBottlerocket, Severity: "info", Text: []string{"/.bottlerocket/rootfs"}})

	sc["ecr-reached"] = opFx("Bottlerocket whose ECR endpoints answer through the VPC endpoints: info naming them, no ECR fix.",
		onOS(withECR(t, netObs(t, "healthy-vpc-endpoints")), bottlerocketOS, false),
		wantFinding{ID: HostBottlerocket, Severity: "info", Text: []string{"ecr.api endpoint: api.ecr.ap-northeast-1.amazonaws.com", "328549459982.dkr.ecr.ap-northeast-1.amazonaws.com"}})

	sc["ecr-blocked"] = opFx("Bottlerocket whose ECR endpoints cannot be reached (as s3 cannot): the info says the control container cannot be pulled again and names the endpoints to add; the optional endpoints' warn stands.",
		onOS(withECR(t, netObs(t, "optional-s3-blocked")), bottlerocketOS, false),
		wantFinding{ID: HostBottlerocket, Severity: "info", Text: []string{"cannot be pulled again", "com.amazonaws.ap-northeast-1.ecr.dkr"}},
		wantFinding{ID: NetOptionalEndpointUnreach, Severity: "warn"})

	sc["no-instance-profile"] = opFx("Bottlerocket without an instance profile: iam.no-instance-profile as anywhere, but the agent's version is unknown here, not 'not installed'.",
		onOS(identityObs(t, "iam-no-profile-dhmc-ready"), bottlerocketOS, false),
		wantFinding{ID: IAMNoInstanceProfile, Severity: "fail", Text: []string{"on Bottlerocket the agent runs in the control container"}},
		wantFinding{ID: HostBottlerocket, Severity: "info"})

	// Near misses: another OS, and a container that is not Bottlerocket's.
	sc["amazon-linux-no-agent"] = opFx("Amazon Linux with no agent: agent.not-installed as ever.",
		onOS(healthyEC2(t), host.OSRelease{Path: "/etc/os-release", ID: "amzn", VersionID: "2023"}, false),
		wantFinding{ID: AgentNotInstalled, Severity: "fail"})
	return sc
}
