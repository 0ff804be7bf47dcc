package imds

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// parseNow is the clock the credentials cases are judged against.
var parseNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Result types stored in the .want.json files, one per parser.
type (
	credsWant struct {
		Status CredStatus `json:"status"`
		Err    bool       `json:"err"`
	}
	cidrsWant struct {
		CIDRs []string `json:"cidrs"`
		Err   bool     `json:"err"`
	}
	stringWant struct {
		Value string `json:"value"`
		Err   bool   `json:"err"`
	}
	infoWant struct {
		Info iamInfo `json:"info"`
		Err  bool    `json:"err"`
	}
)

func TestParseCredentials(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "creds"), func(b []byte) any {
		cs, err := parseCredentials(b, parseNow)
		if err != nil {
			for _, secret := range []string{"parser-test-secret", "parser-test-session", "ASIAPARSERTEST"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q quotes a secret", err)
				}
			}
		}
		return credsWant{Status: cs, Err: err != nil}
	})
}

func TestParseCIDRList(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "cidrs"), func(b []byte) any {
		l, err := parseCIDRList(b)
		return cidrsWant{CIDRs: l, Err: err != nil}
	})
}

func TestParseRoleList(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "role"), func(b []byte) any {
		r, err := parseRoleList(b)
		return stringWant{Value: r, Err: err != nil}
	})
}

func TestParseValue(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "value"), func(b []byte) any {
		v, err := parseValue(b)
		return stringWant{Value: v, Err: err != nil}
	})
}

func TestParseIAMInfo(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "iaminfo"), func(b []byte) any {
		v, err := parseIAMInfo(b)
		return infoWant{Info: v, Err: err != nil}
	})
}

// TestCredDocHasNoSecretFields guards the redaction design: the struct the
// credentials document is decoded into must not be able to hold a secret.
func TestCredDocHasNoSecretFields(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeOf(credDoc{}), reflect.TypeOf(CredStatus{})} {
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := strings.ToLower(f.Name + " " + f.Tag.Get("json"))
			for _, bad := range []string{"accesskey", "secret", "token"} {
				if strings.Contains(name, bad) {
					t.Errorf("%s has field %s (%q): it could hold a secret", typ, f.Name, f.Tag)
				}
			}
		}
	}
}
