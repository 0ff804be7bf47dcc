package resolv

import (
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// DefaultNSSwitchPath is the Name Service Switch configuration.
const DefaultNSSwitchPath = "/etc/nsswitch.conf"

// NSSource is one source of the hosts: line, such as "files" or "dns", with
// the [STATUS=action] criteria that follow it, as written.
type NSSource struct {
	Name     string `json:"name"`
	Criteria string `json:"criteria,omitempty"`
}

// NSSwitch is the part of nsswitch.conf that matters for host names.
type NSSwitch struct {
	Path       string     `json:"path"`
	Missing    bool       `json:"missing,omitempty"`
	Unreadable bool       `json:"unreadable,omitempty"`
	HostsLine  int        `json:"hosts_line,omitempty"` // 0 when there is no hosts: line
	Hosts      []NSSource `json:"hosts,omitempty"`
	Problems   []Problem  `json:"problems,omitempty"`
}

// LookupOrder is the order in which Go's resolver consults the hosts file
// and DNS.
type LookupOrder string

// The orders of Go's net package (hostLookupOrder) that a resolver without
// cgo can take.
const (
	OrderFilesDNS LookupOrder = "files,dns"
	OrderDNSFiles LookupOrder = "dns,files"
	OrderFiles    LookupOrder = "files"
	OrderDNS      LookupOrder = "dns"
)

// ReadNSSwitch reads the hosts: line of the nsswitch.conf at path
// (nsswitch.conf(5)). It never fails; a missing file is recorded with
// Missing, and HostsOrder then reports the default "files dns".
func ReadNSSwitch(path string) *NSSwitch { return readNSSwitch(nil, path) }

// ReadNSSwitchIn is ReadNSSwitch for the host path path under the root of fsys.
func ReadNSSwitchIn(fsys rootfs.FS, path string) *NSSwitch { return readNSSwitch(&fsys, path) }

func readNSSwitch(fsys *rootfs.FS, path string) *NSSwitch {
	var p problems
	r := readFile(opener(fsys, path), path, &p)
	s := &NSSwitch{Path: path, Missing: r.missing, Unreadable: r.unreadable()}
	checkBinary(r.data, path, &p)
	for i, line := range splitLines(r.data) {
		n := i + 1
		text := line
		line = uncomment(line)
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		db, rest, ok := strings.Cut(line, ":")
		if !ok {
			p.add(n, text, errclass.Malformed, "line has no database name followed by ':'")
			continue
		}
		if strings.TrimSpace(db) != "hosts" {
			continue
		}
		if s.HostsLine != 0 {
			p.add(n, text, errclass.Malformed, "another hosts: line; Go uses the last one, glibc the first")
		}
		s.HostsLine, s.Hosts = n, parseSources(n, text, rest, &p)
	}
	if r.readable && s.HostsLine == 0 {
		p.add(0, "", errclass.Malformed, "%s has no hosts: line; the default \"files dns\" applies", path)
	}
	s.Problems = p.done()
	return s
}

// parseSources splits "files mdns4_minimal [NOTFOUND=return] dns" into
// sources, attaching each bracketed criterion to the source before it.
func parseSources(n int, text, rest string, p *problems) []NSSource {
	var out []NSSource
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		if rest[0] == '[' {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				p.add(n, text, errclass.Malformed, "unterminated '[' criterion")
				return out
			}
			if len(out) == 0 {
				p.add(n, text, errclass.Malformed, "criterion before any source")
			} else {
				crit := strings.Join(strings.Fields(rest[:end+1]), "")
				out[len(out)-1].Criteria += crit
			}
			rest = rest[end+1:]
			continue
		}
		end := strings.IndexAny(rest, " \t[")
		if end < 0 {
			end = len(rest)
		}
		out = append(out, NSSource{Name: strings.ToLower(rest[:end])})
		rest = rest[end:]
	}
	if len(out) == 0 {
		p.add(n, text, errclass.Malformed, "hosts: line lists no sources")
	}
	return out
}

// HostsOrder returns the source names of the hosts: line, or "files dns"
// (the glibc and Go default) when the file or the line is missing.
func (s *NSSwitch) HostsOrder() []string {
	if s == nil || len(s.Hosts) == 0 {
		return []string{"files", "dns"}
	}
	out := make([]string, len(s.Hosts))
	for i, src := range s.Hosts {
		out[i] = src.Name
	}
	return out
}

// GoOrder returns the order Go's resolver without cgo derives from the
// hosts: line (net/conf.go, lookupOrder): criteria are ignored; "files"
// and "dns" keep their order; other sources (resolve, myhostname, mdns4…)
// count as DNS only when no "dns" source is listed at all. A missing,
// unreadable or empty configuration gives OrderFilesDNS.
func (s *NSSwitch) GoOrder() LookupOrder {
	var files, dns, hasDNS bool
	first := ""
	for _, src := range s.sources() {
		if src == "dns" {
			hasDNS = true
		}
	}
	for _, src := range s.sources() {
		switch src {
		case "files", "dns":
			if src == "files" {
				files = true
			} else {
				dns = true
			}
			if first == "" {
				first = src
			}
		default:
			if !hasDNS {
				dns = true
				if first == "" {
					first = "dns"
				}
			}
		}
	}
	switch {
	case files && dns && first == "dns":
		return OrderDNSFiles
	case files && dns:
		return OrderFilesDNS
	case files:
		return OrderFiles
	case dns:
		return OrderDNS
	}
	return OrderFilesDNS
}

// sources is HostsOrder, but empty for a missing or empty hosts: line,
// which GoOrder maps to its default.
func (s *NSSwitch) sources() []string {
	if s == nil || len(s.Hosts) == 0 {
		return nil
	}
	return s.HostsOrder()
}
