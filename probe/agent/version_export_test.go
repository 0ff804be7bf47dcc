package agent

import "testing"

func TestVersionFromOutputAndLog(t *testing.T) {
	for _, c := range []struct {
		out, want string
		ok        bool
	}{
		{"SSM Agent version: 3.3.1142.0\r\n", "3.3.1142.0", true},
		{"Usage of amazon-ssm-agent.exe:\n  -register\n", "", false},
		{"SSM Agent version:", "", false},
	} {
		if v, ok := VersionFromOutput([]byte(c.out)); v != c.want || ok != c.ok {
			t.Errorf("%q: %q %v", c.out, v, ok)
		}
	}
	log := "2026-12-07 02:00:00.1234 INFO amazon-ssm-agent - v3.2.0.0\r\n2026-12-07 03:00:00.5678 INFO amazon-ssm-agent - v3.3.1142.0\r\n2026-12-07 03:00:01 INFO [ssm-agent-worker] started\r\n"
	ev, ok := VersionFromLog([]byte(log))
	if !ok || ev.Version != "3.3.1142.0" || ev.Source != SourceLog || ev.Detail != "logged at 2026-12-07 03:00:00" {
		t.Errorf("log: %+v %v", ev, ok)
	}
	if _, ok := VersionFromLog([]byte("INFO amazon-ssm-agent - vX\n")); ok {
		t.Error("a line without a version counted")
	}
}
