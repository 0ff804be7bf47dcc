//go:build linux

package agent

import (
	"bytes"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
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
		"sharedcreds": func(b []byte) any {
			c, err := ParseSharedCredentials(b)
			return res{c, errString(err)}
		},
		"credvars": func(b []byte) any { return CredentialVarsFromEnviron(b) },
		// A first line "# config" reads the file as a config file.
		"profile": func(b []byte) any {
			prof, names := DefaultProfileKeys(b, bytes.HasPrefix(b, []byte("# config\n")))
			return map[string]any{"profile": prof, "names": names}
		},
		"dropin": func(b []byte) any { return DropInCredentialVars(b) },
		"startup": func(b []byte) any {
			ev, ok := lastStartupLine(b)
			return res{map[string]any{"evidence": ev, "found": ok}, ""}
		},
		"stat": func(b []byte) any {
			st, err := parseStat(b)
			return res{st, errString(err)}
		},
		"cgroup": func(b []byte) any { return parseCgroupUnit(b) },
		"status": func(b []byte) any {
			uids, err := parseUIDs(b)
			return res{uids, errString(err)}
		},
		// The first line is "# dir DIR [groups G,G…]": the proc directory
		// to look up, and the groups of a probe running as uid 1000.
		"mountinfo": func(b []byte) any {
			head, rest, _ := bytes.Cut(b, []byte("\n"))
			dir, gs, _ := strings.Cut(strings.TrimPrefix(string(head), "# dir "), " groups ")
			var groups []int
			for _, g := range strings.Split(gs, ",") {
				if n, err := strconv.Atoi(g); err == nil {
					groups = append(groups, n)
				}
			}
			m, ok := procMountOf(rest, dir)
			return res{map[string]any{"mount": m, "found": ok,
				"hidden_from_uid_1000": ok && m.hiddenFrom(1000, groups), "hidden_from_root": ok && m.hiddenFrom(0, nil)}, ""}
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
		"vault": func(b []byte) any {
			id, region, err := ParseVaultEntry(b)
			return res{map[string]string{"instance_id": id, "region": region}, errString(err)}
		},
	}
}

// TestParsers runs every parser on each testdata/parse/<parser>/<case>.in and
// compares the JSON of the result with <case>.want.json.
func TestParsers(t *testing.T) {
	for name, parse := range parsers() {
		golden.Cases(t, filepath.Join("testdata", "parse", name), parse)
	}
}

// TestHibernateLogZones: the local-time form is read in the given zone, the
// UTC form ("…T…Z") as UTC whatever the zone.
func TestHibernateLogZones(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	local := ParseHibernateLog([]byte("2024-06-01 10:05:00 INFO Backing off health check to every 300 seconds for 900 seconds.\n"), tokyo)
	utc := ParseHibernateLog([]byte("2024-06-01T10:05:00Z INFO Backing off health check to every 300 seconds for 900 seconds.\n"), tokyo)
	if want := time.Date(2024, 6, 1, 1, 5, 0, 0, time.UTC); !local.LastTime.Equal(want) {
		t.Errorf("local form: %v, want %v", local.LastTime, want)
	}
	if want := time.Date(2024, 6, 1, 10, 5, 0, 0, time.UTC); !utc.LastTime.Equal(want) || utc.BackoffSeconds != 300 {
		t.Errorf("UTC form: %v (backoff %d), want %v", utc.LastTime, utc.BackoffSeconds, want)
	}
}
