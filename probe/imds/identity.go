// Package imds observes the EC2 Instance Metadata Service (IMDS): whether it
// can be reached, how the IMDSv2 token PUT fares, the instance's identity
// and network placement, and the state of its instance profile.
//
// It produces one typed, JSON-serialisable observation (Identity) and never
// findings; the probe engine diagnoses from it. Credentials are never kept:
// the credentials document is decoded into a struct without secret fields.
//
// Protocol facts come from the AWS documentation "Use the Instance Metadata
// Service to access instance metadata" and "Instance metadata categories".
package imds

import (
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// Failure is the one-word classification of what kept the probe from using
// IMDS normally. The empty value means nothing did.
type Failure string

// The failure classes, in the order Fetch tests them.
const (
	FailNone         Failure = ""
	FailUnreachable  Failure = "unreachable"   // no TCP connection to the endpoint
	FailTokenTimeout Failure = "token-timeout" // TCP opens, the token PUT is unanswered, a tokenless GET answers: the PUT hop limit
	FailDisabled     Failure = "disabled"      // 403: the metadata endpoint is turned off
	FailNoAnswer     Failure = "no-answer"     // TCP opens but neither the PUT nor a tokenless GET is answered
	FailUnauthorized Failure = "unauthorized"  // 401 on metadata GETs: the token is missing, rejected or expired
	FailOther        Failure = "other"         // any other failure; the classes and details say more
)

// Access says how the metadata GETs were made.
type Access string

// The access modes.
const (
	AccessNone Access = "none" // no metadata GET succeeded
	AccessV2   Access = "v2"   // GETs succeeded with an IMDSv2 token
	AccessV1   Access = "v1"   // GETs succeeded without a token (IMDSv1)
)

// ProfileState is the tri-state of the instance profile, plus "unchecked".
type ProfileState string

// The profile states.
const (
	ProfileUnchecked ProfileState = "unchecked" // iam/info was not asked (IMDS unreachable)
	ProfilePresent   ProfileState = "present"   // iam/info answered 200
	ProfileAbsent    ProfileState = "absent"    // iam/info answered 404: no instance profile
	ProfileError     ProfileState = "error"     // iam/info failed otherwise; Class and Status say how
)

// Identity is everything Fetch observed. Fetch always returns one; fields it
// could not read are empty and their Fields entry says why.
type Identity struct {
	Endpoint     string         `json:"endpoint"`
	Reachable    bool           `json:"reachable"`        // a TCP connection to the endpoint opened
	Class        errclass.Class `json:"class,omitempty"`  // why not reachable (refused, timeout, unreachable, …)
	Detail       string         `json:"detail,omitempty"` // human detail for Class
	Failure      Failure        `json:"failure,omitempty"`
	Access       Access         `json:"access"`
	Token        TokenResult    `json:"token"`                   // the raw IMDSv2 token PUT
	TokenlessGET *GetResult     `json:"tokenless_get,omitempty"` // the raw GET without a token, sent alongside the PUT

	Region     string   `json:"region,omitempty"`
	AZ         string   `json:"availability_zone,omitempty"`
	InstanceID string   `json:"instance_id,omitempty"`
	Domain     string   `json:"domain,omitempty"` // services/domain, e.g. amazonaws.com
	MAC        string   `json:"mac,omitempty"`
	VPCID      string   `json:"vpc_id,omitempty"`
	SubnetID   string   `json:"subnet_id,omitempty"`
	SubnetCIDR string   `json:"subnet_cidr,omitempty"`
	VPCCIDRs   []string `json:"vpc_cidrs,omitempty"` // the first is the primary CIDR
	HasIPv6    bool     `json:"has_ipv6"`            // ipv6s listed an address; see Fields for whether it was checked

	Profile Profile `json:"profile"`

	// Fields holds the outcome of every metadata GET, keyed by the path
	// under /latest/meta-data/. It never holds values.
	Fields     map[string]GetResult `json:"fields,omitempty"`
	DurationMS int64                `json:"duration_ms"`
}

// TokenResult is the raw outcome of PUT /latest/api/token.
type TokenResult struct {
	Status     int            `json:"status,omitempty"` // HTTP status; 0 when no answer came
	Class      errclass.Class `json:"class,omitempty"`  // None on 200
	Detail     string         `json:"detail,omitempty"`
	TCPOpened  bool           `json:"tcp_opened"` // the TCP connection for the PUT opened
	Obtained   bool           `json:"obtained"`   // a token came back (the token itself is never kept here)
	DurationMS int64          `json:"duration_ms"`
}

// GetResult is the outcome of one GET.
type GetResult struct {
	Path       string         `json:"path"`
	Status     int            `json:"status,omitempty"` // HTTP status; 0 when no answer came
	Class      errclass.Class `json:"class,omitempty"`  // None on 200
	Detail     string         `json:"detail,omitempty"`
	TokenSent  bool           `json:"token_sent"` // the request carried an IMDSv2 token
	DurationMS int64          `json:"duration_ms"`
}

// Profile is the instance profile as iam/info and iam/security-credentials/
// describe it.
type Profile struct {
	State       ProfileState   `json:"state"`
	Status      int            `json:"status,omitempty"` // iam/info HTTP status
	Class       errclass.Class `json:"class,omitempty"`
	Detail      string         `json:"detail,omitempty"`
	InfoCode    string         `json:"info_code,omitempty"` // iam/info Code
	ARN         string         `json:"arn,omitempty"`       // InstanceProfileArn
	ID          string         `json:"id,omitempty"`        // InstanceProfileId
	Role        string         `json:"role,omitempty"`      // the role listed under iam/security-credentials/
	Credentials *CredStatus    `json:"credentials,omitempty"`
}

// CredStatus is the non-secret part of the role's credentials document.
type CredStatus struct {
	Status      int            `json:"status,omitempty"` // HTTP status of the credentials GET
	Class       errclass.Class `json:"class,omitempty"`
	Detail      string         `json:"detail,omitempty"`
	Code        string         `json:"code,omitempty"`    // "Success" when the role could be assumed
	Message     string         `json:"message,omitempty"` // why not, when Code is not Success
	LastUpdated time.Time      `json:"last_updated,omitzero"`
	Expiration  time.Time      `json:"expiration,omitzero"`
	Expired     bool           `json:"expired"` // Expiration is not after Options.Now()
}
