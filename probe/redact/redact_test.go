package redact

import (
	"strings"
	"testing"
)

func TestValue(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"http://proxy:3128", "http://proxy:3128"},
		{"http://user:secret@proxy:3128", "http://REDACTED@proxy:3128"},
		{"http://TOKEN@proxy", "http://REDACTED@proxy"},
		{"user:secret@proxy:3128", "REDACTED@proxy:3128"},
		{"http://user:se/cr?et#x@proxy:3128/", "http://REDACTED@proxy:3128/"},
		{"http://user:p@ss@proxy:3128", "http://REDACTED@proxy:3128"},
		{"socks5h://u:p a\"ss://x@proxy", "socks5h://REDACTED@proxy"},
		{"ab:c://d@proxy", "REDACTED@proxy"},
		{"", ""},
	} {
		if got := Value(c.in); got != c.want {
			t.Errorf("Value(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`Post "https://ssm.us-east-1.amazonaws.com/": EOF`, `Post "https://ssm.us-east-1.amazonaws.com/": EOF`},
		{`proxyconnect tcp: http://u:p/a ss@10.0.0.1:3128 failed`, `proxyconnect tcp: http://REDACTED@10.0.0.1:3128 failed`},
		{`https_proxy=u:secret@proxy:3128 set`, `https_proxy=REDACTED@proxy:3128 set`},
		{`via "TOKEN@proxy:80"`, `via "REDACTED@proxy:80"`},
		{`http://u:a@b@c@host/x`, `http://REDACTED@host/x`},
		{`0 socks5h://@://@@0 0`, `0 socks5h://REDACTED@0 0`}, // a user that starts with @ and a password with "://" (found by FuzzRedact)
		{`http://@@host`, `http://@host`},
		{`{"proxy":"http://u:p\"w@h"}`, `{"proxy":"http://REDACTED@h"}`},
		{`2http://u:p@h`, `REDACTED@h`},
		{`0:A://x@h`, `REDACTED@h`},
		{`@start`, `@start`},
	} {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// leaked returns the first window of 4 or more bytes of secret that out
// shows and that the non-secret parts of the input do not also hold.
func leaked(out, secret, public string) string {
	for i := 0; i+4 <= len(secret); i++ {
		w := secret[i : i+4]
		if strings.Contains(out, w) && !strings.Contains(public, w) {
			return w
		}
	}
	return ""
}

// FuzzRedact builds a URL-like value from a scheme, a user and a password
// with no character excluded, and a host, and checks that neither Value
// nor Text (with the value inside free text) shows 4 bytes in a row of the
// password or the user that the rest of the input does not also hold.
func FuzzRedact(f *testing.F) {
	f.Add(uint8(0), "user", "secret", "proxy:3128", "Post", "failed")
	f.Add(uint8(1), "", "TOKEN", "proxy", "", "")
	f.Add(uint8(2), "u", "p/a?s#s@w d://x", "10.0.0.1:3128", "dial", "x")
	f.Add(uint8(3), "us@er", "aaaa bbbb", "h", "a@b", "c@d")
	f.Fuzz(func(t *testing.T, pick uint8, user, pass, host, before, after string) {
		schemes := []string{"", "http://", "https://", "socks5h://", "HTTP://"}
		scheme := schemes[int(pick)%len(schemes)]
		host = strings.ReplaceAll(host, "@", "") // a host name holds no '@'
		raw := scheme + user + ":" + pass + "@" + host
		if scheme == "" && strings.HasPrefix(pass, "//") {
			return // "user://…@host" is a URL whose scheme is the user: nothing to tell apart
		}
		public := scheme + Mark + "@" + host
		if w := leaked(Value(raw), user+":"+pass, public); w != "" {
			t.Fatalf("Value(%q) = %q shows %q", raw, Value(raw), w)
		}
		if scheme == "" && strings.ContainsAny(user+pass, " \t\n\r\v\f\"'`=,;()[]<>{}") {
			// Without a scheme, a blank or quote in free text ends the
			// word; only Value, which knows the whole value, covers that.
			return
		}
		text := before + " " + raw + " " + after
		out := Text(text)
		if w := leaked(out, user+":"+pass, before+" "+public+" "+after); w != "" {
			t.Fatalf("Text(%q) = %q shows %q", text, out, w)
		}
	})
}

func TestWriter(t *testing.T) {
	var b strings.Builder
	w := Writer(&b)
	n, err := w.Write([]byte("dial http://u:secret@proxy:3128 failed\n"))
	if err != nil || n != 39 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if got, want := b.String(), "dial http://REDACTED@proxy:3128 failed\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}
