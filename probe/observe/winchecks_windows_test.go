//go:build windows

package observe

import (
	"context"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
)

// TestWindowsChecksOnThisHost runs the Windows fact checks against the
// system itself (no network): the agent is not installed here, the host
// and DNS client checks read what there is and say what they could not.
func TestWindowsChecksOnThisHost(t *testing.T) {
	cfg := Defaults()
	if cfg.Windows == nil {
		t.Fatal("the Windows build's default Source is nil")
	}
	if _, err := cfg.Windows.Service(winhost.ServiceName); err == nil {
		t.Skipf("%s is installed on this machine", winhost.ServiceName)
	}
	read := newWinRead(&cfg)
	out := winAgentCheck(&cfg, read).Run(context.Background())
	if out.Status != obs.StatusFail || out.Reason != "not installed" || out.seen.Agent == nil || !out.seen.Agent.RunningChecked {
		t.Errorf("agent: %s %q %+v", out.Status, out.Reason, out.seen.Agent)
	}
	out = winHostCheck(&cfg, read).Run(context.Background())
	w := out.seen.Windows
	if w == nil || out.seen.Routes != w.Routes || out.seen.Host == nil || w.Service == nil || w.Service.Exists {
		t.Fatalf("host: %+v", out.seen)
	}
	if out.Status == obs.StatusWarn && out.Reason == "" {
		t.Error("a warn without a reason")
	}
	t.Logf("host: %s %s; EC2 %s", out.Status, out.Reason, out.seen.Host.EC2.Verdict)
	out = winResolvCheck(&cfg, read).Run(context.Background())
	c := out.seen.Resolv.Windows
	if c == nil || out.seen.Resolv.Hosts != c.Hosts || !strings.HasSuffix(strings.ToLower(c.Hosts.Path), `\system32\drivers\etc\hosts`) {
		t.Fatalf("resolv: %+v", out.seen.Resolv)
	}
	t.Logf("resolv: %s %s; %d adapter(s), servers %v", out.Status, out.Reason, len(c.Adapters), c.UpServers())
}
