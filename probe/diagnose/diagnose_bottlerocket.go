package diagnose

import (
	"fmt"

	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// HostBottlerocket: the host is Bottlerocket, whose agent runs in the
// control host container (docs/FINDINGS.md, "Agent and host").
const HostBottlerocket finding.ID = "host.bottlerocket"

// DocBottlerocketHostContainers is Bottlerocket's page on its host
// containers: a session lands in the control container.
const DocBottlerocketHostContainers = "https://bottlerocket.dev/en/os/1.29.x/install/quickstart/aws/host-containers/"

// DocECREndpoints is AWS's page on the VPC endpoints ECR pulls need
// (ecr.api, ecr.dkr, and S3 for the layers).
const DocECREndpoints = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html"

// bottlerocketFamily pairs host.bottlerocket with its rule.
func bottlerocketFamily() family {
	return family{rules: []rule{diagnoseBottlerocket}, entries: []finding.Entry{
		{ID: HostBottlerocket, Severity: finding.SevInfo,
			Title: "Bottlerocket: the SSM Agent runs in the control container",
			Fix: finding.FixLines(
				"To look at the agent itself: aws ssm start-session --target {{.INSTANCE_ID}}{{.regionFlag}} lands in the control container; there, apiclient -u /settings shows host-containers.control (enabled must be true; apiclient set host-containers.control.enabled=true turns it on). Bottlerocket's guide: "+DocBottlerocketHostContainers,
				"{{if .ecrBroken}}Give the control container its way to ECR, or it cannot be pulled at the next boot or update: interface endpoints com.amazonaws.{{.REGION}}.ecr.api and com.amazonaws.{{.REGION}}.ecr.dkr, and an S3 gateway endpoint for the image layers, or a NAT path{{end}}"),
			Docs: []string{DocECREndpoints}},
	}}
}

// bottlerocket returns the os-release of a Bottlerocket host, or nil.
func bottlerocket(o *obs.Observations) *host.OSRelease {
	if o.Host == nil || !o.Host.OS.Bottlerocket() {
		return nil
	}
	return o.Host.OS
}

// diagnoseBottlerocket says, on Bottlerocket, where the agent lives: in
// the control host container, with its own PID namespace and file system,
// so that the agent's absence from the probe's process table and files is
// expected (the agent family says nothing there). What the probe judges is
// the network path the agent takes, which the host containers share, and
// the ECR endpoints the control container is pulled from.
func diagnoseBottlerocket(in *input) []finding.Finding {
	o := in.o
	br := bottlerocket(o)
	if br == nil {
		return nil
	}
	name := br.Pretty
	if name == "" {
		name = "Bottlerocket " + br.VersionID
	}
	ev := []string{fmt.Sprintf("%s says ID=bottlerocket (%s)", br.Path, name)}
	if br.Container {
		ev = append(ev, "the probe runs in a host container that sees the host's root at "+host.BottlerocketHostRoot)
	}
	if a := o.Agent; a != nil {
		switch {
		case !a.Installed:
			ev = append(ev, "no agent here, as expected: the agent's binary and files are in the control container")
		case a.RunningChecked && !a.Running:
			ev = append(ev, "no running agent in this PID namespace, as expected: the control container has its own")
		}
	}
	ecrBroken := false
	for _, s := range []obs.Service{obs.ServiceECRAPI, obs.ServiceECRDKR, obs.ServiceS3} {
		for i := range in.paths {
			p := &in.paths[i]
			if p.Service != s {
				continue
			}
			ev = append(ev, "the control container's "+string(s)+" endpoint: "+p.Line())
			if s != obs.ServiceS3 && p.State == agentpath.PathBroken {
				ecrBroken = true
			}
		}
	}
	summary := "This host runs " + name + ": the SSM Agent runs in the control host container, in its own PID namespace and file system, so the probe does not look for it here and does not judge its files or logs. The endpoints are judged as the agent reaches them: the host containers share the host's network."
	if ecrBroken {
		summary += " The ECR endpoints the control container is pulled from cannot be reached: it runs now, but cannot be pulled again at the next boot or update."
	}
	return []finding.Finding{in.cat.New(HostBottlerocket, summary, ev,
		finding.Fill{"INSTANCE_ID": instanceOf(o), "regionFlag": regionFlag(o), "REGION": regionOf(o), "ecrBroken": ecrBroken})}
}
