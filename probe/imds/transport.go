package imds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// DefaultTimeout is the per-attempt limit when Options.Timeout is zero. It
// matches the probe's --timeout default (docs/INTERFACE.md): IMDS is a link-local
// service that answers in milliseconds, so 2 s is generous and still keeps a
// silent PUT from stalling the run.
const DefaultTimeout = 2 * time.Second

// MaxBody caps every response body read from IMDS. The largest document the
// probe reads (the credentials JSON) is about 1.5 KiB; 64 KiB leaves room
// for any real value while a hostile or broken peer cannot bloat memory.
const MaxBody = 64 << 10

// maxHeaderBytes caps response headers. IMDS sends a handful of short ones.
const maxHeaderBytes = 16 << 10

// idleConnTimeout bounds how long a kept-alive connection waits between the
// GETs of one Fetch. Fetch closes idle connections when it returns anyway.
const idleConnTimeout = 5 * time.Second

// The IMDSv2 protocol (AWS docs, "Use the Instance Metadata Service to
// access instance metadata").
const (
	tokenPath       = "/latest/api/token"
	metadataPath    = "/latest/meta-data/"
	tokenHeader     = "X-aws-ec2-metadata-token"
	tokenTTLHeader  = "X-aws-ec2-metadata-token-ttl-seconds"
	tokenTTLSeconds = 60 // the token serves one probe run, which --deadline caps at seconds
)

// bodyTooLarge is the error a capped body returns when the peer sends more
// than MaxBody. It is a comparable value, so errors.Is(err, bodyTooLarge{})
// finds it through any wrapping.
type bodyTooLarge struct{}

func (bodyTooLarge) Error() string { return "response body exceeds the 64 KiB cap" }

// Options configures Fetch. The zero value is not usable: Endpoint is required.
type Options struct {
	// Endpoint is the IMDS base URL, e.g. "http://169.254.169.254" or
	// "http://127.0.0.1:PORT". There is no default: the caller decides, so a
	// test can never reach the host's real IMDS by accident.
	Endpoint string
	// Timeout bounds each attempt (one HTTP exchange, body included).
	// Zero means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock used to decide whether credentials have expired.
	// Nil means time.Now.
	Now func() time.Time
	// DialContext opens TCP connections. Nil means a net.Dialer with
	// Timeout as its connect timeout.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// newHTTPClient builds the client every IMDS request goes through: no proxy
// (IMDS is link-local and must never be proxied), no redirects (IMDS does
// not redirect, and following one could leave the link), and an explicit
// timeout on each stage.
func newHTTPClient(opt Options, timeout time.Duration) (*http.Client, *http.Transport) {
	dial := opt.DialContext
	if dial == nil {
		d := &net.Dialer{Timeout: timeout, KeepAlive: -1}
		dial = d.DialContext
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dial,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  timeout,
		IdleConnTimeout:        idleConnTimeout,
		MaxResponseHeaderBytes: maxHeaderBytes,
		DisableCompression:     true,
		ForceAttemptHTTP2:      false,
	}
	hc := &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return hc, tr
}

// cappedBody passes at most MaxBody bytes through and then fails with
// bodyTooLarge if the peer has more to send.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func newCappedBody(rc io.ReadCloser) *cappedBody {
	return &cappedBody{rc: rc, left: MaxBody}
}

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.rc.Read(one[:])
		if n > 0 {
			return 0, bodyTooLarge{}
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }

// recordKey is the context key under which a GET carries its wireRecord.
type recordKey struct{}

// wireRecord is what the SDK's request actually did on the wire. The SDK
// hides status codes inside errors that errors.As cannot reach, so sdkDoer
// writes them here.
type wireRecord struct {
	status    int
	tokenSent bool
}

// tokenReplay is the outcome of the one token PUT Fetch sent itself. The
// SDK's own token fetch is answered from it, so a PUT goes over the wire
// exactly once and a silent PUT costs one timeout, not one per GET.
type tokenReplay struct {
	status int    // HTTP status of the PUT; 0 when it got no answer
	token  string // the token, when status is 200 and one came back
	ttl    string // the TTL header the PUT's answer carried
	err    error  // why no usable token came back
}

// sdkDoer is the HTTPClient handed to the SDK's imds.Client. It answers the
// token PUT from tokenReplay, records the raw status of every other request
// in the request context's wireRecord, and caps every body.
type sdkDoer struct {
	hc     *http.Client
	replay tokenReplay
}

func (d *sdkDoer) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && req.URL.Path == tokenPath {
		return d.replayToken(req)
	}
	resp, err := d.hc.Do(req)
	if rec, ok := req.Context().Value(recordKey{}).(*wireRecord); ok {
		rec.tokenSent = req.Header.Get(tokenHeader) != ""
		if resp != nil {
			rec.status = resp.StatusCode
		}
	}
	if resp != nil {
		resp.Body = newCappedBody(resp.Body)
	}
	return resp, err
}

// replayToken answers the SDK's token PUT with the recorded outcome. A PUT
// that got an HTTP status is replayed with that status (the SDK falls back to
// IMDSv1 on 403, 404 and 405); a PUT with no usable answer is replayed as a
// send error, on which the SDK also falls back to tokenless GETs.
func (d *sdkDoer) replayToken(req *http.Request) (*http.Response, error) {
	r := d.replay
	if r.token == "" && (r.status == 0 || r.status == http.StatusOK) {
		err := r.err
		if err == nil {
			err = errors.New("no token")
		}
		return nil, fmt.Errorf("token PUT already failed: %w", err)
	}
	resp := &http.Response{
		Status:     fmt.Sprintf("%d %s", r.status, http.StatusText(r.status)),
		StatusCode: r.status,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{},
		Body:       io.NopCloser(strings.NewReader(r.token)),
		Request:    req,
	}
	if r.status == http.StatusOK {
		ttl := r.ttl
		if ttl == "" {
			ttl = fmt.Sprint(tokenTTLSeconds)
		}
		resp.Header.Set(tokenTTLHeader, ttl)
	}
	return resp, nil
}
