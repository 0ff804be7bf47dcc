package resolv

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// defaults is the Options value of a file without options lines.
func defaults() Options { return Options{Ndots: 1, Timeout: 5, Attempts: 2} }

func ns(addr string, line int) Nameserver {
	return Nameserver{Addr: netip.MustParseAddr(addr), Line: line}
}

func TestReadConf(t *testing.T) {
	tests := []struct {
		file   string
		want   Conf
		stub   bool
		useful []string // EffectiveNameservers
	}{
		{
			file: "stub.conf",
			want: Conf{
				Nameservers: []Nameserver{ns("127.0.0.53", 3)},
				Search:      []string{"ec2.internal"},
				Options:     Options{Ndots: 1, Timeout: 5, Attempts: 2, EDNS0: true, TrustAD: true, Raw: []string{"edns0", "trust-ad"}},
			},
			stub:   true,
			useful: []string{"127.0.0.53"},
		},
		{
			file: "ec2.conf",
			want: Conf{
				Nameservers: []Nameserver{ns("10.0.0.2", 4)},
				Search:      []string{"ec2.internal"},
				Options:     Options{Ndots: 1, Timeout: 2, Attempts: 5, Raw: []string{"timeout:2", "attempts:5"}},
			},
			useful: []string{"10.0.0.2"},
		},
		{
			file: "many-nameservers.conf",
			want: Conf{
				Nameservers: []Nameserver{ns("10.0.0.2", 1), ns("10.1.0.10", 2), ns("10.1.0.11", 3), ns("169.254.169.253", 4)},
				Options:     defaults(),
				Problems: []Problem{{Line: 4, Text: "169.254.169.253", Class: errclass.Malformed,
					Msg: "4 nameservers listed; glibc and Go use only the first 3"}},
			},
			useful: []string{"10.0.0.2", "10.1.0.10", "10.1.0.11"},
		},
		{
			file: "ipv6-zone.conf",
			want: Conf{
				Nameservers: []Nameserver{ns("fe80::1%eth0", 1), ns("fd00:ec2::253", 2), ns("::ffff:10.0.0.2", 3)},
				Options:     defaults(),
			},
			useful: []string{"fe80::1%eth0", "fd00:ec2::253", "::ffff:10.0.0.2"},
		},
		{
			file: "unknown-options.conf",
			want: Conf{
				Nameservers: []Nameserver{ns("10.0.0.2", 3)},
				Options: Options{Ndots: 0, Timeout: 45, Attempts: 9, Rotate: true, EDNS0: true, UseVC: true,
					SingleRequestReopen: true, NoAAAA: true, Inet6: true,
					Raw: []string{"ndots:5", "timeout:45", "attempts:9", "rotate", "frobnicate", "no-aaaa",
						"single-request-reopen", "use-vc", "inet6", "ndots:x", "edns0"}},
				Unknown:   []string{"frobnicate"},
				GoIgnored: []string{"no-aaaa", "inet6"},
				Problems: []Problem{
					{Line: 1, Text: "timeout:45", Class: errclass.Malformed, Msg: "glibc caps timeout at 30 s; Go uses 45 s"},
					{Line: 1, Text: "attempts:9", Class: errclass.Malformed, Msg: "glibc caps attempts at 5; Go uses 9"},
					{Line: 1, Text: "frobnicate", Class: errclass.Malformed, Msg: `unknown option "frobnicate"`},
					{Line: 2, Text: "ndots:x", Class: errclass.Malformed, Msg: `option value "x" is not a number`},
				},
			},
			useful: []string{"10.0.0.2"},
		},
		{
			file: "crlf.conf",
			want: Conf{
				Nameservers: []Nameserver{ns("10.20.0.5", 2), ns("10.20.0.6", 3)},
				Search:      []string{"corp.example.com"},
				Options:     Options{Ndots: 1, Timeout: 5, Attempts: 2, Rotate: true, Raw: []string{"rotate"}},
			},
			useful: []string{"10.20.0.5", "10.20.0.6"},
		},
		{
			file: "binary.conf",
			want: Conf{
				Options: defaults(),
				Problems: []Problem{
					{Line: 1, Class: errclass.Malformed, Msg: "testdata/conf/binary.conf contains NUL bytes: it looks like a binary file"},
					{Line: 1, Text: "?ELF??????", Class: errclass.Malformed, Msg: `unknown keyword "?ELF??????"`},
					{Line: 2, Text: "??>?", Class: errclass.Malformed, Msg: `unknown keyword "??>?"`},
				},
			},
		},
		{
			file: "empty.conf",
			want: Conf{
				Options: defaults(),
				Problems: []Problem{{Class: errclass.Malformed,
					Msg: "testdata/conf/empty.conf is empty: resolvers fall back to a nameserver on the local host"}},
			},
		},
		{
			file: "does-not-exist.conf",
			want: Conf{
				Missing:  true,
				Options:  defaults(),
				Problems: []Problem{{Class: errclass.NotFound, Msg: "testdata/conf/does-not-exist.conf does not exist"}},
			},
		},
		{
			file: "malformed.conf",
			want: Conf{
				Nameservers: []Nameserver{ns("10.0.0.2", 3)},
				Search:      []string{"corp.example.com"},
				Domain:      "corp.example.com",
				Options:     defaults(),
				Problems: []Problem{
					{Line: 1, Text: "nameserver", Class: errclass.Malformed, Msg: "nameserver line without an address"},
					{Line: 2, Text: "nameserver", Class: errclass.Malformed,
						Msg: `nameserver "dns.corp.example.com" is not an IP address; it is ignored`},
					{Line: 3, Text: "nameserver", Class: errclass.Malformed, Msg: "text after the nameserver address is ignored"},
					{Line: 6, Text: "sortlist", Class: errclass.Other, Msg: "sortlist is honoured by glibc but ignored by Go's resolver"},
					{Line: 7, Text: "lookup", Class: errclass.Malformed, Msg: `unknown keyword "lookup"`},
				},
			},
			useful: []string{"10.0.0.2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "conf", tt.file)
			got := ReadConf(path)
			want := tt.want
			want.Path = path
			want.Problems = nativePaths(want.Problems, path)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("ReadConf(%s)\n got %#v\nwant %#v", path, *got, want)
			}
			if got.IsStub() != tt.stub {
				t.Errorf("IsStub() = %v, want %v", got.IsStub(), tt.stub)
			}
			var useful []string
			for _, a := range got.EffectiveNameservers() {
				useful = append(useful, a.String())
			}
			if !reflect.DeepEqual(useful, tt.useful) {
				t.Errorf("EffectiveNameservers() = %v, want %v", useful, tt.useful)
			}
			// ParseConf on the same bytes gives the same result, minus the
			// file-level facts only ReadConf can know.
			if data, err := os.ReadFile(path); err == nil {
				p := ParseConf(bytes.NewReader(data), path)
				if !reflect.DeepEqual(p, got) {
					t.Errorf("ParseConf differs from ReadConf:\n got %#v\nwant %#v", *p, *got)
				}
			}
		})
	}
}

// TestProblemsCapped checks that a file full of junk records at most
// maxProblems problems plus a summary.
func TestProblemsCapped(t *testing.T) {
	c := ParseConf(strings.NewReader(strings.Repeat("junk\n", 500)), "junk")
	if len(c.Problems) != maxProblems+1 {
		t.Fatalf("%d problems, want %d", len(c.Problems), maxProblems+1)
	}
	if last := c.Problems[maxProblems]; last.Msg != "450 more problems not recorded" {
		t.Errorf("last problem %q", last.Msg)
	}
}

func TestResolvedUpstreamPath(t *testing.T) {
	for root, want := range map[string]string{
		"":          "/run/systemd/resolve/resolv.conf",
		"/":         "/run/systemd/resolve/resolv.conf",
		"/mnt/img":  "/mnt/img/run/systemd/resolve/resolv.conf",
		"/mnt/img/": "/mnt/img/run/systemd/resolve/resolv.conf",
	} {
		if got := ResolvedUpstreamPath(root); got != filepath.FromSlash(want) {
			t.Errorf("ResolvedUpstreamPath(%q) = %q, want %q", root, got, filepath.FromSlash(want))
		}
	}
}

func TestIsStub(t *testing.T) {
	for text, want := range map[string]bool{
		"nameserver 127.0.0.53\n":                      true,
		"nameserver 127.0.0.54\n":                      true,
		"nameserver ::ffff:127.0.0.53\n":               true,
		"nameserver 10.0.0.2\nnameserver 127.0.0.53\n": true,
		"nameserver 127.0.0.1\n":                       false,
		"nameserver 1.1.1.1\nnameserver 1.0.0.1\nnameserver 8.8.8.8\nnameserver 127.0.0.53\n": false, // 4th is ignored
	} {
		if got := ParseConf(strings.NewReader(text), "t").IsStub(); got != want {
			t.Errorf("IsStub(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestNameList(t *testing.T) {
	tests := []struct {
		conf, name, hostname string
		want                 []string
	}{
		{"search ec2.internal\n", "ssm.us-east-1.amazonaws.com", "", []string{"ssm.us-east-1.amazonaws.com.", "ssm.us-east-1.amazonaws.com.ec2.internal."}},
		{"search ec2.internal\n", "ssm", "", []string{"ssm.ec2.internal.", "ssm."}},
		{"search a.example b.example\noptions ndots:5\n", "ssm.us-east-1.amazonaws.com", "", []string{"ssm.us-east-1.amazonaws.com.a.example.", "ssm.us-east-1.amazonaws.com.b.example.", "ssm.us-east-1.amazonaws.com."}},
		{"search a.example\n", "ssm.us-east-1.amazonaws.com.", "", []string{"ssm.us-east-1.amazonaws.com."}},
		{"", "ssm", "ip-10-0-0-5.ec2.internal", []string{"ssm.ec2.internal.", "ssm."}},
		{"options ndots:0\n", "ssm", "", []string{"ssm."}},
	}
	for _, tt := range tests {
		got := ParseConf(strings.NewReader(tt.conf), "t").NameList(tt.name, tt.hostname)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("NameList(%q) with %q = %q, want %q", tt.name, tt.conf, got, tt.want)
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReadInRootStaysInside: under a root, a resolv.conf linking to a file
// outside it is not read and says so, and a file of the volume whose first
// word is long is quoted as that word, capped, never as the whole line.
func TestReadInRootStaysInside(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("reads under a root (--root) are Linux-only: Windows refuses them")
	}
	host := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(host, []byte("OUTSIDE-MARKER line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	if err := os.Symlink(host, filepath.Join(root, "etc/resolv.conf")); err != nil {
		t.Fatal(err)
	}
	long := "root:$6$saltsaltsalt$" + strings.Repeat("h", 80) + ":19000:0:99999:7:::"
	if err := os.WriteFile(filepath.Join(root, "etc/hosts"), []byte(long+" trailing secret words\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys := rootfs.FS{Root: root}
	c := ReadConfIn(fsys, "/etc/resolv.conf")
	js, _ := json.Marshal(c)
	if !c.Unreadable || strings.Contains(string(js), "OUTSIDE-MARKER") || !strings.Contains(string(js), "points outside the volume") {
		t.Errorf("ReadConfIn through an outside link: %s", js)
	}
	h := ReadHostsIn(fsys, "/etc/hosts")
	js, _ = json.Marshal(h)
	if strings.Contains(string(js), "trailing") || strings.Contains(string(js), strings.Repeat("h", 40)) {
		t.Errorf("ReadHostsIn quotes more than a capped word: %s", js)
	}
}
