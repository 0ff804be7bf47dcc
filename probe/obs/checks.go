package obs

import (
	"github.com/ssm-probe/ssm-probe/errclass"
)

// Status is the outcome of one check. It is tri-state at heart: a check
// passed, failed, or could not look (skip, timeout, error); "could not look"
// is never counted as healthy.
type Status string

// The check statuses of the report contract (docs/INTERFACE.md).
const (
	StatusPass    Status = "pass"
	StatusWarn    Status = "warn"
	StatusFail    Status = "fail"
	StatusSkip    Status = "skip"    // not run, with a reason (offline root, needs root, not applicable)
	StatusTimeout Status = "timeout" // did not finish inside the run deadline
	StatusError   Status = "error"   // the check itself broke (panic, internal error)
)

// Checked reports whether s is a real answer (pass, warn or fail) rather
// than a check that could not look.
func (s Status) Checked() bool {
	return s == StatusPass || s == StatusWarn || s == StatusFail
}

// CheckName names a family of checks: the report's "name" of a check.
type CheckName string

// The check families, in the order a run lists them.
const (
	CheckResolvConf CheckName = "resolv.conf" // the resolver configuration files
	CheckAgent      CheckName = "agent"       // the agent's install, process and config
	CheckHost       CheckName = "host"        // EC2 identity, disks, clock
	CheckUsers      CheckName = "users"       // local users and ssm-user
	CheckInotify    CheckName = "inotify"     // inotify limits and use (live)
	CheckRoutes     CheckName = "routes"      // default routes and addresses (live)
	CheckIMDS       CheckName = "imds"        // the instance metadata service
	CheckLogs       CheckName = "logs"        // the agent's logs
	CheckAgentProxy CheckName = "agent.proxy" // the running agent's environment
	CheckPlan       CheckName = "plan"        // why no endpoint name was asked
	CheckDNS        CheckName = "dns"         // one name asked of one resolver
	CheckAgentDNS   CheckName = "dns.agent"   // one name resolved the agent's way
	CheckEndpoint   CheckName = "endpoint"    // one endpoint address: TCP, TLS, HTTPS
	CheckProxy      CheckName = "proxy"       // one endpoint through the agent's proxy
	CheckPrefs      CheckName = "prefs"       // the session preferences
)

// CheckRecord is the report's record of one check (the JSON "checks" array).
type CheckRecord struct {
	Name       CheckName      `json:"name"`
	Target     string         `json:"target"`
	Status     Status         `json:"status"`
	Required   bool           `json:"required,omitempty"`
	Class      errclass.Class `json:"class,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	DurationMS int64          `json:"duration_ms"`
	Detail     any            `json:"detail"`
}
