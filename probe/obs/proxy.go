package obs

import (
	"net"
	"net/netip"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// IMDSAddr is the metadata service address that no_proxy must cover.
var IMDSAddr = netip.AddrFrom4([4]byte{169, 254, 169, 254})

// ProxyObs is one endpoint tried through the agent's proxy, the way the
// agent's HTTP client goes: CONNECT through the proxy, then TLS with SNI
// and one HTTPS request inside the tunnel.
type ProxyObs struct {
	Service Service    `json:"service"`
	Host    string     `json:"host"`
	Proxy   string     `json:"proxy"` // redacted: scheme://host:port, never credentials
	Scheme  string     `json:"scheme"`
	Dial    Stage      `json:"dial"`              // TCP to the proxy
	Connect *HTTPStage `json:"connect,omitempty"` // the proxy's answer to CONNECT
	TLS     *TLSStage  `json:"tls,omitempty"`     // inside the tunnel
	HTTP    *HTTPStage `json:"http,omitempty"`
}

// ProxyStage names one stage of a check through the agent's proxy, as its
// reasons word it.
type ProxyStage string

// The stages of a proxy check, in order; ProxyNone is no failed stage.
const (
	ProxyNone    ProxyStage = ""
	ProxyDial    ProxyStage = "proxy dial" // TCP to the proxy
	ProxyConnect ProxyStage = "CONNECT"    // the proxy's answer to CONNECT
	ProxyTLS     ProxyStage = "TLS"        // the handshake inside the tunnel
	ProxyHTTPS   ProxyStage = "HTTPS"      // the request inside the tunnel
)

// Failed returns the first stage that failed, or ProxyNone.
func (p *ProxyObs) Failed() (ProxyStage, errclass.Class, string) {
	switch {
	case !p.Dial.OK:
		return ProxyDial, p.Dial.Class, p.Dial.Detail
	case p.Connect == nil || !p.Connect.OK:
		if p.Connect == nil {
			return ProxyConnect, errclass.Other, "not sent"
		}
		return ProxyConnect, p.Connect.Class, p.Connect.Detail
	case p.TLS == nil || !p.TLS.OK:
		if p.TLS == nil {
			return ProxyTLS, errclass.Other, "not tried"
		}
		return ProxyTLS, p.TLS.Class, p.TLS.Detail
	case p.HTTP == nil || !p.HTTP.OK:
		if p.HTTP == nil {
			return ProxyHTTPS, errclass.Other, "not sent"
		}
		return ProxyHTTPS, p.HTTP.Class, p.HTTP.Detail
	}
	return ProxyNone, errclass.None, ""
}

// NoProxyMatch reports whether the no_proxy list covers host, with Go's
// semantics (golang.org/x/net/http/httpproxy, used by the agent through
// ProxyFromEnvironment): "*" covers all; an IP or CIDR covers addresses;
// "example.com" covers it and its subdomains; ".example.com" only
// subdomains. Ports in entries are ignored here: the agent dials 443 and 80.
func NoProxyMatch(noProxy, host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	ip, ipErr := netip.ParseAddr(host)
	for _, e := range strings.Split(noProxy, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if e == "*" {
			return true
		}
		if pfx, err := netip.ParsePrefix(e); err == nil {
			if ipErr == nil && pfx.Contains(ip) {
				return true
			}
			continue
		}
		if h, _, err := net.SplitHostPort(e); err == nil {
			e = h
		}
		if a, err := netip.ParseAddr(e); err == nil {
			if ipErr == nil && a == ip {
				return true
			}
			continue
		}
		e = strings.TrimPrefix(e, "*")
		if strings.HasPrefix(e, ".") {
			if strings.HasSuffix(host, e) {
				return true
			}
			continue
		}
		if host == e || strings.HasSuffix(host, "."+e) {
			return true
		}
	}
	return false
}

// AgentProxies reports whether the agent sends its HTTPS calls to host through
// its proxy: the agent's environment sets one and no_proxy does not cover
// host (the same rule as proxyChecks).
func AgentProxies(o *Observations, host string) bool {
	a := o.Agent
	if a == nil || a.Proxy == nil || a.Proxy.HTTPSProxy == "" {
		return false
	}
	return !NoProxyMatch(a.Proxy.NoProxy, host)
}
