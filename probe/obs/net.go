package obs

import (
	"net/netip"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// Stage is the outcome of one stage of an endpoint check.
type Stage struct {
	OK         bool           `json:"ok"`
	Class      errclass.Class `json:"class,omitempty"`
	Detail     string         `json:"detail,omitempty"`
	DurationMS int64          `json:"duration_ms"`
}

// TLSStage adds what the handshake showed.
type TLSStage struct {
	Stage
	Version string `json:"version,omitempty"`
	Subject string `json:"subject,omitempty"` // leaf certificate subject
	Issuer  string `json:"issuer,omitempty"`  // leaf certificate issuer
	Root    string `json:"root,omitempty"`    // issuer of the last certificate the server sent
}

// HTTPStage adds what the HTTP answer showed.
type HTTPStage struct {
	Stage
	Status      int    `json:"status,omitempty"`
	Date        string `json:"date,omitempty"`         // the Date header as sent
	SkewSeconds *int64 `json:"skew_seconds,omitempty"` // local clock minus Date; positive means the host is ahead
	ErrorType   string `json:"error_type,omitempty"`   // AWS JSON __type, e.g. UnknownOperationException
}

// NetObs is one endpoint address tried the way the agent connects: TCP,
// then TLS with SNI, then one HTTPS request.
type NetObs struct {
	Service Service    `json:"service"`
	Host    string     `json:"host"`
	Addr    netip.Addr `json:"addr"`
	Port    int        `json:"port"`
	Sources []string   `json:"sources"` // which resolvers (or the hosts file) gave this address
	TCP     Stage      `json:"tcp"`
	TLS     *TLSStage  `json:"tls,omitempty"`
	HTTP    *HTTPStage `json:"http,omitempty"`
}

// Reached reports whether the endpoint answered over HTTPS: any HTTP answer
// proves DNS, TCP and TLS (docs/AGENT-FACTS.md, "Endpoints and configuration").
func (n *NetObs) Reached() bool { return n.HTTP != nil && n.HTTP.OK }

// NetStage names one stage of an endpoint check, as its reasons word it.
type NetStage string

// The stages of an endpoint check, in order; NetNone is no failed stage.
const (
	NetNone NetStage = ""
	NetTCP  NetStage = "tcp"
	NetTLS  NetStage = "tls"
	NetHTTP NetStage = "http"
)

// Failed returns the first stage that failed and its class, or NetNone
// when every stage that ran succeeded.
func (n *NetObs) Failed() (NetStage, errclass.Class) {
	switch {
	case !n.TCP.OK:
		return NetTCP, n.TCP.Class
	case n.TLS != nil && !n.TLS.OK:
		return NetTLS, n.TLS.Class
	case n.HTTP != nil && !n.HTTP.OK:
		return NetHTTP, n.HTTP.Class
	}
	return NetNone, errclass.None
}
