package agent

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version thresholds from docs/AGENT-FACTS.md ("Versions that change what
// is required"). Each parses with ParseVersion; TestThresholdsParse checks so.
const (
	// MinSessionManager is the oldest agent that supports Session Manager
	// (AWS Systems Manager User Guide, "Session Manager prerequisites").
	MinSessionManager = "2.3.68.0"
	// MinKMSEncryption is the oldest agent that supports KMS encryption of
	// session data.
	MinKMSEncryption = "2.3.539.0"
	// MinPortForwarding is the oldest agent that supports port forwarding
	// and SSH through Session Manager.
	MinPortForwarding = "3.0.222.0"
	// MinDiagnosticsCLI is the oldest agent that ships ssm-cli get-diagnostics.
	MinDiagnosticsCLI = "3.1.501.0"
	// MinDefaultHostManagement is the oldest agent that supports Default Host
	// Management Configuration (credentials from SSM instead of a profile).
	MinDefaultHostManagement = "3.2.582.0"
	// MinNoEC2Messages is the first agent that no longer needs ec2messages
	// once ssmmessages connects; below it ec2messages is a required endpoint.
	MinNoEC2Messages = "3.3.40.0"
	// MinMillisecondLogs is the first agent whose log timestamps carry
	// milliseconds.
	MinMillisecondLogs = "3.3.808.0"
	// MinVersionFlag is the first agent whose binary understands -version.
	MinVersionFlag = "3.0.502.0"
)

// Feature names one capability gated by an agent version.
type Feature struct {
	Name       string `json:"name"`        // what the version gates, in words
	MinVersion string `json:"min_version"` // the first agent version that has it
}

// Features returns the version-gated capabilities in ascending version
// order. It returns a new slice on each call.
func Features() []Feature {
	return []Feature{
		{"Session Manager", MinSessionManager},
		{"KMS encryption of sessions", MinKMSEncryption},
		{"port forwarding and SSH through sessions", MinPortForwarding},
		{"Default Host Management Configuration", MinDefaultHostManagement},
		{"ssmmessages alone (ec2messages not required)", MinNoEC2Messages},
	}
}

// Version is a parsed agent version: four dotted numbers (missing trailing
// numbers are zero) and whatever followed them, such as a Debian revision.
type Version struct {
	Parts  [4]int `json:"parts"`
	Suffix string `json:"suffix,omitempty"` // text after the numbers, e.g. "-1" or "~beta"; ignored when comparing
	Raw    string `json:"raw"`              // the input, trimmed
}

// ErrNotVersion is returned by ParseVersion for text that holds no version.
var ErrNotVersion = errors.New("not an agent version")

// ParseVersion parses an agent version leniently. It accepts "3.3.1142.0",
// a leading "v" ("v3.2.582.0"), a dpkg epoch ("1:3.3.1142.0-1"), package
// revisions and other suffixes ("3.3.1142.0-1", "3.3.1142.0-1.amzn2"), and
// surrounding whitespace. It needs at least two dotted numbers, so a bare
// integer such as a snap revision ("7993") is rejected: a revision counts
// uploads to the snap store and says nothing about the agent version.
func ParseVersion(s string) (Version, error) {
	raw := strings.TrimSpace(s)
	t := raw
	if i := strings.IndexByte(t, ':'); i > 0 && allDigits(t[:i]) {
		t = t[i+1:] // dpkg epoch, deb-version(7)
	}
	t = strings.TrimPrefix(strings.TrimPrefix(t, "v"), "V")
	end := 0
	for end < len(t) && (t[end] == '.' || (t[end] >= '0' && t[end] <= '9')) {
		end++
	}
	nums := strings.TrimRight(t[:end], ".")
	suffix := t[end:] // a trailing dot is dropped
	fields := strings.Split(nums, ".")
	if nums == "" || len(fields) < 2 {
		return Version{}, fmt.Errorf("%w: %q", ErrNotVersion, raw)
	}
	if len(fields) > 4 {
		return Version{}, fmt.Errorf("%w: %q has more than four numbers", ErrNotVersion, raw)
	}
	v := Version{Suffix: suffix, Raw: raw}
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return Version{}, fmt.Errorf("%w: %q: bad number %q", ErrNotVersion, raw, f)
		}
		v.Parts[i] = n
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than o.
// Only the numbers count; the suffix does not.
func (v Version) Compare(o Version) int {
	for i := range v.Parts {
		switch {
		case v.Parts[i] < o.Parts[i]:
			return -1
		case v.Parts[i] > o.Parts[i]:
			return 1
		}
	}
	return 0
}

// Less reports whether v is older than o.
func (v Version) Less(o Version) bool { return v.Compare(o) < 0 }

// AtLeast reports whether v is min or newer. min is one of the Min…
// constants or another version string; an unparseable min gives false.
func (v Version) AtLeast(min string) bool {
	m, err := ParseVersion(min)
	if err != nil {
		return false
	}
	return v.Compare(m) >= 0
}

// IsZero reports whether v is the zero Version (nothing parsed).
func (v Version) IsZero() bool { return v == Version{} }

// String returns the four numbers joined by dots, without the suffix.
func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d.%d", v.Parts[0], v.Parts[1], v.Parts[2], v.Parts[3])
}
