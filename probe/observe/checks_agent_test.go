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
		{"procs", obs.StatusWarn, []string{"running; not counted: pid 600 calls itself amazon-ssm-agent but runs /usr/bin/sleep", "another PID namespace (pid:[4026532512])"}, false},
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
			if ob.Agent.Running && ob.Agent.Proxy != nil && strings.Contains(ob.Agent.Proxy.HTTPSProxy, "impostor") {
				t.Errorf("the impostor's proxy was taken: %+v", ob.Agent.Proxy)
			}
		})
	}
}
