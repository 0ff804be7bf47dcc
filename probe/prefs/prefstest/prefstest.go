// Package prefstest is a loopback fake of the three AWS APIs the probe's
// preferences check calls: ssm:GetDocument, s3:HeadBucket and
// logs:DescribeLogGroups. It answers in the real response shapes (AWS JSON
// 1.1 for ssm and logs, S3's bodiless HEAD answers) and checks every signed
// request's SigV4 signature with its own implementation of the signing
// process (AWS General Reference, "Create a signed AWS API request"),
// against the fake IMDS's credentials by default: a request signed with
// anything else is rejected as AWS would reject it. It also answers the
// probe's unsigned reachability POSTs, and records every request so that a
// test can assert whether any signed request was sent.
package prefstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/nettest"
)

// maxRequestBody caps what the fake reads of a request body.
const maxRequestBody = 1 << 20

// MaxSkew is how far a request's X-Amz-Date may be from the fake's clock
// before the signature is rejected as expired: 5 minutes, as in AWS.
const MaxSkew = 5 * time.Minute

// amzDate is the layout of X-Amz-Date.
const amzDate = "20060102T150405Z"

// Account is the fake's account ID.
const Account = "123456789012"

// Config is what the fake serves. Zero credential fields mean the fake
// IMDS's (imdstest.Fake*).
type Config struct {
	Region          string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Role            string            // the role named in AccessDenied messages; "" means imdstest's default
	Document        string            // the Content of SSM-SessionManagerRunShell; "" means it does not exist
	DenyGetDocument bool              // GetDocument answers AccessDeniedException
	DenyClause      string            // that answer's denial clause; "" means no identity-based policy allows it
	Buckets         map[string]string // bucket name -> its region; an absent bucket answers 404
	BucketStatus    int               // when set, every signed HeadBucket answers this status (e.g. 403)
	LogGroups       []string          // existing log groups; EncryptedGroups have a KMS key
	EncryptedGroups []string
	DenyLogs        bool             // DescribeLogGroups answers AccessDeniedException
	ClockOffset     time.Duration    // the fake's clock minus Now: models a host clock that is off
	Now             func() time.Time // nil means time.Now
	// RecordLimit, when above zero, caps how many requests the fake
	// records (Requests, Signed, Valid see the first RecordLimit only), so
	// that a long-running fake's memory stays bounded; 0 records them all.
	RecordLimit int
}

// Request is one request the fake received.
type Request struct {
	Host    string `json:"host"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	Target  string `json:"target,omitempty"` // X-Amz-Target
	Signed  bool   `json:"signed"`           // it carried a SigV4 Authorization header
	Valid   bool   `json:"valid"`            // the signature verified with the fake's credentials
	Problem string `json:"problem,omitempty"`
}

// Server is the fake. It is an http.Handler; Start serves it over TLS.
type Server struct {
	cfg  Config
	mu   sync.Mutex
	reqs []Request
}

// New returns the fake for cfg.
func New(cfg Config) *Server {
	if cfg.AccessKeyID == "" {
		cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken = imdstest.FakeAccessKeyID, imdstest.FakeSecretAccessKey, imdstest.FakeToken
	}
	if cfg.Role == "" {
		cfg.Role = imdstest.DefaultConfig(imdstest.V2Required).Role
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{cfg: cfg}
}

// NewServer returns the fake for cfg after checking cfg with Validate. It is
// the constructor for programs that serve the fake outside a test (the
// lab's endpoint servers); New stays the constructor tests use.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return New(cfg), nil
}

// Validate reports what in cfg would make the fake answer every request
// wrongly: no region (every signature's scope would be rejected), half a
// key pair, a Document that is not JSON, an HTTP status HeadBucket cannot
// answer, a bucket that is not a valid S3 bucket name, or a negative
// RecordLimit.
func (c Config) Validate() error {
	if c.Region == "" {
		return fmt.Errorf("prefstest: no region")
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		return fmt.Errorf("prefstest: AccessKeyID and SecretAccessKey must be set together")
	}
	if c.Document != "" && !json.Valid([]byte(c.Document)) {
		return fmt.Errorf("prefstest: the document is not JSON")
	}
	if c.BucketStatus != 0 && (c.BucketStatus < 100 || c.BucketStatus > 599) {
		return fmt.Errorf("prefstest: bucket status %d is not an HTTP status", c.BucketStatus)
	}
	for b := range c.Buckets {
		if !ValidBucketName(b) {
			return fmt.Errorf("prefstest: %q is not a valid S3 bucket name", b)
		}
	}
	if c.RecordLimit < 0 {
		return fmt.Errorf("prefstest: record limit %d is negative", c.RecordLimit)
	}
	return nil
}

// ValidBucketName reports whether name follows the S3 general purpose
// bucket naming rules the fake relies on (Amazon S3 User Guide, "Bucket
// naming rules"): 3 to 63 characters of lower-case letters, digits, dots
// and hyphens, beginning and ending with a letter or digit, with no two
// adjacent dots. The path-style HeadBucket puts the name in the URL path,
// so anything else would not even reach the fake as one bucket.
func ValidBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 || strings.Contains(name, "..") {
		return false
	}
	for i, r := range name {
		alnum := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if !alnum && (i == 0 || i == len(name)-1 || r != '.' && r != '-') {
			return false
		}
	}
	return true
}

// Hosts returns the six endpoint names of region, for a certificate.
func Hosts(region string) []string {
	var out []string
	for _, s := range []string{"ssm", "ssmmessages", "ec2messages", "s3", "logs", "kms"} {
		out = append(out, s+"."+region+".amazonaws.com")
	}
	return out
}

// Start serves s over TLS on every address in ips at one loopback port,
// with a certificate from ca for every endpoint name of the region, and
// returns the port. Everything is closed when the test ends.
func Start(t testing.TB, s *Server, ips []netip.Addr, ca *nettest.CA) int {
	t.Helper()
	for _, ip := range ips {
		if !ip.IsLoopback() {
			t.Fatalf("prefstest: %s is not loopback", ip)
		}
	}
	return nettest.ServeTLS(t, ips, ca.Leaf(t, Hosts(s.cfg.Region)...), s)
}

// Requests returns a copy of every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Signed counts the signed requests received so far.
func (s *Server) Signed() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Signed {
			n++
		}
	}
	return n
}

// Valid counts the requests whose signature verified.
func (s *Server) Valid() int {
	n := 0
	for _, r := range s.Requests() {
		if r.Valid {
			n++
		}
	}
	return n
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	if s.cfg.RecordLimit <= 0 || len(s.reqs) < s.cfg.RecordLimit {
		s.reqs = append(s.reqs, r)
	}
	s.mu.Unlock()
}

func (s *Server) now() time.Time { return s.cfg.Now().Add(s.cfg.ClockOffset) }

// ServeHTTP routes by the Host header, as AWS's front ends do.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	w.Header().Set("X-Amzn-RequestId", fmt.Sprintf("fake-%d", s.now().UnixNano()))
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	service, _, _ := strings.Cut(r.Host, ".")
	rec := Request{Host: r.Host, Method: r.Method, Path: r.URL.Path, Target: r.Header.Get("X-Amz-Target"),
		Signed: strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")}
	defer func() { s.record(rec) }()

	if !rec.Signed {
		rec.Problem = "unsigned"
		if service == "s3" {
			s3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied", r.Method)
			return
		}
		jsonError(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return
	}
	if code, msg := s.verify(r, body, service); code != "" {
		rec.Problem = code
		if service == "s3" {
			status := http.StatusForbidden
			s3Error(w, status, code, msg, r.Method)
			return
		}
		jsonError(w, http.StatusBadRequest, code, msg)
		return
	}
	rec.Valid = true
	switch service {
	case "ssm":
		s.ssm(w, rec.Target, body)
	case "s3":
		s.s3(w, r)
	case "logs":
		s.logs(w, rec.Target, body)
	default:
		jsonError(w, http.StatusBadRequest, "UnknownOperationException", "")
	}
}

// ssm answers GetDocument.
func (s *Server) ssm(w http.ResponseWriter, target string, body []byte) {
	if target != "AmazonSSM.GetDocument" {
		jsonError(w, http.StatusBadRequest, "UnknownOperationException", "")
		return
	}
	var in struct{ Name, DocumentFormat string }
	if err := json.Unmarshal(body, &in); err != nil || in.Name == "" {
		jsonError(w, http.StatusBadRequest, "ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
		return
	}
	if s.cfg.DenyGetDocument {
		clause := s.cfg.DenyClause
		if clause == "" {
			clause = "because no identity-based policy allows the ssm:GetDocument action"
		}
		jsonError(w, http.StatusBadRequest, "AccessDeniedException", fmt.Sprintf(
			"User: arn:aws:sts::%s:assumed-role/%s/i-0fake0123456789ab is not authorized to perform: ssm:GetDocument on resource: arn:aws:ssm:%s:%s:document/%s %s",
			Account, s.cfg.Role, s.cfg.Region, Account, in.Name, clause))
		return
	}
	if in.Name != "SSM-SessionManagerRunShell" || s.cfg.Document == "" {
		jsonError(w, http.StatusBadRequest, "InvalidDocument", "Document with name "+in.Name+" does not exist.")
		return
	}
	if in.DocumentFormat != "" && in.DocumentFormat != "JSON" {
		jsonError(w, http.StatusBadRequest, "InvalidDocumentOperation", "the fake serves JSON only")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"Content":         s.cfg.Document,
		"CreatedDate":     float64(s.now().Add(-30*24*time.Hour).Unix()) + 0.123,
		"DocumentFormat":  "JSON",
		"DocumentType":    "Session",
		"DocumentVersion": "3",
		"Name":            in.Name,
		"Status":          "Active",
	})
}

// s3 answers HeadBucket (HEAD /<bucket>, path style).
func (s *Server) s3(w http.ResponseWriter, r *http.Request) {
	bucket := strings.TrimPrefix(r.URL.Path, "/")
	if r.Method != http.MethodHead || bucket == "" || strings.Contains(bucket, "/") {
		s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.", r.Method)
		return
	}
	if s.cfg.BucketStatus != 0 {
		w.WriteHeader(s.cfg.BucketStatus)
		return
	}
	region, ok := s.cfg.Buckets[bucket]
	switch {
	case !ok:
		w.WriteHeader(http.StatusNotFound)
	case region != s.cfg.Region:
		w.Header().Set("X-Amz-Bucket-Region", region)
		w.WriteHeader(http.StatusMovedPermanently)
	default:
		w.Header().Set("X-Amz-Bucket-Region", region)
		w.Header().Set("X-Amz-Access-Point-Alias", "false")
		w.WriteHeader(http.StatusOK)
	}
}

// logs answers DescribeLogGroups with the groups whose names start with
// logGroupNamePrefix, in name order, at most 50 (the API's default limit).
func (s *Server) logs(w http.ResponseWriter, target string, body []byte) {
	if target != "Logs_20140328.DescribeLogGroups" {
		jsonError(w, http.StatusBadRequest, "UnknownOperationException", "")
		return
	}
	var in struct {
		Prefix string `json:"logGroupNamePrefix"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		jsonError(w, http.StatusBadRequest, "SerializationException", "")
		return
	}
	if s.cfg.DenyLogs {
		jsonError(w, http.StatusBadRequest, "AccessDeniedException", fmt.Sprintf(
			"User: arn:aws:sts::%s:assumed-role/%s/i-0fake0123456789ab is not authorized to perform: logs:DescribeLogGroups on resource: arn:aws:logs:%s:%s:log-group::log-stream: because no identity-based policy allows the logs:DescribeLogGroups action",
			Account, s.cfg.Role, s.cfg.Region, Account))
		return
	}
	names := append([]string(nil), s.cfg.LogGroups...)
	sort.Strings(names)
	groups := []map[string]any{}
	var next string
	for _, n := range names {
		if !strings.HasPrefix(n, in.Prefix) {
			continue
		}
		if len(groups) == 50 {
			next = "fake-next-token"
			break
		}
		arn := fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.cfg.Region, Account, n)
		g := map[string]any{"logGroupName": n, "creationTime": s.now().Add(-time.Hour).UnixMilli(),
			"metricFilterCount": 0, "arn": arn + ":*", "logGroupArn": arn, "storedBytes": 0,
			"logGroupClass": "STANDARD"}
		for _, e := range s.cfg.EncryptedGroups {
			if e == n {
				g["kmsKeyId"] = fmt.Sprintf("arn:aws:kms:%s:%s:key/00000000-fake-key0-0000-000000000000", s.cfg.Region, Account)
			}
		}
		groups = append(groups, g)
	}
	out := map[string]any{"logGroups": groups}
	if next != "" {
		out["nextToken"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

// verify checks a request's SigV4 signature and returns the AWS error code
// and message it deserves, or "" when it verifies.
func (s *Server) verify(r *http.Request, body []byte, service string) (string, string) {
	c := s.cfg
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return "IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters."
	}
	if scope[0] != c.AccessKeyID || r.Header.Get("X-Amz-Security-Token") != c.SessionToken {
		if service == "s3" {
			return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
		}
		return "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	when, err := time.Parse(amzDate, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "IncompleteSignatureException", "Date must be in ISO-8601 'basic format'."
	}
	now := s.now().UTC()
	if when.Before(now.Add(-MaxSkew)) {
		if service == "s3" {
			return "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
		}
		return "InvalidSignatureException", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			when.Format(amzDate), now.Add(-MaxSkew).Format(amzDate), now.Format(amzDate))
	}
	if when.After(now.Add(MaxSkew)) {
		if service == "s3" {
			return "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
		}
		return "InvalidSignatureException", fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 5 min.)",
			when.Format(amzDate), now.Add(MaxSkew).Format(amzDate), now.Format(amzDate))
	}
	if scope[1] != when.Format("20060102") {
		return "InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP."
	}
	if scope[2] != c.Region {
		return "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", scope[2])
	}
	if scope[3] != service {
		return "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to correct service: '%s'.", service)
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !contains(signed, "host") || !contains(signed, "x-amz-date") {
		return "InvalidSignatureException", "'Host' and 'X-Amz-Date' must be signed."
	}
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if service == "s3" {
		h := r.Header.Get("X-Amz-Content-Sha256")
		if h != payload && h != "UNSIGNED-PAYLOAD" {
			return "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."
		}
		payload = h
	}
	canonical := strings.Join([]string{r.Method, canonicalPath(r.URL), canonicalQuery(r.URL),
		canonicalHeaders(r, signed), fields["SignedHeaders"], payload}, "\n")
	credScope := strings.Join(scope[1:], "/")
	h := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + credScope + "\n" + hex.EncodeToString(h[:])
	key := hmacSHA256([]byte("AWS4"+c.SecretAccessKey), scope[1])
	for _, p := range scope[2:] {
		key = hmacSHA256(key, p)
	}
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		// Like AWS, echo the canonical request: it holds the session token,
		// which is what makes this answer a redaction hazard for the probe.
		code := "InvalidSignatureException"
		if service == "s3" {
			code = "SignatureDoesNotMatch"
		}
		return code, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'" +
			canonical + "'\n\nThe String-to-Sign should have been\n'" + toSign + "'\n"
	}
	return "", ""
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalPath is the URI-encoded path ("/" when empty).
func canonicalPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// canonicalQuery sorts the query parameters and encodes them with %20 for
// spaces, as SigV4 requires.
func canonicalQuery(u *url.URL) string {
	q := u.Query()
	var parts []string
	for k, vs := range q {
		for _, v := range vs {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "&")
}

func awsEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// canonicalHeaders renders the signed headers: lower-case names, values
// trimmed with inner runs of spaces collapsed, each line ending in \n.
func canonicalHeaders(r *http.Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		var v string
		switch name {
		case "host":
			v = r.Host
		case "content-length":
			v = r.Header.Get("Content-Length")
			if v == "" {
				v = strconv.FormatInt(r.ContentLength, 10)
			}
		default:
			var vals []string
			for _, x := range r.Header.Values(name) {
				vals = append(vals, strings.Join(strings.Fields(x), " "))
			}
			v = strings.Join(vals, ",")
		}
		b.WriteString(name + ":" + v + "\n")
	}
	return b.String()
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// jsonError writes an AWS JSON 1.1 error answer.
func jsonError(w http.ResponseWriter, status int, code, msg string) {
	v := map[string]string{"__type": code}
	if msg != "" {
		v["message"] = msg
	}
	writeJSON(w, status, v)
}

// s3Error writes an S3 error: the XML body, except on HEAD, whose answers
// have no body.
func s3Error(w http.ResponseWriter, status int, code, msg, method string) {
	if method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message><RequestId>FAKE</RequestId></Error>", code, xmlEscape(msg))
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", "\"", "&quot;")
	return r.Replace(s)
}

// Document renders a preferences document's Content the way the console
// saves it, with inputs as given (AWS docs, "Session document schema").
func Document(inputs map[string]any) string {
	b, _ := json.MarshalIndent(map[string]any{
		"schemaVersion": "1.0",
		"description":   "Document to hold regional settings for Session Manager",
		"sessionType":   "Standard_Stream",
		"inputs":        inputs,
	}, "", "    ")
	return string(b)
}
