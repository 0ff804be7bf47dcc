package observe

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
)

func loadWinHost(t *testing.T, name string) *winhost.Recorded {
	t.Helper()
	r, err := winhost.LoadRecorded(filepath.Join("..", "winhost", "testdata", "hosts", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestWindowsCheckOutcomes holds the Windows fact checks' statuses to what
// each recorded host shows, with the near misses beside them.
func TestWindowsCheckOutcomes(t *testing.T) {
	noDNS := func(r *winhost.Recorded) {
		for i := range r.AdapterTable.Rows {
			r.AdapterTable.Rows[i].DNSServers = nil
		}
	}
	withExe := func(r *winhost.Recorded) {
		r.Files[`C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe`] = winhost.RecordedFile{Text: "MZ"}
	}
	cases := []struct {
		name, host string
		edit       func(*winhost.Recorded)
		check      func(*Config, *winRead) Check
		status     obs.Status
		class      errclass.Class
		reason     string
	}{
		{"resolv healthy", "healthy", nil, winResolvCheck, obs.StatusPass, errclass.None, ""},
		{"resolv no DNS server", "healthy", noDNS, winResolvCheck, obs.StatusFail, errclass.NotFound, "no network adapter has a DNS server"},
		{"resolv adapters refused", "locked", nil, winResolvCheck, obs.StatusSkip, errclass.Other, "not checked: GetAdaptersAddresses: The request is not supported."},
		{"agent running", "healthy", nil, winAgentCheck, obs.StatusPass, errclass.None, ""},
		{"agent stopped", "proxy", nil, winAgentCheck, obs.StatusFail, errclass.None, "installed, not running"},
		{"agent absent", "winhttp", nil, winAgentCheck, obs.StatusFail, errclass.None, "not installed"},
		{"agent binary without service", "winhttp", withExe, winAgentCheck, obs.StatusFail, errclass.None, "installed, not running"},
		{"service manager refused", "locked", nil, winAgentCheck, obs.StatusSkip, errclass.Permission, "not checked: OpenService AmazonSSMAgent: access denied"},
		{"host healthy", "healthy", nil, winHostCheck, obs.StatusPass, errclass.None, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := loadWinHost(t, c.host)
			if c.edit != nil {
				c.edit(r)
			}
			cfg := Defaults()
			cfg.Windows, cfg.Live = r, false // no -version: the recorded hosts hold none
			out := c.check(&cfg, newWinRead(&cfg)).Run(context.Background())
			if out.Status != c.status || out.Class != c.class || out.Reason != c.reason {
				t.Errorf("%s %s %q, want %s %s %q", out.Status, out.Class, out.Reason, c.status, c.class, c.reason)
			}
		})
	}
}

// TestServiceBinary: only the agent's own executable is taken from the
// service's command line; an unquoted path with blanks is not cut at its
// first blank, and another program's line gives "" (the default path is
// used instead, and nothing else is ever run).
func TestServiceBinary(t *testing.T) {
	for in, want := range map[string]string{
		`"C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe"`:    `C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe`,
		`"C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe" -x`: `C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe`,
		`C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe`:      `C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe`,
		`C:\Program Files\Amazon\SSM\Amazon-SSM-Agent.EXE -x`:   `C:\Program Files\Amazon\SSM\Amazon-SSM-Agent.EXE`,
		`  C:\agent\amazon-ssm-agent.exe  `:                     `C:\agent\amazon-ssm-agent.exe`,
		`C:\Windows\system32\svchost.exe -k LocalService`:       ``,
		`"C:\Tools\wrapper.exe" C:\agent\amazon-ssm-agent.exe`:  ``,
		`C:\Program Files\Amazon\SSM\amazon-ssm-agent`:          ``,
		``:                 ``,
		`"C:\unterminated`: ``,
	} {
		if got := serviceBinary(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
