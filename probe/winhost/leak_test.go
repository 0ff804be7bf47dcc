package winhost

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// connBlob builds a DefaultConnectionSettings (withURL) or WinHttpSettings
// blob naming proxy and bypass.
func connBlob(proxy, bypass string, withURL bool) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0x46)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, proxyTypeDirect|proxyTypeProxy)
	for _, s := range []string{proxy, bypass} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	if withURL {
		b = binary.LittleEndian.AppendUint32(b, 0)
	}
	return b
}

// TestRedactListNoFragment: whatever a password holds (';', blanks, '=',
// '@', "://"), no piece of it or of its user name reaches the facts, the
// problems or the agent's proxy, from LocalSystem's settings, the WinHTTP
// proxy or a user's.
func TestRedactListNoFragment(t *testing.T) {
	cases := []struct {
		name, list string
		secret     []string // the user information's pieces
		want       string   // the redacted list
	}{
		{"semicolon", "http=Usrq:Pa1;Ss2@proxy.example:8080", []string{"Usrq", "Pa1", "Ss2"}, "http=REDACTED@proxy.example:8080"},
		{"blank", "Usrq:Pa1 Ss2@proxy.example:8080", []string{"Usrq", "Pa1", "Ss2"}, "REDACTED@proxy.example:8080"},
		{"tab", "Usrq:Pa1\tSs2@proxy.example:8080", []string{"Usrq", "Pa1", "Ss2"}, "REDACTED@proxy.example:8080"},
		{"equals", "http=Usrq:Pa1=Ss2@proxy.example:8080", []string{"Usrq", "Pa1", "Ss2"}, "http=REDACTED@proxy.example:8080"},
		{"at", "https=Usrq:Pa1@Ss2@proxy.example:8080", []string{"Usrq", "Pa1", "Ss2"}, "https=REDACTED@proxy.example:8080"},
		{"semicolon and name", "http=Usrq:Pa1;xq=Ss2@proxy.example:8080", []string{"Usrq", "Pa1", "xq", "Ss2"}, "http=REDACTED@proxy.example:8080"},
		{"several schemes", "http=Usrq:Pa1;Ss2@h1.example:80;https=Uzz:Qq1 Qq2@h2.example:443;ftp=h3.example:21",
			[]string{"Usrq", "Pa1", "Ss2", "Uzz", "Qq1", "Qq2"}, "http=REDACTED@h1.example:80;https=REDACTED@h2.example:443;ftp=h3.example:21"},
		{"password holding a scheme", "Usrq:Pa1;http=Ss2@proxy.example:8080", []string{"Usrq", "Pa1", "Ss2"}, "REDACTED;http=REDACTED@proxy.example:8080"},
		{"url", "http=http://Usrq:Pa1;Ss2@proxy.example:8080", []string{"Usrq", "Pa1", "Ss2"}, "http=http://REDACTED@proxy.example:8080"},
		{"url without scheme=", "http://Usrq:Pa1 =Ss2@proxy.example:8080", []string{"Usrq", "Pa1", "Ss2"}, "http://REDACTED@proxy.example:8080"},
		{"upper-case scheme", "HTTPS=Usrq:Pa1;Ss2@proxy.example:8080", []string{"Usrq", "Pa1", "Ss2"}, "HTTPS=REDACTED@proxy.example:8080"},
		{"plain hosts kept beside", "http=h1.example:80 h4.example;https=Usrq:Pa1@h2.example:443", []string{"Usrq", "Pa1"}, "http=h1.example:80;h4.example;https=REDACTED@h2.example:443"},
		// Near misses: without '@' a list is only split.
		{"no user information", "http=h1.example:80; https=h2.example:443", nil, "http=h1.example:80;https=h2.example:443"},
		{"no scheme, no user", "proxy.example:8080", nil, "proxy.example:8080"},
		{"ipv6", "http=[fd00::1]:3128;https=Usrq:Pa1@[fd00::2]:3128", []string{"Usrq", "Pa1"}, "http=[fd00::1]:3128;https=REDACTED@[fd00::2]:3128"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := redactList(c.list); got != c.want {
				t.Errorf("redactList(%q) = %q, want %q", c.list, got, c.want)
			}
			for _, withURL := range []bool{true, false} {
				r := &Recorded{Registry: map[string]RecordedKey{
					`HKU`: {Key: Key{Subkeys: []string{"S-1-5-21-1-2-3-1001"}}},
					`HKU\S-1-5-21-1-2-3-1001` + userInternetSettings: {Key: Key{Values: map[string]Value{
						"ProxyEnable": {Type: RegDWORD, Number: 1}, "ProxyServer": {Type: RegSZ, String: c.list},
					}}},
				}}
				if withURL {
					r.Registry[KeyLocalSystemConnections] = RecordedKey{Key: Key{Values: map[string]Value{
						"DefaultConnectionSettings": {Type: RegBinary, Binary: connBlob(c.list, "<local>", true)}}}}
				} else {
					r.Registry[KeyWinHTTPConnections] = RecordedKey{Key: Key{Values: map[string]Value{
						"WinHttpSettings": {Type: RegBinary, Binary: connBlob(c.list, "", false)}}}}
				}
				f := Read(context.Background(), r, Options{Location: time.UTC})
				b, err := json.Marshal(map[string]any{"facts": f, "agent_proxy": f.Proxy.AgentEnv()})
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range c.secret {
					if strings.Contains(string(b), s) {
						t.Errorf("%q shows: %s", s, b)
					}
				}
				if c.secret == nil && !strings.Contains(string(b), `"server":"`+c.want+`"`) {
					t.Errorf("the list %q is not kept: %s", c.want, b)
				}
			}
		})
	}
}
