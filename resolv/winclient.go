package resolv

import (
	"net/netip"
)

// WinAdapter is one network adapter as the Windows DNS client sees it
// (GetAdaptersAddresses): the servers it asks for names not covered by an
// NRPT rule, and what tells the client's order of adapters.
type WinAdapter struct {
	Name        string         `json:"name"`                  // friendly name, e.g. "Ethernet 2"
	Description string         `json:"description,omitempty"` // e.g. "Amazon Elastic Network Adapter"
	Index       uint32         `json:"index"`                 // IPv4 interface index (IfIndex)
	Metric      uint32         `json:"metric"`                // IPv4 interface metric: lower is asked first
	Up          bool           `json:"up"`                    // operational status up
	DNSServers  []netip.Addr   `json:"dns_servers,omitempty"` // in the adapter's order (the first is its preferred server)
	Suffix      string         `json:"suffix,omitempty"`      // connection-specific DNS suffix
	Addrs       []netip.Prefix `json:"addrs,omitempty"`       // unicast addresses with their on-link prefix
	Gateways    []netip.Addr   `json:"gateways,omitempty"`
	DHCP        bool           `json:"dhcp,omitempty"`       // DHCPv4 enabled
	StaticDNS   bool           `json:"static_dns,omitempty"` // DNS servers set by hand or policy, not by DHCP (NameServer registry value)
}

// NRPTRule is one Name Resolution Policy Table rule: names in its
// namespaces are sent to its servers instead of the adapters' (DNS client
// policy, HKLM\SOFTWARE\Policies\Microsoft\Windows NT\DNSClient\DnsPolicyConfig,
// and the local rules under the service's own parameters).
type NRPTRule struct {
	Key        string       `json:"key"`                // the rule's registry key name
	Source     string       `json:"source"`             // NRPTPolicy or NRPTLocal
	Namespaces []string     `json:"namespaces"`         // ".example.com" (suffix), "host.example.com" (FQDN) or "." (any name)
	Servers    []netip.Addr `json:"servers,omitempty"`  // GenericDNSServers; empty: the rule sets no servers
	Problems   []string     `json:"problems,omitempty"` // values that could not be parsed
}

// NRPT rule sources.
const (
	NRPTPolicy = "policy" // Group Policy's DnsPolicyConfig
	NRPTLocal  = "local"  // Add-DnsClientNrptRule without a GPO
)

// WinClient is the Windows DNS client's configuration: what Go's resolver
// hands names to on Windows (GetAddrInfoW), and so the agent's path.
type WinClient struct {
	// Adapters are every adapter that has DNS servers, in the order the
	// client asks them: interface metric, then index.
	Adapters           []WinAdapter `json:"adapters"`
	NRPT               []NRPTRule   `json:"nrpt,omitempty"`
	PrimarySuffix      string       `json:"primary_suffix,omitempty"` // the computer's primary DNS suffix (the AD domain when joined)
	SearchList         []string     `json:"search_list,omitempty"`    // the suffix search list when set (policy or SearchList)
	Devolution         bool         `json:"devolution,omitempty"`
	AppendToMultiLabel bool         `json:"append_to_multi_label,omitempty"` // suffixes are appended to names with a dot too
	Hosts              *Hosts       `json:"hosts,omitempty"`                 // %SystemRoot%\System32\drivers\etc\hosts
	Problems           []string     `json:"problems,omitempty"`              // what could not be read, and why
	// Unread says why the adapters could not be read (GetAdaptersAddresses
	// failed): the client's servers are then not known at all, which is
	// not the same as an empty list.
	Unread string `json:"unread,omitempty"`
}
