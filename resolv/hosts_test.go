package resolv

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
)

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func entry(addr string, line int, names ...string) HostEntry {
	return HostEntry{Addr: netip.MustParseAddr(addr), Names: names, Line: line}
}

func TestReadHosts(t *testing.T) {
	tests := []struct {
		file    string
		want    Hosts
		lookups map[string][]netip.Addr
	}{
		{
			file: "pinned.hosts",
			want: Hosts{Entries: []HostEntry{
				entry("127.0.0.1", 1, "localhost"),
				entry("::1", 2, "localhost", "ip6-localhost", "ip6-loopback"),
				entry("10.0.12.34", 4, "ssm.us-east-1.amazonaws.com"),
				entry("10.0.12.35", 5, "SSMMessages.us-east-1.amazonaws.com."),
				entry("10.0.12.36", 6, "ec2messages.us-east-1.amazonaws.com", "ec2messages"),
				entry("fe80::5%eth0", 7, "ssm.us-east-1.amazonaws.com"),
			}},
			lookups: map[string][]netip.Addr{
				"SSM.us-east-1.amazonaws.com.":        addrs("10.0.12.34", "fe80::5%eth0"),
				"ssmmessages.us-east-1.amazonaws.com": addrs("10.0.12.35"),
				"ec2messages":                         addrs("10.0.12.36"),
				"localhost":                           addrs("127.0.0.1", "::1"),
				"kms.us-east-1.amazonaws.com":         nil,
				"":                                    nil,
			},
		},
		{
			file: "malformed.hosts",
			want: Hosts{
				Entries: []HostEntry{entry("10.0.0.7", 5, "tabbed.example", "alias")},
				Problems: []Problem{
					{Line: 1, Text: "10.0.0.300", Class: errclass.Malformed, Msg: `"10.0.0.300" is not an IP address; the line is ignored`},
					{Line: 2, Text: "10.0.0.5", Class: errclass.Malformed, Msg: "address without a host name; the line is ignored"},
					{Line: 4, Text: "ssm.us-east-1.amazonaws.com", Class: errclass.Malformed, Msg: `"ssm.us-east-1.amazonaws.com" is not an IP address; the line is ignored`},
				},
			},
			lookups: map[string][]netip.Addr{"alias": addrs("10.0.0.7"), "bad.example": nil, "ssm.us-east-1.amazonaws.com": nil},
		},
		{
			file:    "crlf.hosts",
			want:    Hosts{Entries: []HostEntry{entry("127.0.0.1", 1, "localhost"), entry("10.0.0.9", 2, "ssm.eu-west-1.amazonaws.com")}},
			lookups: map[string][]netip.Addr{"ssm.eu-west-1.amazonaws.com": addrs("10.0.0.9")},
		},
		{
			file: "binary.hosts",
			want: Hosts{Problems: []Problem{
				{Line: 1, Class: errclass.Malformed, Msg: "testdata/hosts/binary.hosts contains NUL bytes: it looks like a binary file"},
				{Line: 1, Text: "????", Class: errclass.Malformed, Msg: `"????" is not an IP address; the line is ignored`},
			}},
		},
		{
			file:    "missing.hosts",
			want:    Hosts{Missing: true, Problems: []Problem{{Class: errclass.NotFound, Msg: "testdata/hosts/missing.hosts does not exist"}}},
			lookups: map[string][]netip.Addr{"localhost": nil},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "hosts", tt.file)
			got := ReadHosts(path)
			want := tt.want
			want.Path = path
			want.Problems = nativePaths(want.Problems, path)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("ReadHosts(%s)\n got %#v\nwant %#v", path, *got, want)
			}
			for name, w := range tt.lookups {
				if g := got.Lookup(name); !reflect.DeepEqual(g, w) {
					t.Errorf("Lookup(%q) = %v, want %v", name, g, w)
				}
			}
		})
	}
	var nilHosts *Hosts
	if got := nilHosts.Lookup("localhost"); got != nil {
		t.Errorf("nil Hosts Lookup = %v", got)
	}
}

func TestReadNSSwitch(t *testing.T) {
	tests := []struct {
		file  string
		want  NSSwitch
		order []string
		goOrd LookupOrder
	}{
		{
			file: "ubuntu.conf",
			want: NSSwitch{HostsLine: 4, Hosts: []NSSource{{Name: "files"}, {Name: "mdns4_minimal", Criteria: "[NOTFOUND=return]"},
				{Name: "resolve", Criteria: "[!UNAVAIL=return]"}, {Name: "dns"}, {Name: "myhostname"}}},
			order: []string{"files", "mdns4_minimal", "resolve", "dns", "myhostname"},
			goOrd: OrderFilesDNS,
		},
		{
			file:  "dns-first.conf",
			want:  NSSwitch{HostsLine: 1, Hosts: []NSSource{{Name: "dns"}, {Name: "files"}}},
			order: []string{"dns", "files"},
			goOrd: OrderDNSFiles,
		},
		{
			file:  "resolve-only.conf",
			want:  NSSwitch{HostsLine: 1, Hosts: []NSSource{{Name: "resolve", Criteria: "[!UNAVAIL=return]"}, {Name: "myhostname"}}},
			order: []string{"resolve", "myhostname"},
			goOrd: OrderDNS,
		},
		{
			file:  "files-only.conf",
			want:  NSSwitch{HostsLine: 1, Hosts: []NSSource{{Name: "files"}}},
			order: []string{"files"},
			goOrd: OrderFiles,
		},
		{
			file: "no-hosts.conf",
			want: NSSwitch{Problems: []Problem{{Class: errclass.Malformed,
				Msg: `testdata/nsswitch/no-hosts.conf has no hosts: line; the default "files dns" applies`}}},
			order: []string{"files", "dns"},
			goOrd: OrderFilesDNS,
		},
		{
			file: "malformed.conf",
			want: NSSwitch{HostsLine: 3, Hosts: []NSSource{{Name: "dns"}}, Problems: []Problem{
				{Line: 1, Text: "this", Class: errclass.Malformed, Msg: "line has no database name followed by ':'"},
				{Line: 3, Text: "hosts:", Class: errclass.Malformed, Msg: "another hosts: line; Go uses the last one, glibc the first"},
				{Line: 3, Text: "hosts:", Class: errclass.Malformed, Msg: "unterminated '[' criterion"},
			}},
			order: []string{"dns"},
			goOrd: OrderDNS,
		},
		{
			file:  "missing.conf",
			want:  NSSwitch{Missing: true, Problems: []Problem{{Class: errclass.NotFound, Msg: "testdata/nsswitch/missing.conf does not exist"}}},
			order: []string{"files", "dns"},
			goOrd: OrderFilesDNS,
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "nsswitch", tt.file)
			got := ReadNSSwitch(path)
			want := tt.want
			want.Path = path
			want.Problems = nativePaths(want.Problems, path)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("ReadNSSwitch(%s)\n got %#v\nwant %#v", path, *got, want)
			}
			if o := got.HostsOrder(); !reflect.DeepEqual(o, tt.order) {
				t.Errorf("HostsOrder() = %v, want %v", o, tt.order)
			}
			if o := got.GoOrder(); o != tt.goOrd {
				t.Errorf("GoOrder() = %v, want %v", o, tt.goOrd)
			}
		})
	}
}

func TestAmazonProvidedDNS(t *testing.T) {
	tests := []struct {
		cidr string
		v6   bool
		want []netip.Addr
	}{
		{"10.0.0.0/16", false, addrs("10.0.0.2", "169.254.169.253")},
		{"10.0.0.0/16", true, addrs("10.0.0.2", "169.254.169.253", "fd00:ec2::253")},
		{"172.31.0.0/16", false, addrs("172.31.0.2", "169.254.169.253")},
		{"192.168.5.7/24", false, addrs("192.168.5.2", "169.254.169.253")}, // host bits are masked
		{"100.64.16.0/28", false, addrs("100.64.16.2", "169.254.169.253")},
		{"2600:1f18::/56", true, addrs("169.254.169.253", "fd00:ec2::253")},
	}
	for _, tt := range tests {
		got := AmazonProvidedDNS(netip.MustParsePrefix(tt.cidr), tt.v6)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("AmazonProvidedDNS(%s, %v) = %v, want %v", tt.cidr, tt.v6, got, tt.want)
		}
	}
	if got := AmazonProvidedDNS(netip.Prefix{}, false); !reflect.DeepEqual(got, addrs("169.254.169.253")) {
		t.Errorf("AmazonProvidedDNS(invalid) = %v", got)
	}
}

// TestParseHosts holds the parser of bytes read elsewhere (the Windows
// hosts file) to ReadHosts on every hosts case.
func TestParseHosts(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "hosts", "*.hosts"))
	if len(files) == 0 {
		t.Fatal("no hosts cases")
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, want := ParseHosts(p, b), ReadHosts(p)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ParseHosts %+v, ReadHosts %+v", p, got, want)
		}
	}
}
