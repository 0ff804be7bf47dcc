//go:build windows

package winhost

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// ipAdapterDHCPEnabled is IP_ADAPTER_DHCP_ENABLED of iptypes.h
// (IP_ADAPTER_ADDRESSES Flags), which x/sys/windows does not name.
const ipAdapterDHCPEnabled = 0x4

// System is the Source of the Windows host the probe runs on.
type System struct{}

// SystemSource returns the running host's Source.
func SystemSource() Source { return System{} }

var _ Source = System{}

// classify maps a Windows error to ErrNotFound or ErrAccessDenied, keeping
// its text.
func classify(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, windows.ERROR_FILE_NOT_FOUND), errors.Is(err, windows.ERROR_PATH_NOT_FOUND),
		errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST), errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w (%v)", what, ErrNotFound, err)
	case errors.Is(err, windows.ERROR_ACCESS_DENIED), errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: %w (%v)", what, ErrAccessDenied, err)
	}
	return fmt.Errorf("%s: %v", what, err)
}

// hives are the roots a key path may start with.
var hives = map[string]registry.Key{
	"HKLM":               registry.LOCAL_MACHINE,
	"HKEY_LOCAL_MACHINE": registry.LOCAL_MACHINE,
	"HKU":                registry.USERS,
	"HKEY_USERS":         registry.USERS,
	"HKCU":               registry.CURRENT_USER,
	"HKEY_CURRENT_USER":  registry.CURRENT_USER,
}

// Key opens path for reading and returns its subkeys and values, within
// the caps.
func (System) Key(path string) (*Key, error) {
	hive, sub, _ := strings.Cut(path, `\`)
	root, ok := hives[strings.ToUpper(hive)]
	if !ok {
		return nil, fmt.Errorf("%s: unknown hive %q", path, hive)
	}
	k, err := registry.OpenKey(root, sub, registry.QUERY_VALUE|registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return nil, classify(path, err)
	}
	defer k.Close()
	out := &Key{Values: map[string]Value{}}
	subs, err := k.ReadSubKeyNames(MaxSubkeys + 1)
	if err != nil && err != io.EOF {
		return nil, classify(path+": subkeys", err)
	}
	if len(subs) > MaxSubkeys {
		subs, out.Truncated = subs[:MaxSubkeys], true
	}
	out.Subkeys = subs
	names, err := k.ReadValueNames(MaxValues + 1)
	if err != nil && err != io.EOF {
		return nil, classify(path+": values", err)
	}
	if len(names) > MaxValues {
		names, out.Truncated = names[:MaxValues], true
	}
	for _, n := range names {
		v, ok := readValue(k, n)
		if !ok {
			out.Truncated = true
			continue
		}
		out.Values[n] = v
	}
	return out, nil
}

// readValue reads one value's raw data (at most MaxValueBytes) and decodes
// it by its type; false when it is too large or unreadable.
func readValue(k registry.Key, name string) (Value, bool) {
	n, typ, err := k.GetValue(name, nil)
	if err != nil && !errors.Is(err, windows.ERROR_MORE_DATA) || n > MaxValueBytes {
		return Value{}, false
	}
	buf := make([]byte, n)
	if n > 0 {
		m, t, err := k.GetValue(name, buf)
		if err != nil || m > len(buf) {
			return Value{}, false
		}
		buf, typ = buf[:m], t
	}
	return decodeValue(typ, buf), true
}

// decodeValue turns registry data into a Value.
func decodeValue(typ uint32, b []byte) Value {
	switch typ {
	case registry.SZ:
		return Value{Type: RegSZ, String: utf16Bytes(b)}
	case registry.EXPAND_SZ:
		return Value{Type: RegExpandSZ, String: utf16Bytes(b)}
	case registry.MULTI_SZ:
		var out []string
		for _, s := range strings.Split(utf16BytesAll(b), "\x00") {
			if s != "" {
				out = append(out, s)
			}
		}
		return Value{Type: RegMultiSZ, Strings: out}
	case registry.DWORD:
		if len(b) >= 4 {
			return Value{Type: RegDWORD, Number: uint64(binary.LittleEndian.Uint32(b))}
		}
	case registry.QWORD:
		if len(b) >= 8 {
			return Value{Type: RegQWORD, Number: binary.LittleEndian.Uint64(b)}
		}
	}
	return Value{Type: RegBinary, Binary: bytes.Clone(b)}
}

// utf16Bytes decodes little-endian UTF-16 up to its first NUL.
func utf16Bytes(b []byte) string {
	s, _, _ := strings.Cut(utf16BytesAll(b), "\x00")
	return s
}

func utf16BytesAll(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// Adapters calls GetAdaptersAddresses with gateways and prefixes.
func (System) Adapters() ([]Adapter, error) {
	const flags = windows.GAA_FLAG_INCLUDE_PREFIX | windows.GAA_FLAG_INCLUDE_GATEWAYS
	size := uint32(15 << 10)
	var buf []byte
	for range 5 {
		buf = make([]byte, size)
		err := windows.GetAdaptersAddresses(windows.AF_UNSPEC, flags, 0, (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0])), &size)
		if err == nil {
			break
		}
		if !errors.Is(err, windows.ERROR_BUFFER_OVERFLOW) {
			return nil, classify("GetAdaptersAddresses", err)
		}
		if size > 8<<20 {
			return nil, fmt.Errorf("GetAdaptersAddresses: %d bytes needed", size)
		}
		buf = nil
	}
	if buf == nil {
		return nil, errors.New("GetAdaptersAddresses: the table kept growing")
	}
	return adaptersFrom((*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0]))), nil
}

// adaptersFrom converts GetAdaptersAddresses' list. It keeps one item past
// each cap (MaxAdapters adapters, MaxListItems DNS servers and gateways),
// so that the readers can tell a list at the cap from a longer one, cut
// it and say so.
func adaptersFrom(first *windows.IpAdapterAddresses) []Adapter {
	var out []Adapter
	for a := first; a != nil && len(out) <= MaxAdapters; a = a.Next {
		ad := Adapter{
			GUID:        windows.BytePtrToString(a.AdapterName),
			Name:        windows.UTF16PtrToString(a.FriendlyName),
			Description: windows.UTF16PtrToString(a.Description),
			IfIndex:     a.IfIndex,
			IPv6IfIndex: a.Ipv6IfIndex,
			Metric:      a.Ipv4Metric,
			IPv6Metric:  a.Ipv6Metric,
			Up:          a.OperStatus == windows.IfOperStatusUp,
			Loopback:    a.IfType == windows.IF_TYPE_SOFTWARE_LOOPBACK,
			DHCPv4:      a.Flags&ipAdapterDHCPEnabled != 0,
			DNSSuffix:   windows.UTF16PtrToString(a.DnsSuffix),
		}
		for d := a.FirstDnsServerAddress; d != nil && len(ad.DNSServers) <= MaxListItems; d = d.Next {
			if ip, ok := sockAddr(d.Address); ok {
				ad.DNSServers = append(ad.DNSServers, ip)
			}
		}
		for u := a.FirstUnicastAddress; u != nil && len(ad.Unicast) < 256; u = u.Next {
			if ip, ok := sockAddr(u.Address); ok {
				if p, err := ip.WithZone("").Prefix(int(u.OnLinkPrefixLength)); err == nil {
					ad.Unicast = append(ad.Unicast, netip.PrefixFrom(ip.WithZone(""), p.Bits()))
				}
			}
		}
		for g := a.FirstGatewayAddress; g != nil && len(ad.Gateways) <= MaxListItems; g = g.Next {
			if ip, ok := sockAddr(g.Address); ok {
				ad.Gateways = append(ad.Gateways, ip)
			}
		}
		out = append(out, ad)
	}
	return out
}

// sockAddr converts a SOCKET_ADDRESS to an address.
func sockAddr(sa windows.SocketAddress) (netip.Addr, bool) {
	if sa.Sockaddr == nil {
		return netip.Addr{}, false
	}
	ip := sa.IP()
	if ip == nil {
		return netip.Addr{}, false
	}
	a, ok := netip.AddrFromSlice(ip)
	return a.Unmap(), ok
}

// Routes calls GetIpForwardTable2 for both families.
func (System) Routes() ([]ForwardRow, error) {
	var tab *windows.MibIpForwardTable2
	if err := windows.GetIpForwardTable2(windows.AF_UNSPEC, &tab); err != nil {
		return nil, classify("GetIpForwardTable2", err)
	}
	defer windows.FreeMibTable(unsafe.Pointer(tab))
	var out []ForwardRow
	for _, r := range tab.Rows() {
		if len(out) >= MaxForwardRows {
			break
		}
		dst, ok := rawInet(&r.DestinationPrefix.Prefix)
		if !ok {
			continue
		}
		p, err := dst.Prefix(int(r.DestinationPrefix.PrefixLength))
		if err != nil {
			continue
		}
		hop, _ := rawInet(&r.NextHop)
		out = append(out, ForwardRow{Dst: p, NextHop: hop, IfIndex: r.InterfaceIndex, Metric: r.Metric, Loopback: r.Loopback != 0})
	}
	return out, nil
}

// rawInet reads a SOCKADDR_INET: sockaddr_in or sockaddr_in6.
func rawInet(r *windows.RawSockaddrInet) (netip.Addr, bool) {
	b := (*[28]byte)(unsafe.Pointer(r))
	switch r.Family {
	case windows.AF_INET:
		return netip.AddrFrom4([4]byte(b[4:8])), true
	case windows.AF_INET6:
		return netip.AddrFrom16([16]byte(b[8:24])), true
	}
	return netip.Addr{}, false
}

// serviceStates names SERVICE_STATUS.dwCurrentState.
var serviceStates = map[uint32]string{
	windows.SERVICE_STOPPED:          "stopped",
	windows.SERVICE_START_PENDING:    "start-pending",
	windows.SERVICE_STOP_PENDING:     "stop-pending",
	windows.SERVICE_RUNNING:          "running",
	windows.SERVICE_CONTINUE_PENDING: "continue-pending",
	windows.SERVICE_PAUSE_PENDING:    "pause-pending",
	windows.SERVICE_PAUSED:           "paused",
}

// startTypes names QUERY_SERVICE_CONFIG.dwStartType.
var startTypes = map[uint32]string{
	windows.SERVICE_BOOT_START:   "boot",
	windows.SERVICE_SYSTEM_START: "system",
	windows.SERVICE_AUTO_START:   "auto",
	windows.SERVICE_DEMAND_START: "manual",
	windows.SERVICE_DISABLED:     "disabled",
}

// Service asks the service control manager with the least rights that
// answer: connect, then query status and configuration.
func (System) Service(name string) (*ServiceInfo, error) {
	m, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return nil, classify("OpenSCManager", err)
	}
	defer windows.CloseServiceHandle(m)
	pname, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, err
	}
	h, err := windows.OpenService(m, pname, windows.SERVICE_QUERY_STATUS|windows.SERVICE_QUERY_CONFIG)
	if err != nil {
		return nil, classify("OpenService "+name, err)
	}
	defer windows.CloseServiceHandle(h)
	var st windows.SERVICE_STATUS
	if err := windows.QueryServiceStatus(h, &st); err != nil {
		return nil, classify("QueryServiceStatus "+name, err)
	}
	info := &ServiceInfo{State: serviceStates[st.CurrentState], Win32ExitCode: st.Win32ExitCode, ServiceExitCode: st.ServiceSpecificExitCode}
	if info.State == "" {
		info.State = fmt.Sprintf("state-%d", st.CurrentState)
	}
	var need uint32
	buf := make([]byte, 1024)
	for range 3 {
		err = windows.QueryServiceConfig(h, (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0])), uint32(len(buf)), &need)
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || need > 64<<10 {
			break
		}
		buf = make([]byte, need)
	}
	if err != nil {
		return nil, classify("QueryServiceConfig "+name, err)
	}
	c := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&buf[0]))
	info.StartType = startTypes[c.StartType]
	info.BinaryPath = windows.UTF16PtrToString(c.BinaryPathName)
	info.ServiceStartName = windows.UTF16PtrToString(c.ServiceStartName)
	var delayed windows.SERVICE_DELAYED_AUTO_START_INFO
	if windows.QueryServiceConfig2(h, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&delayed)), uint32(unsafe.Sizeof(delayed)), &need) == nil {
		info.DelayedAutoStart = delayed.IsDelayedAutoStartUp != 0
	}
	return info, nil
}

// ReadFile reads at most max bytes of a regular file.
func (System) ReadFile(path string, max int64) ([]byte, bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, classify(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, classify(path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, false, classify(path, err)
	}
	if int64(len(b)) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

// ReadTail reads the last max bytes of a regular file.
func (System) ReadTail(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, classify(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, classify(path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if off := st.Size() - max; off > 0 {
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			return nil, classify(path, err)
		}
	}
	b, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return nil, classify(path, err)
	}
	return b, nil
}

// Run runs a command, killed at ctx's deadline, its output capped.
func (System) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	out := &capped{max: MaxCommandBytes}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 500 * time.Millisecond
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.b.Bytes(), ctx.Err()
	}
	if errors.Is(err, exec.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return out.b.Bytes(), err
}

// Getenv returns the probe's environment variable.
func (System) Getenv(name string) string { return os.Getenv(name) }

// capped keeps at most max bytes.
type capped struct {
	b   bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
