package prefs

import (
	"regexp"
	"strings"
)

// PolicyType is the kind of policy an access-denied message names as the
// one that refused the call (IAM User Guide, "Troubleshoot access denied
// error messages": "with an explicit deny in a TYPE policy" and "because
// no TYPE policy allows the ACTION action").
type PolicyType string

// The policy types a denial clause can name.
const (
	PolicyNone        PolicyType = "" // the message names none
	PolicyIdentity    PolicyType = "identity-based policy"
	PolicyResource    PolicyType = "resource-based policy"
	PolicySession     PolicyType = "session policy"
	PolicyBoundary    PolicyType = "permissions boundary"
	PolicySCP         PolicyType = "service control policy"
	PolicyRCP         PolicyType = "resource control policy"
	PolicyVPCEndpoint PolicyType = "VPC endpoint policy"
)

// maxDenialPolicyARN bounds the policy ARN copied out of a message.
const maxDenialPolicyARN = 256

// Denial is what an access-denied message says about who refused.
type Denial struct {
	Policy   PolicyType `json:"policy"`
	Explicit bool       `json:"explicit"`             // "with an explicit deny in", not "because no … allows"
	Action   string     `json:"action,omitempty"`     // the action refused, e.g. ssm:GetDocument
	PolicyID string     `json:"policy_arn,omitempty"` // the policy's ARN when the message names it
	Role     string     `json:"role,omitempty"`       // the role of an assumed-role principal
	Region   string     `json:"region,omitempty"`     // the region of the resource's ARN
}

// denialClause matches the two phrasings of the clause. The article and
// the word "policy" vary with the type ("an identity-based policy", "a
// permissions boundary").
var denialClause = regexp.MustCompile(`(?i)\b(?:with an explicit deny in (?:an? )?|because no )(identity-based policy|resource-based policy|session policy|permissions boundary(?: policy)?|service control policy|resource control policy|vpc endpoint policy)(?:\s*:\s*(arn:[\w:/+=,.@-]+))?(?:\s+allows\b)?`)

// deniedAction is the action an access-denied message says was refused.
var deniedAction = regexp.MustCompile(`is not authorized to perform:?\s+([a-zA-Z0-9-]+:[A-Za-z0-9*]+)`)

// deniedRole is the role of an assumed-role principal in the message.
var deniedRole = regexp.MustCompile(`:assumed-role/([\w+=,.@-]{1,64})/`)

// deniedRegion is the region of the resource's ARN in the message.
var deniedRegion = regexp.MustCompile(`on resource: arn:aws[a-z-]*:[a-z0-9-]+:([a-z]{2}(?:-[a-z]+)+-[0-9]):`)

// ParseDenial reads the denial clause of an access-denied message (an AWS
// error answer's message, or an agent's log line quoting one). It reports
// false when the message names no policy type: the message then does not
// say which policy refused.
func ParseDenial(msg string) (Denial, bool) {
	m := denialClause.FindStringSubmatch(msg)
	if m == nil {
		return Denial{}, false
	}
	d := Denial{Explicit: strings.HasPrefix(strings.ToLower(m[0]), "with")}
	switch t := strings.ToLower(m[1]); {
	case strings.HasPrefix(t, "identity"):
		d.Policy = PolicyIdentity
	case strings.HasPrefix(t, "resource-based"):
		d.Policy = PolicyResource
	case strings.HasPrefix(t, "session"):
		d.Policy = PolicySession
	case strings.HasPrefix(t, "permissions"):
		d.Policy = PolicyBoundary
	case strings.HasPrefix(t, "service"):
		d.Policy = PolicySCP
	case strings.HasPrefix(t, "resource control"):
		d.Policy = PolicyRCP
	case strings.HasPrefix(t, "vpc"):
		d.Policy = PolicyVPCEndpoint
	}
	// "because no TYPE allows" without "allows" is a clause cut short or
	// something else: only the explicit form stands without it.
	if !d.Explicit && !strings.HasSuffix(strings.ToLower(m[0]), "allows") {
		return Denial{}, false
	}
	if len(m[2]) <= maxDenialPolicyARN {
		d.PolicyID = strings.TrimRight(m[2], ".,")
	}
	if a := deniedAction.FindStringSubmatch(msg); a != nil {
		d.Action = a[1]
	}
	if r := deniedRole.FindStringSubmatch(msg); r != nil {
		d.Role = r[1]
	}
	if r := deniedRegion.FindStringSubmatch(msg); r != nil {
		d.Region = r[1]
	}
	return d, true
}
