package imds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxValueLen bounds a scalar metadata value (region, instance id, …). Real
// values are a few dozen bytes; anything longer is not a value we trust.
const maxValueLen = 256

// parseValue turns a scalar metadata body into a value: surrounding white
// space is trimmed, and the result must be one line of printable UTF-8 no
// longer than maxValueLen. It reports why otherwise.
func parseValue(b []byte) (string, error) {
	s := string(bytes.TrimSpace(b))
	switch {
	case s == "":
		return "", fmt.Errorf("empty value")
	case len(s) > maxValueLen:
		return "", fmt.Errorf("value of %d bytes exceeds %d", len(s), maxValueLen)
	case !utf8.ValidString(s):
		return "", fmt.Errorf("value is not valid UTF-8")
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return "", fmt.Errorf("value contains the non-printable character %U", r)
		}
	}
	return s, nil
}

// parseCIDRList parses a newline-separated list of IPv4 CIDR blocks, as
// vpc-ipv4-cidr-blocks serves it (the first is the VPC's primary CIDR).
// Blank lines are skipped; any other bad line fails the whole list.
func parseCIDRList(b []byte) ([]string, error) {
	var out []string
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p, err := netip.ParsePrefix(line)
		if err != nil || !p.Addr().Is4() {
			return nil, fmt.Errorf("line %d: %q is not an IPv4 CIDR block", i+1, clip(line))
		}
		out = append(out, p.Masked().String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no CIDR block listed")
	}
	return out, nil
}

// parseRoleList returns the role named by iam/security-credentials/. IMDS
// lists exactly one role, the instance profile's. The name must be a valid
// IAM name ([\w+=,.@-], 1 to 64 characters, per the IAM CreateRole API), so
// that it is safe to put in the next request's path.
func parseRoleList(b []byte) (string, error) {
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no role listed")
	}
	name := names[0]
	if len(name) > 64 {
		return "", fmt.Errorf("role name of %d bytes exceeds 64", len(name))
	}
	for _, r := range name {
		ok := r < utf8.RuneSelf && (r == '_' || r == '+' || r == '=' || r == ',' || r == '.' ||
			r == '@' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r))
		if !ok {
			return "", fmt.Errorf("role name %q has the invalid character %q", clip(name), r)
		}
	}
	return name, nil
}

// iamInfo is the document at meta-data/iam/info.
type iamInfo struct {
	Code               string `json:"Code"`
	LastUpdated        string `json:"LastUpdated"`
	InstanceProfileArn string `json:"InstanceProfileArn"`
	InstanceProfileID  string `json:"InstanceProfileId"`
}

// parseIAMInfo decodes iam/info.
func parseIAMInfo(b []byte) (iamInfo, error) {
	var v iamInfo
	if err := json.Unmarshal(b, &v); err != nil {
		return iamInfo{}, fmt.Errorf("iam/info is not a JSON object: %v", err)
	}
	return v, nil
}

// credDoc is the part of the credentials document we may keep. It has, on
// purpose, no field for AccessKeyId, SecretAccessKey or Token: encoding/json
// skips keys without a field, so the secrets are never copied out of the
// read buffer.
type credDoc struct {
	Code        string `json:"Code"`
	Message     string `json:"Message"` // present when Code is not Success
	LastUpdated string `json:"LastUpdated"`
	Expiration  string `json:"Expiration"`
}

// parseCredentials decodes the credentials document into a CredStatus.
// Expired is decided against now. An unparsable document, or a timestamp
// that is not RFC 3339, is an error whose text quotes no part of the input
// (it may hold secrets).
func parseCredentials(b []byte, now time.Time) (CredStatus, error) {
	var d credDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return CredStatus{}, fmt.Errorf("credentials document is not a JSON object (%d bytes)", len(b))
	}
	cs := CredStatus{Code: clip(d.Code), Message: clip(d.Message)}
	if d.LastUpdated != "" {
		t, err := time.Parse(time.RFC3339, d.LastUpdated)
		if err != nil {
			return cs, fmt.Errorf("credentials LastUpdated is not an RFC 3339 time")
		}
		cs.LastUpdated = t.UTC()
	}
	if d.Expiration != "" {
		t, err := time.Parse(time.RFC3339, d.Expiration)
		if err != nil {
			return cs, fmt.Errorf("credentials Expiration is not an RFC 3339 time")
		}
		cs.Expiration = t.UTC()
		cs.Expired = !t.After(now)
	}
	return cs, nil
}

// clip shortens s for an error detail, so a hostile peer cannot flood the report.
func clip(s string) string {
	const max = 160
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
