package winhost

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ssm-probe/ssm-probe/resolv"
)

// Registry keys of the DNS client's configuration.
const (
	KeyTcpipParams   = `HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters`
	KeyTcpip6Params  = `HKLM\SYSTEM\CurrentControlSet\Services\Tcpip6\Parameters`
	KeyDnscache      = `HKLM\SYSTEM\CurrentControlSet\Services\Dnscache\Parameters`
	KeyDNSPolicy     = `HKLM\SOFTWARE\Policies\Microsoft\Windows NT\DNSClient`
	KeyNRPTPolicy    = KeyDNSPolicy + `\DnsPolicyConfig`
	KeyNRPTLocal     = KeyDnscache + `\DnsPolicyConfig`
	KeyPersistRoutes = KeyTcpipParams + `\PersistentRoutes`
)

// MaxNRPTRules caps the rules read from each NRPT key.
const MaxNRPTRules = 256

// ReadDNS reads the Windows DNS client's configuration: the adapters that
// have DNS servers, the NRPT, the suffixes and the hosts file. ads and
// adErr are what Source.Adapters answered (Read asks once for DNS and
// routes).
func ReadDNS(src Source, ads []Adapter, adErr error) *resolv.WinClient {
	c := &resolv.WinClient{Adapters: []resolv.WinAdapter{}}
	if len(ads) > MaxAdapters {
		c.Problems = append(c.Problems, fmt.Sprintf("%d adapters, only the first %d read", len(ads), MaxAdapters))
		ads = ads[:MaxAdapters]
	}
	if adErr != nil {
		c.Unread = adErr.Error()
		c.Problems = append(c.Problems, "adapters not read: "+adErr.Error())
	}
	c.Adapters = dnsAdapters(src, ads, &c.Problems)
	c.NRPT = append(readNRPT(src, KeyNRPTPolicy, resolv.NRPTPolicy, &c.Problems), readNRPT(src, KeyNRPTLocal, resolv.NRPTLocal, &c.Problems)...)
	readSuffixes(src, c)
	c.Hosts = readHostsFile(src, &c.Problems)
	return c
}

// dnsAdapters keeps the adapters with DNS servers, but loopback, in the client's order:
// interface metric, then index. StaticDNS is the adapter's NameServer
// value under Tcpip (or Tcpip6) Parameters\Interfaces\{GUID}: set by hand
// or policy, where DHCP fills DhcpNameServer instead.
func dnsAdapters(src Source, ads []Adapter, problems *[]string) []resolv.WinAdapter {
	out := []resolv.WinAdapter{}
	for _, a := range ads {
		// The loopback pseudo-interface lists the site-local defaults
		// (fec0:0:0:ffff::1…3) but carries no query off the host.
		if len(a.DNSServers) == 0 || a.Loopback {
			continue
		}
		if len(a.DNSServers) > MaxListItems || len(a.Unicast) > MaxListItems || len(a.Gateways) > MaxListItems {
			*problems = append(*problems, fmt.Sprintf("adapter %q: more than %d DNS servers, addresses or gateways, only the first %d of each kept", a.Name, MaxListItems, MaxListItems))
		}
		w := resolv.WinAdapter{
			Name: a.Name, Description: a.Description, Index: a.IfIndex, Metric: a.Metric, Up: a.Up,
			DNSServers: firstItems(a.DNSServers), Suffix: a.DNSSuffix, Addrs: firstItems(a.Unicast),
			Gateways: firstItems(a.Gateways), DHCP: a.DHCPv4,
		}
		if a.GUID != "" {
			for _, base := range []string{KeyTcpipParams, KeyTcpip6Params} {
				k, err := src.Key(base + `\Interfaces\` + a.GUID)
				if err != nil {
					if !errors.Is(err, ErrNotFound) {
						*problems = append(*problems, err.Error())
					}
					continue
				}
				if strings.TrimSpace(k.Str("NameServer")) != "" {
					w.StaticDNS = true
				}
			}
		}
		out = append(out, w)
	}
	slices.SortStableFunc(out, func(a, b resolv.WinAdapter) int {
		return cmp.Or(cmp.Compare(a.Metric, b.Metric), cmp.Compare(a.Index, b.Index))
	})
	return out
}

// readNRPT reads the rules under one DnsPolicyConfig key. Each rule is a
// subkey whose values are specified in [MS-GPNRPT] 2.2.2
// (https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-gpnrpt/):
// "Name" is a REG_MULTI_SZ of namespaces (2.2.2.1), "GenericDNSServers" a
// REG_SZ of ';'-separated servers (2.2.2.13), and "ConfigOptions" a
// REG_DWORD whose bit 0x8 says the generic DNS server option is specified
// (2.2.2.2, https://docs.microsoft.com/en-us/openspecs/windows_protocols/ms-gpnrpt/2d34f260-1e9e-4a52-ac91-2056dfd29702).
// The keys are Software\Policies\Microsoft\Windows NT\DNSClient\DnsPolicyConfig
// (Group Policy) and System\CurrentControlSet\services\Dnscache\Parameters\DnsPolicyConfig
// (local rules).
func readNRPT(src Source, key, source string, problems *[]string) []resolv.NRPTRule {
	k, err := src.Key(key)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			*problems = append(*problems, "NRPT not read: "+err.Error())
		}
		return nil
	}
	if k.Truncated || len(k.Subkeys) > MaxNRPTRules {
		*problems = append(*problems, fmt.Sprintf("%s: more rules than the %d read", key, min(len(k.Subkeys), MaxNRPTRules)))
	}
	var out []resolv.NRPTRule
	for _, name := range k.Subkeys[:min(len(k.Subkeys), MaxNRPTRules)] {
		rk, err := src.Key(key + `\` + name)
		if err != nil {
			*problems = append(*problems, "NRPT rule not read: "+err.Error())
			continue
		}
		out = append(out, parseNRPTRule(name, source, rk))
	}
	return out
}

// configGenericDNS is the ConfigOptions bit of the generic DNS server
// option ([MS-GPNRPT] 2.2.2.2).
const configGenericDNS = 0x8

// parseNRPTRule reads one rule's values.
func parseNRPTRule(name, source string, k *Key) resolv.NRPTRule {
	r := resolv.NRPTRule{Key: name, Source: source}
	switch v, ok := k.Value("Name"); {
	case !ok:
		r.Problems = append(r.Problems, "no Name value: the rule covers no namespace")
	case v.Type == RegMultiSZ:
		for _, s := range v.Strings {
			if s = strings.TrimSpace(s); s != "" {
				r.Namespaces = append(r.Namespaces, s)
			}
		}
	case v.Type == RegSZ:
		// One namespace written as a plain string still names it.
		if s := strings.TrimSpace(v.String); s != "" {
			r.Namespaces = append(r.Namespaces, s)
		}
	default:
		r.Problems = append(r.Problems, "Name is "+v.Type+", not REG_MULTI_SZ")
	}
	servers := k.Str("GenericDNSServers")
	var bad []string
	more := false
	for _, s := range strings.FieldsFunc(servers, func(c rune) bool { return c == ';' || c == ' ' || c == ',' }) {
		a, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			bad = append(bad, s)
		case len(r.Servers) == MaxListItems:
			more = true
		default:
			r.Servers = append(r.Servers, a)
		}
	}
	for _, s := range bad[:min(len(bad), 3)] {
		r.Problems = append(r.Problems, fmt.Sprintf("GenericDNSServers: %q is not an IP address", s))
	}
	if len(bad) > 3 {
		r.Problems = append(r.Problems, fmt.Sprintf("GenericDNSServers: %d more values are not IP addresses", len(bad)-3))
	}
	if more {
		r.Problems = append(r.Problems, fmt.Sprintf("GenericDNSServers: more than %d servers, only the first %d kept", MaxListItems, MaxListItems))
	}
	if len(r.Namespaces) > MaxListItems {
		r.Problems = append(r.Problems, fmt.Sprintf("Name: %d namespaces, only the first %d kept", len(r.Namespaces), MaxListItems))
		r.Namespaces = r.Namespaces[:MaxListItems]
	}
	if opt, ok := k.Num("ConfigOptions"); ok && opt&configGenericDNS == 0 && len(r.Servers) > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf("ConfigOptions 0x%x does not include the generic DNS server option (0x8): the servers are not used", opt))
		r.Servers = nil
	}
	return r
}

// readSuffixes reads the primary suffix, the search list, devolution and
// AppendToMultiLabelName; a policy value comes before the local one.
func readSuffixes(src Source, c *resolv.WinClient) {
	get := func(path string) *Key {
		k, err := src.Key(path)
		if err != nil && !errors.Is(err, ErrNotFound) {
			c.Problems = append(c.Problems, err.Error())
		}
		return k
	}
	pol, tcp, cache := get(KeyDNSPolicy), get(KeyTcpipParams), get(KeyDnscache)
	c.PrimarySuffix = cmp.Or(strings.TrimSpace(tcp.Str("Domain")), strings.TrimSpace(tcp.Str("NV Domain")))
	list := pol.Str("SearchList")
	if strings.TrimSpace(list) == "" {
		list = tcp.Str("SearchList")
	}
	if l := strings.FieldsFunc(list, func(c rune) bool { return c == ',' || c == ' ' || c == ';' }); len(l) > 0 {
		c.SearchList = l
	}
	// UseDomainNameDevolution is on unless a value turns it off.
	c.Devolution = true
	if v, ok := pol.Num("UseDomainNameDevolution"); ok {
		c.Devolution = v != 0
	} else if v, ok := tcp.Num("UseDomainNameDevolution"); ok {
		c.Devolution = v != 0
	}
	// AppendToMultiLabelName is recorded as set; absent, false.
	if v, ok := pol.Num("AppendToMultiLabelName"); ok {
		c.AppendToMultiLabel = v != 0
	} else if v, ok := cache.Num("AppendToMultiLabelName"); ok {
		c.AppendToMultiLabel = v != 0
	}
}

// hostsPath is the hosts file under SystemRoot.
func hostsPath(src Source) string {
	return cmp.Or(src.Getenv("SystemRoot"), `C:\Windows`) + `\System32\drivers\etc\hosts`
}

// readHostsFile reads and parses the hosts file with the resolv parser.
func readHostsFile(src Source, problems *[]string) *resolv.Hosts {
	p := hostsPath(src)
	b, trunc, err := src.ReadFile(p, MaxHostsBytes)
	switch {
	case errors.Is(err, ErrNotFound):
		return &resolv.Hosts{Path: p, Missing: true}
	case err != nil:
		*problems = append(*problems, "hosts not read: "+err.Error())
		return &resolv.Hosts{Path: p, Unreadable: true}
	}
	h := resolv.ParseHosts(p, b)
	if trunc {
		*problems = append(*problems, fmt.Sprintf("%s: only the first %d bytes read", p, MaxHostsBytes))
	}
	return h
}

// firstItems copies at most MaxListItems items of s.
func firstItems[T any](s []T) []T { return slices.Clone(s[:min(len(s), MaxListItems)]) }
