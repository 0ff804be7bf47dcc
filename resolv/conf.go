package resolv

import (
	"bytes"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// Paths and limits from resolv.conf(5) and systemd-resolved.service(8).
const (
	// DefaultConfPath is where glibc and Go read the resolver configuration.
	DefaultConfPath = "/etc/resolv.conf"
	// ResolvedUpstreamConf is the file in which systemd-resolved lists the
	// upstream servers it forwards to, in resolv.conf format.
	ResolvedUpstreamConf = "/run/systemd/resolve/resolv.conf"
	// MaxNameservers is MAXNS in glibc's resolv.h: resolv.conf(5) says "Up
	// to MAXNS (currently 3) name servers may be listed"; glibc and Go both
	// ignore the rest.
	MaxNameservers = 3
	// DefaultNdots, DefaultTimeoutSec and DefaultAttempts are the values
	// glibc (resolv.conf(5)) and Go's net package use when options are absent.
	DefaultNdots      = 1
	DefaultTimeoutSec = 5
	DefaultAttempts   = 2
	// glibcMaxNdots, glibcMaxTimeout and glibcMaxAttempts are the caps
	// resolv.conf(5) documents (15, RES_MAXRETRANS 30, RES_MAXRETRY 5). Go
	// applies only the ndots cap.
	glibcMaxNdots    = 15
	glibcMaxTimeout  = 30
	glibcMaxAttempts = 5
)

// stubAddrs are the systemd-resolved stub listeners: 127.0.0.53 is the full
// stub, 127.0.0.54 the "proxy" stub (systemd-resolved.service(8)). It is
// never written.
var stubAddrs = [...]netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 53}), netip.AddrFrom4([4]byte{127, 0, 0, 54})}

// Nameserver is one nameserver line.
type Nameserver struct {
	Addr netip.Addr `json:"addr"` // the address, with its IPv6 zone if any
	Line int        `json:"line"` // 1-based line number
}

// Options holds the options lines of resolv.conf. Numeric values are the
// ones Go's resolver uses (the SSM agent is a Go program); a Problem notes
// where glibc would differ.
type Options struct {
	Ndots               int      `json:"ndots"`    // ndots:n, default 1, at most 15
	Timeout             int      `json:"timeout"`  // timeout:n in seconds, default 5, at least 1
	Attempts            int      `json:"attempts"` // attempts:n, default 2, at least 1
	Rotate              bool     `json:"rotate,omitempty"`
	EDNS0               bool     `json:"edns0,omitempty"`
	UseVC               bool     `json:"use_vc,omitempty"` // use-vc, usevc or tcp: TCP only
	SingleRequest       bool     `json:"single_request,omitempty"`
	SingleRequestReopen bool     `json:"single_request_reopen,omitempty"`
	NoAAAA              bool     `json:"no_aaaa,omitempty"` // glibc 2.36+; Go ignores it
	TrustAD             bool     `json:"trust_ad,omitempty"`
	Inet6               bool     `json:"inet6,omitempty"` // removed in glibc 2.26; Go ignores it
	NoTLDQuery          bool     `json:"no_tld_query,omitempty"`
	NoReload            bool     `json:"no_reload,omitempty"`
	Raw                 []string `json:"raw,omitempty"` // every option word, in file order
}

// Conf is a parsed resolv.conf. It keeps everything, including what glibc and
// Go ignore, and records every problem.
type Conf struct {
	Path        string       `json:"path"`
	Missing     bool         `json:"missing,omitempty"`    // the file does not exist
	Unreadable  bool         `json:"unreadable,omitempty"` // it exists but could not be read (permission, FIFO, device)
	Nameservers []Nameserver `json:"nameservers"`          // all of them, also beyond MaxNameservers
	Search      []string     `json:"search,omitempty"`     // the search list in effect (the last search or domain line wins)
	Domain      string       `json:"domain,omitempty"`     // the last domain line
	Options     Options      `json:"options"`
	Unknown     []string     `json:"unknown,omitempty"`    // option words neither glibc nor Go knows
	GoIgnored   []string     `json:"go_ignored,omitempty"` // option words glibc knows but Go's resolver ignores
	Problems    []Problem    `json:"problems,omitempty"`
}

// ReadConf reads and parses the resolv.conf at path. It never fails: a
// missing, unreadable, non-regular or oversized file gives a Conf with
// defaults and a recorded Problem. At most MaxFileSize bytes are read.
func ReadConf(path string) *Conf { return readConf(nil, path) }

// ReadConfIn is ReadConf for the host path path under the root of fsys
// (the probe's --root): links are resolved inside the root, never out of it.
func ReadConfIn(fsys rootfs.FS, path string) *Conf { return readConf(&fsys, path) }

func readConf(fsys *rootfs.FS, path string) *Conf {
	var p problems
	r := readFile(opener(fsys, path), path, &p)
	c := parseConf(r.data, path, &p)
	c.Missing = r.missing
	c.Unreadable = r.unreadable()
	c.Problems = p.done()
	return c
}

// ParseConf parses a resolv.conf from r, reading at most MaxFileSize bytes.
// path is used only in problem messages.
func ParseConf(r io.Reader, path string) *Conf {
	var p problems
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		p.add(0, "", errclass.Of(err), "cannot read %s: %v", path, err)
	}
	if len(data) > MaxFileSize {
		data = data[:MaxFileSize]
		p.add(0, "", errclass.Malformed, "%s is larger than %d bytes; only the first %d bytes were read", path, MaxFileSize, MaxFileSize)
	}
	c := parseConf(data, path, &p)
	c.Problems = p.done()
	return c
}

// parseConf follows resolv.conf(5): a keyword starts a line, ';' or '#' in
// the first column starts a comment, the last domain or search line wins.
func parseConf(data []byte, path string, p *problems) *Conf {
	c := &Conf{Path: path, Options: Options{Ndots: DefaultNdots, Timeout: DefaultTimeoutSec, Attempts: DefaultAttempts}}
	checkBinary(data, path, p)
	if len(bytes.TrimSpace(data)) == 0 && data != nil {
		p.add(0, "", errclass.Malformed, "%s is empty: resolvers fall back to a nameserver on the local host", path)
	}
	for i, line := range splitLines(data) {
		n := i + 1
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		f := fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			c.parseNameserver(n, line, f, p)
		case "domain":
			if len(f) < 2 {
				p.add(n, line, errclass.Malformed, "domain line without a domain")
				continue
			}
			c.Domain = strings.TrimSuffix(f[1], ".")
			c.Search = []string{c.Domain}
			if len(f) > 2 {
				p.add(n, line, errclass.Malformed, "domain takes one name; the rest is ignored")
			}
		case "search":
			c.Search = nil
			for _, s := range f[1:] {
				if s = strings.TrimSuffix(s, "."); s != "" {
					c.Search = append(c.Search, s)
				}
			}
			if len(f) < 2 {
				p.add(n, line, errclass.Malformed, "search line without domains")
			}
		case "options":
			for _, o := range f[1:] {
				c.parseOption(n, o, p)
			}
		case "sortlist":
			// glibc honours sortlist (resolv.conf(5)); Go does not. Keep it as
			// a note, not an error.
			p.add(n, line, errclass.Other, "sortlist is honoured by glibc but ignored by Go's resolver")
		default:
			p.add(n, line, errclass.Malformed, "unknown keyword %q", word(f[0]))
		}
	}
	if len(c.Nameservers) > MaxNameservers {
		p.add(c.Nameservers[MaxNameservers].Line, c.Nameservers[MaxNameservers].Addr.String(), errclass.Malformed,
			"%d nameservers listed; glibc and Go use only the first %d", len(c.Nameservers), MaxNameservers)
	}
	return c
}

// parseNameserver records one nameserver line. resolv.conf(5) wants an IP
// address; IPv6 addresses may carry a %zone.
func (c *Conf) parseNameserver(n int, line string, f []string, p *problems) {
	if len(f) < 2 {
		p.add(n, line, errclass.Malformed, "nameserver line without an address")
		return
	}
	a, err := netip.ParseAddr(f[1])
	if err != nil {
		p.add(n, line, errclass.Malformed, "nameserver %q is not an IP address; it is ignored", word(f[1]))
		return
	}
	if len(f) > 2 {
		p.add(n, line, errclass.Malformed, "text after the nameserver address is ignored")
	}
	c.Nameservers = append(c.Nameservers, Nameserver{Addr: a, Line: n})
}

// parseOption records one word of an options line, with the option names
// of resolv.conf(5) (glibc) and Go's net/dnsconfig_unix.go.
func (c *Conf) parseOption(n int, o string, p *problems) {
	c.Options.Raw = append(c.Options.Raw, o)
	name, val, hasVal := strings.Cut(o, ":")
	switch {
	case hasVal && name == "ndots":
		v := c.optInt(n, o, val, p)
		if v > glibcMaxNdots {
			v = glibcMaxNdots
		}
		c.Options.Ndots = v
	case hasVal && name == "timeout":
		v := max(c.optInt(n, o, val, p), 1)
		if v > glibcMaxTimeout {
			p.add(n, o, errclass.Malformed, "glibc caps timeout at %d s; Go uses %d s", glibcMaxTimeout, v)
		}
		c.Options.Timeout = v
	case hasVal && name == "attempts":
		v := max(c.optInt(n, o, val, p), 1)
		if v > glibcMaxAttempts {
			p.add(n, o, errclass.Malformed, "glibc caps attempts at %d; Go uses %d", glibcMaxAttempts, v)
		}
		c.Options.Attempts = v
	case o == "rotate":
		c.Options.Rotate = true
	case o == "edns0":
		c.Options.EDNS0 = true
	case o == "use-vc" || o == "usevc" || o == "tcp":
		c.Options.UseVC = true
	case o == "single-request":
		c.Options.SingleRequest = true
	case o == "single-request-reopen":
		c.Options.SingleRequestReopen = true
	case o == "trust-ad":
		c.Options.TrustAD = true
	case o == "no-reload":
		c.Options.NoReload = true
	case o == "no-aaaa":
		c.Options.NoAAAA = true
		c.GoIgnored = append(c.GoIgnored, o)
	case o == "inet6":
		c.Options.Inet6 = true
		c.GoIgnored = append(c.GoIgnored, o)
	case o == "no-tld-query":
		c.Options.NoTLDQuery = true
		c.GoIgnored = append(c.GoIgnored, o)
	case o == "debug" || o == "no-check-names" || o == "ip6-bytestring" || o == "ip6-dotint" || o == "no-ip6-dotint":
		c.GoIgnored = append(c.GoIgnored, o)
	default:
		c.Unknown = append(c.Unknown, o)
		p.add(n, o, errclass.Malformed, "unknown option %q", word(o))
	}
}

// optInt parses the number of an ndots, timeout or attempts option the way
// Go does: leading decimal digits, 0 when there are none. A value that is
// not a plain number is recorded as a problem.
func (c *Conf) optInt(n int, o, val string, p *problems) int {
	i := 0
	for i < len(val) && val[i] >= '0' && val[i] <= '9' {
		i++
	}
	v, err := strconv.Atoi(val[:i])
	if i == 0 || i != len(val) || err != nil {
		p.add(n, o, errclass.Malformed, "option value %q is not a number", word(val))
	}
	if err != nil && i > 0 {
		v = 1 << 24 // Go's dtoi saturates at a large value
	}
	return v
}

// EffectiveNameservers returns the nameservers glibc and Go use: the first
// MaxNameservers, in file order.
func (c *Conf) EffectiveNameservers() []netip.Addr {
	var out []netip.Addr
	for _, ns := range c.Nameservers {
		if len(out) == MaxNameservers {
			break
		}
		out = append(out, ns.Addr)
	}
	return out
}

// IsStub reports whether an effective nameserver is a systemd-resolved stub
// listener (127.0.0.53 or 127.0.0.54), in which case the real upstream
// servers are in ResolvedUpstreamPath.
func (c *Conf) IsStub() bool {
	for _, a := range c.EffectiveNameservers() {
		for _, s := range stubAddrs {
			if a.Unmap() == s {
				return true
			}
		}
	}
	return false
}

// ResolvedUpstreamPath returns the path of systemd-resolved's upstream
// resolv.conf under root ("/" for the live host).
func ResolvedUpstreamPath(root string) string {
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, ResolvedUpstreamConf)
}
