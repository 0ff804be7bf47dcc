//go:build linux

package observe

import (
	"context"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// winAgentExePath is the recorded hosts' agent binary.
const winAgentExePath = `C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe`

// recordedWindows loads a recorded host of package winhost, points every
// adapter's DNS servers at dns (so that nothing the run asks leaves
// loopback), and gives the agent a -version answer, a configuration and a
// log.
func recordedWindows(t *testing.T, name string, dns netip.Addr) *winhost.Recorded {
	t.Helper()
	r, err := winhost.LoadRecorded(filepath.Join("..", "winhost", "testdata", "hosts", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.AdapterTable != nil {
		for i := range r.AdapterTable.Rows {
			if len(r.AdapterTable.Rows[i].DNSServers) > 0 {
				r.AdapterTable.Rows[i].DNSServers = []netip.Addr{dns}
			}
		}
	}
	r.Commands[winAgentExePath+" -version"] = winhost.RecordedCommand{Output: "SSM Agent version: 3.3.1142.0\r\n"}
	r.Files[winAgentExePath] = winhost.RecordedFile{Text: "MZ"}
	r.Files[`C:\Program Files\Amazon\SSM\amazon-ssm-agent.json`] = winhost.RecordedFile{Text: `{"Agent": {"Region": "eu-west-1"}}`}
	r.Files[`C:\ProgramData\Amazon\SSM\Logs\amazon-ssm-agent.log`] = winhost.RecordedFile{Text: "2026-12-07 02:00:00 INFO amazon-ssm-agent - v3.2.0.0\r\n"}
	return r
}

// observeWindows runs Observe with a recorded Windows host, IMDS on a
// loopback fake and DNS on a loopback server that answers NXDOMAIN.
func observeWindows(t *testing.T, name string, edit func(*winhost.Recorded)) *obs.Observations {
	t.Helper()
	dnsSrv := resolvtest.Start(t, resolvtest.Zone{})
	srv := imdstest.New(imdstest.DefaultConfig(imdstest.V2Required))
	t.Cleanup(srv.Close)
	rec := recordedWindows(t, name, dnsSrv.Addr.Addr())
	if edit != nil {
		edit(rec)
	}
	cfg := testConfig(t)
	cfg.Windows = rec
	cfg.IMDSEndpoint = srv.URL
	cfg.VPCDNS = []netip.Addr{dnsSrv.Addr.Addr()}
	cfg.DNSPort = int(dnsSrv.Addr.Port())
	cfg.Timeout = 700 * time.Millisecond
	cfg.Deadline = 8 * time.Second
	cfg.Location = time.UTC
	return Observe(context.Background(), cfg)
}

// factNames are the names of the fact checks a run recorded.
func factNames(o *obs.Observations) []obs.CheckName {
	var out []obs.CheckName
	for _, c := range o.Checks {
		if !slices.Contains(out, c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

func TestObserveWindows(t *testing.T) {
	o := observeWindows(t, "healthy", nil)
	if !o.IsWindows() {
		t.Fatalf("OS %q", o.OS)
	}
	names := factNames(o)
	for _, linuxOnly := range []obs.CheckName{obs.CheckUsers, obs.CheckInotify, obs.CheckRoutes} {
		if slices.Contains(names, linuxOnly) {
			t.Errorf("Linux-only check %s listed on Windows: %v", linuxOnly, names)
		}
	}
	for _, want := range []obs.CheckName{obs.CheckResolvConf, obs.CheckAgent, obs.CheckHost, obs.CheckIMDS, obs.CheckLogs} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s check: %v", want, names)
		}
	}
	if o.Resolv == nil || o.Resolv.Windows == nil || len(o.Resolv.Windows.Adapters) != 2 || o.Resolv.Conf != nil || o.Resolv.Hosts != o.Resolv.Windows.Hosts {
		t.Fatalf("resolv %+v", o.Resolv)
	}
	if o.Windows == nil || o.Windows.Service == nil || o.Windows.Service.State != "running" || o.Windows.Image.State != winhost.ImageStateComplete {
		t.Fatalf("windows %+v", o.Windows)
	}
	if o.Host == nil || o.Host.EC2.Verdict != "yes" {
		t.Errorf("host %+v", o.Host)
	}
	if o.Routes == nil || o.Routes.IPv4Default != "Ethernet 2" || o.Routes != o.Windows.Routes {
		t.Errorf("routes %+v", o.Routes)
	}
	a := o.Agent
	if a == nil || !a.Installed || !a.RunningChecked || !a.Running || a.Version != "3.3.1142.0" || a.VersionSource != agent.SourceExec {
		t.Fatalf("agent %+v", a)
	}
	if len(a.Versions) != 2 || a.Versions[1].Source != agent.SourceLog || a.Versions[1].Version != "3.2.0.0" {
		t.Errorf("versions %+v", a.Versions)
	}
	if !a.ProxyChecked || a.Proxy != nil {
		t.Errorf("proxy %v %+v", a.ProxyChecked, a.Proxy)
	}
	if a.Config == nil || a.Config.Region != "eu-west-1" {
		t.Errorf("config %+v", a.Config)
	}
	if o.IMDS == nil {
		t.Error("no IMDS facts")
	}
	for _, c := range o.Checks {
		if (c.Name == obs.CheckAgent || c.Name == obs.CheckResolvConf) && c.Status != obs.StatusPass {
			t.Errorf("%s: %s %s", c.Name, c.Status, c.Reason)
		}
	}
}

func TestObserveWindowsProxyAndStoppedAgent(t *testing.T) {
	// The agent's proxy is on loopback, where nothing listens: the proxy
	// check dials it and is refused. The recorded host's NRPT rules send
	// names to servers off loopback, which the agent's lookup would ask:
	// they are left out here (the winhost tests read them).
	o := observeWindows(t, "proxy", func(r *winhost.Recorded) {
		delete(r.Registry, winhost.KeyNRPTPolicy)
		k := r.Registry[winhost.KeyServices+`\AmazonSSMAgent`]
		env := k.Values["Environment"]
		env.Strings = []string{"HTTPS_PROXY=http://svc-user:S3cr3t!pw@127.0.0.1:1", "no_proxy=169.254.169.254,.internal"}
		k.Values["Environment"] = env
		r.Registry[winhost.KeyServices+`\AmazonSSMAgent`] = k
	})
	a := o.Agent
	if a.Running || !a.RunningChecked || a.Proxy == nil || a.Proxy.HTTPSProxyURL() != "http://svc-user:S3cr3t!pw@127.0.0.1:1" || a.Proxy.NoProxy != "169.254.169.254,.internal" {
		t.Fatalf("agent %+v", a)
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"S3cr3t", "lsPass", "whPass", "alicePw"} {
		if strings.Contains(string(b), s) {
			t.Errorf("%q in the observations", s)
		}
	}
	for _, c := range o.Checks {
		if c.Name == obs.CheckAgent && (c.Status != obs.StatusFail || c.Reason != "installed, not running") {
			t.Errorf("agent check %s %q", c.Status, c.Reason)
		}
	}
}

func TestObserveWindowsLocked(t *testing.T) {
	o := observeWindows(t, "locked", func(r *winhost.Recorded) {
		delete(r.Files, winAgentExePath)
	})
	status := map[obs.CheckName]obs.Status{}
	for _, c := range o.Checks {
		if _, ok := status[c.Name]; !ok {
			status[c.Name] = c.Status
		}
	}
	// The service manager, the adapters and the proxy refused: the
	// checks that needed them say they could not look.
	if status[obs.CheckAgent] != obs.StatusSkip || status[obs.CheckResolvConf] != obs.StatusSkip || status[obs.CheckHost] != obs.StatusWarn {
		t.Errorf("statuses %v", status)
	}
	if a := o.Agent; a.RunningChecked || a.ProxyChecked || a.Installed {
		t.Errorf("agent %+v", a)
	}
}
