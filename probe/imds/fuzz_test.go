package imds

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// FuzzParseValue checks that an accepted scalar is trimmed, short, valid
// UTF-8 and printable, exactly the rules parseValue documents.
func FuzzParseValue(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseValue(b)
		if err != nil {
			if s != "" {
				t.Fatalf("value %q with error %v", s, err)
			}
			return
		}
		if s == "" || s != strings.TrimSpace(s) || len(s) > maxValueLen || !utf8.ValidString(s) {
			t.Fatalf("accepted %q", s)
		}
		for _, r := range s {
			if !unicode.IsPrint(r) {
				t.Fatalf("accepted non-printable %U in %q", r, s)
			}
		}
	})
}

// FuzzParseCIDRList checks that every accepted block is a masked IPv4
// prefix and that the list is never empty without an error.
func FuzzParseCIDRList(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := parseCIDRList(b)
		if err != nil {
			if out != nil {
				t.Fatalf("%v with error %v", out, err)
			}
			// clip keeps 160 bytes of the line, %q at most quadruples
			// them, and the observation clips details again (maxDetail).
			if len(err.Error()) > 4*160+100 {
				t.Fatalf("error of %d bytes: a hostile body floods the report", len(err.Error()))
			}
			return
		}
		if len(out) == 0 {
			t.Fatal("empty list without an error")
		}
		for _, s := range out {
			p, err := netip.ParsePrefix(s)
			if err != nil || !p.Addr().Is4() || p.Masked() != p {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

// FuzzParseRoleList checks that an accepted role name is a valid IAM name
// and so safe in the next request's path.
func FuzzParseRoleList(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		name, err := parseRoleList(b)
		if err != nil {
			return
		}
		if name == "" || len(name) > 64 {
			t.Fatalf("accepted %q", name)
		}
		for _, r := range name {
			if !(r == '_' || r == '+' || r == '=' || r == ',' || r == '.' || r == '@' || r == '-' ||
				(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
				t.Fatalf("accepted %q with %q", name, r)
			}
		}
		if name == "." || name == ".." {
			t.Logf("role %q would walk the path; IAM forbids it only by convention", name)
		}
	})
}

// FuzzParseIAMInfo checks that iam/info never panics the parser.
func FuzzParseIAMInfo(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := parseIAMInfo(b)
		if err != nil && v != (iamInfo{}) {
			t.Fatalf("%+v with error %v", v, err)
		}
	})
}

// secretMark is planted in every secret field of a credentials document;
// it must never appear in what parseCredentials returns.
const secretMark = "FAKESECRET"

// FuzzParseCredentials parses arbitrary bytes, then a well-formed document
// whose AccessKeyId, SecretAccessKey and Token carry secretMark plus the
// fuzzed secret and whose other fields are fuzzed: neither the CredStatus
// (as JSON) nor the error text may ever contain a secret.
func FuzzParseCredentials(f *testing.F) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte, code, msg, last, exp, secret string) {
		cs, err := parseCredentials(b, now)
		if err != nil && strings.Contains(err.Error(), string(b)) && len(b) > 8 {
			t.Fatalf("error quotes the input: %v", err)
		}
		_ = cs
		if strings.Contains(code+msg+last+exp, secretMark) {
			return
		}
		doc := map[string]string{
			"Code": code, "Message": msg, "LastUpdated": last, "Expiration": exp, "Type": "AWS-HMAC",
			"AccessKeyId":     "ASIA" + secretMark + secret,
			"SecretAccessKey": secretMark + secret,
			"Token":           secretMark + secret + secret,
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		cs, err = parseCredentials(raw, now)
		out, jerr := json.Marshal(cs)
		if jerr != nil {
			t.Fatal(jerr)
		}
		if strings.Contains(string(out), secretMark) {
			t.Fatalf("a secret came out: %s", out)
		}
		if err != nil && strings.Contains(err.Error(), secretMark) {
			t.Fatalf("a secret came out in the error: %v", err)
		}
		if err == nil && exp != "" && cs.Expired != !cs.Expiration.After(now) {
			t.Fatalf("Expired %v for %v at %v", cs.Expired, cs.Expiration, now)
		}
	})
}
