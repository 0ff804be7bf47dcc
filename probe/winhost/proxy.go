package winhost

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/redact"
)

// Where Windows keeps the proxies the agent reads.
const (
	// KeyLocalSystemConnections holds LocalSystem's Internet settings: the
	// agent runs as LocalSystem, so WinHttpGetIEProxyConfigForCurrentUser
	// reads this hive. HKU\.DEFAULT is the same profile, tried when the
	// SID's name is not loaded.
	KeyLocalSystemConnections = `HKU\S-1-5-18\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections`
	KeyDefaultUserConnections = `HKU\.DEFAULT\Software\Microsoft\Windows\CurrentVersion\Internet Settings\Connections`
	// KeyMachineEnvironment holds the machine's environment variables.
	KeyMachineEnvironment = `HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment`
	// KeyWinHTTPConnections holds the machine's WinHTTP proxy (netsh winhttp set proxy),
	// and the per-machine Internet settings (DefaultConnectionSettings).
	KeyWinHTTPConnections = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections`
	// KeyInternetSettingsPolicy holds ProxySettingsPerUser, the policy
	// "Make proxy settings per-machine (rather than per-user)": a REG_DWORD
	// 0 applies the proxy settings to all users of the computer
	// (https://learn.microsoft.com/en-us/windows-hardware/customize/desktop/unattend/microsoft-windows-ie-clientnetworkprotocolimplementation-hklmproxyserver),
	// LocalSystem included. The machine's settings are then the
	// DefaultConnectionSettings of KeyWinHTTPConnections
	// (https://www.spad.uk/posts/how-does-proxysettingsperuser-work/).
	KeyInternetSettingsPolicy = `HKLM\SOFTWARE\Policies\Microsoft\Windows\CurrentVersion\Internet Settings`
	// userInternetSettings is a user's Internet settings under its SID.
	userInternetSettings = `\Software\Microsoft\Windows\CurrentVersion\Internet Settings`
)

// MaxUserHives caps the loaded user hives looked at.
const MaxUserHives = 64

// Connection settings flags, the third DWORD of a DefaultConnectionSettings
// or WinHttpSettings blob.
const (
	proxyTypeDirect     = 0x1
	proxyTypeProxy      = 0x2
	proxyTypeAutoURL    = 0x4
	proxyTypeAutoDetect = 0x8
)

// ConnSettings is a DefaultConnectionSettings or WinHttpSettings blob,
// unredacted: it stays inside the package.
type ConnSettings struct {
	Flags         uint32
	Proxy         string // only when Flags has PROXY_TYPE_PROXY
	Bypass        string // likewise
	AutoConfigURL string // only when Flags has PROXY_TYPE_AUTO_PROXY_URL (DefaultConnectionSettings)
}

// Enabled reports whether the settings name a proxy server.
func (c ConnSettings) Enabled() bool { return c.Proxy != "" }

// ParseConnSettings parses a connection settings blob. Its layout, as
// Wine's winhttp reads it (dlls/winhttp/session.c,
// WinHttpGetIEProxyConfigForCurrentUser and
// WinHttpGetDefaultProxyConfiguration; struct connection_settings_header):
// three little-endian DWORDs (a version, 0x46 for DefaultConnectionSettings
// and 0x18 for WinHttpSettings; a counter; the flags PROXY_TYPE_DIRECT 1,
// PROXY_TYPE_PROXY 2, PROXY_TYPE_AUTO_PROXY_URL 4, PROXY_TYPE_AUTO_DETECT 8),
// then length-prefixed 8-bit strings: the proxy server list, the bypass
// list and, in DefaultConnectionSettings, the auto-configuration URL. The
// server and bypass count only with PROXY_TYPE_PROXY, the URL only with
// PROXY_TYPE_AUTO_PROXY_URL. withURL says whether the blob has the URL.
func ParseConnSettings(b []byte, withURL bool) (ConnSettings, error) {
	var c ConnSettings
	if len(b) < 12 {
		return c, fmt.Errorf("%d bytes, shorter than the 12-byte header", len(b))
	}
	c.Flags = binary.LittleEndian.Uint32(b[8:])
	off := 12
	next := func(what string) (string, error) {
		if off+4 > len(b) {
			return "", fmt.Errorf("no length of the %s at byte %d of %d", what, off, len(b))
		}
		n := int(binary.LittleEndian.Uint32(b[off:]))
		off += 4
		if n < 0 || n > len(b)-off {
			return "", fmt.Errorf("the %s's length %d runs past the end (%d bytes left)", what, n, len(b)-off)
		}
		s := string(b[off : off+n])
		off += n
		return strings.TrimRight(s, "\x00"), nil
	}
	proxy, err := next("proxy server")
	if err != nil {
		return c, err
	}
	bypass, err := next("bypass list")
	if err != nil {
		return c, err
	}
	if c.Flags&proxyTypeProxy != 0 {
		c.Proxy, c.Bypass = proxy, bypass
	}
	if withURL {
		u, err := next("auto-configuration URL")
		if err != nil {
			return c, err
		}
		if c.Flags&proxyTypeAutoURL != 0 {
			c.AutoConfigURL = u
		}
	}
	return c, nil
}

// redactList redacts a Windows proxy list ("http=user:pass@host:80;https=host:443")
// so that no part of a password reaches Facts. The user information is
// cut out before the list is split: a password may hold ';', blanks, '='
// or '@', which the split would otherwise take for separators and leave a
// piece of in clear. When the list holds '@', each "scheme=" value (or the
// whole list when no "scheme=" starts it) is redacted from its start (or
// after its "scheme://") up to its last '@' before the next "scheme="; only
// then is the list split on ';' and blanks. A "scheme=" starts a value only
// at the list's start or after a separator, and only for a scheme Windows
// lists (http, https, ftp, socks, gopher), so that "pa;x=ss" in a password
// is not taken for one. In such a list, a value without '@' that is not a
// plain host[:port] list (it may be the start of a password cut by a ";http=")
// is redacted whole. A list without '@' is split and kept as is.
func redactList(s string) string {
	if strings.Contains(s, "@") {
		var b strings.Builder
		bounds := listBoundaries(s)
		for i, at := range bounds {
			end := len(s)
			if i+1 < len(bounds) {
				end = bounds[i+1]
			}
			seg := s[at:end]
			vs := 0
			if eq := strings.IndexByte(seg, '='); eq >= 0 && isListScheme(seg[:eq]) {
				vs = eq + 1
			}
			v := strings.TrimRight(seg[vs:], "; \t")
			sep := seg[vs+len(v):]
			switch {
			case strings.Contains(v, "@"):
				v = redact.Value(v)
			case !plainHosts(v):
				v = redact.Mark
			}
			b.WriteString(seg[:vs] + v + sep)
		}
		s = b.String()
	}
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' }), ";")
}

// listBoundaries returns where each value of a proxy list starts: 0, and
// each "scheme=" of a Windows scheme after a separator.
func listBoundaries(s string) []int {
	out := []int{0}
	for i := 1; i < len(s); i++ {
		if c := s[i-1]; c != ';' && c != ' ' && c != '\t' {
			continue
		}
		if eq := strings.IndexByte(s[i:], '='); eq > 0 && isListScheme(s[i:i+eq]) {
			out = append(out, i)
		}
	}
	return out
}

// isListScheme reports whether s names a scheme of a Windows proxy list.
func isListScheme(s string) bool {
	switch strings.ToLower(s) {
	case "http", "https", "ftp", "socks", "gopher":
		return true
	}
	return false
}

// plainHosts reports whether every ';'- or blank-separated part of v is a
// plain host[:port].
func plainHosts(v string) bool {
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' }) {
		if !plainHostPort(p) {
			return false
		}
	}
	return true
}

// plainHostPort reports whether v is a host with an optional decimal port
// and an optional "scheme://" before it, and nothing else: a name or
// address ([IPv6] with brackets), no user information.
func plainHostPort(v string) bool {
	if i := strings.Index(v, "://"); i > 0 && isListScheme(v[:i]) {
		v = v[i+3:]
	}
	v = strings.TrimSuffix(v, "/")
	host, port := v, ""
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return false
		}
		host, port = v[1:end], v[end+1:]
		if _, err := netip.ParseAddr(host); err != nil {
			return false
		}
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
			if port == "" {
				return false
			}
		}
	} else {
		if h, p, ok := strings.Cut(v, ":"); ok {
			host, port = h, p
			if port == "" {
				return false
			}
		}
		if host == "" {
			return false
		}
		for _, c := range host {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '*') {
				return false
			}
		}
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// setting is the redacted ProxySetting of connection settings.
func (c ConnSettings) setting(autoDetect bool) *ProxySetting {
	return &ProxySetting{
		Server: redactList(c.Proxy), Bypass: c.Bypass, AutoConfigURL: redact.Value(c.AutoConfigURL),
		AutoDetect: autoDetect && c.Flags&proxyTypeAutoDetect != 0,
	}
}

// ParseAgentProxyList reads a Windows proxy server list the way the agent
// does (amazon-ssm-agent agent/proxyconfig/proxy_windows.go,
// ParseProxySettings and ValidateHost): parts separated by blanks or ';',
// "https=" and "http=" parts for their scheme, other "scheme=" parts
// skipped, and a part without '=' for the schemes not named (http when
// neither is). "<local>" and "<-loopback>" are refused, "//host" and a
// value without "://" get "http". A part that does not parse clears its
// scheme, as the agent's assignment of ValidateHost's nil does.
func ParseAgentProxyList(list string) (https, http string) {
	var hs, h, other *url.URL
	for _, f := range strings.Fields(list) {
		for _, s := range strings.Split(f, ";") {
			if s == "" {
				continue
			}
			scheme, v, ok := strings.Cut(s, "=")
			switch {
			case !ok:
				other = validateHost(s)
			case scheme == "https":
				hs = validateHost(v)
			case scheme == "http":
				h = validateHost(v)
			}
		}
	}
	switch {
	case hs == nil && h == nil:
		h = other
	case hs != nil && h == nil:
		h = other
	case hs == nil && h != nil:
		hs = other
	}
	str := func(u *url.URL) string {
		if u == nil {
			return ""
		}
		return u.String()
	}
	return str(hs), str(h)
}

// validateHost is the agent's ValidateHost: nil where it returns an error.
func validateHost(s string) *url.URL {
	if s == "<-loopback>" || s == "<local>" {
		return nil
	}
	if strings.HasPrefix(s, "//") {
		s = "http:" + s
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil
	}
	return u
}

// agentBypass is the agent's no_proxy from a Windows bypass list: each
// part's host (ValidateHost, then url.Host), joined with ','.
func agentBypass(bypass string) string {
	var out []string
	for _, f := range strings.Fields(bypass) {
		for _, s := range strings.Split(f, ";") {
			if s == "" {
				continue
			}
			if u := validateHost(s); u != nil {
				out = append(out, u.Host)
			}
		}
	}
	return strings.Join(out, ",")
}

// ReadProxy reads every proxy setting the host has and derives the one the
// agent takes, in the agent's order (amazon-ssm-agent
// agent/proxyconfig/proxy_windows.go at 03fc4df, SetProxyConfig):
// LocalSystem's Internet settings when they name a proxy server, else the
// WinHTTP proxy (lines 122-139); then a non-empty http_proxy or https_proxy
// of the agent's own environment (the service's Environment value, over
// the machine's environment, which the service manager reads at boot) drops
// that proxy, and a non-empty no_proxy drops its bypass list (lines
// 141-152); what is left is parsed by ParseProxySettings and set as
// https_proxy, http_proxy and no_proxy (lines 154-183). The settings stored
// are redacted; the effective proxy, with its credentials for dialling, is
// AgentEnv.
//
// ReadAgentService reads the service and the proxy with one read of the
// service's key.
func ReadProxy(src Source) (*Proxy, []string) {
	return readProxy(src, func() (*Key, error) { return src.Key(KeyServices + `\` + ServiceName) })
}

// readProxy is ReadProxy with the agent's service key read by svcKey.
func readProxy(src Source, svcKey func() (*Key, error)) (*Proxy, []string) {
	p := &Proxy{Checked: true}
	var why, problems []string
	// The agent's environment: the service's Environment value. Windows
	// environment names ignore case, so they are compared lower-cased.
	svc := map[string]string{}
	k, err := svcKey()
	if err != nil && !errors.Is(err, ErrNotFound) {
		why = append(why, "the service's Environment: "+err.Error())
	}
	env, _ := serviceEnvironment(k)
	for _, kv := range env {
		n, v, _ := strings.Cut(kv, "=")
		n = strings.ToLower(n)
		if _, seen := svc[n]; !seen && (n == "https_proxy" || n == "http_proxy" || n == "no_proxy") {
			svc[n] = v
		}
	}
	envSetting := func(vars map[string]string) *ProxySetting {
		if vars["https_proxy"] == "" && vars["http_proxy"] == "" && vars["no_proxy"] == "" {
			return nil
		}
		var list []string
		if v := vars["http_proxy"]; v != "" {
			list = append(list, "http="+redact.Value(v))
		}
		if v := vars["https_proxy"]; v != "" {
			list = append(list, "https="+redact.Value(v))
		}
		return &ProxySetting{Server: strings.Join(list, ";"), Bypass: vars["no_proxy"]}
	}
	p.ServiceEnv = envSetting(svc)
	// The machine's environment, which the service manager gives every
	// service beneath its Environment value.
	machine := map[string]string{}
	mk, err := src.Key(KeyMachineEnvironment)
	if err != nil && !errors.Is(err, ErrNotFound) {
		why = append(why, "the machine's environment: "+err.Error())
	}
	if mk != nil {
		for n, v := range mk.Values {
			if n = strings.ToLower(n); (n == "https_proxy" || n == "http_proxy" || n == "no_proxy") && (v.Type == RegSZ || v.Type == RegExpandSZ) && v.String != "" {
				machine[n] = v.String
			}
		}
	}
	p.MachineEnv = envSetting(machine)
	envSource := ""
	switch {
	case svc["https_proxy"] != "" || svc["http_proxy"] != "":
		envSource = ProxyServiceEnv
	case machine["https_proxy"] != "" || machine["http_proxy"] != "":
		envSource = ProxyMachineEnv
	}
	for n, v := range machine {
		if svc[n] == "" {
			svc[n] = v
		}
	}
	envProxy := envSource != ""

	// LocalSystem's Internet settings: its own, or the machine's when the
	// ProxySettingsPerUser policy is 0. A policy that cannot be read
	// leaves them unknown.
	var ls *ConnSettings
	perMachine, lsErr := proxyPerMachine(src)
	switch {
	case lsErr != nil:
	case perMachine:
		p.PerMachine = true
		ls, lsErr = readConnSettings(src, "DefaultConnectionSettings", true, KeyWinHTTPConnections)
	default:
		ls, lsErr = readConnSettings(src, "DefaultConnectionSettings", true, KeyLocalSystemConnections, KeyDefaultUserConnections)
	}
	if lsErr != nil {
		if !envProxy {
			why = append(why, "LocalSystem's Internet settings: "+lsErr.Error())
		} else {
			problems = append(problems, "LocalSystem's Internet settings not read (the agent's environment decides): "+lsErr.Error())
		}
	} else if ls != nil {
		p.LocalSystem = ls.setting(true)
	}
	wh, whErr := readConnSettings(src, "WinHttpSettings", false, KeyWinHTTPConnections)
	if whErr != nil {
		if !envProxy && (ls == nil || !ls.Enabled()) && lsErr == nil {
			why = append(why, "the WinHTTP proxy: "+whErr.Error())
		} else {
			problems = append(problems, "the WinHTTP proxy not read: "+whErr.Error())
		}
	} else if wh != nil {
		p.WinHTTP = wh.setting(false)
	}
	p.Users = readUserProxies(src)

	if len(why) > 0 {
		p.Checked, p.Reason = false, "not checked: "+strings.Join(why, "; ")
		return p, problems
	}
	var proxy, bypass, source string
	switch {
	case ls != nil && ls.Enabled():
		proxy, bypass, source = ls.Proxy, ls.Bypass, ProxyLocalSystem
	case wh != nil && wh.Enabled():
		proxy, bypass, source = wh.Proxy, wh.Bypass, ProxyWinHTTP
	}
	if envProxy {
		proxy, source = "", envSource
	}
	if svc["no_proxy"] != "" {
		bypass = ""
	}
	eff := map[string]string{}
	for n, v := range svc {
		eff[n] = v
	}
	https, http := ParseAgentProxyList(proxy)
	if https != "" {
		eff["https_proxy"] = https
	}
	if http != "" {
		eff["http_proxy"] = http
	}
	if nb := agentBypass(bypass); nb != "" {
		eff["no_proxy"] = nb
	}
	if !envProxy && https == "" && http == "" {
		source = ""
	}
	p.Source = source
	var b []byte
	for _, n := range []string{"https_proxy", "http_proxy", "no_proxy"} {
		if v := eff[n]; v != "" {
			b = append(append(b, n+"="+v...), 0)
		}
	}
	p.env = agent.ProxyFromEnviron(b)
	return p, problems
}

// proxyPerMachine reports whether the ProxySettingsPerUser policy makes
// the proxy settings per machine: a REG_DWORD 0 under
// KeyInternetSettingsPolicy. Absent, or any other value, they are per
// user.
func proxyPerMachine(src Source) (bool, error) {
	k, err := src.Key(KeyInternetSettingsPolicy)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("the ProxySettingsPerUser policy: %w", err)
	}
	v, ok := k.Num("ProxySettingsPerUser")
	return ok && v == 0, nil
}

// readConnSettings reads a connection settings blob from the first of
// keys that can be read; nil, nil when none exists, and the first error
// when none that exists could be read.
func readConnSettings(src Source, value string, withURL bool, keys ...string) (*ConnSettings, error) {
	var first error
	for _, key := range keys {
		k, err := src.Key(key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			// The next key may name the same hive with a readable path
			// (HKU\.DEFAULT for HKU\S-1-5-18); the first error is kept.
			first = cmp.Or(first, err)
			continue
		}
		v, ok := k.Value(value)
		if !ok {
			return nil, nil
		}
		if v.Type != RegBinary {
			return nil, fmt.Errorf(`%s\%s is %s, not REG_BINARY`, key, value, v.Type)
		}
		c, err := ParseConnSettings(v.Binary, withURL)
		if err != nil {
			return nil, fmt.Errorf(`%s\%s: %v`, key, value, err)
		}
		return &c, nil
	}
	return nil, first
}

// readUserProxies reads the proxy of each loaded user hive
// (HKU\S-1-5-21-…): the agent, as LocalSystem, does not see them, but a
// person who set one may believe it does.
func readUserProxies(src Source) []UserProxy {
	k, err := src.Key("HKU")
	if err != nil {
		return nil
	}
	var out []UserProxy
	seen := 0
	for _, sid := range k.Subkeys {
		if !strings.HasPrefix(sid, "S-1-5-21-") || strings.HasSuffix(sid, "_Classes") {
			continue
		}
		if seen++; seen > MaxUserHives {
			break
		}
		uk, err := src.Key(`HKU\` + sid + userInternetSettings)
		if err != nil {
			continue
		}
		on, _ := uk.Num("ProxyEnable")
		server, pac := uk.Str("ProxyServer"), uk.Str("AutoConfigURL")
		if (on == 0 || server == "") && pac == "" {
			continue
		}
		s := ProxySetting{AutoConfigURL: redact.Value(pac)}
		if on != 0 {
			s.Server, s.Bypass = redactList(server), uk.Str("ProxyOverride")
		}
		out = append(out, UserProxy{SID: sid, Setting: s})
	}
	return out
}
