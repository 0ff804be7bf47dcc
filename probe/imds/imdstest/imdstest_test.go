package imdstest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// clientTimeout bounds each request in these tests; the fake answers on
// loopback in milliseconds.
const clientTimeout = 2 * time.Second

// TestProtocol checks the fake against the IMDSv2 rules it claims to follow.
func TestProtocol(t *testing.T) {
	type req struct {
		method, path string
		ttl, token   string
	}
	put := req{method: http.MethodPut, path: TokenPath, ttl: "60"}
	cases := []struct {
		name string
		mode Mode
		req  req
		want int
		body string
	}{
		{"token", V2Required, put, 200, FakeIMDSToken},
		{"PUT without TTL", V2Required, req{method: http.MethodPut, path: TokenPath}, 400, ""},
		{"PUT with TTL 0", V2Required, req{method: http.MethodPut, path: TokenPath, ttl: "0"}, 400, ""},
		{"PUT with TTL above 6h", V2Required, req{method: http.MethodPut, path: TokenPath, ttl: "21601"}, 400, ""},
		{"GET on token path", V2Required, req{method: http.MethodGet, path: TokenPath, ttl: "60"}, 405, ""},
		{"v2 required, no token", V2Required, req{method: http.MethodGet, path: MetadataPath + "placement/region"}, 401, ""},
		{"v2 required, bad token", V2Required, req{method: http.MethodGet, path: MetadataPath + "placement/region", token: "x"}, 401, ""},
		{"v2 required, token", V2Required, req{method: http.MethodGet, path: MetadataPath + "placement/region", token: FakeIMDSToken}, 200, "ap-northeast-1"},
		{"v2 optional, no token", V2Optional, req{method: http.MethodGet, path: MetadataPath + "instance-id"}, 200, "i-0fake0123456789ab"},
		{"v2 optional, bad token", V2Optional, req{method: http.MethodGet, path: MetadataPath + "instance-id", token: "x"}, 401, ""},
		{"v1 only PUT", V1Only, put, 404, ""},
		{"disabled PUT", Disabled403, put, 403, ""},
		{"disabled GET", Disabled403, req{method: http.MethodGet, path: MetadataPath + "mac"}, 403, ""},
		{"no profile", NoProfile, req{method: http.MethodGet, path: MetadataPath + "iam/info", token: FakeIMDSToken}, 404, ""},
		{"unknown path", V2Optional, req{method: http.MethodGet, path: MetadataPath + "nope"}, 404, ""},
		{"outside meta-data", V2Optional, req{method: http.MethodGet, path: "/latest/user-data"}, 404, ""},
		{"ipv6s absent", V2Optional, req{method: http.MethodGet, path: MetadataPath + "network/interfaces/macs/0e:fa:ce:00:00:01/ipv6s"}, 404, ""},
		{"cidr blocks", V2Optional, req{method: http.MethodGet, path: MetadataPath + "network/interfaces/macs/0e:fa:ce:00:00:01/vpc-ipv4-cidr-blocks"}, 200, "10.0.0.0/16\n100.64.0.0/16"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := New(DefaultConfig(c.mode))
			defer srv.Close()
			r, err := http.NewRequest(c.req.method, srv.URL+c.req.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.req.ttl != "" {
				r.Header.Set(TTLHeader, c.req.ttl)
			}
			if c.req.token != "" {
				r.Header.Set(TokenHeader, c.req.token)
			}
			resp, err := (&http.Client{Timeout: clientTimeout}).Do(r)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if resp.StatusCode != c.want || (c.want == 200 && string(b) != c.body) {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, b, c.want, c.body)
			}
			if c.want == 200 && c.req.path == TokenPath && resp.Header.Get(TTLHeader) != c.req.ttl {
				t.Errorf("TTL header %q, want the requested %q echoed", resp.Header.Get(TTLHeader), c.req.ttl)
			}
		})
	}
}

// TestHangingPutReleases: the hanging PUT never answers, and ends as soon as
// the client gives up, so Close does not wait for HangLimit.
func TestHangingPutReleases(t *testing.T) {
	srv := New(DefaultConfig(HangingPut))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r, _ := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL+TokenPath, nil)
	r.Header.Set(TTLHeader, "60")
	resp, err := (&http.Client{Timeout: clientTimeout}).Do(r)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("hanging PUT answered %d", resp.StatusCode)
	}
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
}

// TestExpiryFollowsClock: the credentials' Expiration comes from Config.Now.
func TestExpiryFollowsClock(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for mode, want := range map[Mode]string{V2Optional: "2026-03-01T18:00:00Z", CredsExpired: "2026-03-01T11:00:00Z"} {
		cfg := DefaultConfig(mode)
		cfg.Now = func() time.Time { return now }
		h := &handler{cfg: cfg}
		got := h.credentials()
		if !strings.Contains(got, `"Expiration" : "`+want+`"`) {
			t.Errorf("%s: credentials %s lack Expiration %s", mode, got, want)
		}
	}
}
