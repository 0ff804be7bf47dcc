package observe

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// proxyChecks tries every planned endpoint through the agent's HTTPS proxy,
// unless no_proxy covers it: the agent sends all its HTTPS calls, optional
// endpoints included, through the proxy.
func proxyChecks(cfg *Config, o *obs.Observations) []Check {
	if o.Agent == nil || o.Agent.Proxy == nil || o.Agent.Proxy.HTTPSProxyURL() == "" || o.Plan == nil {
		return nil
	}
	raw := o.Agent.Proxy.HTTPSProxyURL()
	var cs []Check
	for _, e := range o.Plan.Endpoints {
		if obs.NoProxyMatch(o.Agent.Proxy.NoProxy, e.Host) {
			continue
		}
		e := e
		cs = append(cs, Check{
			Name:     obs.CheckProxy,
			Target:   e.Host + " via " + o.Agent.Proxy.HTTPSProxy,
			Required: e.Required,
			Run: func(ctx context.Context) Outcome {
				p := tryProxy(ctx, cfg, raw, e)
				out := Outcome{Status: obs.StatusPass, seen: obs.Observations{Proxy: []obs.ProxyObs{*p}}}
				if stage, class, detail := p.Failed(); stage != obs.ProxyNone {
					out.Status, out.Class, out.Reason = obs.StatusFail, class, string(stage)+": "+detail
				}
				return out
			},
		})
	}
	return cs
}

// parseProxy reads the agent's proxy setting the way Go's
// ProxyFromEnvironment does (agent.ParseProxy) and returns it with the
// address to dial; a setting that cannot be used is returned as a failed
// dial stage, and is never dialled.
func parseProxy(raw string) (u *url.URL, addr string, bad *obs.Stage) {
	u, err := agent.ParseProxy(raw)
	if err != nil {
		return nil, "", &obs.Stage{Class: errclass.Malformed, Detail: err.Error()}
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "socks5": "1080"}[u.Scheme]
		if port == "" {
			port = "80"
		}
	}
	addr = net.JoinHostPort(u.Hostname(), port)
	if u.Scheme != "http" {
		return u, addr, &obs.Stage{Class: errclass.Other, Detail: fmt.Sprintf("%s proxies are not supported for Session Manager; use an http:// proxy", u.Scheme)}
	}
	return u, addr, nil
}

// tryProxy runs CONNECT, TLS and one request through the proxy at raw.
func tryProxy(ctx context.Context, cfg *Config, raw string, e obs.Endpoint) *obs.ProxyObs {
	p := &obs.ProxyObs{Service: e.Service, Host: e.Host}
	u, addr, bad := parseProxy(raw)
	if u != nil {
		p.Scheme, p.Proxy = u.Scheme, u.Scheme+"://"+addr
	}
	if bad != nil {
		p.Dial = *bad
		return p
	}
	var conn net.Conn
	conn, p.Dial, p.Connect = openTunnel(ctx, cfg, u, addr, net.JoinHostPort(e.Host, strconv.Itoa(cfg.EndpointPort)))
	if conn == nil {
		return p
	}
	defer conn.Close()
	tlsStage, verified := handshake(ctx, cfg, conn, e.Host)
	p.TLS = tlsStage
	if verified != nil {
		p.HTTP = httpProbe(ctx, cfg, verified, e.Host)
	}
	return p
}

// openTunnel dials the proxy at addr and asks it for a tunnel to target.
// The connection is returned only when the proxy answered 200; the stages
// say how far it got.
func openTunnel(ctx context.Context, cfg *Config, u *url.URL, addr, target string) (net.Conn, obs.Stage, *obs.HTTPStage) {
	var dial obs.Stage
	t0 := cfg.Now()
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	conn, err := cfg.Dialer.DialContext(dctx, "tcp", addr)
	cancel()
	dial.DurationMS = cfg.Now().Sub(t0).Milliseconds()
	if err != nil {
		dial.Class, dial.Detail = errclass.Of(err), err.Error()
		return nil, dial, nil
	}
	dial.OK = true
	c := connect(ctx, cfg, conn, u, target)
	if !c.OK {
		conn.Close()
		return nil, dial, c
	}
	return conn, dial, c
}

// agentProxy sends the signed calls (package prefs) the way the agent
// sends its own: through its HTTPS proxy with CONNECT, unless no_proxy
// covers the host (Go's semantics, obs.NoProxyMatch), exactly as the proxy
// checks go.
type agentProxy struct {
	cfg      *Config
	u        *url.URL
	addr     string
	noProxy  string
	redacted string // scheme://host:port, never credentials
}

// signingProxy returns the agent's proxy for signed calls, or nil when they
// go direct: the agent has no usable HTTPS proxy, or the host files are not
// the live root's (TrustedForSigning), whose settings never steer where
// signed requests go.
func signingProxy(cfg *Config, o *obs.Observations) *agentProxy {
	if !cfg.TrustedForSigning() || o.Agent == nil || o.Agent.Proxy == nil || o.Agent.Proxy.HTTPSProxyURL() == "" {
		return nil
	}
	u, addr, bad := parseProxy(o.Agent.Proxy.HTTPSProxyURL())
	if bad != nil {
		return nil
	}
	return &agentProxy{cfg: cfg, u: u, addr: addr, noProxy: o.Agent.Proxy.NoProxy, redacted: u.Scheme + "://" + addr}
}

// Via returns the proxy the agent sends host's calls through, or "".
func (a *agentProxy) Via(host string) string {
	if obs.NoProxyMatch(a.noProxy, host) {
		return ""
	}
	return a.redacted
}

// Tunnel opens a CONNECT tunnel to target through the proxy.
func (a *agentProxy) Tunnel(ctx context.Context, target string) (net.Conn, error) {
	conn, dial, c := openTunnel(ctx, a.cfg, a.u, a.addr, target)
	switch {
	case conn != nil:
		return conn, nil
	case !dial.OK:
		return nil, &tunnelError{class: dial.Class, msg: "dialling the proxy " + a.redacted + ": " + dial.Detail}
	default:
		return nil, &tunnelError{class: c.Class, msg: "CONNECT " + target + " through " + a.redacted + ": " + c.Detail}
	}
}

// tunnelError keeps the class of a failed tunnel for the call's record.
type tunnelError struct {
	class errclass.Class
	msg   string
}

func (e *tunnelError) Error() string { return e.msg }

// Class returns the failure's class, for package prefs's record.
func (e *tunnelError) Class() errclass.Class { return e.class }

// connect asks the proxy for a tunnel to target and reads its answer.
func connect(ctx context.Context, cfg *Config, conn net.Conn, u *url.URL, target string) *obs.HTTPStage {
	h := &obs.HTTPStage{}
	t0 := cfg.Now()
	defer func() { h.DurationMS = cfg.Now().Sub(t0).Milliseconds() }()
	conn.SetDeadline(attemptDeadline(ctx, cfg.Timeout))
	defer conn.SetDeadline(time.Time{})
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\nUser-Agent: ssm-probe\r\n"
	if u.User != nil {
		pw, _ := u.User.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)) + "\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		h.Class, h.Detail = errclass.Of(err), err.Error()
		return h
	}
	// Read the status line and headers byte by byte up to the blank line, so
	// no byte of the tunnel's TLS stream is swallowed by a buffer; a proxy
	// that sends endless headers is cut at maxConnectReply.
	br := bufio.NewReaderSize(&byteReader{c: conn, left: maxConnectReply}, 16)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		h.Class, h.Detail = errclass.Of(err), err.Error()
		if h.Class == errclass.Other {
			h.Class = errclass.Malformed
		}
		return h
	}
	resp.Body.Close()
	h.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		h.Class, h.Detail = errclass.HTTPStatus, "the proxy answered "+resp.Status
		return h
	}
	h.OK = true
	return h
}

// maxConnectReply caps the proxy's answer to CONNECT (status line and
// headers); a real one is a few hundred bytes.
const maxConnectReply = 16 << 10

// byteReader reads one byte at a time so the bufio.Reader over it never
// reads past the CONNECT response, and at most left bytes in all.
type byteReader struct {
	c    net.Conn
	left int
}

func (b *byteReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("the proxy's answer to CONNECT exceeds %d bytes", maxConnectReply)
	}
	if len(p) > 1 {
		p = p[:1]
	}
	n, err := b.c.Read(p)
	b.left -= n
	return n, err
}
