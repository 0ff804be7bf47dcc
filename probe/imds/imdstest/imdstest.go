// Package imdstest is a fake EC2 Instance Metadata Service for tests and the
// lab. It serves the paths the probe reads, in the modes the probe must tell
// apart: IMDSv2 required or optional, v1 only, disabled (403), a token PUT
// that is never answered (the hop-limit symptom), no instance profile, and
// credentials that failed or expired.
//
// The protocol follows the AWS documentation "Use the Instance Metadata
// Service to access instance metadata" (IMDSv2: PUT /latest/api/token with
// X-aws-ec2-metadata-token-ttl-seconds, then X-aws-ec2-metadata-token on
// GETs; 400 bad PUT, 401 bad or missing token, 403 IMDS disabled).
//
// The credentials document it serves carries recognisable fake secrets (the
// Fake* constants), so a redaction test can assert they reach no output.
package imdstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// The fake secrets served in the credentials document and as the IMDSv2
// token. None of them may ever appear in the probe's output or logs.
const (
	FakeAccessKeyID     = "ASIAFAKEDONOTPRINT7F3A"
	FakeSecretAccessKey = "FAKE-SECRET-do-not-print-7f3a9c1e5b"
	FakeToken           = "FAKE-SESSION-TOKEN-do-not-print-b41d06aa"
	FakeIMDSToken       = "FAKE-IMDS-TOKEN-do-not-print-2e8c51f0"
)

// Paths the fake serves. TokenPath is the IMDSv2 session token endpoint.
const (
	TokenPath    = "/latest/api/token"
	MetadataPath = "/latest/meta-data/"
	TokenHeader  = "X-aws-ec2-metadata-token"
	TTLHeader    = "X-aws-ec2-metadata-token-ttl-seconds"
)

// MaxTokenTTLSeconds is the largest TTL real IMDS accepts (6 hours); a PUT
// outside 1..MaxTokenTTLSeconds gets 400, as the AWS IMDSv2 docs describe.
const MaxTokenTTLSeconds = 21600

// HangLimit bounds how long a HangingPut request blocks when the client
// never goes away. It is far longer than any probe attempt (seconds), so the
// probe always sees a silent peer, yet no handler goroutine lives forever.
const HangLimit = 60 * time.Second

// HugeBodySize is the size of the instance-id body in HugeBody mode: far
// above the probe's body cap, to prove the cap holds.
const HugeBodySize = 4 << 20

// Mode selects how the fake behaves.
type Mode string

// The modes. The profile modes (NoProfile, CredsFailed, CredsExpired) and the
// hostile ones (RejectToken, HugeBody) otherwise behave like V2Required.
const (
	V2Required   Mode = "v2-required"   // PUT answers a token; tokenless GETs get 401
	V2Optional   Mode = "v2-optional"   // PUT answers a token; tokenless GETs answer too
	V1Only       Mode = "v1-only"       // PUT gets 404 (an old emulator); tokenless GETs answer
	Disabled403  Mode = "disabled-403"  // every request gets 403: the endpoint is turned off
	HangingPut   Mode = "hanging-put"   // PUT is accepted on TCP but never answered; tokenless GETs answer
	NoProfile    Mode = "no-profile"    // iam/info and iam/security-credentials/ are 404
	CredsFailed  Mode = "creds-failed"  // the credentials document has Code != Success
	CredsExpired Mode = "creds-expired" // the credentials document expired an hour ago
	RejectToken  Mode = "reject-token"  // PUT answers a token that every GET rejects with 401
	HugeBody     Mode = "huge-body"     // instance-id answers HugeBodySize bytes
	// StalledBody answers the token, then every metadata GET with 200 and
	// its headers but never its body, until the client leaves or
	// HangLimit. It is left out of AllModes: each GET waits out the
	// client's timeout.
	StalledBody Mode = "stalled-body"
)

// AllModes lists every mode, for table tests.
func AllModes() []Mode {
	return []Mode{V2Required, V2Optional, V1Only, Disabled403, HangingPut,
		NoProfile, CredsFailed, CredsExpired, RejectToken, HugeBody}
}

// Config is what the fake serves. DefaultConfig fills it with plausible
// values; tests change single fields.
type Config struct {
	Mode       Mode
	Region     string           // placement/region
	AZ         string           // placement/availability-zone
	InstanceID string           // instance-id
	Domain     string           // services/domain
	MAC        string           // mac, and the key under network/interfaces/macs/
	VPCCIDRs   []string         // vpc-ipv4-cidr-blocks; the first is also vpc-ipv4-cidr-block
	SubnetCIDR string           // subnet-ipv4-cidr-block
	VPCID      string           // vpc-id
	SubnetID   string           // subnet-id
	IPv6s      []string         // ipv6s; empty means the path is 404, as on an IPv4-only interface
	ProfileARN string           // iam/info InstanceProfileArn
	ProfileID  string           // iam/info InstanceProfileId
	Role       string           // the role listed under iam/security-credentials/
	CredCode   string           // credentials Code; empty means "Success" (CredsFailed forces a failure code)
	Expiration time.Time        // credentials Expiration; zero means Now+6h (CredsExpired: Now-1h)
	Now        func() time.Time // clock for LastUpdated and the default Expiration; nil means time.Now
}

// DefaultConfig returns a Config for mode with recognisable fake values.
func DefaultConfig(mode Mode) Config {
	return Config{
		Mode:       mode,
		Region:     "ap-northeast-1",
		AZ:         "ap-northeast-1a",
		InstanceID: "i-0fake0123456789ab",
		Domain:     "amazonaws.com",
		MAC:        "0e:fa:ce:00:00:01",
		VPCCIDRs:   []string{"10.0.0.0/16", "100.64.0.0/16"},
		SubnetCIDR: "10.0.5.0/24",
		VPCID:      "vpc-0fake0123456789ab",
		SubnetID:   "subnet-0fake0123456789ab",
		ProfileARN: "arn:aws:iam::123456789012:instance-profile/ssm-probe-fake",
		ProfileID:  "AIPAFAKEPROFILEID0001",
		Role:       "ssm-probe-fake-role",
	}
}

// New starts an httptest server on loopback that serves cfg. The caller
// closes it. A hanging PUT ends when the client closes its connection, so
// Close does not wait for HangLimit once the probe has given up.
func New(cfg Config) *httptest.Server {
	return httptest.NewServer(Handler(cfg))
}

// Handler returns the fake as an http.Handler, for httptest (New) or for a
// real listener such as 169.254.169.254:80 inside a lab network namespace.
func Handler(cfg Config) http.Handler {
	return &handler{cfg: cfg}
}

type handler struct {
	cfg Config
}

func (h *handler) now() time.Time {
	if h.cfg.Now != nil {
		return h.cfg.Now()
	}
	return time.Now()
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// IMDS is plain text for every path, JSON documents included.
	w.Header().Set("Content-Type", "text/plain")
	if h.cfg.Mode == Disabled403 {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	if r.URL.Path == TokenPath {
		h.serveToken(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if !h.authorised(r) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return
	}
	if !strings.HasPrefix(r.URL.Path, MetadataPath) {
		http.NotFound(w, r)
		return
	}
	body, ok := h.metadata(strings.TrimPrefix(r.URL.Path, MetadataPath))
	if !ok {
		http.NotFound(w, r)
		return
	}
	if h.cfg.Mode == StalledBody {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		waitForClient(r)
		return
	}
	_, _ = w.Write([]byte(body))
}

// waitForClient blocks until the client of r leaves, or HangLimit.
func waitForClient(r *http.Request) {
	t := time.NewTimer(HangLimit)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-t.C:
	}
}

// serveToken answers the IMDSv2 token PUT according to the mode.
func (h *handler) serveToken(w http.ResponseWriter, r *http.Request) {
	switch h.cfg.Mode {
	case V1Only:
		http.NotFound(w, r)
		return
	case HangingPut:
		// Accept the request and never answer, like a PUT whose reply dies
		// at hop limit 1.
		waitForClient(r)
		return
	}
	if r.Method != http.MethodPut {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get(TTLHeader))
	if err != nil || ttl < 1 || ttl > MaxTokenTTLSeconds {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	w.Header().Set(TTLHeader, strconv.Itoa(ttl))
	_, _ = w.Write([]byte(FakeIMDSToken))
}

// authorised applies the mode's token rule to a GET.
func (h *handler) authorised(r *http.Request) bool {
	tok, present := r.Header[http.CanonicalHeaderKey(TokenHeader)]
	switch h.cfg.Mode {
	case V2Optional, V1Only, HangingPut:
		// A token, when sent, must still be valid.
		return !present || (len(tok) == 1 && tok[0] == FakeIMDSToken)
	case RejectToken:
		return false
	}
	return present && len(tok) == 1 && tok[0] == FakeIMDSToken
}

// metadata returns the body for a path under /latest/meta-data/.
func (h *handler) metadata(p string) (string, bool) {
	c := h.cfg
	mac := "network/interfaces/macs/" + c.MAC + "/"
	profile := c.Mode != NoProfile && c.Role != ""
	switch p {
	case "":
		return "ami-id\nhostname\niam/\ninstance-id\nmac\nnetwork/\nplacement/\nservices/\n", true
	case "placement/region":
		return c.Region, true
	case "placement/availability-zone":
		return c.AZ, true
	case "instance-id":
		if c.Mode == HugeBody {
			return strings.Repeat("i", HugeBodySize), true
		}
		return c.InstanceID, true
	case "services/domain":
		return c.Domain, true
	case "mac":
		return c.MAC, true
	case mac + "vpc-ipv4-cidr-blocks":
		return strings.Join(c.VPCCIDRs, "\n"), true
	case mac + "vpc-ipv4-cidr-block":
		if len(c.VPCCIDRs) == 0 {
			return "", false
		}
		return c.VPCCIDRs[0], true
	case mac + "subnet-ipv4-cidr-block":
		return c.SubnetCIDR, true
	case mac + "vpc-id":
		return c.VPCID, true
	case mac + "subnet-id":
		return c.SubnetID, true
	case mac + "ipv6s":
		if len(c.IPv6s) == 0 {
			return "", false
		}
		return strings.Join(c.IPv6s, "\n"), true
	case "iam/info":
		if !profile {
			return "", false
		}
		return h.iamInfo(), true
	case "iam/security-credentials/":
		if !profile {
			return "", false
		}
		return c.Role, true
	case "iam/security-credentials/" + c.Role:
		if !profile {
			return "", false
		}
		return h.credentials(), true
	}
	return "", false
}

// imdsTime is the timestamp layout IMDS uses in its JSON documents.
const imdsTime = "2006-01-02T15:04:05Z"

func (h *handler) iamInfo() string {
	b, _ := json.MarshalIndent(map[string]string{
		"Code":               "Success",
		"LastUpdated":        h.now().UTC().Format(imdsTime),
		"InstanceProfileArn": h.cfg.ProfileARN,
		"InstanceProfileId":  h.cfg.ProfileID,
	}, "", "  ")
	return string(b)
}

// credentials renders the credentials document, fake secrets included, in
// the field order IMDS uses.
func (h *handler) credentials() string {
	now := h.now().UTC()
	code := h.cfg.CredCode
	if code == "" {
		code = "Success"
	}
	if h.cfg.Mode == CredsFailed && code == "Success" {
		code = "AssumeRoleUnauthorizedAccess"
	}
	exp := h.cfg.Expiration
	if exp.IsZero() {
		exp = now.Add(6 * time.Hour)
		if h.cfg.Mode == CredsExpired {
			exp = now.Add(-time.Hour)
		}
	}
	return fmt.Sprintf(`{
  "Code" : %q,
  "LastUpdated" : %q,
  "Type" : "AWS-HMAC",
  "AccessKeyId" : %q,
  "SecretAccessKey" : %q,
  "Token" : %q,
  "Expiration" : %q
}`, code, now.Add(-time.Hour).Format(imdsTime), FakeAccessKeyID, FakeSecretAccessKey,
		FakeToken, exp.UTC().Format(imdsTime))
}
