package imds

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// update rewrites the .want.json files from the current parsers. Review the
// diff before committing.
var update = flag.Bool("update", false, "rewrite testdata/*/*.want.json")

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

// runCases runs parse on every testdata/dir/*.in and compares the result
// with the case's .want.json. newWant returns a pointer to a zero result.
func runCases(t *testing.T, dir string, newWant func() any, parse func([]byte) any) {
	t.Helper()
	ins, err := filepath.Glob(filepath.Join("testdata", dir, "*.in"))
	if err != nil || len(ins) == 0 {
		t.Fatalf("no cases in testdata/%s: %v", dir, err)
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(dir+"/"+name, func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := parse(b)
			wantPath := strings.TrimSuffix(in, ".in") + ".want.json"
			if *update {
				out, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(wantPath, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wb, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("read want (run with -update to create): %v", err)
			}
			want := newWant()
			if err := json.Unmarshal(wb, want); err != nil {
				t.Fatalf("decode %s: %v", wantPath, err)
			}
			if !reflect.DeepEqual(got, reflect.ValueOf(want).Elem().Interface()) {
				t.Errorf("got  %+v\nwant %+v", got, reflect.ValueOf(want).Elem().Interface())
			}
		})
	}
}

func TestParseCredentials(t *testing.T) {
	runCases(t, "creds", func() any { return new(credsWant) }, func(b []byte) any {
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
	runCases(t, "cidrs", func() any { return new(cidrsWant) }, func(b []byte) any {
		l, err := parseCIDRList(b)
		return cidrsWant{CIDRs: l, Err: err != nil}
	})
}

func TestParseRoleList(t *testing.T) {
	runCases(t, "role", func() any { return new(stringWant) }, func(b []byte) any {
		r, err := parseRoleList(b)
		return stringWant{Value: r, Err: err != nil}
	})
}

func TestParseValue(t *testing.T) {
	runCases(t, "value", func() any { return new(stringWant) }, func(b []byte) any {
		v, err := parseValue(b)
		return stringWant{Value: v, Err: err != nil}
	})
}

func TestParseIAMInfo(t *testing.T) {
	runCases(t, "iaminfo", func() any { return new(infoWant) }, func(b []byte) any {
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
