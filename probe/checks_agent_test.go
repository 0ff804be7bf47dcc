package probe

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgentProcessesAndEnvCheck runs the agent check on process-table
// fixtures and checks its status and reason, and whether the run would add
// the agent.proxy record that makes an unread environment "unknown": never
// for an agent that does not run (a zombie has no environment to read).
func TestAgentProcessesAndEnvCheck(t *testing.T) {
	cases := []struct {
		root     string
		status   Status
		reason   []string // substrings of the check's reason
		envCheck bool
	}{
		{"zombie", StatusFail, []string{"installed, not running", "pid 4101 (amazon-ssm-agent) has exited (state Z"}, false},
		{"procs", StatusWarn, []string{"running; not counted: pid 600 calls itself amazon-ssm-agent but runs /usr/bin/sleep", "another PID namespace (pid:[4026532512])"}, false},
		{"proxy", StatusPass, nil, false},
		{"no-environ", StatusPass, nil, true},
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
			obs := &Observations{Plan: &Plan{Problem: "not under test"}}
			obs.add(out.seen)
			var env bool
			for _, ch := range planChecks(&cfg, obs) {
				env = env || ch.Name == "agent.proxy"
			}
			if env != c.envCheck {
				t.Errorf("agent.proxy check listed: %v, want %v (running %v, proxy reason %q)", env, c.envCheck, obs.Agent.Running, obs.Agent.ProxyReason)
			}
			if obs.Agent.Running && obs.Agent.Proxy != nil && strings.Contains(obs.Agent.Proxy.HTTPSProxy, "impostor") {
				t.Errorf("the impostor's proxy was taken: %+v", obs.Agent.Proxy)
			}
		})
	}
}
