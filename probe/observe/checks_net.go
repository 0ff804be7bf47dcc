package observe

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
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// maxHTTPBody caps what is read of an endpoint's HTTP answer: enough for an
// AWS JSON error ("__type"), never more.
const maxHTTPBody = 4 << 10

// netTarget is one (endpoint, address) pair to try and where it came from.
type netTarget struct {
	e       obs.Endpoint
	addr    netip.Addr
	sources []string
}

// netTargets collects every address any resolver (or the hosts file, via the
// agent view) returned for each endpoint: each is a target, not just the
// first (a resolver that disagrees must be tested too), up to
// obs.MaxAddrsPerHost per name.
func netTargets(p *obs.Plan, o *obs.Observations) []netTarget {
	byKey := map[string]*netTarget{}
	perHost := map[string]int{}
	var order []string
	add := func(e obs.Endpoint, a netip.Addr, src string) {
		k := e.Host + "|" + a.String()
		t, ok := byKey[k]
		if !ok {
			if perHost[e.Host] >= obs.MaxAddrsPerHost {
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
		Name:     obs.CheckEndpoint,
		Target:   fmt.Sprintf("%s %s", t.e.Host, net.JoinHostPort(t.addr.String(), strconv.Itoa(cfg.EndpointPort))),
		Required: t.e.Required,
		Run: func(ctx context.Context) Outcome {
			n := tryEndpoint(ctx, cfg, t)
			out := Outcome{Status: obs.StatusPass, seen: obs.Observations{Net: []obs.NetObs{*n}}}
			if stage, class := n.Failed(); stage != obs.NetNone {
				out.Status, out.Class = obs.StatusFail, class
				out.Reason = string(stage) + ": " + stageDetail(n, stage)
			} else if n.HTTP != nil {
				out.Reason = fmt.Sprintf("HTTP %d", n.HTTP.Status)
			}
			return out
		},
	}
}

func stageDetail(n *obs.NetObs, stage obs.NetStage) string {
	switch stage {
	case obs.NetTCP:
		return n.TCP.Detail
	case obs.NetTLS:
		return n.TLS.Detail
	default:
		return n.HTTP.Detail
	}
}

// tryEndpoint runs the three stages against one address.
func tryEndpoint(ctx context.Context, cfg *Config, t netTarget) *obs.NetObs {
	n := &obs.NetObs{Service: t.e.Service, Host: t.e.Host, Addr: t.addr, Port: cfg.EndpointPort, Sources: t.sources}
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
func handshake(ctx context.Context, cfg *Config, conn net.Conn, host string) (r *obs.TLSStage, verified *tls.Conn) {
	r = &obs.TLSStage{}
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
func httpProbe(ctx context.Context, cfg *Config, conn *tls.Conn, host string) *obs.HTTPStage {
	h := &obs.HTTPStage{}
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
