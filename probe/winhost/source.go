package winhost

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/netip"
	"time"
)

// Source answers the questions the readers ask of a Windows host. The
// Windows build asks the system (source_windows.go: the registry, the IP
// helper, the service control manager, files and w32tm); Recorded replays
// a host's answers from JSON on every platform. Every answer is bounded by
// the caps below (Adapters gives one adapter, DNS server and gateway past
// MaxAdapters and MaxListItems, so that the readers can say they cut a
// list), and an error is ErrNotFound, ErrAccessDenied or another
// error whose text says what failed (never a value read).
type Source interface {
	// Key returns a registry key's subkey names and values. path starts
	// with its hive: HKLM, HKU or HKCU, e.g.
	// `HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters`.
	Key(path string) (*Key, error)
	// Adapters are the adapters as GetAdaptersAddresses gives them.
	Adapters() ([]Adapter, error)
	// Routes are the IPv4 and IPv6 forward tables as GetIpForwardTable2
	// gives them.
	Routes() ([]ForwardRow, error)
	// Service is a service's status and configuration from the service
	// control manager; ErrNotFound when no such service is installed.
	Service(name string) (*ServiceInfo, error)
	// ReadFile reads at most max bytes of a regular file, and says when
	// there were more.
	ReadFile(path string, max int64) (data []byte, truncated bool, err error)
	// ReadTail reads the last max bytes of a regular file (a log).
	ReadTail(path string, max int64) ([]byte, error)
	// Run runs a command and returns its standard output, capped at
	// MaxCommandBytes; it is killed at ctx's deadline.
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
	// Getenv returns one of the probe's environment variables
	// (SystemRoot, ProgramFiles, ProgramData).
	Getenv(name string) string
}

// Caps on what a Source returns, so that a hostile or corrupt registry or
// file never exhausts the probe.
const (
	MaxSubkeys      = 512      // subkeys listed per key
	MaxValues       = 512      // values read per key
	MaxValueBytes   = 64 << 10 // bytes of one value's data
	MaxAdapters     = 256
	MaxForwardRows  = 4096
	MaxCommandBytes = 64 << 10
	MaxHostsBytes   = 1 << 20
	MaxConfigBytes  = 1 << 20
	MaxLogTailBytes = 1 << 20
	// MaxListItems caps the items of one list the readers keep: an
	// adapter's DNS servers, addresses and gateways, an NRPT rule's
	// namespaces and servers. Real lists hold a handful.
	MaxListItems = 64
	// CommandTimeout bounds w32tm and the agent's -version.
	CommandTimeout = 5 * time.Second
)

// Errors a Source returns, wrapped, for the two answers readers tell
// apart from other failures. They match fs.ErrNotExist and
// fs.ErrPermission too, so that the probe's error classes (errclass,
// rootfs.Class) read them as a missing file and a permission.
var (
	ErrNotFound     error = &sentinel{"not found", fs.ErrNotExist}
	ErrAccessDenied error = &sentinel{"access denied", fs.ErrPermission}
)

type sentinel struct {
	msg string
	is  error
}

func (s *sentinel) Error() string        { return s.msg }
func (s *sentinel) Is(target error) bool { return target == s.is }

// Registry value types (winnt.h REG_*).
const (
	RegSZ       = "REG_SZ"
	RegExpandSZ = "REG_EXPAND_SZ"
	RegMultiSZ  = "REG_MULTI_SZ"
	RegBinary   = "REG_BINARY"
	RegDWORD    = "REG_DWORD"
	RegQWORD    = "REG_QWORD"
)

// Key is one registry key: its subkeys' names and its values by name.
// Names compare without case, as the registry does (Value, HasSubkey).
type Key struct {
	Subkeys   []string         `json:"subkeys,omitempty"`
	Values    map[string]Value `json:"values,omitempty"`
	Truncated bool             `json:"truncated,omitempty"` // more subkeys or values than the caps
}

// Value is one registry value. String holds a REG_SZ or, unexpanded, a
// REG_EXPAND_SZ; Strings a REG_MULTI_SZ; Binary a REG_BINARY (hex in
// JSON); Number a REG_DWORD or REG_QWORD.
type Value struct {
	Type    string   `json:"type"`
	String  string   `json:"string,omitempty"`
	Strings []string `json:"strings,omitempty"`
	Binary  HexBytes `json:"binary,omitempty"`
	Number  uint64   `json:"number,omitempty"`
}

// HexBytes is binary data written as hex in JSON.
type HexBytes []byte

// MarshalJSON writes the bytes as a hex string.
func (b HexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(b)) }

// UnmarshalJSON reads a hex string.
func (b *HexBytes) UnmarshalJSON(d []byte) error {
	var s string
	if err := json.Unmarshal(d, &s); err != nil {
		return err
	}
	v, err := hex.DecodeString(s)
	*b = v
	return err
}

// Value returns the value named name, compared without case.
func (k *Key) Value(name string) (Value, bool) {
	if k == nil {
		return Value{}, false
	}
	if v, ok := k.Values[name]; ok {
		return v, true
	}
	for n, v := range k.Values {
		if equalFold(n, name) {
			return v, true
		}
	}
	return Value{}, false
}

// Str returns a REG_SZ or REG_EXPAND_SZ value's text, or "" when the value
// is absent or of another type.
func (k *Key) Str(name string) string {
	v, ok := k.Value(name)
	if !ok || v.Type != RegSZ && v.Type != RegExpandSZ {
		return ""
	}
	return v.String
}

// Num returns a REG_DWORD or REG_QWORD value, and whether there is one.
func (k *Key) Num(name string) (uint64, bool) {
	v, ok := k.Value(name)
	if !ok || v.Type != RegDWORD && v.Type != RegQWORD {
		return 0, false
	}
	return v.Number, true
}

// Adapter is one adapter of GetAdaptersAddresses (IP_ADAPTER_ADDRESSES).
type Adapter struct {
	GUID        string         `json:"guid"`                  // AdapterName, e.g. "{4D36E972-…}"
	Name        string         `json:"name"`                  // FriendlyName
	Description string         `json:"description,omitempty"` // Description
	IfIndex     uint32         `json:"if_index"`              // IfIndex (IPv4)
	IPv6IfIndex uint32         `json:"ipv6_if_index,omitempty"`
	Metric      uint32         `json:"metric"` // Ipv4Metric
	IPv6Metric  uint32         `json:"ipv6_metric,omitempty"`
	Up          bool           `json:"up"`                 // OperStatus == IfOperStatusUp
	Loopback    bool           `json:"loopback,omitempty"` // IfType == IF_TYPE_SOFTWARE_LOOPBACK
	DHCPv4      bool           `json:"dhcpv4,omitempty"`   // Flags & IP_ADAPTER_DHCP_ENABLED
	DNSSuffix   string         `json:"dns_suffix,omitempty"`
	DNSServers  []netip.Addr   `json:"dns_servers,omitempty"`
	Unicast     []netip.Prefix `json:"unicast,omitempty"` // address with OnLinkPrefixLength
	Gateways    []netip.Addr   `json:"gateways,omitempty"`
}

// ForwardRow is one row of GetIpForwardTable2 (MIB_IPFORWARD_ROW2).
type ForwardRow struct {
	Dst      netip.Prefix `json:"dst"`
	NextHop  netip.Addr   `json:"next_hop,omitzero"` // unspecified (0.0.0.0, ::) for a route on the link
	IfIndex  uint32       `json:"if_index"`
	Metric   uint32       `json:"metric"` // the route's own metric; the interface's is added to it
	Loopback bool         `json:"loopback,omitempty"`
}

// ServiceInfo is what the service control manager says of a service
// (QueryServiceStatus, QueryServiceConfig, SERVICE_CONFIG_DELAYED_AUTO_START_INFO).
type ServiceInfo struct {
	State            string `json:"state"`      // running, stopped, start-pending, stop-pending, continue-pending, pause-pending, paused
	StartType        string `json:"start_type"` // boot, system, auto, manual, disabled
	DelayedAutoStart bool   `json:"delayed_auto_start,omitempty"`
	BinaryPath       string `json:"binary_path,omitempty"`
	Win32ExitCode    uint32 `json:"win32_exit_code,omitempty"`
	ServiceExitCode  uint32 `json:"service_exit_code,omitempty"` // when Win32ExitCode is ERROR_SERVICE_SPECIFIC_ERROR
	ServiceStartName string `json:"start_name,omitempty"`        // the account, e.g. LocalSystem
}

// equalFold compares ASCII names without case, as registry and
// environment names compare.
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
