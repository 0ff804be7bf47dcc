package probe

import (
	"fmt"

	"github.com/ssm-probe/ssm-probe/probe/imds"
)

// diagnoseIMDS names what keeps the instance metadata service from serving
// the agent: no connection, a turned-off endpoint, or an unanswered IMDSv2
// token PUT (the hop limit). FINDINGS.md, "Instance identity".
func diagnoseIMDS(cat *Catalog, o *Observations) []Finding {
	id := o.IMDS
	if id == nil {
		return nil
	}
	ec2, how := o.onEC2()
	switch id.Failure {
	case imds.FailUnreachable:
		f := cat.New(IMDSUnreachable,
			fmt.Sprintf("There is no TCP connection to the instance metadata service at %s, so the agent can learn neither its region nor its credentials.", id.Endpoint),
			[]string{fmt.Sprintf("connect to %s: %s %s", id.Endpoint, id.Class, id.Detail), how})
		if !ec2 {
			f.Severity = SevInfo
			f.Summary += " This host does not look like EC2, so the agent must run in hybrid mode (activation) instead."
		}
		return []Finding{f}
	case imds.FailDisabled:
		return []Finding{cat.New(IMDSDisabled,
			fmt.Sprintf("The instance metadata service at %s answers 403 Forbidden: the instance's metadata endpoint is turned off, so the agent gets no identity or credentials.", id.Endpoint),
			[]string{fmt.Sprintf("PUT /latest/api/token: HTTP %d", id.Token.Status)})}
	case imds.FailTokenTimeout:
		ev := []string{fmt.Sprintf("PUT /latest/api/token: TCP connection opened, no answer within %d ms (%s)", id.Token.DurationMS, id.Token.Class)}
		if g := id.TokenlessGET; g != nil {
			ev = append(ev, fmt.Sprintf("GET %s without a token: HTTP %d", g.Path, g.Status))
		}
		return []Finding{cat.New(IMDSTokenTimeout,
			"The IMDSv2 token request opens a TCP connection but is never answered, while a request without a token is. The token response dies in transit: the instance's PUT response hop limit (1) is too low for a container or a second network namespace.",
			ev)}
	}
	return nil
}

// onEC2 says whether the host is an EC2 instance, and what decided it.
// IMDS having answered with an instance ID decides it; otherwise the host
// is not known to be EC2.
func (o *Observations) onEC2() (bool, string) {
	if o.IMDS != nil && o.IMDS.InstanceID != "" {
		return true, "IMDS answered with instance " + o.IMDS.InstanceID
	}
	return false, "nothing on this host identifies it as EC2"
}
