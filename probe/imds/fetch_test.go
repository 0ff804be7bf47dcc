package imds

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/internal/wine"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
)

// testTimeout is the per-attempt timeout in these tests: long enough for a
// loaded -race run on loopback, short enough to keep hanging cases quick.
const testTimeout = 750 * time.Millisecond

// boundMargin is what a bounded Fetch may take beyond its attempts: goroutine
// start-up, the fast rounds that follow, and a loaded CI machine.
const boundMargin = 750 * time.Millisecond

// fixedNow is the clock for the fake and for Fetch, so expiry is deterministic.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return fixedNow }

func fetchFake(t *testing.T, cfg imdstest.Config) *Identity {
	t.Helper()
	cfg.Now = clock
	srv := imdstest.New(cfg)
	t.Cleanup(srv.Close)
	return Fetch(context.Background(), Options{Endpoint: srv.URL, Timeout: testTimeout, Now: clock})
}

// summary is the part of an Identity the mode table asserts on.
type summary struct {
	Reachable     bool
	Failure       Failure
	Access        Access
	TokenStatus   int
	TokenClass    errclass.Class
	TokenObtained bool
	TokenTCP      bool
	TokenlessGET  int
	Region        string
	InstanceID    string
	InstanceClass errclass.Class
	VPCCIDRs      []string
	SubnetID      string
	Profile       ProfileState
	ProfileStatus int
	Role          string
	Creds         *CredStatus
}

func summarise(id *Identity) summary {
	s := summary{
		Reachable: id.Reachable, Failure: id.Failure, Access: id.Access,
		TokenStatus: id.Token.Status, TokenClass: id.Token.Class, TokenObtained: id.Token.Obtained,
		TokenTCP: id.Token.TCPOpened, Region: id.Region, InstanceID: id.InstanceID,
		InstanceClass: id.Fields[pathInstanceID].Class, VPCCIDRs: id.VPCCIDRs, SubnetID: id.SubnetID,
		Profile: id.Profile.State, ProfileStatus: id.Profile.Status, Role: id.Profile.Role,
		Creds: id.Profile.Credentials,
	}
	if id.TokenlessGET != nil {
		s.TokenlessGET = id.TokenlessGET.Status
	}
	return s
}

func TestFetchModes(t *testing.T) {
	def := imdstest.DefaultConfig("")
	okCreds := &CredStatus{Status: 200, Code: "Success", LastUpdated: fixedNow.Add(-time.Hour),
		Expiration: fixedNow.Add(6 * time.Hour)}
	// healthy is the observation of a working IMDS; cases change what differs.
	healthy := func(f func(*summary)) summary {
		s := summary{Reachable: true, Access: AccessV2, TokenStatus: 200, TokenObtained: true, TokenTCP: true,
			TokenlessGET: 401, Region: def.Region, InstanceID: def.InstanceID, VPCCIDRs: def.VPCCIDRs,
			SubnetID: def.SubnetID, Profile: ProfilePresent, ProfileStatus: 200, Role: def.Role, Creds: okCreds}
		if f != nil {
			f(&s)
		}
		return s
	}
	cases := map[imdstest.Mode]summary{
		imdstest.V2Required: healthy(nil),
		imdstest.V2Optional: healthy(func(s *summary) { s.TokenlessGET = 200 }),
		imdstest.V1Only: healthy(func(s *summary) {
			s.Access, s.TokenStatus, s.TokenClass, s.TokenObtained, s.TokenlessGET = AccessV1, 404, errclass.NotFound, false, 200
		}),
		imdstest.Disabled403: {Reachable: true, Failure: FailDisabled, Access: AccessNone, TokenStatus: 403,
			TokenClass: errclass.HTTPStatus, TokenTCP: true, TokenlessGET: 403, InstanceClass: errclass.HTTPStatus,
			Profile: ProfileError, ProfileStatus: 403},
		imdstest.HangingPut: healthy(func(s *summary) {
			s.Failure, s.Access, s.TokenStatus, s.TokenClass, s.TokenObtained, s.TokenlessGET =
				FailTokenTimeout, AccessV1, 0, errclass.Timeout, false, 200
		}),
		imdstest.NoProfile: healthy(func(s *summary) {
			s.Profile, s.ProfileStatus, s.Role, s.Creds = ProfileAbsent, 404, "", nil
		}),
		imdstest.CredsFailed: healthy(func(s *summary) {
			c := *okCreds
			c.Code = "AssumeRoleUnauthorizedAccess"
			s.Creds = &c
		}),
		imdstest.CredsExpired: healthy(func(s *summary) {
			c := *okCreds
			c.Expiration, c.Expired = fixedNow.Add(-time.Hour), true
			s.Creds = &c
		}),
		imdstest.RejectToken: {Reachable: true, Failure: FailUnauthorized, Access: AccessNone, TokenStatus: 200,
			TokenObtained: true, TokenTCP: true, TokenlessGET: 401, InstanceClass: errclass.HTTPStatus,
			Profile: ProfileError, ProfileStatus: 401},
		imdstest.HugeBody: healthy(func(s *summary) { s.InstanceID, s.InstanceClass = "", errclass.Malformed }),
	}
	for _, mode := range imdstest.AllModes() {
		want, ok := cases[mode]
		if !ok {
			t.Errorf("mode %s has no case", mode)
			continue
		}
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			if mode == imdstest.HugeBody {
				wine.Skip(t, wine.PendingWrite)
			}
			id := fetchFake(t, imdstest.DefaultConfig(mode))
			if got := summarise(id); !reflect.DeepEqual(got, want) {
				t.Errorf("mode %s:\n got  %+v\n want %+v", mode, got, want)
				if got.Creds != nil && want.Creds != nil {
					t.Errorf("creds: got %+v want %+v", *got.Creds, *want.Creds)
				}
			}
			for path, r := range id.Fields {
				if r.Path != path || !r.Class.Valid() || (r.Class == errclass.None && r.Status != 200) ||
					(r.Status != 200 && r.Status != 0 && r.Class == errclass.None) {
					t.Errorf("inconsistent field %q: %+v", path, r)
				}
			}
		})
	}
}

// TestFetchAllFields checks every field a healthy IMDS serves, IPv6 included.
func TestFetchAllFields(t *testing.T) {
	cfg := imdstest.DefaultConfig(imdstest.V2Required)
	cfg.IPv6s = []string{"2001:db8::10"}
	id := fetchFake(t, cfg)
	got := []string{id.Region, id.AZ, id.InstanceID, id.Domain, id.MAC, id.VPCID, id.SubnetID, id.SubnetCIDR,
		fmt.Sprint(id.VPCCIDRs), fmt.Sprint(id.HasIPv6), id.Profile.ARN, id.Profile.ID, id.Profile.InfoCode}
	want := []string{cfg.Region, cfg.AZ, cfg.InstanceID, cfg.Domain, cfg.MAC, cfg.VPCID, cfg.SubnetID, cfg.SubnetCIDR,
		fmt.Sprint(cfg.VPCCIDRs), "true", cfg.ProfileARN, cfg.ProfileID, "Success"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if len(id.Fields) != 14 {
		t.Errorf("got %d fields, want 14: %v", len(id.Fields), id.Fields)
	}
	if id.Failure != FailNone || id.Class != errclass.None {
		t.Errorf("failure %q class %q on a healthy IMDS", id.Failure, id.Class)
	}
}

// countingHandler counts token PUTs before passing requests to h.
func countingHandler(h http.Handler, puts *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == imdstest.TokenPath {
			puts.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// TestFetchOneTokenPUT checks that the SDK's token fetch is served from the
// recorded PUT: exactly one PUT reaches the wire, also when it hangs.
func TestFetchOneTokenPUT(t *testing.T) {
	for _, mode := range []imdstest.Mode{imdstest.V2Required, imdstest.V1Only, imdstest.HangingPut} {
		t.Run(string(mode), func(t *testing.T) {
			var puts atomic.Int32
			srv := httptest.NewServer(countingHandler(imdstest.Handler(imdstest.DefaultConfig(mode)), &puts))
			defer srv.Close()
			Fetch(context.Background(), Options{Endpoint: srv.URL, Timeout: testTimeout})
			if n := puts.Load(); n != 1 {
				t.Errorf("%d token PUTs reached the server, want 1", n)
			}
		})
	}
}

// TestFetchHangingPutBounded: a PUT that is never answered is diagnosed
// within one attempt, not after minutes as with ssm-cli.
// The fake's hanging handler must also end once the probe gives up:
// httptest's Close waits for every handler, so a quick Close proves it.
func TestFetchHangingPutBounded(t *testing.T) {
	cfg := imdstest.DefaultConfig(imdstest.HangingPut)
	cfg.Now = clock
	srv := imdstest.New(cfg)
	start := time.Now()
	id := Fetch(context.Background(), Options{Endpoint: srv.URL, Timeout: testTimeout, Now: clock})
	elapsed := time.Since(start)
	if elapsed > testTimeout+boundMargin {
		t.Errorf("Fetch took %v, want at most %v", elapsed, testTimeout+boundMargin)
	}
	if id.Failure != FailTokenTimeout || id.Token.DurationMS < testTimeout.Milliseconds()-50 {
		t.Errorf("failure %q after %d ms, want %q after about %v", id.Failure, id.Token.DurationMS,
			FailTokenTimeout, testTimeout)
	}
	start = time.Now()
	srv.Close()
	if d := time.Since(start); d > boundMargin {
		t.Errorf("fake server Close took %v: the hanging handler outlived the client", d)
	}
}

// TestFetchNoListener: a closed loopback port is refused, and nothing else
// is attempted.
func TestFetchNoListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	id := Fetch(context.Background(), Options{Endpoint: "http://" + addr, Timeout: testTimeout})
	got := []any{id.Reachable, id.Class, id.Failure, id.Access, id.Token.TCPOpened, id.Profile.State, len(id.Fields)}
	want := []any{false, errclass.Refused, FailUnreachable, AccessNone, false, ProfileUnchecked, 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v (detail %q)", got, want, id.Detail)
	}
}

// TestFetchSilentPeer: a peer that accepts TCP and never says anything is
// reachable but unanswered, within one attempt.
func TestFetchSilentPeer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	start := time.Now()
	id := Fetch(context.Background(), Options{Endpoint: "http://" + ln.Addr().String(), Timeout: testTimeout})
	if elapsed := time.Since(start); elapsed > testTimeout+boundMargin {
		t.Errorf("Fetch took %v", elapsed)
	}
	got := []any{id.Reachable, id.Failure, id.Token.Class, id.Token.TCPOpened, id.TokenlessGET.Class,
		id.Profile.State, len(id.Fields)}
	want := []any{true, FailNoAnswer, errclass.Timeout, true, errclass.Timeout, ProfileUnchecked, 0}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestFetchTrickleBody: a body that trickles forever is cut at the attempt's
// deadline and recorded as a timeout.
func TestFetchTrickleBody(t *testing.T) {
	base := imdstest.Handler(imdstest.DefaultConfig(imdstest.V2Required))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/latest/meta-data/instance-id" {
			base.ServeHTTP(w, r)
			return
		}
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if _, err := w.Write([]byte("i")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	}))
	defer srv.Close()
	start := time.Now()
	id := Fetch(context.Background(), Options{Endpoint: srv.URL, Timeout: testTimeout})
	if elapsed := time.Since(start); elapsed > 3*testTimeout+boundMargin {
		t.Errorf("Fetch took %v", elapsed)
	}
	if f := id.Fields[pathInstanceID]; f.Class != errclass.Timeout || id.InstanceID != "" {
		t.Errorf("instance-id: %+v value %q, want a timeout", f, id.InstanceID)
	}
	if id.Region == "" {
		t.Errorf("other fields were lost: %+v", id)
	}
}

// TestFetchNoRedirect: a redirect is recorded, never followed (it could lead
// off the link-local network).
func TestFetchNoRedirect(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer elsewhere.Close()
	base := imdstest.Handler(imdstest.DefaultConfig(imdstest.V2Required))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/latest/meta-data/placement/region" {
			http.Redirect(w, r, elsewhere.URL+"/region", http.StatusFound)
			return
		}
		base.ServeHTTP(w, r)
	}))
	defer srv.Close()
	id := Fetch(context.Background(), Options{Endpoint: srv.URL, Timeout: testTimeout})
	if f := id.Fields[pathRegion]; f.Status != http.StatusFound || f.Class != errclass.HTTPStatus {
		t.Errorf("region field %+v, want HTTP 302 recorded", f)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

// TestFetchIgnoresEnvironment: Options.Endpoint wins over the SDK's
// environment variables, and AWS_EC2_METADATA_DISABLED does not stop the probe.
func TestFetchIgnoresEnvironment(t *testing.T) {
	var hits atomic.Int32
	decoy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer decoy.Close()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", decoy.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	id := fetchFake(t, imdstest.DefaultConfig(imdstest.V2Required))
	if id.Region == "" || id.Failure != FailNone {
		t.Errorf("region %q failure %q: the environment changed the result", id.Region, id.Failure)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the decoy endpoint got %d requests", n)
	}
}

// TestFetchCanceled: a cancelled run returns at once, marked cancelled.
func TestFetchCanceled(t *testing.T) {
	srv := imdstest.New(imdstest.DefaultConfig(imdstest.HangingPut))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	id := Fetch(ctx, Options{Endpoint: srv.URL, Timeout: time.Minute})
	if elapsed := time.Since(start); elapsed > boundMargin {
		t.Errorf("Fetch took %v after cancel", elapsed)
	}
	if id.Reachable || id.Class != errclass.Canceled {
		t.Errorf("reachable %v class %q, want unreachable and %q", id.Reachable, id.Class, errclass.Canceled)
	}
}

func TestFetchBadEndpoint(t *testing.T) {
	for _, ep := range []string{"", "ftp://127.0.0.1", "http://127.0.0.1/latest", "http://127.0.0.1?x=1",
		"http://user@127.0.0.1", "127.0.0.1:80", "http://%zz"} {
		id := Fetch(context.Background(), Options{Endpoint: ep})
		if id.Failure != FailOther || id.Class != errclass.Other || id.Detail == "" || id.Reachable {
			t.Errorf("endpoint %q: %+v, want a recorded configuration error", ep, id)
		}
	}
}

// TestFetchNeverLeaksSecrets: whatever the mode, the fake's secrets and the
// IMDSv2 token appear nowhere in the JSON of the observation.
func TestFetchNeverLeaksSecrets(t *testing.T) {
	secrets := []string{imdstest.FakeAccessKeyID, imdstest.FakeSecretAccessKey, imdstest.FakeToken,
		imdstest.FakeIMDSToken}
	for _, mode := range imdstest.AllModes() {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			if mode == imdstest.HugeBody {
				wine.Skip(t, wine.PendingWrite)
			}
			id := fetchFake(t, imdstest.DefaultConfig(mode))
			b, err := json.Marshal(id)
			if err != nil {
				t.Fatal(err)
			}
			out := string(b) + fmt.Sprintf("%+v %#v", *id, *id)
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("secret %q appears in the observation", s)
				}
			}
		})
	}
}

// TestFakeServesSecrets guards the test above: the fake really does serve
// the secrets, so their absence from the observation means something.
func TestFakeServesSecrets(t *testing.T) {
	cfg := imdstest.DefaultConfig(imdstest.V2Optional)
	srv := imdstest.New(cfg)
	defer srv.Close()
	c := &http.Client{Timeout: testTimeout}
	resp, err := c.Get(srv.URL + "/latest/meta-data/iam/security-credentials/" + cfg.Role)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc["SecretAccessKey"] != imdstest.FakeSecretAccessKey || doc["Token"] != imdstest.FakeToken ||
		doc["AccessKeyId"] != imdstest.FakeAccessKeyID {
		t.Errorf("fake credentials document lacks the fake secrets: %v", doc)
	}
}

// TestFetchUsesDialContext: an injected dialer carries every connection.
func TestFetchUsesDialContext(t *testing.T) {
	srv := imdstest.New(imdstest.DefaultConfig(imdstest.V2Required))
	defer srv.Close()
	var dials atomic.Int32
	d := &net.Dialer{Timeout: testTimeout}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, strings.TrimPrefix(srv.URL, "http://"))
	}
	// The endpoint names a port nothing listens on; only the dialer knows the fake.
	id := Fetch(context.Background(), Options{Endpoint: "http://127.0.0.1:1", Timeout: testTimeout, DialContext: dial})
	if id.Region == "" || dials.Load() == 0 {
		t.Errorf("region %q after %d dials: the injected dialer was not used", id.Region, dials.Load())
	}
}
