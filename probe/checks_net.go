package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// maxHTTPBody caps what is read of an endpoint's HTTP answer: enough for an
// AWS JSON error ("__type"), never more.
const maxHTTPBody = 4 << 10

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
	Service string     `json:"service"`
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

// maxAddrsPerHost caps the addresses tried for one endpoint name, over all
// resolvers. An interface endpoint has one address per Availability Zone
// (at most six in a Region today) and a public endpoint a handful; a
// resolver that answers with thousands (one 64 KiB UDP reply holds about
// 4,000 A records) must not turn one run into thousands of connections
// and a report of thousands of checks.
const maxAddrsPerHost = 16

// netTarget is one (endpoint, address) pair to try and where it came from.
type netTarget struct {
	e       Endpoint
	addr    netip.Addr
	sources []string
}

// netTargets collects every address any resolver (or the hosts file, via the
// agent view) returned for each endpoint: each is a target, not just the
// first (a resolver that disagrees must be tested too), up to
// maxAddrsPerHost per name.
func netTargets(p *Plan, o *Observations) []netTarget {
	byKey := map[string]*netTarget{}
	perHost := map[string]int{}
	var order []string
	add := func(e Endpoint, a netip.Addr, src string) {
		k := e.Host + "|" + a.String()
		t, ok := byKey[k]
		if !ok {
			if perHost[e.Host] >= maxAddrsPerHost {
				return // the first answers are the ones the agent dials
			}
			perHost[e.Host]++
			t = &netTarget{e: e, addr: a}
			byKey[k] = t
			order = append(order, k)
		}
		for _, s := range t.sources {
			if s == src {
				return
			}
		}
		t.sources = append(t.sources, src)
	}
	for _, e := range p.Endpoints {
		for _, a := range o.AgentDNS {
			if a.Host == e.Host {
				src := "agent"
				if a.Answer.Source == "hosts" {
					src = "hosts"
				}
				for _, ad := range a.Answer.Addrs {
					add(e, ad, src)
				}
			}
		}
		for i := range o.DNS {
			d := &o.DNS[i]
			if d.Host != e.Host {
				continue
			}
			for _, ad := range d.Addrs() {
				add(e, ad, d.Resolver.String())
			}
		}
	}
	out := make([]netTarget, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out
}

// Every target address is tried concurrently (the runner's limit applies),
// each as soon as an answer names it (see live). Each stage has its own
// per-attempt timeout, so a black-holed address costs one timeout, and all
// of them together cost about one too.

// netCheck tries one target address: TCP, TLS, HTTPS.
func netCheck(cfg *Config, t netTarget) Check {
	return Check{
		Name:     CheckEndpoint,
		Target:   fmt.Sprintf("%s %s", t.e.Host, net.JoinHostPort(t.addr.String(), strconv.Itoa(cfg.EndpointPort))),
		Required: t.e.Required,
		Run: func(ctx context.Context) Outcome {
			n := tryEndpoint(ctx, cfg, t)
			out := Outcome{Status: StatusPass, Detail: n, seen: Observations{Net: []NetObs{*n}}}
			if stage, class := n.Failed(); stage != NetNone {
				out.Status, out.Class = StatusFail, class
				out.Reason = string(stage) + ": " + stageDetail(n, stage)
			} else if n.HTTP != nil {
				out.Reason = fmt.Sprintf("HTTP %d", n.HTTP.Status)
			}
			return out
		},
	}
}

func stageDetail(n *NetObs, stage NetStage) string {
	switch stage {
	case NetTCP:
		return n.TCP.Detail
	case NetTLS:
		return n.TLS.Detail
	default:
		return n.HTTP.Detail
	}
}

// tryEndpoint runs the three stages against one address.
func tryEndpoint(ctx context.Context, cfg *Config, t netTarget) *NetObs {
	n := &NetObs{Service: t.e.Service, Host: t.e.Host, Addr: t.addr, Port: cfg.EndpointPort, Sources: t.sources}
	hostport := net.JoinHostPort(t.addr.String(), strconv.Itoa(cfg.EndpointPort))

	t0 := cfg.Now()
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	conn, err := cfg.Dialer.DialContext(dctx, "tcp", hostport)
	cancel()
	n.TCP.DurationMS = cfg.Now().Sub(t0).Milliseconds()
	if err != nil {
		n.TCP.Class, n.TCP.Detail = errclass.Of(err), err.Error()
		if n.TCP.Class == errclass.Other && ctx.Err() != nil {
			n.TCP.Class = errclass.Timeout
		}
		return n
	}
	defer conn.Close()
	n.TCP.OK = true

	var tc *tls.Conn
	n.TLS, tc = handshake(ctx, cfg, conn, t.e.Host)
	if tc == nil {
		return n
	}
	n.HTTP = httpProbe(ctx, cfg, tc, t.e.Host)
	return n
}

// handshake runs TLS with SNI over conn and verifies the chain against
// cfg.RootCAs (nil: the system roots, which honour SSL_CERT_FILE). The chain
// is verified by hand after the handshake so that the issuer is recorded
// even when verification fails; no request is sent over an unverified
// connection: the returned *tls.Conn is nil unless the chain verified.
func handshake(ctx context.Context, cfg *Config, conn net.Conn, host string) (r *TLSStage, verified *tls.Conn) {
	r = &TLSStage{}
	t0 := cfg.Now()
	defer func() { r.DurationMS = cfg.Now().Sub(t0).Milliseconds() }()
	tc := tls.Client(conn, &tls.Config{ServerName: host, InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	hctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		r.Class, r.Detail = errclass.Of(err), err.Error()
		if r.Class == errclass.Other {
			r.Class = errclass.TLSFailed
		}
		return r, nil
	}
	st := tc.ConnectionState()
	r.Version = tls.VersionName(st.Version)
	certs := st.PeerCertificates
	if len(certs) == 0 {
		r.Class, r.Detail = errclass.TLSFailed, "the server sent no certificate"
		return r, nil
	}
	r.Subject, r.Issuer = certs[0].Subject.String(), certs[0].Issuer.String()
	r.Root = certs[len(certs)-1].Issuer.String()
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{DNSName: host, Roots: cfg.RootCAs, Intermediates: inter,
		CurrentTime: cfg.Now()}); err != nil {
		r.Class, r.Detail = errclass.TLSUntrusted, err.Error()
		return r, nil
	}
	r.OK = true
	return r, tc
}

// httpProbe sends one bare POST / and reads the answer's status, Date and
// AWS error type. Any HTTP answer proves the path.
func httpProbe(ctx context.Context, cfg *Config, conn *tls.Conn, host string) *HTTPStage {
	h := &HTTPStage{}
	t0 := cfg.Now()
	defer func() { h.DurationMS = cfg.Now().Sub(t0).Milliseconds() }()
	conn.SetDeadline(attemptDeadline(ctx, cfg.Timeout))
	req, _ := http.NewRequest(http.MethodPost, "https://"+host+"/", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("User-Agent", "ssm-probe")
	req.Close = true
	if err := req.Write(conn); err != nil {
		h.Class, h.Detail = errclass.Of(err), err.Error()
		return h
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.LimitReader(conn, 64<<10)), req)
	if err != nil {
		h.Class, h.Detail = errclass.Of(err), err.Error()
		if h.Class == errclass.Other {
			h.Class = errclass.Malformed
		}
		return h
	}
	defer resp.Body.Close()
	h.OK, h.Status = true, resp.StatusCode
	h.Date = resp.Header.Get("Date")
	if dt, err := http.ParseTime(h.Date); err == nil {
		skew := int64(cfg.Now().Sub(dt) / time.Second)
		h.SkewSeconds = &skew
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxHTTPBody))
	h.ErrorType = awsErrorType(body, resp.Header.Get("X-Amzn-ErrorType"))
	return h
}

// awsErrorType extracts the error type of an AWS JSON answer, from the
// X-Amzn-ErrorType header or the body's "__type".
func awsErrorType(body []byte, header string) string {
	if header != "" {
		t, _, _ := strings.Cut(header, ":")
		return t
	}
	s := string(body)
	i := strings.Index(s, `"__type"`)
	if i < 0 {
		return ""
	}
	s = s[i+len(`"__type"`):]
	s = strings.TrimLeft(s, " :\t")
	if !strings.HasPrefix(s, `"`) {
		return ""
	}
	s = s[1:]
	if j := strings.IndexByte(s, '"'); j >= 0 {
		s = s[:j]
	}
	if k := strings.LastIndexByte(s, '#'); k >= 0 {
		s = s[k+1:]
	}
	return s
}

// attemptDeadline is the socket deadline of one attempt: timeout from now,
// or the run's deadline if that comes first. Socket deadlines are real
// time; cfg.Now only stamps reports and measures skew.
func attemptDeadline(ctx context.Context, timeout time.Duration) time.Time {
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return deadline
}
