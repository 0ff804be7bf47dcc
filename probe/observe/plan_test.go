//go:build linux

package observe

import (
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

func TestBuildPlan(t *testing.T) {
	for _, tc := range []struct {
		name       string
		flag       string
		o          obs.Observations
		region     string
		source     string
		ssm        string
		ec2msgsReq bool
	}{
		{"imds", "", obs.Observations{IMDS: &imds.Identity{Region: "eu-west-1"}}, "eu-west-1", "imds",
			"ssm.eu-west-1.amazonaws.com", true},
		{"flag wins", "us-east-2", obs.Observations{IMDS: &imds.Identity{Region: "eu-west-1"}}, "us-east-2", "flag",
			"ssm.us-east-2.amazonaws.com", true},
		{"china partition", "cn-north-1", obs.Observations{}, "cn-north-1", "flag", "ssm.cn-north-1.amazonaws.com.cn", true},
		{"agent config overrides", "", obs.Observations{IMDS: &imds.Identity{Region: "eu-west-1"},
			Agent: &agent.Facts{Version: "3.3.1142.0", Config: &agent.ConfigOverrides{Path: "/etc/amazon/ssm/amazon-ssm-agent.json",
				Region: "ap-south-1", SsmEndpoint: "https://vpce-0abc-ssm.ssm.ap-south-1.vpce.amazonaws.com/"}}},
			"ap-south-1", "agent-config", "vpce-0abc-ssm.ssm.ap-south-1.vpce.amazonaws.com", false},
		{"old agent needs ec2messages", "", obs.Observations{IMDS: &imds.Identity{Region: "eu-west-1"},
			Agent: &agent.Facts{Version: "3.2.582.0"}}, "eu-west-1", "imds", "ssm.eu-west-1.amazonaws.com", true},
		{"hybrid registration", "", obs.Observations{Agent: &agent.Facts{Registration: &agent.Registration{
			ManagedInstanceID: "mi-0123", Region: "us-west-2"}}}, "us-west-2", "registration", "ssm.us-west-2.amazonaws.com", true},
		{"hybrid registration in the Vault only", "", obs.Observations{Agent: &agent.Facts{Vault: &agent.Vault{Entries: []agent.VaultEntry{
			{Key: agent.VaultEC2RegistrationKey, InstanceID: "i-0123456789abcdef0", Region: "eu-central-1"},
			{Key: agent.VaultRegistrationKey, InstanceID: "mi-0123", Region: "us-west-2"}}}}}, "us-west-2", "registration", "ssm.us-west-2.amazonaws.com", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.Region = tc.flag
			p := BuildPlan(&cfg, &tc.o)
			if p.Region != tc.region || p.RegionSource != tc.source {
				t.Errorf("region %s (%s), want %s (%s)", p.Region, p.RegionSource, tc.region, tc.source)
			}
			got := map[obs.Service]obs.Endpoint{}
			for _, e := range p.Endpoints {
				got[e.Service] = e
			}
			if got["ssm"].Host != tc.ssm {
				t.Errorf("ssm host %q, want %q", got["ssm"].Host, tc.ssm)
			}
			if got["ec2messages"].Required != tc.ec2msgsReq {
				t.Errorf("ec2messages required %v, want %v (%s)", got["ec2messages"].Required, tc.ec2msgsReq, got["ec2messages"].Why)
			}
			if !got["ssm"].Required || !got["ssmmessages"].Required || got["s3"].Required {
				t.Errorf("required flags wrong: %+v", p.Endpoints)
			}
		})
	}
	cfg := Defaults()
	if p := BuildPlan(&cfg, &obs.Observations{}); p.Problem == "" || len(p.Endpoints) != 0 {
		t.Errorf("no region: want a problem and no endpoints, got %+v", p)
	}
}

// TestBuildPlanBottlerocket: on Bottlerocket the plan adds, as optional,
// the ECR endpoints the control container is pulled from; on another OS,
// or in a container that does not see a Bottlerocket host, it does not.
func TestBuildPlanBottlerocket(t *testing.T) {
	for _, c := range []struct {
		name string
		os   *host.OSRelease
		want bool
	}{
		{"bottlerocket", &host.OSRelease{ID: "bottlerocket", VersionID: "1.29.0"}, true},
		{"admin container", &host.OSRelease{ID: "bottlerocket", Container: true}, true},
		{"amazon linux", &host.OSRelease{ID: "amzn"}, false},
		{"no os-release", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Defaults()
			p := BuildPlan(&cfg, &obs.Observations{IMDS: &imds.Identity{Region: "eu-west-1"}, Host: &host.Facts{OS: c.os}})
			got := map[obs.Service]obs.Endpoint{}
			for _, e := range p.Endpoints {
				got[e.Service] = e
			}
			api, dkr := got[obs.ServiceECRAPI], got[obs.ServiceECRDKR]
			if !c.want {
				if api.Host != "" || dkr.Host != "" {
					t.Errorf("ECR planned: %+v", p.Endpoints)
				}
				return
			}
			if api.Host != "api.ecr.eu-west-1.amazonaws.com" || dkr.Host != "328549459982.dkr.ecr.eu-west-1.amazonaws.com" || api.Required || dkr.Required {
				t.Errorf("ECR endpoints %+v %+v", api, dkr)
			}
			if !strings.Contains(got[obs.ServiceS3].Why, "control container") || !got[obs.ServiceSSM].Required {
				t.Errorf("endpoints %+v", p.Endpoints)
			}
		})
	}
}
