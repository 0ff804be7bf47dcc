package resolv

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checkProblems asserts the invariants every parser keeps for its
// problems: at most maxProblems plus the "more not recorded" line, and
// texts capped and printable ASCII.
func checkProblems(t *testing.T, ps []Problem) {
	t.Helper()
	if len(ps) > maxProblems+1 {
		t.Fatalf("%d problems, cap is %d+1", len(ps), maxProblems)
	}
	for _, p := range ps {
		if len(p.Text) > maxProblemText+len("…") {
			t.Fatalf("problem text of %d bytes: %q", len(p.Text), p.Text)
		}
		for _, r := range strings.TrimSuffix(p.Text, "…") {
			if (r < 0x20 || r >= 0x7f) && r != '\t' {
				t.Fatalf("problem text holds %U: %q", r, p.Text)
			}
		}
		if p.Class == "" || p.Msg == "" {
			t.Fatalf("problem without class or message: %+v", p)
		}
	}
}

// writeFuzzFile writes b to name inside dir, replacing what was there.
func writeFuzzFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzParseConf checks that ParseConf never panics, keeps its caps and
// option ranges, agrees with ReadConf on the same bytes in a regular file,
// and gives a Conf that survives a JSON round trip.
func FuzzParseConf(f *testing.F) {
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := writeFuzzFile(t, dir, "resolv.conf", b)
		c := ParseConf(bytes.NewReader(b), p)
		checkProblems(t, c.Problems)
		if n := len(c.EffectiveNameservers()); n > MaxNameservers || n > len(c.Nameservers) {
			t.Fatalf("%d effective nameservers of %d", n, len(c.Nameservers))
		}
		o := c.Options
		if o.Ndots < 0 || o.Ndots > glibcMaxNdots || o.Timeout < 1 || o.Attempts < 1 {
			t.Fatalf("options out of range: %+v", o)
		}
		for _, ns := range c.Nameservers {
			if !ns.Addr.IsValid() || ns.Line < 1 {
				t.Fatalf("bad nameserver record %+v", ns)
			}
		}
		// The same bytes read from a file must give the same Conf.
		if r := ReadConf(p); !reflect.DeepEqual(c, r) {
			t.Fatalf("ParseConf and ReadConf differ:\n%+v\n%+v", c, r)
		}
		js, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back Conf
		if err := json.Unmarshal(js, &back); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
	})
}

// FuzzReadHosts checks that ReadHosts never panics, keeps its caps, and
// that every entry it keeps can be looked up by each of its names.
func FuzzReadHosts(f *testing.F) {
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		h := ReadHosts(writeFuzzFile(t, dir, "hosts", b))
		checkProblems(t, h.Problems)
		if h.Missing || h.Unreadable {
			t.Fatalf("a regular file reported missing=%v unreadable=%v", h.Missing, h.Unreadable)
		}
		last := 0
		for _, e := range h.Entries {
			if e.Line <= last || len(e.Names) == 0 || !e.Addr.IsValid() {
				t.Fatalf("bad entry %+v after line %d", e, last)
			}
			last = e.Line
			for _, n := range e.Names {
				if n == "" || strings.ContainsAny(n, " \t#\n") {
					t.Fatalf("name %q kept", n)
				}
				if canonName(n) == "" {
					continue // "." alone names nothing
				}
				found := false
				for _, a := range h.Lookup(n) {
					found = found || a == e.Addr
				}
				if !found {
					t.Fatalf("Lookup(%q) misses %v from line %d", n, e.Addr, e.Line)
				}
			}
		}
	})
}

// FuzzReadNSSwitch checks that ReadNSSwitch never panics, keeps its caps,
// and that HostsOrder and GoOrder always give an answer.
func FuzzReadNSSwitch(f *testing.F) {
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		s := ReadNSSwitch(writeFuzzFile(t, dir, "nsswitch.conf", b))
		checkProblems(t, s.Problems)
		order := s.HostsOrder()
		if len(order) == 0 {
			t.Fatal("HostsOrder is empty")
		}
		for _, n := range order {
			if n == "" || strings.ContainsAny(n, " \t[") {
				t.Fatalf("source name %q", n)
			}
		}
		switch g := s.GoOrder(); g {
		case OrderFiles, OrderDNS, OrderFilesDNS, OrderDNSFiles:
		default:
			t.Fatalf("GoOrder %q", g)
		}
		if s.HostsLine == 0 && len(s.Hosts) != 0 {
			t.Fatalf("sources %v without a hosts: line", s.Hosts)
		}
	})
}
