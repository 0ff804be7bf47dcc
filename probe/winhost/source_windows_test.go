//go:build windows

package winhost

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/ssm-probe/ssm-probe/internal/wine"
)

// testKey creates HKCU\Software\ssm-probe-test-<pid>\<name> and removes it
// at the end of the test.
func testKey(t *testing.T, name string) (registry.Key, string) {
	t.Helper()
	base := fmt.Sprintf(`Software\ssm-probe-test-%d`, os.Getpid())
	path := base + `\` + name
	k, _, err := registry.CreateKey(registry.CURRENT_USER, path, registry.ALL_ACCESS)
	if err != nil {
		t.Fatalf("create HKCU\\%s: %v", path, err)
	}
	t.Cleanup(func() {
		k.Close()
		deleteTree(registry.CURRENT_USER, base)
	})
	return k, `HKCU\` + path
}

// deleteTree removes a key and its subkeys (registry.DeleteKey removes one
// empty key).
func deleteTree(root registry.Key, path string) {
	if k, err := registry.OpenKey(root, path, registry.ENUMERATE_SUB_KEYS); err == nil {
		subs, _ := k.ReadSubKeyNames(-1)
		k.Close()
		for _, s := range subs {
			deleteTree(root, path+`\`+s)
		}
	}
	registry.DeleteKey(root, path)
}

// TestSystemKey writes one value of every type the readers use and reads
// them back through the Source.
func TestSystemKey(t *testing.T) {
	k, path := testKey(t, "values")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(k.SetStringValue("Domain", "corp.example.com"))
	must(k.SetExpandStringValue("ImagePath", `%SystemRoot%\System32\svchost.exe`))
	must(k.SetStringsValue("Environment", []string{"https_proxy=http://u:p@proxy:3128", "no_proxy=169.254.169.254"}))
	must(k.SetBinaryValue("Blob", []byte{0x46, 0, 0, 0, 1, 2}))
	must(k.SetDWordValue("ConfigOptions", 8))
	must(k.SetQWordValue("Big", 1<<40))
	sub, _, err := registry.CreateKey(k, "{RULE-1}", registry.ALL_ACCESS)
	must(err)
	sub.Close()

	got, err := System{}.Key(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Subkeys, []string{"{RULE-1}"}) {
		t.Errorf("subkeys %v", got.Subkeys)
	}
	check := func(name string, want Value) {
		t.Helper()
		v, ok := got.Value(name)
		if !ok || v.Type != want.Type || v.String != want.String || !slices.Equal(v.Strings, want.Strings) ||
			string(v.Binary) != string(want.Binary) || v.Number != want.Number {
			t.Errorf("%s: %+v, want %+v", name, v, want)
		}
	}
	check("domain", Value{Type: RegSZ, String: "corp.example.com"}) // names compare without case
	check("ImagePath", Value{Type: RegExpandSZ, String: `%SystemRoot%\System32\svchost.exe`})
	check("Environment", Value{Type: RegMultiSZ, Strings: []string{"https_proxy=http://u:p@proxy:3128", "no_proxy=169.254.169.254"}})
	check("Blob", Value{Type: RegBinary, Binary: []byte{0x46, 0, 0, 0, 1, 2}})
	check("ConfigOptions", Value{Type: RegDWORD, Number: 8})
	check("Big", Value{Type: RegQWORD, Number: 1 << 40})

	if _, err := (System{}).Key(path + `\absent`); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent key: %v, want ErrNotFound", err)
	}
	// A hive itself: the loaded user hives, as readUserProxies lists them.
	users, err := System{}.Key("HKU")
	if err != nil || !slices.ContainsFunc(users.Subkeys, func(s string) bool { return strings.EqualFold(s, ".DEFAULT") }) {
		t.Errorf("HKU: %+v, %v", users, err)
	}
	if _, err := (System{}).Key(`HKXX\Software`); err == nil {
		t.Error("an unknown hive was opened")
	}
}

// TestSystemConnSettings reads a connection settings blob and an NRPT rule
// written to the registry, through the readers.
func TestSystemConnSettings(t *testing.T) {
	k, path := testKey(t, "Connections")
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0x46)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, proxyTypeProxy)
	for _, s := range []string{"user:pw@proxy.example.com:8080", "<local>", ""} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	if err := k.SetBinaryValue("DefaultConnectionSettings", b); err != nil {
		t.Fatal(err)
	}
	c, err := readConnSettings(System{}, "DefaultConnectionSettings", true, path)
	if err != nil || c == nil || c.Proxy != "user:pw@proxy.example.com:8080" || c.Bypass != "<local>" {
		t.Fatalf("settings %+v, %v", c, err)
	}
	if s := c.setting(true); s.Server != "REDACTED@proxy.example.com:8080" {
		t.Errorf("stored server %q", s.Server)
	}

	rk, rpath := testKey(t, `DnsPolicyConfig\{RULE}`)
	if err := rk.SetStringsValue("Name", []string{".corp.example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := rk.SetStringValue("GenericDNSServers", "10.0.0.53;10.0.0.54"); err != nil {
		t.Fatal(err)
	}
	if err := rk.SetDWordValue("ConfigOptions", configGenericDNS); err != nil {
		t.Fatal(err)
	}
	var problems []string
	rules := readNRPT(System{}, strings.TrimSuffix(rpath, `\{RULE}`), "local", &problems)
	if len(rules) != 1 || len(rules[0].Servers) != 2 || !slices.Equal(rules[0].Namespaces, []string{".corp.example.com"}) || len(problems) != 0 {
		t.Errorf("rules %+v, problems %v", rules, problems)
	}
}

// TestSystemService opens the agent's service, absent here, and a service
// wine and Windows both install.
func TestSystemService(t *testing.T) {
	if _, err := (System{}).Service(ServiceName); !errors.Is(err, ErrNotFound) {
		if err == nil {
			t.Skipf("%s is installed on this machine: the absent case cannot be shown", ServiceName)
		}
		t.Errorf("%s: %v, want ErrNotFound", ServiceName, err)
	}
	for _, name := range []string{"RpcSs", "PlugPlay", "Spooler", "EventLog", "winmgmt"} {
		info, err := System{}.Service(name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.State == "" || strings.HasPrefix(info.State, "state-") || info.StartType == "" {
			t.Errorf("%s: %+v", name, info)
		}
		s, _ := ReadService(System{}, name)
		if !s.Checked || !s.Exists || s.State != info.State {
			t.Errorf("ReadService %s: %+v", name, s)
		}
		t.Logf("%s: %+v", name, info)
		return
	}
	t.Skip("none of the usual services is installed")
}

// TestSystemAdapters asks GetAdaptersAddresses: no failure, and the
// loopback interface or a clear skip.
func TestSystemAdapters(t *testing.T) {
	ads, err := System{}.Adapters()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range ads {
		t.Logf("%s (%s) if %d metric %d up %v loopback %v dns %v addrs %v", a.Name, a.GUID, a.IfIndex, a.Metric, a.Up, a.Loopback, a.DNSServers, a.Unicast)
	}
	for _, a := range ads {
		for _, p := range a.Unicast {
			if p.Addr().IsLoopback() {
				return
			}
		}
	}
	if wine.Running() {
		t.Skip("skipped under wine: GetAdaptersAddresses lists no loopback address")
	}
	t.Errorf("no adapter holds a loopback address: %+v", ads)
}

// TestSystemRoutes asks GetIpForwardTable2: no failure, and a route that
// holds loopback or a clear skip.
func TestSystemRoutes(t *testing.T) {
	rows, err := System{}.Routes()
	if err != nil {
		if wine.Running() {
			t.Skipf("skipped under wine: GetIpForwardTable2: %v", err)
		}
		t.Fatal(err)
	}
	for _, r := range rows {
		t.Logf("%s via %s if %d metric %d", r.Dst, r.NextHop, r.IfIndex, r.Metric)
	}
	ads, _ := System{}.Adapters()
	f := ReadRoutes(System{}, ads, nil)
	if !f.Checked {
		t.Fatalf("routes not checked: %s", f.Reason)
	}
	if len(rows) == 0 {
		if wine.Running() {
			t.Skip("skipped under wine: GetIpForwardTable2 returns no row")
		}
		t.Error("no route at all")
	}
}

// TestSystemFiles reads a file whole, capped and by its tail, and runs a
// command.
func TestSystemFiles(t *testing.T) {
	// Not t.TempDir: under wine 8.0 Go's RemoveAll fails ("Invalid
	// function"), which would fail the test after its checks passed.
	dir, err := os.MkdirTemp("", "winhost-files")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil && !wine.Running() {
			t.Error(err)
		}
	})
	p := filepath.Join(dir, "hosts")
	if err := os.WriteFile(p, []byte("127.0.0.1 localhost\r\n10.0.0.5 ssm.us-east-1.amazonaws.com\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, trunc, err := System{}.ReadFile(p, 1<<10)
	if err != nil || trunc || !strings.Contains(string(b), "ssm.us-east-1") {
		t.Errorf("whole: %q %v %v", b, trunc, err)
	}
	b, trunc, err = System{}.ReadFile(p, 9)
	if err != nil || !trunc || string(b) != "127.0.0.1" {
		t.Errorf("capped: %q %v %v", b, trunc, err)
	}
	b, err = System{}.ReadTail(p, 10)
	if err != nil || string(b) != "azonaws.com\r\n"[3:] {
		t.Errorf("tail: %q %v", b, err)
	}
	if _, _, err := (System{}).ReadFile(p+".absent", 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent: %v", err)
	}
	if _, _, err := (System{}).ReadFile(filepath.Dir(p), 10); err == nil {
		t.Error("a directory was read as a file")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := System{}.Run(ctx, "cmd", "/c", "echo ssm-probe")
	if err != nil || !strings.Contains(string(out), "ssm-probe") {
		t.Errorf("cmd: %q %v", out, err)
	}
	if _, err := (System{}).Run(ctx, "no-such-command-ssm-probe"); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent command: %v", err)
	}
}

// TestSystemRead reads the whole host: nothing panics, and what could not
// be looked at says so.
func TestSystemRead(t *testing.T) {
	f := Read(context.Background(), System{}, Options{})
	if f.DNS == nil || f.Routes == nil || f.Service == nil || f.Proxy == nil || f.Clock == nil || f.Image == nil {
		t.Fatalf("facts %+v", f)
	}
	for what, c := range map[string]struct {
		checked bool
		reason  string
	}{
		"routes": {f.Routes.Checked, f.Routes.Reason}, "service": {f.Service.Checked, f.Service.Reason},
		"proxy": {f.Proxy.Checked, f.Proxy.Reason}, "clock": {f.Clock.Checked, f.Clock.Reason}, "image": {f.Image.Checked, f.Image.Reason},
	} {
		if !c.checked && !strings.HasPrefix(c.reason, "not checked: ") {
			t.Errorf("%s not checked without a reason: %q", what, c.reason)
		}
		t.Logf("%s: checked %v %s", what, c.checked, c.reason)
	}
	t.Logf("problems: %v", f.Problems)
}

// TestAdaptersFromKeepsOnePastCaps: GetAdaptersAddresses' list is read up
// to one item past each cap, so that ReadDNS can say it cut a list; a list
// at the cap (the near miss) is read whole and ReadDNS says nothing.
func TestAdaptersFromKeepsOnePastCaps(t *testing.T) {
	addr := func(i int) windows.SocketAddress {
		raw := new(syscall.RawSockaddrAny)
		sa := (*windows.RawSockaddrInet4)(unsafe.Pointer(raw))
		sa.Family, sa.Addr = windows.AF_INET, [4]byte{10, 9, byte(i / 250), byte(i%250 + 1)}
		return windows.SocketAddress{Sockaddr: raw, SockaddrLength: int32(unsafe.Sizeof(*sa))}
	}
	chain := func(adapters, items int) *windows.IpAdapterAddresses {
		var first, last *windows.IpAdapterAddresses
		for i := range adapters {
			a := &windows.IpAdapterAddresses{IfIndex: uint32(i + 1), OperStatus: windows.IfOperStatusUp}
			for j := items - 1; j >= 0; j-- {
				a.FirstDnsServerAddress = &windows.IpAdapterDnsServerAdapter{Next: a.FirstDnsServerAddress, Address: addr(j)}
				a.FirstGatewayAddress = &windows.IpAdapterGatewayAddress{Next: a.FirstGatewayAddress, Address: addr(j)}
			}
			if last == nil {
				first = a
			} else {
				last.Next = a
			}
			last = a
		}
		return first
	}
	cases := []struct {
		name                 string
		adapters, items      int
		wantAdapters, wantIt int
		wantProblems         int
	}{
		{"at the caps", MaxAdapters, MaxListItems, MaxAdapters, MaxListItems, 0},
		{"past the caps", MaxAdapters + 5, MaxListItems + 5, MaxAdapters + 1, MaxListItems + 1, 1 + MaxAdapters},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ads := adaptersFrom(chain(c.adapters, c.items))
			if len(ads) != c.wantAdapters || len(ads[0].DNSServers) != c.wantIt || len(ads[0].Gateways) != c.wantIt {
				t.Fatalf("%d adapters, %d servers, %d gateways", len(ads), len(ads[0].DNSServers), len(ads[0].Gateways))
			}
			d := ReadDNS(&Recorded{}, ads, nil)
			var cut int
			for _, p := range d.Problems {
				if strings.Contains(p, "only the first") {
					cut++
				}
			}
			if cut != c.wantProblems || len(d.Adapters) != min(c.adapters, MaxAdapters) || len(d.Adapters[0].DNSServers) != min(c.items, MaxListItems) {
				t.Errorf("%d cut problems of %q, %d adapters", cut, d.Problems, len(d.Adapters))
			}
		})
	}
}
