package resolv

import (
	"net/netip"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// DefaultHostsPath is the static host table read by glibc's files module and
// by Go's resolver.
const DefaultHostsPath = "/etc/hosts"

// HostEntry is one line of a hosts file.
type HostEntry struct {
	Addr  netip.Addr `json:"addr"`  // the address, with its IPv6 zone if any
	Names []string   `json:"names"` // canonical name then aliases, as written
	Line  int        `json:"line"`  // 1-based line number
}

// Hosts is a parsed hosts file.
type Hosts struct {
	Path       string      `json:"path"`
	Missing    bool        `json:"missing,omitempty"`
	Unreadable bool        `json:"unreadable,omitempty"`
	Entries    []HostEntry `json:"entries,omitempty"`
	Problems   []Problem   `json:"problems,omitempty"`
}

// ReadHosts reads and parses the hosts file at path (hosts(5)): an address
// followed by names on each line, '#' starting a comment anywhere. It never
// fails: problems are recorded, and lines with a bad address or no name are
// skipped the way glibc and Go skip them.
func ReadHosts(path string) *Hosts { return readHosts(nil, path) }

// ReadHostsIn is ReadHosts for the host path path under the root of fsys.
func ReadHostsIn(fsys rootfs.FS, path string) *Hosts { return readHosts(&fsys, path) }

func readHosts(fsys *rootfs.FS, path string) *Hosts {
	var p problems
	r := readFile(opener(fsys, path), path, &p)
	h := &Hosts{Path: path, Missing: r.missing, Unreadable: r.unreadable()}
	parseHosts(h, r.data, &p)
	return h
}

// ParseHosts parses the contents of a hosts file that was read elsewhere
// (the Windows reader gets its bytes from its own source), with the rules
// of ReadHosts; path names the file in problems.
func ParseHosts(path string, data []byte) *Hosts {
	var p problems
	h := &Hosts{Path: path}
	parseHosts(h, data, &p)
	return h
}

func parseHosts(h *Hosts, data []byte, p *problems) {
	path := h.Path
	checkBinary(data, path, p)
	for i, line := range splitLines(data) {
		n := i + 1
		text := line
		line = uncomment(line)
		f := fields(line)
		if len(f) == 0 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			p.add(n, text, errclass.Malformed, "%q is not an IP address; the line is ignored", word(f[0]))
			continue
		}
		if len(f) < 2 {
			p.add(n, text, errclass.Malformed, "address without a host name; the line is ignored")
			continue
		}
		h.Entries = append(h.Entries, HostEntry{Addr: a, Names: f[1:], Line: n})
	}
	h.Problems = p.done()
}

// canonName lowercases name and removes one trailing dot, so that
// "SSM.us-east-1.amazonaws.com." matches "ssm.us-east-1.amazonaws.com".
func canonName(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

// EntriesFor returns every entry that lists name, compared without case and
// without a trailing dot, in file order.
func (h *Hosts) EntriesFor(name string) []HostEntry {
	if h == nil {
		return nil
	}
	key := canonName(name)
	if key == "" {
		return nil
	}
	var out []HostEntry
	for _, e := range h.Entries {
		for _, n := range e.Names {
			if canonName(n) == key {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// Lookup returns the addresses the hosts file gives name, in file order,
// like Go's lookupStaticHost: every line that lists the name contributes.
func (h *Hosts) Lookup(name string) []netip.Addr {
	var out []netip.Addr
	for _, e := range h.EntriesFor(name) {
		out = append(out, e.Addr)
	}
	return out
}
