package probe

import "time"

// Verdict is the overall status of a run (docs/INTERFACE.md, exit codes).
type Verdict string

// The verdicts and the exit codes they map to.
const (
	VerdictOK      Verdict = "ok"      // exit 0: no fail and no warn findings
	VerdictWarn    Verdict = "warn"    // exit 1: at least one warn, no fail
	VerdictFail    Verdict = "fail"    // exit 2: at least one fail finding
	VerdictUnknown Verdict = "unknown" // exit 3: no verdict could be reached
)

// ExitCode returns the Nagios-convention exit code of v.
func (v Verdict) ExitCode() int {
	switch v {
	case VerdictOK:
		return 0
	case VerdictWarn:
		return 1
	case VerdictFail:
		return 2
	default:
		return 3
	}
}

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
	Verdict   Verdict
	Context   Context
	Findings  []Finding
	Checks    []CheckRecord
	Paths     []AgentPath // the agent's path to every planned endpoint
	Timeline  *Timeline   // nil when neither the logs nor the host's files were read
	// Observations are what the result was diagnosed from: the file that
	// --save-observations writes and --observations re-diagnoses.
	Observations *Observations
}

// Counts returns how many findings of each severity r holds.
func (r *Result) Counts() (fail, warn, info int) {
	for _, f := range r.Findings {
		switch f.Severity {
		case SevFail:
			fail++
		case SevWarn:
			warn++
		default:
			info++
		}
	}
	return fail, warn, info
}
