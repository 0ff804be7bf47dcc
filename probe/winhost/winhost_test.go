package winhost

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

// loadHost reads testdata/hosts/<name>.json.
func loadHost(t *testing.T, name string) *Recorded {
	t.Helper()
	r, err := LoadRecorded(filepath.Join("testdata", "hosts", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// secrets are the passwords the recorded hosts hold; no fact may show one.
var secrets = []string{"S3cr3t", "svc-user", "lsPass", "ls-user", "whPass", "wh-user", "alicePw", "mPw", "m-user", "pmPw", "pm-user"}

// readHost reads a recorded host, checks that nothing it stores shows a
// password, and compares it with its golden file.
func readHost(t *testing.T, name string) *Facts {
	t.Helper()
	f := Read(context.Background(), loadHost(t, name), Options{Location: time.UTC})
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	env := f.Proxy.AgentEnv()
	eb, _ := json.Marshal(env)
	for _, s := range secrets {
		if strings.Contains(string(b), s) || strings.Contains(string(eb), s) {
			t.Errorf("%s: %q shows in the facts or the agent's proxy", name, s)
		}
	}
	golden.JSON(t, filepath.Join("testdata", "hosts", name+".want.json"), map[string]any{"facts": f, "agent_proxy": env})
	return f
}

func TestReadHealthy(t *testing.T) {
	f := readHost(t, "healthy")
	var names []string
	for _, a := range f.DNS.Adapters {
		names = append(names, a.Name)
	}
	// Only adapters with DNS servers, by metric: Ethernet 2 (5) before
	// Ethernet 3 (15) though its index is higher; no loopback, no vEthernet.
	if want := []string{"Ethernet 2", "Ethernet 3"}; !slices.Equal(names, want) {
		t.Errorf("adapters %v, want %v", names, want)
	}
	if a := f.DNS.Adapters; a[0].StaticDNS || !a[1].StaticDNS || !a[0].Up || a[1].Up || !a[0].DHCP {
		t.Errorf("static/up/dhcp wrong: %+v", a)
	}
	if got := f.DNS.UpServers(); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("10.0.0.2")}) {
		t.Errorf("servers of the adapters that are up %v", got)
	}
	if got := f.DNS.Adapters[1].DNSServers; !slices.Equal(got, []netip.Addr{netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.9.9.9")}) {
		t.Errorf("servers of the adapter that is down %v", got)
	}
	if len(f.DNS.NRPT) != 1 || f.DNS.NRPT[0].Source != "local" || len(f.DNS.NRPT[0].Servers) != 2 {
		t.Errorf("NRPT %+v", f.DNS.NRPT)
	}
	if !f.DNS.Devolution || f.DNS.AppendToMultiLabel || f.DNS.PrimarySuffix != "" || f.DNS.SearchList != nil {
		t.Errorf("suffixes %+v", f.DNS)
	}
	if h := f.DNS.Hosts; h == nil || len(h.Lookup("ssm.us-east-1.amazonaws.com")) != 1 || len(h.Problems) != 1 {
		t.Errorf("hosts %+v", h)
	}
	if r := f.Routes; !r.Checked || r.IPv4Default != "Ethernet 2" || r.IPv6Default != "Ethernet 2" ||
		!slices.Equal(r.IPv4Addrs, []string{"10.0.1.25", "10.0.2.40", "172.20.0.1"}) || !slices.Equal(r.IPv6Addrs, []string{"2600:1f18:1234:5600::25"}) {
		t.Errorf("routes %+v", r)
	}
	if rt, ok := f.Routes.Lookup(netip.MustParseAddr("169.254.169.254")); !ok || rt.Metric != 15 || rt.Gateway.String() != "10.0.1.1" {
		t.Errorf("route to IMDS %+v (metric is the route's 10 plus the interface's 5)", rt)
	}
	if s := f.Service; !s.Checked || !s.Exists || s.State != "running" || s.StartType != "auto" || s.EnvNames != nil {
		t.Errorf("service %+v", s)
	}
	if p := f.Proxy; !p.Checked || p.Source != "" || p.AgentEnv() != nil || p.LocalSystem == nil || p.LocalSystem.Server != "" {
		t.Errorf("proxy %+v", p)
	}
	if c := f.Clock; !c.Checked || c.Type != "NTP" || c.Source != "169.254.169.123,0x9" || !c.LastSync.Equal(time.Date(2026, 12, 7, 2, 58, 11, 0, time.UTC)) {
		t.Errorf("clock %+v", c)
	}
	if i := f.Image; !i.Checked || i.State != ImageStateComplete {
		t.Errorf("image %+v", i)
	}
	if len(f.Problems) != 0 || len(f.DNS.Problems) != 0 || f.DNS.Unread != "" {
		t.Errorf("problems %v %v, unread %q", f.Problems, f.DNS.Problems, f.DNS.Unread)
	}
}

func TestReadServiceEnvironmentProxy(t *testing.T) {
	f := readHost(t, "proxy")
	p := f.Proxy
	env := p.AgentEnv()
	if !p.Checked || p.Source != ProxyServiceEnv || env == nil {
		t.Fatalf("proxy %+v", p)
	}
	// The Environment's https_proxy wins, drops LocalSystem's proxy for
	// http too, and its no_proxy replaces the bypass list.
	if env.HTTPSProxyURL() != "http://svc-user:S3cr3t!pw@proxy.corp.example.com:3128" || env.HTTPProxyURL() != "" || env.NoProxy != "169.254.169.254,.internal" {
		t.Errorf("effective %q %q %q", env.HTTPSProxy, env.HTTPProxy, env.NoProxy)
	}
	if env.HTTPSProxy != "http://REDACTED@proxy.corp.example.com:3128" {
		t.Errorf("redacted https_proxy %q", env.HTTPSProxy)
	}
	if p.LocalSystem == nil || p.LocalSystem.Server != "REDACTED@ieproxy.corp.example.com:8080" || !p.LocalSystem.AutoDetect {
		t.Errorf("LocalSystem %+v", p.LocalSystem)
	}
	if p.WinHTTP == nil || p.WinHTTP.Server != "http=REDACTED@winhttp.corp.example.com:80;https=winhttp.corp.example.com:443" {
		t.Errorf("WinHTTP %+v", p.WinHTTP)
	}
	if len(p.Users) != 1 || p.Users[0].SID != "S-1-5-21-1111-2222-3333-1001" {
		t.Errorf("users %+v", p.Users)
	}
	s := f.Service
	if s.State != "stopped" || s.StartType != "delayed-auto" || s.ExitCode != 1067 || !slices.Equal(s.EnvNames, []string{"HTTPS_PROXY", "no_proxy", "AWS_REGION"}) {
		t.Errorf("service %+v", s)
	}
	d := f.DNS
	if d.PrimarySuffix != "corp.example.com" || !slices.Equal(d.SearchList, []string{"corp.example.com", "example.com"}) || d.Devolution || !d.AppendToMultiLabel {
		t.Errorf("suffixes %+v", d)
	}
	if len(d.NRPT) != 3 {
		t.Fatalf("NRPT %+v", d.NRPT)
	}
	if r := d.NRPT[1]; r.Source != "policy" || len(r.Servers) != 2 || len(r.Problems) != 1 {
		t.Errorf("rule with a bad server %+v", r)
	}
	if r := d.NRPT[2]; r.Servers != nil || len(r.Problems) != 1 {
		t.Errorf("DirectAccess-only rule %+v: its GenericDNSServers are not used", r)
	}
}

func TestReadLocalSystemProxy(t *testing.T) {
	f := readHost(t, "ieproxy")
	env := f.Proxy.AgentEnv()
	if f.Proxy.Source != ProxyLocalSystem || env == nil {
		t.Fatalf("proxy %+v", f.Proxy)
	}
	// A list without "scheme=" gives http_proxy only (the agent's
	// ParseProxySettings); <local> is dropped from no_proxy.
	if env.HTTPProxyURL() != "http://ieproxy.corp.example.com:8080" || env.HTTPSProxyURL() != "" || env.NoProxy != "*.corp.example.com,169.254.169.254" {
		t.Errorf("effective %q %q %q", env.HTTPSProxy, env.HTTPProxy, env.NoProxy)
	}
	if f.Proxy.LocalSystem.AutoConfigURL != "http://wpad.corp.example.com/proxy.pac" {
		t.Errorf("auto-config URL %q", f.Proxy.LocalSystem.AutoConfigURL)
	}
	if len(f.PersistentRoutes) != 2 || f.PersistentRoutes[0].Dst.String() != "0.0.0.0/0" || f.PersistentRoutes[1].Dst.String() != "10.20.0.0/16" {
		t.Errorf("persistent routes %+v", f.PersistentRoutes)
	}
	if n := len(f.Problems); n != 2 {
		t.Errorf("%d problems, want the 2 bad persistent routes: %v", n, f.Problems)
	}
	if c := f.Clock; c.Source != "Local CMOS Clock" || !c.LastSync.IsZero() || c.Type != "NT5DS" {
		t.Errorf("clock %+v", c)
	}
	if f.Service.StartType != "manual" {
		t.Errorf("start type %q", f.Service.StartType)
	}
}

func TestReadWinHTTPProxy(t *testing.T) {
	f := readHost(t, "winhttp")
	env := f.Proxy.AgentEnv()
	if f.Proxy.Source != ProxyWinHTTP || env == nil {
		t.Fatalf("proxy %+v", f.Proxy)
	}
	if env.HTTPSProxyURL() != "http://whs.corp.example.com:3129" || env.HTTPProxyURL() != "http://wh.corp.example.com:3128" || env.NoProxy != "*.amazonaws.com" {
		t.Errorf("effective %q %q %q", env.HTTPSProxy, env.HTTPProxy, env.NoProxy)
	}
	// LocalSystem is direct: its stale server, without the proxy flag, is not a proxy.
	if f.Proxy.LocalSystem.Server != "" || !f.Proxy.LocalSystem.AutoDetect {
		t.Errorf("LocalSystem %+v", f.Proxy.LocalSystem)
	}
	if s := f.Service; !s.Checked || s.Exists {
		t.Errorf("service %+v: checked and absent", s)
	}
	if c := f.Clock; c.ServiceState != "stopped" || c.StartType != "disabled" || c.Source != "" {
		t.Errorf("clock %+v", c)
	}
}

func TestReadMachineEnvironmentProxy(t *testing.T) {
	f := readHost(t, "machineenv")
	env := f.Proxy.AgentEnv()
	if f.Proxy.Source != ProxyMachineEnv || env == nil || f.Proxy.ServiceEnv != nil || f.Proxy.MachineEnv == nil {
		t.Fatalf("proxy %+v", f.Proxy)
	}
	// The machine's http_proxy drops LocalSystem's proxy; its NO_PROXY
	// (names ignore case) drops the bypass list; a DWORD is no variable.
	if env.HTTPProxyURL() != "http://m-user:mPw@machine.proxy.example.com:8080" || env.HTTPSProxyURL() != "" || env.NoProxy != "169.254.169.254" {
		t.Errorf("effective %q %q %q", env.HTTPSProxy, env.HTTPProxy, env.NoProxy)
	}
	if f.Proxy.MachineEnv.Server != "http=http://REDACTED@machine.proxy.example.com:8080" {
		t.Errorf("machine env %+v", f.Proxy.MachineEnv)
	}
}

// TestReadPerMachineProxy: with the ProxySettingsPerUser policy at 0,
// LocalSystem takes the machine's Internet settings; at 1 (the near miss)
// its own, and the machine's are not used.
func TestReadPerMachineProxy(t *testing.T) {
	f := readHost(t, "permachine")
	env := f.Proxy.AgentEnv()
	if !f.Proxy.Checked || !f.Proxy.PerMachine || f.Proxy.Source != ProxyLocalSystem || env == nil {
		t.Fatalf("proxy %+v", f.Proxy)
	}
	if env.HTTPProxyURL() != "http://pm-user:pmPw@machine.corp.example.com:3128" || env.HTTPSProxyURL() != "http://machine.corp.example.com:3128" || env.NoProxy != "*.corp.example.com" {
		t.Errorf("effective %q %q %q", env.HTTPSProxy, env.HTTPProxy, env.NoProxy)
	}
	if ls := f.Proxy.LocalSystem; ls == nil || ls.Server != "http=REDACTED@machine.corp.example.com:3128;https=machine.corp.example.com:3128" {
		t.Errorf("LocalSystem %+v", ls)
	}

	off := readHost(t, "permachine-off")
	if p := off.Proxy; !p.Checked || p.PerMachine || p.Source != "" || p.AgentEnv() != nil || p.LocalSystem == nil || p.LocalSystem.Server != "" {
		t.Errorf("policy 1: proxy %+v, agent env %+v", p, p.AgentEnv())
	}
}

// TestProxyPolicyUnreadable: a policy that cannot be read leaves
// LocalSystem's settings unknown, so the proxy is not checked.
func TestProxyPolicyUnreadable(t *testing.T) {
	r := loadHost(t, "permachine")
	r.Registry[KeyInternetSettingsPolicy] = RecordedKey{Error: "access denied"}
	f := Read(context.Background(), r, Options{Location: time.UTC})
	if f.Proxy.Checked || !strings.Contains(f.Proxy.Reason, "ProxySettingsPerUser") || f.Proxy.AgentEnv() != nil {
		t.Errorf("proxy %+v", f.Proxy)
	}
}

func TestReadLocked(t *testing.T) {
	f := readHost(t, "locked")
	for what, checked := range map[string]bool{
		"service": f.Service.Checked, "proxy": f.Proxy.Checked, "clock": f.Clock.Checked,
		"image": f.Image.Checked, "routes": f.Routes.Checked,
	} {
		if checked {
			t.Errorf("%s checked on a host that refused to answer", what)
		}
	}
	for what, reason := range map[string]string{
		"service": f.Service.Reason, "proxy": f.Proxy.Reason, "clock": f.Clock.Reason, "image": f.Image.Reason, "routes": f.Routes.Reason,
	} {
		if !strings.HasPrefix(reason, "not checked: ") {
			t.Errorf("%s reason %q", what, reason)
		}
	}
	if !strings.Contains(f.Service.Reason, "access denied") || f.Proxy.AgentEnv() != nil {
		t.Errorf("service %q, proxy env %v", f.Service.Reason, f.Proxy.AgentEnv())
	}
	if h := f.DNS.Hosts; !h.Unreadable || len(f.DNS.Adapters) != 0 || len(f.DNS.Problems) != 2 {
		t.Errorf("dns %+v", f.DNS)
	}
	// The adapters' failure is kept in Unread, beside its problem.
	if want := "GetAdaptersAddresses: The request is not supported."; f.DNS.Unread != want {
		t.Errorf("Unread %q, want %q", f.DNS.Unread, want)
	}
}

func TestParseConnSettings(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "connsettings"), func(b []byte) any {
		raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			return err.Error()
		}
		// The case's name is not known here: the blob's version says
		// which value it is (0x18: WinHttpSettings, without a URL).
		c, err := ParseConnSettings(raw, len(raw) < 4 || raw[0] != 0x18)
		if err != nil {
			return map[string]string{"error": err.Error()}
		}
		return map[string]any{"settings": c, "enabled": c.Enabled()}
	})
}

func TestParseW32tmStatus(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "w32tm"), func(b []byte) any {
		st, err := ParseW32tmStatus(b, time.UTC)
		out := map[string]any{"status": st}
		if err != nil {
			out["error"] = err.Error()
		}
		return out
	})
}

func TestParseAgentProxyList(t *testing.T) {
	for _, c := range []struct{ list, https, http string }{
		{"proxy:8080", "", "http://proxy:8080"},
		{"http=h:80;https=s:443", "http://s:443", "http://h:80"},
		{"https=s:443", "http://s:443", ""},
		{"https=s:443 other:1", "http://s:443", "http://other:1"},
		{"http=h:80;other:1", "http://other:1", "http://h:80"},
		{"socks=s:1080", "", ""},
		{"ftp=f:21;http=h:80", "", "http://h:80"},
		{"<local>", "", ""},
		{"//10.0.0.1:3128", "", "http://10.0.0.1:3128"},
		{"https://tls.example.com:443", "", "https://tls.example.com:443"},
		{"http=h:80;http=bad%zz", "", ""},                        // the later part that does not parse clears http
		{"http=h:80;http=bad host", "http://host", "http://bad"}, // blanks separate parts: "host" stands for the scheme not named
		{"", "", ""},
	} {
		hs, h := ParseAgentProxyList(c.list)
		if hs != c.https || h != c.http {
			t.Errorf("%q: https %q http %q, want %q %q", c.list, hs, h, c.https, c.http)
		}
	}
}

func TestParsePersistentRoute(t *testing.T) {
	for _, c := range []struct {
		name, dst, gw string
		metric        uint32
		bad           bool
	}{
		{name: "0.0.0.0,0.0.0.0,192.168.50.1,1", dst: "0.0.0.0/0", gw: "192.168.50.1", metric: 1},
		{name: "10.20.0.0,255.255.0.0,10.0.1.254,5", dst: "10.20.0.0/16", gw: "10.0.1.254", metric: 5},
		{name: "10.20.1.7,255.255.0.0,10.0.1.254,5", dst: "10.20.0.0/16", gw: "10.0.1.254", metric: 5},
		{name: "10.30.0.0,255.0.255.0,10.0.1.254,5", bad: true},
		{name: "10.40.0.0,255.255.0.0,gw,1", bad: true},
		{name: "10.40.0.0,255.255.0.0,10.0.0.1", bad: true},
		{name: "10.40.0.0,255.255.0.0,10.0.0.1,-1", bad: true},
		{name: "fd00::,255.255.0.0,10.0.0.1,1", bad: true},
	} {
		r, err := ParsePersistentRoute(c.name)
		if c.bad {
			if err == nil {
				t.Errorf("%q parsed: %+v", c.name, r)
			}
			continue
		}
		if err != nil || r.Dst.String() != c.dst || r.Gateway.String() != c.gw || r.Metric != c.metric || r.Raw != c.name {
			t.Errorf("%q: %+v %v", c.name, r, err)
		}
	}
}

func TestRecordedRefusesUnknownFields(t *testing.T) {
	if _, err := ParseRecorded([]byte(`{"registy": {}}`)); err == nil {
		t.Error("a misspelt field was accepted")
	}
	r, err := ParseRecorded([]byte(`{"registry": {"HKLM\\A": {"error": "access denied"}, "HKLM\\B": {"error": "not found"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Key(`hklm\a`); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("access denied: %v", err)
	}
	if _, err := r.Key(`HKLM\B`); !errors.Is(err, ErrNotFound) {
		t.Errorf("not found: %v", err)
	}
	if _, err := r.Key(`HKLM\C`); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent: %v", err)
	}
}

func TestClockCommandDeadline(t *testing.T) {
	r := loadHost(t, "healthy")
	r.Commands["w32tm /query /status"] = RecordedCommand{Error: "timeout"}
	c, problems := ReadClock(context.Background(), r, time.UTC)
	if !c.Checked || c.Source != "" || len(problems) != 1 || !strings.Contains(problems[0], "deadline") {
		t.Errorf("clock %+v, problems %v", c, problems)
	}
}

func TestReadEC2(t *testing.T) {
	for name, want := range map[string]string{"healthy": "yes", "winhttp": "unknown", "locked": "unknown"} {
		id := ReadEC2(loadHost(t, name))
		if id.Verdict != want {
			t.Errorf("%s: %+v, want %s", name, id, want)
		}
		if want == "yes" && (id.DecidedBy != KeyBIOS+`\SystemManufacturer` || len(id.Evidence) != 2) {
			t.Errorf("%s: %+v", name, id)
		}
		if want == "unknown" && id.Reason == "" {
			t.Errorf("%s: unknown without a reason", name)
		}
	}
}

// TestBounds: a table larger than the caps is cut, and says so.
func TestBounds(t *testing.T) {
	r := loadHost(t, "healthy")
	one := r.AdapterTable.Rows[1]
	r.AdapterTable.Rows = nil
	for i := range MaxAdapters + 5 {
		a := one
		a.IfIndex = uint32(100 + i)
		r.AdapterTable.Rows = append(r.AdapterTable.Rows, a)
	}
	row := r.RouteTable.Rows[2]
	for range 5000 {
		r.RouteTable.Rows = append(r.RouteTable.Rows, row)
	}
	f := Read(context.Background(), r, Options{Location: time.UTC})
	if len(f.DNS.Adapters) != MaxAdapters || len(f.DNS.Problems) != 1 {
		t.Errorf("%d adapters, problems %v", len(f.DNS.Adapters), f.DNS.Problems)
	}
	if len(f.Routes.Routes) != 4096 || !f.Routes.Truncated || len(f.Routes.Problems) != 1 {
		t.Errorf("%d routes, truncated %v, problems %v", len(f.Routes.Routes), f.Routes.Truncated, f.Routes.Problems)
	}
}
