package diagnose

import (
	"time"

	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// Context is what the report says about where the probe ran (the JSON
// "context" object of docs/INTERFACE.md).
type Context struct {
	Mode       string       `json:"mode"` // ec2 | hybrid | offline
	Region     string       `json:"region"`
	Domain     string       `json:"domain"`
	InstanceID string       `json:"instance_id"`
	VPCCIDRs   []string     `json:"vpc_cidrs"`
	Resolvers  Resolvers    `json:"resolvers"`
	Agent      AgentContext `json:"agent"`
}

// Resolvers lists the DNS servers the host uses and the VPC's own.
type Resolvers struct {
	System []string `json:"system"`
	VPC    []string `json:"vpc"`
}

// AgentContext is the agent's version and whether it runs. Running is nil
// when the probe could not tell (offline root, no /proc).
type AgentContext struct {
	Version string `json:"version"`
	Running *bool  `json:"running"`
}

// Result is a finished run: everything a renderer needs.
type Result struct {
	StartedAt time.Time
	Duration  time.Duration
	Verdict   finding.Verdict
	Context   Context
	Findings  []finding.Finding
	Checks    []obs.CheckRecord
	Paths     []agentpath.AgentPath // the agent's path to every planned endpoint
	Timeline  *Timeline             // nil when neither the logs nor the host's files were read
	// Observations are what the result was diagnosed from: the file that
	// --save-observations writes and --observations re-diagnoses.
	Observations *obs.Observations
}

// Counts returns how many findings of each severity r holds.
func (r *Result) Counts() (fail, warn, info int) {
	for _, f := range r.Findings {
		switch f.Severity {
		case finding.SevFail:
			fail++
		case finding.SevWarn:
			warn++
		default:
			info++
		}
	}
	return fail, warn, info
}
