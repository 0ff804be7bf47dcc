package imds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkimds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// Metadata paths under /latest/meta-data/ (AWS docs, "Instance metadata
// categories"). The per-interface ones sit under network/interfaces/macs/<mac>/.
const (
	pathRegion     = "placement/region"
	pathAZ         = "placement/availability-zone"
	pathInstanceID = "instance-id"
	pathDomain     = "services/domain"
	pathMAC        = "mac"
	pathIAMInfo    = "iam/info"
	pathCredList   = "iam/security-credentials/"

	macVPCCIDRs   = "vpc-ipv4-cidr-blocks"
	macVPCCIDR    = "vpc-ipv4-cidr-block"
	macSubnetCIDR = "subnet-ipv4-cidr-block"
	macVPCID      = "vpc-id"
	macSubnetID   = "subnet-id"
	macIPv6s      = "ipv6s"
)

// maxDetail bounds an error detail copied into the observation.
const maxDetail = 300

// Fetch observes IMDS at opt.Endpoint. It never returns nil and never
// panics; every request is bounded by opt.Timeout and by ctx.
//
// It works in three rounds, each at most one attempt long:
//  1. The IMDSv2 token PUT and a tokenless GET of /latest/meta-data/, sent
//     together over plain net/http, so their raw outcomes (status, timeout,
//     whether TCP opened) are recorded. Fetch stops here when no TCP
//     connection opened (FailUnreachable) or neither request was answered
//     (FailNoAnswer); Profile then stays "unchecked".
//  2. Through the SDK's imds.Client (retries off, IMDSv1 fallback on, the
//     token PUT answered from round 1): region, availability zone, instance
//     id, services/domain, mac, iam/info and the role list.
//  3. The interface's VPC and subnet paths, and the role's credentials
//     document, of which only Code, Message, LastUpdated and Expiration are
//     kept.
//
// Failure and Access summarise the rounds; Fields holds each GET's outcome.
func Fetch(ctx context.Context, opt Options) (id *Identity) {
	start := time.Now()
	id = &Identity{
		Endpoint: opt.Endpoint,
		Access:   AccessNone,
		Profile:  Profile{State: ProfileUnchecked},
		Fields:   map[string]GetResult{},
	}
	defer func() {
		if r := recover(); r != nil {
			id.Class, id.Failure = errclass.Other, FailOther
			id.Detail = clipDetail(fmt.Sprintf("internal error: %v", r))
		}
		id.DurationMS = time.Since(start).Milliseconds()
	}()

	base, err := normaliseEndpoint(opt.Endpoint)
	if err != nil {
		id.Class, id.Failure, id.Detail = errclass.Other, FailOther, err.Error()
		return id
	}
	f := newFetcher(opt, base)
	defer f.close()

	f.round1(ctx, id)
	if !id.Reachable {
		id.Failure = FailUnreachable
		return id
	}
	if id.Token.Status == 0 && id.TokenlessGET.Status == 0 {
		// TCP opened but neither request got an answer: more GETs would
		// only wait out another attempt each.
		id.Failure = FailNoAnswer
		return id
	}
	f.rounds23(ctx, id)
	id.Access = accessOf(id)
	id.Failure = classify(id)
	return id
}

// normaliseEndpoint checks that endpoint is an http(s) URL with a host and
// no path, query or user info, and returns it without a trailing slash.
func normaliseEndpoint(endpoint string) (string, error) {
	if endpoint == "" {
		return "", errors.New("no IMDS endpoint configured")
	}
	u, err := url.Parse(endpoint)
	switch {
	case err != nil:
		return "", fmt.Errorf("IMDS endpoint %q is not a URL: %v", clip(endpoint), err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("IMDS endpoint %q: scheme must be http or https", clip(endpoint))
	case u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("IMDS endpoint %q must be scheme://host[:port] only", clip(endpoint))
	}
	return u.Scheme + "://" + u.Host, nil
}

// fetcher holds one Fetch's clients.
type fetcher struct {
	timeout time.Duration
	now     func() time.Time
	base    string
	hc      *http.Client
	tr      *http.Transport
	replay  tokenReplay
}

func newFetcher(opt Options, base string) *fetcher {
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	hc, tr := newHTTPClient(opt, timeout)
	return &fetcher{timeout: timeout, now: now, base: base, hc: hc, tr: tr}
}

func (f *fetcher) close() { f.tr.CloseIdleConnections() }

// rawResult is one plain net/http exchange.
type rawResult struct {
	status    int
	header    http.Header
	body      []byte
	err       error
	connected bool
	dur       time.Duration
}

// raw sends one request outside the SDK and records whether its TCP
// connection opened (httptrace ConnectDone), its status and its capped body.
func (f *fetcher) raw(ctx context.Context, method, path string, hdr http.Header) (res rawResult) {
	start := time.Now()
	defer func() { res.dur = time.Since(start) }()
	actx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	var connected atomic.Bool
	trace := &httptrace.ClientTrace{
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				connected.Store(true)
			}
		},
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(actx, trace), method, f.base+path, nil)
	if err != nil {
		res.err = err
		return res
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := f.hc.Do(req)
	res.connected = connected.Load()
	if err != nil {
		res.err = err
		return res
	}
	defer resp.Body.Close()
	res.status, res.header = resp.StatusCode, resp.Header
	res.body, res.err = io.ReadAll(newCappedBody(resp.Body))
	return res
}

// round1 sends the token PUT and a tokenless GET together.
func (f *fetcher) round1(ctx context.Context, id *Identity) {
	var put, get rawResult
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer func() { _ = recover() }()
		put = f.raw(ctx, http.MethodPut, tokenPath,
			http.Header{http.CanonicalHeaderKey(tokenTTLHeader): {strconv.Itoa(tokenTTLSeconds)}})
	}()
	go func() {
		defer wg.Done()
		defer func() { _ = recover() }()
		get = f.raw(ctx, http.MethodGet, metadataPath, nil)
	}()
	wg.Wait()

	id.Reachable = put.connected || get.connected
	if !id.Reachable {
		err := put.err
		if err == nil {
			err = get.err
		}
		id.Class, id.Detail = errclass.Of(err), clipErr(err)
		if id.Class == errclass.None {
			id.Class = errclass.Other
		}
	}

	tr := TokenResult{Status: put.status, TCPOpened: put.connected, DurationMS: put.dur.Milliseconds()}
	f.replay = tokenReplay{status: put.status, err: put.err}
	switch {
	case put.err != nil:
		tr.Class, tr.Detail = errorClass(put.err), clipErr(put.err)
	case put.status != http.StatusOK:
		tr.Class, tr.Detail = statusClass(put.status), fmt.Sprintf("token PUT answered HTTP %d", put.status)
	default:
		tok := strings.TrimSpace(string(put.body))
		if _, err := parseValue([]byte(tok)); err != nil {
			tr.Class, tr.Detail = errclass.Malformed, "token PUT answered 200 with an unusable token: "+err.Error()
			f.replay.err = errors.New(tr.Detail)
			break
		}
		tr.Obtained = true
		f.replay.token, f.replay.ttl = tok, put.header.Get(tokenTTLHeader)
	}
	id.Token = tr

	g := GetResult{Path: metadataPath, Status: get.status, DurationMS: get.dur.Milliseconds()}
	switch {
	case get.err != nil:
		g.Class, g.Detail = errorClass(get.err), clipErr(get.err)
	case get.status != http.StatusOK:
		g.Class, g.Detail = statusClass(get.status), fmt.Sprintf("HTTP %d", get.status)
	}
	id.TokenlessGET = &g
}

// sdkGet is one metadata GET through the SDK client.
type sdkGet struct {
	path string
	body []byte
	res  GetResult
}

// get fetches one path under /latest/meta-data/ through the SDK client, in
// its own attempt bounded by f.timeout, and reads the capped body.
func (f *fetcher) get(ctx context.Context, c *sdkimds.Client, path string) (g sdkGet) {
	start := time.Now()
	g.path = path
	defer func() {
		if r := recover(); r != nil {
			g.body = nil
			g.res.Class, g.res.Detail = errclass.Other, clipDetail(fmt.Sprintf("internal error: %v", r))
		}
		g.res.Path = path
		g.res.DurationMS = time.Since(start).Milliseconds()
	}()
	actx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	rec := &wireRecord{}
	actx = context.WithValue(actx, recordKey{}, rec)
	out, err := c.GetMetadata(actx, &sdkimds.GetMetadataInput{Path: path})
	if err == nil {
		g.body, err = io.ReadAll(newCappedBody(out.Content))
		_ = out.Content.Close()
	}
	g.res.Status, g.res.TokenSent = rec.status, rec.tokenSent
	switch {
	case rec.status != 0 && rec.status != http.StatusOK:
		g.body = nil
		g.res.Class, g.res.Detail = statusClass(rec.status), fmt.Sprintf("HTTP %d", rec.status)
	case err != nil:
		g.body = nil
		g.res.Class, g.res.Detail = errorClass(err), clipErr(err)
	}
	return g
}

// getAll runs the GETs for paths concurrently and waits for all of them.
func (f *fetcher) getAll(ctx context.Context, c *sdkimds.Client, paths []string) map[string]sdkGet {
	out := make([]sdkGet, len(paths))
	var wg sync.WaitGroup
	for i, p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = f.get(ctx, c, p)
		}()
	}
	wg.Wait()
	m := make(map[string]sdkGet, len(out))
	for _, g := range out {
		m[g.path] = g
	}
	return m
}

// newSDKClient builds the card dependency's client around sdkDoer. Retries
// are off (one attempt is one timeout), the SDK's own 5 s operation timeout
// is off (each GET carries our deadline), the IMDSv1 fallback is on (as in
// the SSM agent), and the client is enabled whatever AWS_EC2_METADATA_DISABLED
// says, because the probe must look anyway.
func (f *fetcher) newSDKClient() *sdkimds.Client {
	return sdkimds.New(sdkimds.Options{
		Endpoint:                 f.base,
		HTTPClient:               &sdkDoer{hc: f.hc, replay: f.replay},
		Retryer:                  aws.NopRetryer{},
		ClientEnableState:        sdkimds.ClientEnabled,
		EnableFallback:           aws.TrueTernary,
		DisableDefaultTimeout:    true,
		DisableDefaultMaxBackoff: true,
		Logger:                   logging.Nop{},
	})
}

// rounds23 reads the identity, network and profile paths.
func (f *fetcher) rounds23(ctx context.Context, id *Identity) {
	c := f.newSDKClient()
	r2 := f.getAll(ctx, c, []string{pathRegion, pathAZ, pathInstanceID, pathDomain, pathMAC,
		pathIAMInfo, pathCredList})

	id.Region = f.value(id, r2[pathRegion])
	id.AZ = f.value(id, r2[pathAZ])
	id.InstanceID = f.value(id, r2[pathInstanceID])
	id.Domain = f.value(id, r2[pathDomain])

	var paths []string
	macPrefix := ""
	g := r2[pathMAC]
	if g.res.Class == errclass.None {
		if hw, err := net.ParseMAC(strings.TrimSpace(string(g.body))); err != nil || len(hw) != 6 {
			g.res.Class, g.res.Detail = errclass.Malformed, fmt.Sprintf("mac %q is not a MAC-48 address", clip(string(g.body)))
		} else {
			id.MAC = hw.String()
			macPrefix = "network/interfaces/macs/" + id.MAC + "/"
			for _, p := range []string{macVPCCIDRs, macVPCCIDR, macSubnetCIDR, macVPCID, macSubnetID, macIPv6s} {
				paths = append(paths, macPrefix+p)
			}
		}
	}
	id.Fields[pathMAC] = g.res

	credPath := f.profile(id, r2[pathIAMInfo], r2[pathCredList])
	if credPath != "" {
		paths = append(paths, credPath)
	}
	if len(paths) == 0 {
		return
	}
	r3 := f.getAll(ctx, c, paths)

	if macPrefix != "" {
		id.VPCID = f.value(id, r3[macPrefix+macVPCID])
		id.SubnetID = f.value(id, r3[macPrefix+macSubnetID])
		id.SubnetCIDR = f.cidrs(id, r3[macPrefix+macSubnetCIDR], nil)
		f.cidrs(id, r3[macPrefix+macVPCCIDRs], &id.VPCCIDRs)
		var single []string
		f.cidrs(id, r3[macPrefix+macVPCCIDR], &single)
		if len(id.VPCCIDRs) == 0 {
			id.VPCCIDRs = single
		}
		g = r3[macPrefix+macIPv6s]
		if g.res.Class == errclass.None {
			for _, line := range strings.Fields(string(g.body)) {
				if a, err := netip.ParseAddr(line); err == nil && a.Is6() {
					id.HasIPv6 = true
				}
			}
		}
		id.Fields[g.path] = g.res
	}
	if credPath != "" {
		g = r3[credPath]
		cs := &CredStatus{Status: g.res.Status, Class: g.res.Class, Detail: g.res.Detail}
		if g.res.Class == errclass.None {
			parsed, err := parseCredentials(g.body, f.now())
			parsed.Status = g.res.Status
			cs = &parsed
			if err != nil {
				cs.Class, cs.Detail = errclass.Malformed, err.Error()
				g.res.Class, g.res.Detail = cs.Class, cs.Detail
			}
		}
		// The body holds secrets: drop it before anything else can see it.
		g.body = nil
		id.Profile.Credentials = cs
		id.Fields[credPath] = g.res
	}
}

// value records g in id.Fields and returns its body as a scalar value, or ""
// with the field marked Malformed when the body is not a usable value.
func (f *fetcher) value(id *Identity, g sdkGet) string {
	if g.res.Class != errclass.None {
		id.Fields[g.path] = g.res
		return ""
	}
	v, err := parseValue(g.body)
	if err != nil {
		g.res.Class, g.res.Detail = errclass.Malformed, err.Error()
	}
	id.Fields[g.path] = g.res
	return v
}

// cidrs records g in id.Fields and parses its body as a CIDR list into
// *dst (when dst is not nil). It returns the first CIDR, or "".
func (f *fetcher) cidrs(id *Identity, g sdkGet, dst *[]string) string {
	defer func() { id.Fields[g.path] = g.res }()
	if g.res.Class != errclass.None {
		return ""
	}
	list, err := parseCIDRList(g.body)
	if err != nil {
		g.res.Class, g.res.Detail = errclass.Malformed, err.Error()
		return ""
	}
	if dst != nil {
		*dst = list
	}
	return list[0]
}

// profile fills id.Profile from iam/info and the role list, and returns the
// credentials path to read next, or "" when there is none.
func (f *fetcher) profile(id *Identity, info, list sdkGet) string {
	id.Fields[info.path] = info.res
	id.Fields[list.path] = list.res
	p := &id.Profile
	p.Status, p.Class, p.Detail = info.res.Status, info.res.Class, info.res.Detail
	switch {
	case info.res.Status == http.StatusNotFound:
		// AWS docs: iam/info "is only present if the instance was launched
		// with an IAM role", i.e. 404 means no instance profile.
		p.State, p.Class, p.Detail = ProfileAbsent, errclass.None, ""
		return ""
	case info.res.Class != errclass.None:
		p.State = ProfileError
		return ""
	}
	v, err := parseIAMInfo(info.body)
	if err != nil {
		p.State, p.Class, p.Detail = ProfileError, errclass.Malformed, clipDetail(err.Error())
		info.res.Class, info.res.Detail = p.Class, p.Detail
		id.Fields[info.path] = info.res
		return ""
	}
	p.State = ProfilePresent
	p.InfoCode, p.ARN, p.ID = clip(v.Code), clip(v.InstanceProfileArn), clip(v.InstanceProfileID)

	if list.res.Class != errclass.None {
		p.Credentials = &CredStatus{Status: list.res.Status, Class: list.res.Class,
			Detail: "no role listed under " + pathCredList + ": " + list.res.Detail}
		return ""
	}
	role, err := parseRoleList(list.body)
	if err != nil {
		list.res.Class, list.res.Detail = errclass.Malformed, err.Error()
		id.Fields[list.path] = list.res
		p.Credentials = &CredStatus{Class: errclass.Malformed, Detail: err.Error()}
		return ""
	}
	p.Role = role
	return pathCredList + role
}

// statusClass maps an HTTP status to a class: 200 is None, 404 NotFound,
// anything else HTTPStatus (the status itself is recorded alongside).
func statusClass(status int) errclass.Class {
	switch status {
	case http.StatusOK:
		return errclass.None
	case http.StatusNotFound:
		return errclass.NotFound
	}
	return errclass.HTTPStatus
}

// errorClass classifies a transport error, with the body cap as Malformed.
func errorClass(err error) errclass.Class {
	if errors.Is(err, bodyTooLarge{}) {
		return errclass.Malformed
	}
	if c := errclass.Of(err); c != errclass.None {
		return c
	}
	return errclass.Other
}

// accessOf says how the successful metadata GETs were made.
func accessOf(id *Identity) Access {
	acc := AccessNone
	for _, r := range id.Fields {
		// A 200 whose body never arrived (or broke off) answered nothing.
		if r.Status != http.StatusOK || r.Class != errclass.None && r.Class != errclass.Malformed {
			continue
		}
		if r.TokenSent {
			return AccessV2
		}
		acc = AccessV1
	}
	return acc
}

// classify names what kept the probe from using IMDS normally; the first
// that applies wins: no TCP, the token PUT unanswered while a tokenless GET
// answers (the hop limit), 403 anywhere (disabled), nothing answered on an
// open connection, 401 on GETs, nothing readable at all. Each failure gives
// one of the imds.* findings of docs/FINDINGS.md.
func classify(id *Identity) Failure {
	if !id.Reachable {
		return FailUnreachable
	}
	tl := id.TokenlessGET
	tokenlessAnswered := tl != nil && tl.Status != 0
	if id.Token.Status == 0 && id.Token.Class == errclass.Timeout && id.Token.TCPOpened && tokenlessAnswered {
		return FailTokenTimeout
	}
	forbidden := id.Token.Status == http.StatusForbidden || (tl != nil && tl.Status == http.StatusForbidden)
	unauthorised := false
	for _, r := range id.Fields {
		forbidden = forbidden || r.Status == http.StatusForbidden
		unauthorised = unauthorised || r.Status == http.StatusUnauthorized
	}
	switch {
	case forbidden:
		return FailDisabled
	case id.Token.Status == 0 && !tokenlessAnswered:
		return FailNoAnswer
	case unauthorised:
		return FailUnauthorized
	case accessOf(id) == AccessNone:
		return FailOther
	}
	return FailNone
}

func clipErr(err error) string {
	if err == nil {
		return ""
	}
	return clipDetail(err.Error())
}

func clipDetail(s string) string {
	if len(s) <= maxDetail {
		return s
	}
	return s[:maxDetail] + "…"
}
