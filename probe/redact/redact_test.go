package redact

import (
	"fmt"
	"regexp"
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

		// N1: the agent's proxy-variable line, whatever the password holds.
		{`2024-03-01 10:00:00.0000 INFO [amazon-ssm-agent] https_proxy: alice:Xk9fQ2sAbCdE==@10.0.0.5:3128`,
			`2024-03-01 10:00:00.0000 INFO [amazon-ssm-agent] https_proxy: REDACTED@10.0.0.5:3128`},
		{`INFO https_proxy: alice:Xk9 fQ2sAbCdE@10.0.0.5:3128`, `INFO https_proxy: REDACTED@10.0.0.5:3128`},
		{`INFO https_proxy: alice:Xk9fQ2s "AbCdE@10.0.0.5:3128`, `INFO https_proxy: REDACTED@10.0.0.5:3128`},
		{`INFO https_proxy: alice:Xk9fQ2s' AbCdE@10.0.0.5:3128`, `INFO https_proxy: REDACTED@10.0.0.5:3128`},
		{`INFO HTTPS_PROXY: alice:Xk9fQ2s[AbCdE]@10.0.0.5:3128`, `INFO HTTPS_PROXY: REDACTED@10.0.0.5:3128`},
		{`INFO http_proxy=alice:Xk9,fQ2;sAbCdE @10.0.0.5:3128`, `INFO http_proxy=REDACTED@10.0.0.5:3128`},
		{`INFO https_proxy: http://alice:Xk9 fQ2s "AbCdE@proxy.corp:3128`, `INFO https_proxy: http://REDACTED@proxy.corp:3128`},
		{`{"https_proxy": "alice:Xk9\" fQ2@10.0.0.5:3128"}`, `{"https_proxy": "REDACTED@10.0.0.5:3128"}`},
		{`export HTTPS_PROXY='u:p"q w@h:1'`, `export HTTPS_PROXY='REDACTED@h:1'`},
		{"INFO https_proxy: alice:Xk9\nfQ2@10.0.0.5:3128", "INFO https_proxy: REDACTED@10.0.0.5:3128"},
		{`INFO no_proxy: localhost,169.254.169.254`, `INFO no_proxy: localhost,169.254.169.254`},
		{`INFO https_proxy: http://proxy.corp:3128`, `INFO https_proxy: http://proxy.corp:3128`},
		{`x u:p_proxy=y@h`, `x REDACTED@h`}, // a name inside a password starts nothing

		// Without a scheme, '=', ',', ';' and brackets do not start the span.
		{`dial u:Xk9fQ2sAbCdE==@10.0.0.5:3128 failed`, `dial REDACTED@10.0.0.5:3128 failed`},
		{`dial (u:p=a,b;c[d]{e}<f>@h) failed`, `dial REDACTED@h) failed`},
		{`dial u:secret @h failed`, `dial REDACTED@h failed`}, // empty span: back to the previous blank
		{`dial u:se"cret "@h failed`, `dial REDACTED@h failed`},
		{`2024-02-28 23:59:00.0001 ERROR [getControlChannelToken @ controlchannel.go.114] Failed`, `2024-02-28 23:59:00.0001 ERROR [getControlChannelToken @ controlchannel.go.114] Failed`},
		{`x @`, `x @`},
		{`dial url=http://u:p@h`, `dial REDACTED@h`}, // a word glued before the scheme goes too
		{`u:x=http://y@h`, `REDACTED@h`},

		// N9: an '@' after a URL no longer swallows it.
		{`caused by: Post "https://ssm.us-east-1.amazonaws.com/": dial tcp 10.0.1.25:443: i/o timeout (arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com)`,
			`caused by: Post "https://ssm.us-east-1.amazonaws.com/": dial tcp 10.0.1.25:443: i/o timeout REDACTED@example.com)`},
		{`Post https://ssm.us-east-1.amazonaws.com/: EOF for alice@example.com`, `Post https://ssm.us-east-1.amazonaws.com/: EOF for REDACTED@example.com`},
		{`GET https://[fd00::1]:443/x then alice@example.com`, `GET https://[fd00::1]:443/x then REDACTED@example.com`},
		{`see https://docs.aws.amazon.com). alice@example.com`, `see https://docs.aws.amazon.com). REDACTED@example.com`},
		{`dial http://u:p@proxy.corp:3128 failed for alice@example.com`, `dial http://REDACTED@proxy.corp:3128 failed for REDACTED@example.com`},
		{`[alice@example.com-0a1b2c3d] Post https://ssm.us-east-1.amazonaws.com/: EOF`, `REDACTED@example.com-0a1b2c3d] Post https://ssm.us-east-1.amazonaws.com/: EOF`},
		// ... but a blank in a password after scheme:// still hides it all.
		{`dial http://u:p@ss w@proxy.corp:3128 failed`, `dial http://REDACTED@proxy.corp:3128 failed`},
		{`dial http://tok en@proxy failed`, `dial http://REDACTED@proxy failed`},
		{`dial http://first.last:pa ss@proxy failed`, `dial http://REDACTED@proxy failed`},
		{`dial http://u:"p" w@proxy:3128 x@y`, `dial http://REDACTED@y`},
	} {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTextShapes runs Text on 64 KiB lines of one crafted unit repeated
// (schemes, '@'s, proxy names, blanks, escaped quotes): it must return, and
// keep the '@'s that end each span. Its work is linear in the line (see
// BenchmarkText for the cost per byte at 8 and 64 KiB).
func TestTextShapes(t *testing.T) {
	for _, unit := range []string{"x://", "a@", "http://u:p ", "https_proxy ", "u:p \"@", "@a.b ", "http://a.b/ c@"} {
		s := strings.Repeat(unit, (64<<10)/len(unit))
		out := Text(s)
		if strings.Contains(unit, "@") && strings.Count(out, "@") == 0 {
			t.Errorf("%q repeated: every '@' was dropped", unit)
		}
	}
}

// BenchmarkText measures Text on a 64 KiB crafted line per shape; the work
// must grow linearly with the line (compare -benchtime runs of the sizes).
func BenchmarkText(b *testing.B) {
	for _, unit := range []string{"x://", "x://@", "a@", "a b@", "http://u:p ", "http://a.b/ c@", "https_proxy: a@"} {
		for _, size := range []int{8 << 10, 64 << 10} {
			s := strings.Repeat(unit, size/len(unit))
			b.Run(fmt.Sprintf("%q/%d", unit, size), func(b *testing.B) {
				b.SetBytes(int64(len(s)))
				for i := 0; i < b.N; i++ {
					Text(s)
				}
			})
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

// reHost is the test's own reading of "looks like a host" (a dotted name
// or IPv4, [IPv6] or localhost, an optional port, then a path), written
// apart from the package's.
var reHost = regexp.MustCompile(`^(?:[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+|localhost|LOCALHOST|\[[0-9A-Fa-f:.]+\])(?::[0-9]{0,5})?(?:[/?#].*)?$`)

// wordEnd reports whether s[i] ends a word around user information: a
// blank, or a quote with no '\' before it.
func wordEnd(s string, i int) bool {
	switch s[i] {
	case ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	case '"', '\'', '`':
		return i == 0 || s[i-1] != '\\'
	}
	return false
}

// readsAsURLEnd reports whether user information (after "scheme://") holds
// a blank or quote before which, from its start or after an '@', the text
// reads as a host: "first.last:1234 5678" and "u:p@a.b c". In free text
// that is a URL that ends at the blank, and the documented price of not
// letting a later "alice@example.com" swallow every URL (package comment).
func readsAsURLEnd(userinfo string) bool {
	from := 0
	for i := 0; i < len(userinfo); i++ {
		switch {
		case userinfo[i] == '@':
			from = i + 1
		case wordEnd(userinfo, i):
			chunk := userinfo[from:i]
			if i > 0 && from == 0 && userinfo[0] == '"' {
				chunk = userinfo[1:i]
			}
			chunk = strings.TrimRight(chunk, ".,:;!)>}")
			if !strings.HasPrefix(chunk, "[") {
				chunk = strings.TrimRight(chunk, ".,:;!)>}]")
			}
			if reHost.MatchString(chunk) {
				return true
			}
			from = i + 1
		}
	}
	return false
}

// FuzzRedact builds a URL-like value from a scheme, a user and a password
// with no character excluded, and a host, and checks that none of these
// shows 4 bytes in a row of the password or the user that the rest of the
// input does not also hold: Value of the value; the value as a proxy
// variable in a line (NAME: value, NAME=value, "NAME": "value"), always;
// and Text of the value inside free text, unless the value is one that
// free text cannot tell from other words: without a scheme, a password or
// user holding a blank or a quote ("u:pa ss@h" is the words "u:pa" and
// "ss@h"); with one, user information that reads as a host before a blank
// (readsAsURLEnd).
func FuzzRedact(f *testing.F) {
	f.Add(uint8(0), "user", "secret", "proxy:3128", "Post", "failed")
	f.Add(uint8(1), "", "TOKEN", "proxy", "", "")
	f.Add(uint8(2), "u", "p/a?s#s@w d://x", "10.0.0.1:3128", "dial", "x")
	f.Add(uint8(3), "us@er", "aaaa bbbb", "h", "a@b", "c@d")
	f.Add(uint8(0), "alice", "Xk9fQ2sAbCdE==", "10.0.0.5:3128", "INFO", "")
	f.Add(uint8(0), "alice", "Xk9 fQ2s\"Ab[C]d;E,=", "10.0.0.5:3128", "INFO", "")
	f.Add(uint8(1), "alice", "Xk9 fQ2s", "ssm.us-east-1.amazonaws.com", "x", "arn:aws:sts::1:assumed-role/r/alice@example.com")
	f.Fuzz(func(t *testing.T, pick uint8, user, pass, host, before, after string) {
		schemes := []string{"", "http://", "https://", "socks5h://", "HTTP://"}
		scheme := schemes[int(pick)%len(schemes)]
		host = strings.ReplaceAll(host, "@", "") // a host name holds no '@'
		raw := scheme + user + ":" + pass + "@" + host
		if t := strings.TrimLeft(raw, " \t\"'`"); scheme == "" {
			if i := strings.Index(t, "://"); i >= 0 && isScheme(t[:i]) {
				// "user://…@host" (after a blank or an opening quote) is a
				// URL whose scheme is the user: nothing to tell apart.
				return
			}
		}
		secret := user + ":" + pass
		public := scheme + Mark + "@" + host
		if w := leaked(Value(raw), secret, public); w != "" {
			t.Fatalf("Value(%q) = %q shows %q", raw, Value(raw), w)
		}
		for _, name := range []string{"https_proxy: ", "HTTP_PROXY=", `"https_proxy": "`} {
			line := before + " " + name + raw + " " + after
			out := Text(line)
			if w := leaked(out, secret, before+" "+name+public+" "+after); w != "" {
				t.Fatalf("Text(%q) = %q shows %q", line, out, w)
			}
		}
		text := before + " " + raw + " " + after
		if scheme == "" {
			for i := 0; i < len(secret); i++ {
				if wordEnd(" "+secret, i+1) {
					return
				}
			}
		} else if readsAsURLEnd(secret) {
			return
		}
		out := Text(text)
		if w := leaked(out, secret, before+" "+public+" "+after); w != "" {
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
