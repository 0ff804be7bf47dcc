package imds

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
)

// TestSigningCredentials fetches the role's credentials from the fake in
// each mode: the fake's secrets come back where a role is usable, and a
// failure says why without quoting any secret.
func TestSigningCredentials(t *testing.T) {
	cases := []struct {
		mode    imdstest.Mode
		wantErr string // substring of the error; "" means success
	}{
		{imdstest.V2Required, ""},
		{imdstest.V2Optional, ""},
		{imdstest.V1Only, ""},     // token PUT 404: tokenless fallback
		{imdstest.HangingPut, ""}, // token PUT unanswered: tokenless fallback after one timeout
		{imdstest.NoProfile, "no instance profile"},
		{imdstest.CredsFailed, "AssumeRoleUnauthorizedAccess"},
		{imdstest.CredsExpired, "expired"},
		{imdstest.Disabled403, "turned off"},
		{imdstest.RejectToken, "HTTP 401"},
	}
	for _, c := range cases {
		t.Run(string(c.mode), func(t *testing.T) {
			cfg := imdstest.DefaultConfig(c.mode)
			cfg.Now = clock
			srv := imdstest.New(cfg)
			defer srv.Close()
			t0 := time.Now()
			creds, err := SigningCredentials(context.Background(), Options{Endpoint: srv.URL, Timeout: testTimeout, Now: clock})
			if took := time.Since(t0); took > testTimeout+boundMargin {
				t.Errorf("took %v, want at most one attempt (%v) plus margin", took, testTimeout)
			}
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if creds.AccessKeyID != imdstest.FakeAccessKeyID || creds.SecretAccessKey != imdstest.FakeSecretAccessKey ||
					creds.SessionToken != imdstest.FakeToken || !creds.CanExpire || !creds.Expires.After(fixedNow) {
					t.Errorf("credentials are not the fake's (source %q, expires %v)", creds.Source, creds.Expires)
				}
				if !strings.Contains(creds.Source, cfg.Role) {
					t.Errorf("source %q does not name role %s", creds.Source, cfg.Role)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one containing %q", c.wantErr)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, c.wantErr)
			}
			if creds.AccessKeyID != "" || creds.SecretAccessKey != "" || creds.SessionToken != "" {
				t.Errorf("credentials returned alongside an error")
			}
			for _, s := range []string{imdstest.FakeAccessKeyID, imdstest.FakeSecretAccessKey, imdstest.FakeToken, imdstest.FakeIMDSToken} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error quotes secret %q", s)
				}
			}
		})
	}
}

func TestSigningCredentialsUnreachable(t *testing.T) {
	_, err := SigningCredentials(context.Background(), Options{Endpoint: "http://127.0.0.1:1", Timeout: testTimeout})
	if err == nil || !strings.Contains(err.Error(), "cannot be reached") {
		t.Errorf("error %v, want cannot be reached", err)
	}
}

// TestParseSigningDoc covers the document rules without a network; errors
// never quote a value.
func TestParseSigningDoc(t *testing.T) {
	now := fixedNow
	cases := []struct {
		name, doc, wantErr string
	}{
		{"ok", `{"Code":"Success","AccessKeyId":"AKX","SecretAccessKey":"SKX","Token":"TKX","Expiration":"2026-03-01T18:00:00Z"}`, ""},
		{"no expiration", `{"Code":"Success","AccessKeyId":"AKX","SecretAccessKey":"SKX","Token":"TKX"}`, ""},
		{"not json", `AKX SKX`, "not a JSON object"},
		{"missing secret", `{"Code":"Success","AccessKeyId":"AKX","Token":"TKX"}`, "lacks SecretAccessKey"},
		{"bad expiration", `{"Code":"Success","AccessKeyId":"AKX","SecretAccessKey":"SKX","Token":"TKX","Expiration":"SKX"}`, "not an RFC 3339"},
		{"expired", `{"Code":"Success","AccessKeyId":"AKX","SecretAccessKey":"SKX","Token":"TKX","Expiration":"2026-03-01T11:00:00Z"}`, "expired"},
		{"failed", `{"Code":"Failure","AccessKeyId":"AKX","SecretAccessKey":"SKX","Token":"TKX"}`, `Code "Failure"`},
	}
	for _, c := range cases {
		creds, err := parseSigningDoc([]byte(c.doc), "r", now)
		if c.wantErr == "" {
			if err != nil || creds.AccessKeyID != "AKX" || creds.SecretAccessKey != "SKX" || creds.SessionToken != "TKX" {
				t.Errorf("%s: got %v, err %v", c.name, creds.AccessKeyID, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			continue
		}
		for _, s := range []string{"AKX", "SKX", "TKX"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q quotes %s", c.name, err, s)
			}
		}
	}
}

// TestObservationTypesHoldNoSecrets walks every type reachable from
// Identity: none may have a field that could hold a secret. signingDoc,
// which must, is not reachable from it.
func TestObservationTypesHoldNoSecrets(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			if holdsText(f.Type) {
				name := strings.ToLower(f.Name + " " + f.Tag.Get("json"))
				for _, bad := range []string{"accesskey", "secret", "token"} {
					if strings.Contains(name, bad) {
						t.Errorf("%s.%s (%q) is text and could hold a secret", path, f.Name, f.Tag)
					}
				}
			}
			walk(f.Type, path+"."+f.Name)
		}
	}
	walk(reflect.TypeOf(Identity{}), "Identity")
	if !seen[reflect.TypeOf(CredStatus{})] {
		t.Error("the walk did not reach CredStatus; the test would be vacuous")
	}
	// The guard must bite: signingDoc holds secrets, and the same rule
	// flags all three of its secret fields.
	bad := 0
	typ := reflect.TypeOf(signingDoc{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		n := strings.ToLower(f.Name + " " + f.Tag.Get("json"))
		if holdsText(f.Type) && (strings.Contains(n, "secret") || strings.Contains(n, "accesskey") || strings.Contains(n, "token")) {
			bad++
		}
	}
	if bad != 3 {
		t.Errorf("the rule flags %d fields of signingDoc, want 3", bad)
	}
}

// holdsText reports whether a field of type typ can carry text: a string,
// or a slice, array or map of strings or bytes.
func holdsText(typ reflect.Type) bool {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array || typ.Kind() == reflect.Map {
		typ = typ.Elem()
	}
	return typ.Kind() == reflect.String || typ.Kind() == reflect.Uint8
}
