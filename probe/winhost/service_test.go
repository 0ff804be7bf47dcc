package winhost

import (
	"encoding/json"
	"strings"
	"testing"
)

// countingSource counts the reads of each registry key.
type countingSource struct {
	Source
	reads map[string]int
}

func (c *countingSource) Key(path string) (*Key, error) {
	c.reads[strings.ToLower(path)]++
	return c.Source.Key(path)
}

// TestReadAgentService: the agent's service key is read once for the
// service and its proxy, and the answers are ReadService's and
// ReadProxy's, on every recorded host.
func TestReadAgentService(t *testing.T) {
	for _, name := range []string{"healthy", "proxy", "ieproxy", "winhttp", "machineenv", "locked"} {
		t.Run(name, func(t *testing.T) {
			src := &countingSource{Source: loadHost(t, name), reads: map[string]int{}}
			s, p, problems := ReadAgentService(src)
			if n := src.reads[strings.ToLower(KeyServices+`\`+ServiceName)]; n > 1 {
				t.Errorf("the service key read %d times", n)
			}
			ws, wsp := ReadService(src.Source, ServiceName)
			wp, wpp := ReadProxy(src.Source)
			js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
			if js(s) != js(ws) || js(p) != js(wp) || js(problems) != js(append(wsp, wpp...)) {
				t.Errorf("ReadAgentService %s %s %q, want %s %s %q", js(s), js(p), problems, js(ws), js(wp), append(wsp, wpp...))
			}
			if e, we := p.AgentEnv(), wp.AgentEnv(); (e == nil) != (we == nil) || e != nil && (e.HTTPSProxyURL() != we.HTTPSProxyURL() || e.HTTPProxyURL() != we.HTTPProxyURL() || e.NoProxy != we.NoProxy) {
				t.Errorf("agent proxy %+v, want %+v", e, we)
			}
		})
	}
}

// TestStartType: "delayed-auto" only for an automatic start that the
// manager's flag or the key's DelayedAutostart delays.
func TestStartType(t *testing.T) {
	delayedKey := &Key{Values: map[string]Value{"DelayedAutostart": {Type: RegDWORD, Number: 1}}}
	zeroKey := &Key{Values: map[string]Value{"DelayedAutostart": {Type: RegDWORD, Number: 0}}}
	stringKey := &Key{Values: map[string]Value{"DelayedAutostart": {Type: RegSZ, String: "1"}}}
	cases := []struct {
		name string
		info ServiceInfo
		k    *Key
		want string
	}{
		{"flag", ServiceInfo{StartType: "auto", DelayedAutoStart: true}, nil, "delayed-auto"},
		{"value", ServiceInfo{StartType: "auto"}, delayedKey, "delayed-auto"},
		{"auto", ServiceInfo{StartType: "auto"}, nil, "auto"},
		{"value 0", ServiceInfo{StartType: "auto"}, zeroKey, "auto"},
		{"value not a number", ServiceInfo{StartType: "auto"}, stringKey, "auto"},
		{"manual with the flag", ServiceInfo{StartType: "manual", DelayedAutoStart: true}, delayedKey, "manual"},
		{"disabled", ServiceInfo{StartType: "disabled"}, delayedKey, "disabled"},
	}
	for _, c := range cases {
		if got := startType(&c.info, c.k); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
