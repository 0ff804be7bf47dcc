// Package prefs reads the region's Session Manager preferences and checks
// the logging destinations they name, with three read-only, SigV4-signed
// API calls: ssm:GetDocument of SSM-SessionManagerRunShell, s3:HeadBucket
// of the S3 bucket, and logs:DescribeLogGroups of the log group.
//
// Every call is sent the way the SSM agent would send it: to an address the
// agent's resolver gave for the endpoint's name, through an injected dial
// function, TLS with SNI set to that name and verified against an injected
// CA pool, one attempt per stage under an explicit timeout, and a capped
// answer. The signing credentials live inside a Client only; no observation
// type of this package can hold them, and every text copied from an answer
// is scrubbed of them (AWS error messages may echo the canonical request,
// which holds the session token).
//
// API facts: SSM API reference "GetDocument" (JSON 1.1 protocol,
// X-Amz-Target AmazonSSM.GetDocument); S3 API reference "HeadBucket"
// (path-style HEAD /<bucket>, x-amz-content-sha256); CloudWatch Logs API
// reference "DescribeLogGroups" (X-Amz-Target Logs_20140328.DescribeLogGroups);
// AWS General Reference, "Signature Version 4 signing process".
package prefs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// DefaultTimeout bounds each stage of a call (connect, TLS handshake,
// request and answer) when Options.Timeout is zero: the probe's --timeout
// default, far above an in-VPC round trip.
const DefaultTimeout = 2 * time.Second

// MaxBody caps an answer body. A session preferences document is a few
// KiB (GetDocument allows 64 KiB of content, JSON-escaped in the answer);
// a DescribeLogGroups page of 50 groups is about 20 KiB.
const MaxBody = 256 << 10

// maxHeader caps the status line and headers of an answer.
const maxHeader = 32 << 10

// MaxAddrs is how many of an endpoint's addresses a call tries: the agent
// tries the first and falls back to the next; more would only multiply
// timeouts on a black-holed endpoint.
const MaxAddrs = 2

// The APIs, as recorded in Call.API.
const (
	APIGetDocument       = "ssm:GetDocument"
	APIHeadBucket        = "s3:HeadBucket"
	APIDescribeLogGroups = "logs:DescribeLogGroups"
)

// emptySHA256 is the hex SHA-256 of an empty payload (SigV4 payload hash of
// a request without a body).
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Fault is what an AWS error answer means for the probe. Diagnosis
// switches on it; it is decided here, next to the answer.
type Fault string

// The faults.
const (
	FaultNone        Fault = ""
	FaultClockSkew   Fault = "clock-skew"    // the signature was rejected for its time: the host clock is off
	FaultSignature   Fault = "signature"     // the signature does not match (a proxy rewrote the request, or a bug)
	FaultBadToken    Fault = "bad-token"     // the credentials are not recognised (expired or revoked session)
	FaultDenied      Fault = "access-denied" // the role may not make this call
	FaultThrottled   Fault = "throttled"
	FaultServerError Fault = "server-error" // a 5xx answer
)

// Call is one signed API call as the wire saw it. It never holds a
// credential: Message is scrubbed of them before it is stored.
type Call struct {
	API         string         `json:"api"`
	Host        string         `json:"host"`
	Addr        string         `json:"addr,omitempty"`  // the address that answered, or the last one tried
	Stage       string         `json:"stage,omitempty"` // tcp, tls or http: where the call failed; "" once an answer came
	Status      int            `json:"status,omitempty"`
	Class       errclass.Class `json:"class,omitempty"`
	Detail      string         `json:"detail,omitempty"`
	ErrorType   string         `json:"error_type,omitempty"` // AWS error code, e.g. AccessDeniedException
	Message     string         `json:"message,omitempty"`    // AWS error message (scrubbed, clipped)
	Fault       Fault          `json:"fault,omitempty"`
	RequestID   string         `json:"request_id,omitempty"`
	Date        string         `json:"date,omitempty"`         // the answer's Date header
	SkewSeconds *int64         `json:"skew_seconds,omitempty"` // local clock minus Date
	Attempts    []string       `json:"attempts,omitempty"`     // earlier addresses that gave no answer, and why
	Proxy       string         `json:"proxy,omitempty"`        // the agent's proxy the call went through (CONNECT), redacted: scheme://host:port
	DurationMS  int64          `json:"duration_ms"`
}

// Answered reports whether the call got an HTTP answer.
func (c *Call) Answered() bool { return c != nil && c.Stage == "" && c.Status != 0 }

// OK reports whether the call got a 2xx answer.
func (c *Call) OK() bool { return c.Answered() && c.Status/100 == 2 }

// Summary describes the call in one line for evidence.
func (c *Call) Summary() string {
	if c == nil {
		return "not made"
	}
	at := c.Host
	if c.Addr != "" {
		at += " (" + c.Addr + ")"
	}
	if c.Proxy != "" {
		at += " through the agent's proxy " + c.Proxy
	}
	if !c.Answered() {
		return fmt.Sprintf("%s to %s: %s %s: %s", c.API, at, strings.ToUpper(c.Stage), c.Class, c.Detail)
	}
	s := fmt.Sprintf("%s to %s answered HTTP %d", c.API, at, c.Status)
	if c.ErrorType != "" {
		s += " " + c.ErrorType
	}
	if c.Message != "" {
		s += ": " + firstLine(c.Message)
	}
	return s
}

// Target is an endpoint name and the addresses the agent's resolver gave
// for it, in the agent's order.
type Target struct {
	Host  string
	Addrs []netip.Addr
	// Class and Detail say why resolving Host gave no address (the agent's
	// resolver answered SERVFAIL, say); empty when that is not known.
	Class  errclass.Class
	Detail string
}

// Options configures a Client.
type Options struct {
	Region  string                                                            // signing region
	Port    int                                                               // endpoint port (443)
	Dial    func(ctx context.Context, network, addr string) (net.Conn, error) // required
	RootCAs *x509.CertPool                                                    // nil: the system roots
	Timeout time.Duration                                                     // one stage; 0: DefaultTimeout
	Now     func() time.Time                                                  // signing time and skew; nil: time.Now
	// Proxy, when set, is the agent's HTTPS proxy: a call to a host it
	// covers goes through a CONNECT tunnel to host:Port, as the agent's own
	// calls do, and not to the host's addresses. nil: every call is direct.
	Proxy Proxy
}

// Proxy is the agent's HTTPS proxy, as the signed calls use it.
type Proxy interface {
	// Via returns the proxy (redacted, scheme://host:port) that calls to
	// host go through, or "" when they go direct (no_proxy covers host).
	Via(host string) string
	// Tunnel opens a tunnel to target (host:port) through the proxy. A
	// returned error may carry its class with a Class() errclass.Class
	// method.
	Tunnel(ctx context.Context, target string) (net.Conn, error)
}

// Client makes the three calls with one set of credentials. Its String and
// GoString never show the credentials, so logging a Client is safe.
type Client struct {
	opt   Options
	creds *secretCreds // a pointer: fmt prints a nested pointer as an address, never its fields
}

// New returns a Client that signs with creds. The credentials stay inside
// the Client.
func New(opt Options, creds aws.Credentials) *Client {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Port == 0 {
		opt.Port = 443
	}
	return &Client{opt: opt, creds: &secretCreds{v: creds}}
}

// String describes the client without its credentials.
func (c Client) String() string {
	return fmt.Sprintf("prefs.Client{region %s, port %d, credentials %s}", c.opt.Region, c.opt.Port, c.creds)
}

// GoString is String, for %#v.
func (c Client) GoString() string { return c.String() }

// secretCreds wraps the credentials so that no fmt verb and no JSON
// encoder can print them, even when reached directly.
type secretCreds struct{ v aws.Credentials }

func (secretCreds) String() string               { return "[redacted]" }
func (secretCreds) GoString() string             { return "[redacted]" }
func (secretCreds) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }
func (s secretCreds) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }
func (c *Client) scrub(s string) string          { return scrub(s, c.creds.v) }

// scrub replaces every credential in s, so that no answer can carry one
// into an observation.
func scrub(s string, cr aws.Credentials) string {
	for _, secret := range []string{cr.SessionToken, cr.SecretAccessKey, cr.AccessKeyID} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// DocumentResult is the outcome of GetDocument.
type DocumentResult struct {
	Call     *Call     `json:"call"`
	Missing  bool      `json:"missing,omitempty"` // InvalidDocument: no preferences, so the defaults (no logging)
	Document *Document `json:"document,omitempty"`
	Problem  string    `json:"problem,omitempty"` // the answer came but could not be read
}

// GetDocument reads the preferences document through t.
func (c *Client) GetDocument(ctx context.Context, t Target) *DocumentResult {
	body, _ := json.Marshal(map[string]string{"Name": DocumentName, "DocumentFormat": "JSON"})
	call, answer := c.do(ctx, t, APIGetDocument, "ssm", func(host string) *http.Request {
		return jsonRequest(host, "AmazonSSM.GetDocument", body)
	})
	r := &DocumentResult{Call: call}
	switch {
	case !call.Answered():
	case call.Status == http.StatusOK:
		d, err := ParseDocument(answer)
		if err != nil {
			r.Problem = c.scrub(err.Error())
		}
		if d.Name != "" || d.Prefs != nil {
			r.Document = &d
		}
	case call.ErrorType == "InvalidDocument":
		// SSM answers InvalidDocument for a name that does not exist:
		// nobody saved preferences, so sessions use the defaults.
		r.Missing = true
	}
	return r
}

// BucketState is what HeadBucket says about a bucket.
type BucketState string

// The bucket states.
const (
	BucketExists      BucketState = "exists"
	BucketMissing     BucketState = "missing"      // 404 / NoSuchBucket: deleted, or never created
	BucketForbidden   BucketState = "forbidden"    // 403: exists or not, the role may not look (inconclusive)
	BucketOtherRegion BucketState = "other-region" // 301: the bucket lives in another region
	BucketUnknown     BucketState = "unknown"      // no usable answer
)

// BucketResult is the outcome of HeadBucket.
type BucketResult struct {
	Bucket string      `json:"bucket"`
	State  BucketState `json:"state"`
	Region string      `json:"region,omitempty"` // x-amz-bucket-region
	Call   *Call       `json:"call"`
}

// HeadBucket asks whether bucket exists, path-style through t.
func (c *Client) HeadBucket(ctx context.Context, t Target, bucket string) *BucketResult {
	r := &BucketResult{Bucket: clip(bucket), State: BucketUnknown}
	if !validBucket(bucket) {
		r.Call = &Call{API: APIHeadBucket, Host: t.Host, Stage: "request", Class: errclass.Malformed,
			Detail: fmt.Sprintf("%q is not a valid S3 bucket name", clip(bucket))}
		return r
	}
	var region string
	call, _ := c.doHeader(ctx, t, APIHeadBucket, "s3", func(host string) *http.Request {
		req, _ := http.NewRequest(http.MethodHead, "https://"+host+"/"+bucket, nil)
		req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
		return req
	}, func(h http.Header) { region = h.Get("X-Amz-Bucket-Region") })
	r.Call, r.Region = call, clip(region)
	switch {
	case !call.Answered():
	case call.Status == http.StatusOK:
		r.State = BucketExists
	case call.Status == http.StatusNotFound || call.ErrorType == "NoSuchBucket":
		r.State = BucketMissing
	case call.Status == http.StatusMovedPermanently || call.ErrorType == "PermanentRedirect":
		r.State = BucketOtherRegion
	case call.Status == http.StatusForbidden && call.Fault == FaultNone || call.Fault == FaultDenied:
		r.State = BucketForbidden
	}
	return r
}

// validBucket applies the S3 bucket naming rules (3 to 63 characters of
// lower-case letters, digits, dots and hyphens), which also keeps the name
// safe to put in a request path.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for _, r := range b {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// LogGroupState is what DescribeLogGroups says about a log group.
type LogGroupState string

// The log group states.
const (
	LogGroupExists  LogGroupState = "exists"
	LogGroupMissing LogGroupState = "missing" // not among the groups with its name as prefix: deleted
	LogGroupDenied  LogGroupState = "denied"  // the role may not describe log groups (inconclusive)
	LogGroupUnknown LogGroupState = "unknown" // no usable answer
)

// LogGroupResult is the outcome of DescribeLogGroups.
type LogGroupResult struct {
	LogGroup  string        `json:"log_group"`
	State     LogGroupState `json:"state"`
	Encrypted bool          `json:"encrypted,omitempty"` // the group has a KMS key
	Problem   string        `json:"problem,omitempty"`
	Call      *Call         `json:"call"`
}

// LogGroup asks whether the log group name exists, through t.
func (c *Client) LogGroup(ctx context.Context, t Target, name string) *LogGroupResult {
	r := &LogGroupResult{LogGroup: clip(name), State: LogGroupUnknown}
	body, _ := json.Marshal(map[string]string{"logGroupNamePrefix": name})
	call, answer := c.do(ctx, t, APIDescribeLogGroups, "logs", func(host string) *http.Request {
		return jsonRequest(host, "Logs_20140328.DescribeLogGroups", body)
	})
	r.Call = call
	switch {
	case !call.Answered():
	case call.Status == http.StatusOK:
		m, err := ParseLogGroups(answer, name)
		if err != nil {
			r.Problem = c.scrub(err.Error())
			break
		}
		r.State, r.Encrypted = LogGroupMissing, m.Encrypted
		if m.Found {
			r.State = LogGroupExists
		}
	case call.Fault == FaultDenied:
		r.State = LogGroupDenied
	}
	return r
}

// jsonRequest builds an AWS JSON 1.1 protocol POST.
func jsonRequest(host, target string, body []byte) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, "https://"+host+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	return req
}

// do makes one call and returns its record and its capped answer body.
func (c *Client) do(ctx context.Context, t Target, api, service string, build func(host string) *http.Request) (*Call, []byte) {
	return c.doHeader(ctx, t, api, service, build, nil)
}

// doHeader tries t's addresses in order (at most MaxAddrs) until one gives
// an HTTP answer; header, when set, sees that answer's headers.
func (c *Client) doHeader(ctx context.Context, t Target, api, service string, build func(host string) *http.Request,
	header func(http.Header)) (*Call, []byte) {
	call := &Call{API: api, Host: t.Host}
	if c.opt.Proxy != nil {
		if via := c.opt.Proxy.Via(t.Host); via != "" {
			// The proxy resolves the name: the host's own answers do not matter.
			cl, body, hdr := c.once(ctx, t.Host, netip.Addr{}, via, service, build(t.Host))
			cl.API = api
			if header != nil && hdr != nil {
				header(hdr)
			}
			return cl, body
		}
	}
	if len(t.Addrs) == 0 {
		call.Stage, call.Class, call.Detail = "dns", errclass.NoData, "no address for "+t.Host
		if t.Class != errclass.None {
			call.Class, call.Detail = t.Class, "no address for "+t.Host+": "+t.Detail
		}
		return call, nil
	}
	addrs := t.Addrs
	if len(addrs) > MaxAddrs {
		addrs = addrs[:MaxAddrs]
	}
	var attempts []string
	for _, a := range addrs {
		cl, body, hdr := c.once(ctx, t.Host, a, "", service, build(t.Host))
		cl.API = api
		if cl.Answered() || ctx.Err() != nil || a == addrs[len(addrs)-1] {
			cl.Attempts = attempts
			if header != nil && hdr != nil {
				header(hdr)
			}
			return cl, body
		}
		attempts = append(attempts, fmt.Sprintf("%s: %s %s", cl.Addr, strings.ToUpper(cl.Stage), cl.Class))
	}
	return call, nil // not reached: the loop returns on the last address
}

// once makes the call over one address, or through the proxy via when it
// is set: TCP (or the proxy's tunnel), TLS, signed request, answer.
func (c *Client) once(ctx context.Context, host string, addr netip.Addr, via, service string, req *http.Request) (call *Call, body []byte, hdr http.Header) {
	o := c.opt
	hostport := net.JoinHostPort(addr.String(), strconv.Itoa(o.Port))
	call = &Call{Host: host, Addr: hostport}
	if via != "" {
		call.Addr, call.Proxy = "", via
	}
	t0 := time.Now()
	defer func() { call.DurationMS = time.Since(t0).Milliseconds() }()
	fail := func(stage string, err error, fallback errclass.Class) {
		call.Stage, call.Class, call.Detail = stage, errclass.Of(err), clip(c.scrub(err.Error()))
		if call.Class == errclass.Other && fallback != "" {
			call.Class = fallback
		}
		if call.Class == errclass.Other && ctx.Err() != nil {
			call.Class = errclass.Timeout
		}
	}

	dctx, cancel := context.WithTimeout(ctx, o.Timeout)
	var conn net.Conn
	var err error
	if via != "" {
		conn, err = o.Proxy.Tunnel(dctx, net.JoinHostPort(host, strconv.Itoa(o.Port)))
	} else {
		conn, err = o.Dial(dctx, "tcp", hostport)
	}
	cancel()
	if err != nil {
		stage := "tcp"
		if via != "" {
			stage = "proxy"
		}
		fail(stage, err, "")
		var ce interface{ Class() errclass.Class }
		if errors.As(err, &ce) && ce.Class() != "" {
			call.Class = ce.Class()
		}
		return call, nil, nil
	}
	defer conn.Close()

	tc := tls.Client(conn, &tls.Config{ServerName: host, RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12, Time: o.Now})
	hctx, cancel := context.WithTimeout(ctx, o.Timeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		fail("tls", err, errclass.TLSFailed)
		return call, nil, nil
	}

	// Socket deadlines are real time; o.Now only signs and measures skew.
	deadline := time.Now().Add(o.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = tc.SetDeadline(deadline)
	if err := c.sign(ctx, req, service); err != nil {
		fail("sign", err, errclass.Other)
		return call, nil, nil
	}
	req.Header.Set("User-Agent", "ssm-probe")
	req.Close = true
	if err := req.Write(tc); err != nil {
		fail("http", err, "")
		return call, nil, nil
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.LimitReader(tc, maxHeader+MaxBody+1)), req)
	if err != nil {
		fail("http", err, errclass.Malformed)
		return call, nil, nil
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	switch {
	case err != nil:
		fail("http", err, errclass.Malformed)
		return call, nil, nil
	case len(body) > MaxBody:
		call.Stage, call.Class, call.Detail = "http", errclass.Malformed, fmt.Sprintf("the answer exceeds the %d KiB cap", MaxBody>>10)
		return call, nil, nil
	}
	call.Status = resp.StatusCode
	call.RequestID = clip(firstNonEmpty(resp.Header.Get("X-Amzn-Requestid"), resp.Header.Get("X-Amz-Request-Id")))
	call.Date = clip(resp.Header.Get("Date"))
	if dt, err := http.ParseTime(call.Date); err == nil {
		skew := int64(o.Now().Sub(dt) / time.Second)
		call.SkewSeconds = &skew
	}
	if resp.StatusCode/100 != 2 {
		e := parseAWSError(body, resp.Header.Get("X-Amzn-ErrorType"))
		if e.Type == "" && req.Method == http.MethodHead {
			e.Type = clip(resp.Header.Get("X-Amz-Error-Code")) // HEAD answers carry no body
		}
		call.ErrorType, call.Message = e.Type, clip(c.scrub(e.Message))
		call.Class = errclass.HTTPStatus
		call.Fault = faultOf(resp.StatusCode, e)
	}
	return call, body, resp.Header
}

// sign adds the SigV4 headers (X-Amz-Date, X-Amz-Security-Token,
// Authorization) for service in the client's region.
func (c *Client) sign(ctx context.Context, req *http.Request, service string) error {
	hash := emptySHA256
	if req.Body != nil && req.GetBody != nil {
		rc, err := req.GetBody()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(rc, MaxBody))
		rc.Close()
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		hash = hex.EncodeToString(sum[:])
	}
	err := v4.NewSigner().SignHTTP(ctx, c.creds.v, req, hash, service, c.opt.Region, c.opt.Now())
	if err != nil {
		return errors.New(c.scrub(err.Error()))
	}
	return nil
}

// faultOf classifies an error answer by its AWS error code (SSM, S3 and
// CloudWatch Logs API references, "Common Errors"). A rejected signature
// whose message says it expired, or S3's RequestTimeTooSkewed, is clock skew.
func faultOf(status int, e awsError) Fault {
	switch e.Type {
	case "RequestTimeTooSkewed", "RequestExpired", "SignatureExpired":
		return FaultClockSkew
	case "InvalidSignatureException", "SignatureDoesNotMatch":
		if strings.Contains(e.Message, "Signature expired") || strings.Contains(e.Message, "Signature not yet current") {
			return FaultClockSkew
		}
		return FaultSignature
	case "UnrecognizedClientException", "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException",
		"InvalidAccessKeyId", "InvalidToken":
		return FaultBadToken
	case "AccessDeniedException", "AccessDenied", "NotAuthorized":
		return FaultDenied
	case "ThrottlingException", "SlowDown", "TooManyRequestsException":
		return FaultThrottled
	}
	if status >= 500 {
		return FaultServerError
	}
	return FaultNone
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
