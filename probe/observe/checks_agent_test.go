//go:build linux

package observe

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// TestAgentProcessesAndEnvCheck runs the agent check on process-table
// fixtures and checks its status and reason, and whether the run would add
// the agent.proxy record that makes an unread environment "unknown": never
// for an agent that does not run (a zombie has no environment to read).
func TestAgentProcessesAndEnvCheck(t *testing.T) {
	cases := []struct {
		root     string
		status   obs.Status
		reason   []string // substrings of the check's reason
		envCheck bool
	}{
		{"zombie", obs.StatusFail, []string{"installed, not running", "pid 4101 (amazon-ssm-agent) has exited (state Z"}, false},
		{"procs", obs.StatusWarn, []string{"running; not counted: pid 600 calls itself amazon-ssm-agent but runs /usr/bin/sleep", "another PID namespace (pid:[4026532512])",
			"pid 610 (amazon-ssm-agent) runs as uid 1000", "pid 620 (amazon-ssm-agent) runs in another network namespace (net:[4026532615])"}, false},
		// D8b: a user's copy of the agent, and a --pid=host container's
		// agent, are not this host's agent: not running.
		{"user-agent", obs.StatusFail, []string{"installed, not running", "pid 3100 (amazon-ssm-agent) runs as uid 1000 (effective 1000), not root"}, false},
		{"hostpid-container", obs.StatusFail, []string{"installed, not running", "pid 3200 (amazon-ssm-agent) runs in another network namespace"}, false},
		// What could not be verified is not checked, never "not running".
		{"unverified", obs.StatusSkip, []string{"not checked: no process could be verified as this host's agent, and pid 812 (amazon-ssm-agent) may be it",
			"pid 812 (amazon-ssm-agent) could not be verified as this host's agent: ", "812/exe (not-found)"}, false},
		{"proxy", obs.StatusPass, nil, false},
		{"no-environ", obs.StatusPass, nil, true},
	}
	for _, c := range cases {
		t.Run(c.root, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Live = true
			cfg.Root = factRoot("agent", c.root)
			cfg.ProcDir = filepath.Join(cfg.Root, "proc")
			out := runOne(context.Background(), &cfg, agentCheck(&cfg))
			if out.Status != c.status {
				t.Errorf("status %s (%s), want %s", out.Status, out.Reason, c.status)
			}
			if c.reason == nil && out.Reason != "" {
				t.Errorf("reason %q, want none", out.Reason)
			}
			for _, r := range c.reason {
				if !strings.Contains(out.Reason, r) {
					t.Errorf("reason %q lacks %q", out.Reason, r)
				}
			}
			ob := &obs.Observations{Plan: &obs.Plan{Problem: "not under test"}}
			ob.Add(out.seen)
			var env bool
			for _, ch := range planChecks(&cfg, ob) {
				env = env || ch.Name == "agent.proxy"
			}
			if env != c.envCheck {
				t.Errorf("agent.proxy check listed: %v, want %v (running %v, proxy reason %q)", env, c.envCheck, ob.Agent.Running, ob.Agent.ProxyReason)
			}
			if p := ob.Agent.Proxy; p != nil {
				for _, other := range []string{"impostor", "alice", "container"} {
					if strings.Contains(p.HTTPSProxy, other) {
						t.Errorf("the proxy of a process that is not this host's agent was taken: %+v", p)
					}
				}
			}
		})
	}
}
