package resolv

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/ssm-probe/ssm-probe/probe/errclass"
)

// goDefaultServers are the nameservers Go's resolver uses when resolv.conf
// lists none (net/dnsconfig.go, defaultNS).
var goDefaultServers = [...]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}

// AgentOptions tunes AgentLookup. The zero value reproduces the agent
// exactly, with resolv.conf's timeout and attempts and port 53.
type AgentOptions struct {
	Port     uint16        // nameserver port; 0 means DefaultPort. Tests point it at a loopback server.
	Timeout  time.Duration // per-attempt limit; 0 means resolv.conf's timeout (5 s by default)
	Attempts int           // 0 means resolv.conf's attempts (2 by default)
	Hostname string        // the host's name; its domain is the search list when resolv.conf has none
	// Dial opens connections; nil means a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// AgentAnswer is what the SSM agent's resolver would answer for a name.
type AgentAnswer struct {
	Name    string         `json:"name"`
	Order   LookupOrder    `json:"order"`            // from nsswitch.conf
	Source  string         `json:"source,omitempty"` // "hosts" or "dns"; empty on failure
	Server  string         `json:"server,omitempty"` // the nameserver that answered the A question (or AAAA if A failed); Queries has each
	FQDN    string         `json:"fqdn,omitempty"`   // the search-list candidate that answered
	Addrs   []netip.Addr   `json:"addrs,omitempty"`  // A then AAAA, in answer order (Go then sorts them by RFC 6724)
	Class   errclass.Class `json:"class"`            // None on success, else the class of the error Go would report
	Detail  string         `json:"detail,omitempty"`
	Queries []Answer       `json:"queries,omitempty"` // every exchange made, in order of completion per question
}

// AgentLookup answers name the way Go's pure-Go resolver does for
// net.Dial("tcp", …) in a program built without cgo, which is how the SSM
// agent runs (net/dnsclient_unix.go, goLookupIPCNAMEOrder):
//
//   - the order comes from nsswitch.conf (NSSwitch.GoOrder); with files
//     first, a hosts entry answers without any DNS traffic;
//   - candidate names follow the search list and ndots (Conf.NameList);
//   - for each candidate, A and AAAA are asked (in parallel unless
//     single-request is set), each over the first three nameservers in turn,
//     Attempts times, starting one server later per question when rotate is
//     set; NXDOMAIN or NODATA from a server ends that question, while
//     timeouts, SERVFAIL, REFUSED and lame referrals move on to the next
//     server;
//   - the first candidate with any address wins.
//
// It never fails: the outcome is in AgentAnswer.Class. A nil conf, hosts
// or nss acts as an empty file.
func AgentLookup(ctx context.Context, name string, conf *Conf, hosts *Hosts, nss *NSSwitch, opt AgentOptions) AgentAnswer {
	if conf == nil {
		conf = &Conf{Options: Options{Ndots: DefaultNdots, Timeout: DefaultTimeoutSec, Attempts: DefaultAttempts}}
	}
	order := nss.GoOrder()
	res := AgentAnswer{Name: name, Order: order}
	if name == "" {
		res.Class, res.Detail = errclass.Malformed, "empty name"
		return res
	}
	if _, ok := dns.IsDomainName(name); !ok {
		res.Class, res.Detail = errclass.Malformed, fmt.Sprintf("%q is not a valid domain name", name)
		return res
	}
	fromHosts := func() bool {
		if addrs := hosts.Lookup(name); len(addrs) > 0 {
			res.Source, res.Addrs, res.Class, res.Detail = "hosts", addrs, errclass.None, ""
			if hosts != nil {
				res.Detail = fmt.Sprintf("%s line %d", hosts.Path, hosts.EntriesFor(name)[0].Line)
			}
			return true
		}
		return false
	}
	if order == OrderFilesDNS || order == OrderFiles {
		if fromHosts() {
			return res
		}
		if order == OrderFiles {
			res.Class, res.Detail = errclass.NXDomain, "not in the hosts file, and nsswitch.conf lists no DNS source"
			return res
		}
	}
	lookupDNS(ctx, name, conf, opt, &res)
	if res.Class != errclass.None && order == OrderDNSFiles {
		fromHosts()
	}
	return res
}

// NameList returns the names Go's resolver tries for name, in order
// (net/dnsconfig_unix.go nameList): a name ending in a dot as is; otherwise
// the name itself first when it has at least ndots dots, then each search
// domain appended, then the name itself if not tried first. hostname
// supplies the search list when the file has none, as Go does.
func (c *Conf) NameList(name, hostname string) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	search := c.Search
	if len(search) == 0 {
		if i := strings.IndexByte(hostname, '.'); i >= 0 && i < len(hostname)-1 {
			search = []string{strings.TrimSuffix(hostname[i+1:], ".")}
		}
	}
	hasNdots := strings.Count(name, ".") >= c.Options.Ndots
	var out []string
	if hasNdots {
		out = append(out, name+".")
	}
	for _, s := range search {
		if fq := name + "." + s + "."; len(fq) <= 254 {
			out = append(out, fq)
		}
	}
	if !hasNdots {
		out = append(out, name+".")
	}
	return out
}

// lookupDNS runs the DNS half of AgentLookup.
func lookupDNS(ctx context.Context, name string, conf *Conf, opt AgentOptions, res *AgentAnswer) {
	port := opt.Port
	if port == 0 {
		port = DefaultPort
	}
	servers := conf.EffectiveNameservers()
	if len(servers) == 0 {
		servers = goDefaultServers[:]
	}
	timeout := opt.Timeout
	if timeout <= 0 {
		timeout = time.Duration(max(conf.Options.Timeout, 1)) * time.Second
	}
	attempts := opt.Attempts
	if attempts <= 0 {
		attempts = max(conf.Options.Attempts, 1)
	}
	qopt := QueryOptions{Timeout: timeout, Attempts: 1, TCP: conf.Options.UseVC, Dial: opt.Dial}
	serial := conf.Options.SingleRequest || conf.Options.SingleRequestReopen
	offset := 0 // Go's dnsConfig.serverOffset: starts at 0, +1 per question when rotate is set

	var lastErr *Answer
	for _, fqdn := range conf.NameList(name, opt.Hostname) {
		qtypes := []uint16{dns.TypeA, dns.TypeAAAA}
		results := make([]oneName, len(qtypes))
		var wg sync.WaitGroup
		for i, qt := range qtypes {
			off := 0
			if conf.Options.Rotate {
				off = offset
				offset++
			}
			run := func() { results[i] = tryOneName(ctx, servers, port, off, attempts, fqdn, qt, qopt) }
			if serial {
				run()
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); run() }()
		}
		wg.Wait()
		var addrs []netip.Addr
		for _, r := range results {
			res.Queries = append(res.Queries, r.tried...)
			if r.answer.Class != errclass.None {
				// Go keeps the first error, but prefers the error for the
				// name as given (goLookupIPCNAMEOrder).
				if lastErr == nil || fqdn == name+"." {
					a := r.answer
					lastErr = &a
				}
				continue
			}
			addrs = append(addrs, r.answer.Addrs...)
			if res.Server == "" {
				res.Server = r.answer.Server
			}
		}
		if len(addrs) > 0 {
			res.Source, res.FQDN, res.Addrs, res.Class, res.Detail = "dns", fqdn, addrs, errclass.None, ""
			return
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Server = ""
	if lastErr == nil {
		res.Class, res.Detail = errclass.NXDomain, "no candidate name to ask"
		return
	}
	res.Class, res.Detail = lastErr.Class, lastErr.Detail
	if ctx.Err() != nil && lastErr.Class != errclass.Canceled {
		res.Class, res.Detail = errclass.Timeout, "the lookup's deadline passed: "+lastErr.Detail
	}
}

// oneName is the outcome of tryOneName: the settling answer (or the last
// failure) and every exchange made.
type oneName struct {
	answer Answer
	tried  []Answer
}

// tryOneName asks one question of each server in turn, attempts times
// (net/dnsclient_unix.go tryOneName). An answer that settles the question
// (addresses, NXDOMAIN, NODATA) stops it; any other outcome moves on.
func tryOneName(ctx context.Context, servers []netip.Addr, port uint16, offset, attempts int, fqdn string, qtype uint16, qopt QueryOptions) oneName {
	var out oneName
	for i := 0; i < attempts; i++ {
		for j := range servers {
			s := servers[(offset+j)%len(servers)]
			a := Query(ctx, netip.AddrPortFrom(s, port), fqdn, qtype, qopt)
			out.tried = append(out.tried, a)
			out.answer = a
			if a.final() || ctx.Err() != nil {
				return out
			}
		}
	}
	return out
}
