// Package winhost reads what a Windows host says about the agent's path:
// the DNS client (adapters, NRPT, hosts, suffixes), the routing table and
// its persistent routes, the AmazonSSMAgent service, the agent's proxy in
// its own order, the time service and the sysprep image state. Every
// reader goes through Source, a small interface: the Windows build asks
// the system, tests everywhere replay recorded values.
package winhost

import (
	"net/netip"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/routes"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// Facts is what Read found on a Windows host.
type Facts struct {
	DNS              *resolv.WinClient `json:"dns,omitempty"`
	Routes           *routes.Facts     `json:"routes,omitempty"`            // GetIpForwardTable2, in routes' terms
	PersistentRoutes []PersistentRoute `json:"persistent_routes,omitempty"` // Tcpip\Parameters\PersistentRoutes
	Service          *Service          `json:"service,omitempty"`           // AmazonSSMAgent
	Proxy            *Proxy            `json:"proxy,omitempty"`
	Clock            *Clock            `json:"clock,omitempty"`
	Image            *Image            `json:"image,omitempty"`
	Problems         []string          `json:"problems,omitempty"` // what could not be read, and why

	adErr error // why the adapters could not be read (AdaptersError)
}

// PersistentRoute is one route stored to survive a reboot (route -p,
// New-NetRoute -PolicyStore PersistentStore): it comes back at every start,
// even when the host now sits in another subnet.
type PersistentRoute struct {
	Dst     netip.Prefix `json:"dst"`
	Gateway netip.Addr   `json:"gateway"`
	Metric  uint32       `json:"metric,omitempty"`
	Raw     string       `json:"raw"` // the registry value name as stored
}

// Service is the agent's Windows service as the service control manager
// and its registry key tell it.
type Service struct {
	Checked    bool     `json:"checked"`
	Reason     string   `json:"reason,omitempty"` // why not checked
	Name       string   `json:"name"`             // AmazonSSMAgent
	Exists     bool     `json:"exists"`
	State      string   `json:"state,omitempty"`      // running, stopped, start-pending, stop-pending, paused…
	StartType  string   `json:"start_type,omitempty"` // auto, delayed-auto, manual, disabled
	BinaryPath string   `json:"binary_path,omitempty"`
	ExitCode   uint32   `json:"exit_code,omitempty"` // Win32 exit code of the last stop, when not 0
	EnvNames   []string `json:"env_names,omitempty"` // names in the service's Environment value (never values)
}

// ProxySetting is one place Windows keeps a proxy.
type ProxySetting struct {
	Server        string `json:"server,omitempty"` // redacted: never credentials
	Bypass        string `json:"bypass,omitempty"`
	AutoConfigURL string `json:"auto_config_url,omitempty"`
	AutoDetect    bool   `json:"auto_detect,omitempty"`
}

// UserProxy is a proxy set for one user's Internet settings only.
type UserProxy struct {
	SID     string       `json:"sid"`
	Setting ProxySetting `json:"setting"`
}

// Proxy is every proxy the host has, and the one the agent takes, in the
// agent's order: the service's Environment value, then LocalSystem's
// Internet settings, then WinHTTP (agent proxy_windows.go).
type Proxy struct {
	Checked     bool          `json:"checked"`
	Reason      string        `json:"reason,omitempty"`
	ServiceEnv  *ProxySetting `json:"service_env,omitempty"` // http(s)_proxy and no_proxy of the service's Environment
	MachineEnv  *ProxySetting `json:"machine_env,omitempty"` // the same in the machine's environment (Session Manager\Environment), beneath the service's
	LocalSystem *ProxySetting `json:"local_system,omitempty"`
	// PerMachine: the ProxySettingsPerUser policy is 0, so LocalSystem
	// takes the machine's Internet settings (HKLM ...\Connections
	// DefaultConnectionSettings), not its own.
	PerMachine bool          `json:"per_machine,omitempty"`
	WinHTTP    *ProxySetting `json:"winhttp,omitempty"`
	Users      []UserProxy   `json:"users,omitempty"`  // proxies of loaded user hives, which the agent does not see
	Source     string        `json:"source,omitempty"` // ProxyServiceEnv, ProxyMachineEnv, ProxyLocalSystem, ProxyWinHTTP, or "" for none

	env *agent.ProxyEnv // the effective proxy as the agent's environment; never serialised
}

// AgentEnv returns the proxy the agent takes as the environment it sets
// (https_proxy, http_proxy, no_proxy): redacted for reports, with the raw
// URLs behind ProxyEnv's accessors for the proxy check. It is nil when the
// agent takes no proxy or the proxy was not checked, and after a round trip
// through JSON.
func (p *Proxy) AgentEnv() *agent.ProxyEnv {
	if p == nil {
		return nil
	}
	return p.env
}

// Proxy sources, in the agent's order.
const (
	ProxyServiceEnv  = "service-environment"
	ProxyMachineEnv  = "machine-environment" // the machine's environment variables, which every service inherits
	ProxyLocalSystem = "localsystem-internet-settings"
	ProxyWinHTTP     = "winhttp"
)

// Clock is the Windows Time service's configuration and state.
type Clock struct {
	Checked      bool      `json:"checked"`
	Reason       string    `json:"reason,omitempty"`
	ServiceState string    `json:"service_state,omitempty"` // W32Time's state
	StartType    string    `json:"start_type,omitempty"`
	Type         string    `json:"type,omitempty"`       // NT5DS, NTP, AllSync or NoSync (Parameters\Type)
	NtpServer    string    `json:"ntp_server,omitempty"` // Parameters\NtpServer
	Source       string    `json:"source,omitempty"`     // w32tm /query /status: "Local CMOS Clock" when it never synced
	LastSync     time.Time `json:"last_sync,omitzero"`   // w32tm /query /status: Last Successful Sync Time
}

// Image is the sysprep state of the installed image.
type Image struct {
	Checked bool   `json:"checked"`
	Reason  string `json:"reason,omitempty"`
	State   string `json:"state,omitempty"` // Setup\State ImageState, e.g. IMAGE_STATE_COMPLETE
}

// ImageStateComplete is the ImageState of an image whose setup finished.
const ImageStateComplete = "IMAGE_STATE_COMPLETE"
