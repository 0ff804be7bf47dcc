package prefstest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := Config{Region: "ap-northeast-1", Document: Document(map[string]any{"s3BucketName": "corp-logs"}),
		Buckets: map[string]string{"corp-logs": "ap-northeast-1"}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, mut := range map[string]func(*Config){
		"no region":         func(c *Config) { c.Region = "" },
		"half a key pair":   func(c *Config) { c.AccessKeyID = "AKIAFAKE" },
		"document not json": func(c *Config) { c.Document = "{" },
		"bucket status":     func(c *Config) { c.BucketStatus = 42 },
		"bucket name":       func(c *Config) { c.Buckets = map[string]string{"Corp_Logs": "ap-northeast-1"} },
		"record limit":      func(c *Config) { c.RecordLimit = -1 },
	} {
		c := ok
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if s, err := NewServer(c); err == nil || s != nil {
			t.Errorf("%s: NewServer gave %v, %v", name, s, err)
		}
	}
	if s, err := NewServer(ok); err != nil || s == nil {
		t.Fatalf("NewServer: %v", err)
	}
}

func TestValidBucketName(t *testing.T) {
	for name, want := range map[string]bool{
		"corp-session-logs": true, "a.b-c": true, "abc": true, strings.Repeat("a", 63): true,
		"ab": false, strings.Repeat("a", 64): false, "Corp": false, "-abc": false, "abc-": false,
		".abc": false, "a..b": false, "a_b": false, "a/b": false, "": false,
	} {
		if got := ValidBucketName(name); got != want {
			t.Errorf("ValidBucketName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestRecordLimit: with a limit, the fake keeps answering but records only
// the first requests; without one, it records them all.
func TestRecordLimit(t *testing.T) {
	for _, tc := range []struct{ limit, want int }{{0, 5}, {2, 2}} {
		s, err := NewServer(Config{Region: "ap-northeast-1", RecordLimit: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "https://ssm.ap-northeast-1.amazonaws.com/", strings.NewReader("{}"))
			s.ServeHTTP(w, r)
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "MissingAuthenticationTokenException") {
				t.Fatalf("unsigned request: %d %s", w.Code, w.Body)
			}
		}
		if got := len(s.Requests()); got != tc.want {
			t.Errorf("limit %d: %d requests recorded, want %d", tc.limit, got, tc.want)
		}
	}
}
