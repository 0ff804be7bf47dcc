//go:build linux

package agent

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/redact"
)

// jsonRoundTrip marshals v, decodes it into a new value of the same type
// and fails unless the two are equal.
func jsonRoundTrip[T any](t *testing.T, v *T) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	back := new(T)
	if err := json.Unmarshal(b, back); err != nil {
		t.Fatalf("unmarshal %T: %v", v, err)
	}
	if !reflect.DeepEqual(v, back) {
		t.Fatalf("JSON round trip of %T changed it:\n%+v\n%+v", v, v, back)
	}
}

// trimmed reports whether s has no surrounding white space.
func trimmed(s string) bool { return s == strings.TrimSpace(s) }

// FuzzParseConfig checks that the agent-config parser never panics, keeps
// every value trimmed, agrees with Any, and round-trips through JSON.
func FuzzParseConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			if c != nil {
				t.Fatalf("error %v with a result", err)
			}
			return
		}
		vals := []string{c.Region, c.ServiceDomain, c.SsmEndpoint, c.MgsEndpoint, c.MdsEndpoint, c.S3Endpoint, c.KmsEndpoint}
		any := false
		for _, v := range vals {
			if !trimmed(v) {
				t.Fatalf("value %q is not trimmed", v)
			}
			any = any || v != ""
		}
		if any != c.Any() {
			t.Fatalf("Any() = %v with values %q", c.Any(), vals)
		}
		if c.Path != ConfigPath {
			t.Fatalf("path %q", c.Path)
		}
		if utf8Valid(vals...) {
			jsonRoundTrip(t, c)
		}
	})
}

// utf8Valid reports whether every s survives encoding/json unchanged
// (invalid UTF-8 is replaced with U+FFFD by the encoder, by design).
func utf8Valid(ss ...string) bool {
	for _, s := range ss {
		if strings.ToValidUTF8(s, "\uFFFD") != s {
			return false
		}
	}
	return true
}

// FuzzParseRegistration checks that a registration without an error always
// has a well-formed managed instance ID, and that values are trimmed.
func FuzzParseRegistration(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRegistration(b)
		if r == nil {
			if err == nil {
				t.Fatal("no registration and no error")
			}
			return
		}
		if !trimmed(r.ManagedInstanceID) || !trimmed(r.Region) {
			t.Fatalf("untrimmed %+v", r)
		}
		if err == nil && !managedIDRE.MatchString(r.ManagedInstanceID) {
			t.Fatalf("accepted ID %q", r.ManagedInstanceID)
		}
		if err != nil && managedIDRE.MatchString(r.ManagedInstanceID) {
			t.Fatalf("rejected well-formed ID %q: %v", r.ManagedInstanceID, err)
		}
	})
}

// FuzzParseIdentity checks that the credential source is trimmed and that
// an error gives no source.
func FuzzParseIdentity(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseIdentity(b)
		if !trimmed(s) || (err != nil && s != "") {
			t.Fatalf("source %q, error %v", s, err)
		}
	})
}

// FuzzVersion checks ParseVersion and the version order on triples:
// parsing is stable through String, Compare is reflexive, antisymmetric and
// transitive, and Less and AtLeast agree with it.
func FuzzVersion(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var vs []Version
		for _, s := range []string{a, b, c} {
			v, err := ParseVersion(s)
			if err != nil {
				if !v.IsZero() {
					t.Fatalf("ParseVersion(%q) = %+v with error %v", s, v, err)
				}
				continue
			}
			for _, p := range v.Parts {
				if p < 0 {
					t.Fatalf("ParseVersion(%q) has a negative part: %v", s, v.Parts)
				}
			}
			again, err := ParseVersion(v.String())
			if err != nil || again.Parts != v.Parts {
				t.Fatalf("ParseVersion(%q).String() = %q reparses to %v, %v", s, v.String(), again.Parts, err)
			}
			if v.Compare(v) != 0 || v.Less(v) || !v.AtLeast(v.String()) {
				t.Fatalf("%v is not equal to itself", v)
			}
			vs = append(vs, v)
		}
		for _, x := range vs {
			for _, y := range vs {
				if x.Compare(y) != -y.Compare(x) {
					t.Fatalf("Compare is not antisymmetric on %v, %v", x, y)
				}
				if x.Less(y) != (x.Compare(y) < 0) || x.AtLeast(y.String()) != (x.Compare(y) >= 0) {
					t.Fatalf("Less/AtLeast disagree with Compare on %v, %v", x, y)
				}
				for _, z := range vs {
					if x.Compare(y) <= 0 && y.Compare(z) <= 0 && x.Compare(z) > 0 {
						t.Fatalf("Compare is not transitive on %v <= %v <= %v", x, y, z)
					}
				}
			}
		}
	})
}

// FuzzProxyRedaction builds an agent environment whose proxy URL carries a
// recognisable password and checks that neither the parsed ProxyEnv's JSON
// nor redact.Value ever shows it, while the raw URL keeps it for dialling.
func FuzzProxyRedaction(f *testing.F) {
	const marker = "PW-SECRET-"
	f.Fuzz(func(t *testing.T, user, pass, host string, upper bool) {
		pass = marker + pass
		// Only NUL is left out: it separates environ's variables, so no
		// value can hold it. Every other byte may be in the password.
		if strings.ContainsAny(pass+user+host, "\x00") || strings.Contains(user+host, marker) {
			return
		}
		host = strings.ReplaceAll(host, "@", "") // a host name holds no '@'
		name := "https_proxy"
		if upper {
			name = "HTTPS_PROXY"
		}
		raw := "http://" + user + ":" + pass + "@" + host
		p := ProxyFromEnviron([]byte("PATH=/usr/bin\x00" + name + "=" + raw + "\x00"))
		if p == nil {
			t.Fatalf("no proxy found in %q", raw)
		}
		if p.HTTPSProxyURL() != raw {
			t.Fatalf("raw URL %q, want %q", p.HTTPSProxyURL(), raw)
		}
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(js), marker) || strings.Contains(redact.Value(raw), marker) {
			t.Fatalf("password shown: %s", js)
		}
	})
}
