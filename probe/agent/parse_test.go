package agent

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldenfile "github.com/ssm-probe/ssm-probe/probe/internal/golden"
)

// errString returns the error text, or "" for nil, so results serialise.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// parsers maps each directory under testdata/parse to the function that
// turns one input file into a JSON-serialisable result.
func parsers() map[string]func([]byte) any {
	type res struct {
		Result any    `json:"result"`
		Error  string `json:"error,omitempty"`
	}
	return map[string]func([]byte) any{
		"dpkg": func(b []byte) any {
			p, err := parseDpkgStatus(bytes.NewReader(b), PackageName)
			var installed *bool
			if p != nil {
				i := p.Installed()
				installed = &i
			}
			return res{map[string]any{"package": p, "installed": installed}, errString(err)}
		},
		"hibernate": func(b []byte) any { return ParseHibernateLog(b, time.UTC) },
		"environ":   func(b []byte) any { return ProxyFromEnviron(b) },
		"config": func(b []byte) any {
			c, err := ParseConfig(b)
			return res{c, errString(err)}
		},
		"registration": func(b []byte) any {
			r, err := ParseRegistration(b)
			return res{r, errString(err)}
		},
		"identity": func(b []byte) any {
			s, err := ParseIdentity(b)
			return res{s, errString(err)}
		},
		"startup": func(b []byte) any {
			ev, ok := lastStartupLine(b)
			return res{map[string]any{"evidence": ev, "found": ok}, ""}
		},
		"stat": func(b []byte) any {
			st, err := parseStat(b)
			return res{st, errString(err)}
		},
		"rpmq": func(b []byte) any {
			first, out, _ := bytes.Cut(b, []byte("\n"))
			var err error
			if string(first) != "exit 0" {
				err = errors.New(string(first))
			}
			v, ok := parseRPMQuery(out, err)
			return res{map[string]any{"version": v, "installed": ok}, ""}
		},
	}
}

// TestParsers runs every parser on each testdata/parse/<parser>/<case>.in and
// compares the JSON of the result with <case>.want.json.
func TestParsers(t *testing.T) {
	for name, parse := range parsers() {
		ins, err := filepath.Glob(filepath.Join("testdata", "parse", name, "*.in"))
		if err != nil || len(ins) == 0 {
			t.Fatalf("%s: no test inputs (%v)", name, err)
		}
		for _, in := range ins {
			t.Run(name+"/"+filepath.Base(in), func(t *testing.T) {
				b, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				goldenfile.JSON(t, strings.TrimSuffix(in, ".in")+".want.json", parse(b), *update)
			})
		}
	}
}
