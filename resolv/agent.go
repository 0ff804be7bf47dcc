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

	"github.com/ssm-probe/ssm-probe/errclass"
)

// goDefaultServers are the nameservers Go's resolver uses when resolv.conf
// lists none (net/dnsconfig.go, defaultNS).
var goDefaultServers = [...]netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}

// AgentOptions tunes AgentLookup. The zero value reproduces the agent,
// with resolv.conf's timeout and attempts and port 53.
type AgentOptions struct {
	Port uint16 // nameserver port; 0 means DefaultPort. Tests point it at a loopback server.
	// Timeout is how long the probe itself waits for one exchange; 0 means
	// resolv.conf's timeout, capped at DefaultQueryTimeout. The agent's own
	// wait is computed from resolv.conf (AgentAnswer.Wait), never slept.
	Timeout  time.Duration
	Attempts int    // the agent's attempts; 0 means resolv.conf's (2 by default)
	Hostname string // the host's name; its domain is the search list when resolv.conf has none
	// Dial opens connections; nil means a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Ask, when set, answers one exchange instead of a fresh Query: the
	// probe passes answers it already has (or is getting) for the same
	// server, name and type, so that the agent view costs no extra wait.
	Ask func(ctx context.Context, server netip.AddrPort, fqdn string, qtype uint16) Answer
	// Prefetch, when above zero, is how long the walk may take before every
	// exchange it may still need (each later candidate name, each server)
	// is asked at once, so that a silent server met on the first name does
	// not make each later name wait its own timeout in turn: the lookup
	// then takes about one timeout in all. 0: ask only in the agent's order.
	Prefetch time.Duration
}

// AgentStall is a nameserver the agent's resolver waits out during one
// lookup: each exchange with it ends in the agent's timeout before the
// resolver moves on (net/dnsclient_unix.go tryOneName).
type AgentStall struct {
	Server   netip.AddrPort `json:"server"`        // address:port
	Timeouts int            `json:"timeouts"`      // exchanges that time out, on the slowest question
	Wait     time.Duration  `json:"wait_ns"`       // Timeouts × the agent's per-exchange timeout
	Next     netip.AddrPort `json:"next,omitzero"` // the server asked after it, when one answers
	// Adapter is the Windows adapter (or "NRPT rule KEY") the server is
	// asked for (WinLookup); empty on Linux.
	Adapter string `json:"adapter,omitempty"`
}

// AgentAnswer is what the SSM agent's resolver would answer for a name.
type AgentAnswer struct {
	Name    string         `json:"name"`
	Order   LookupOrder    `json:"order"`            // from nsswitch.conf; OrderWindows on Windows
	Source  string         `json:"source,omitempty"` // "hosts" or "dns"; empty on failure
	Server  netip.AddrPort `json:"server,omitzero"`  // the nameserver that answered the A question (or AAAA if A failed); Queries has each
	FQDN    string         `json:"fqdn,omitempty"`   // the search-list candidate that answered
	Addrs   []netip.Addr   `json:"addrs,omitempty"`  // A then AAAA, in answer order (Go then sorts them by RFC 6724)
	Class   errclass.Class `json:"class"`            // None on success, else the class of the error Go would report
	Detail  string         `json:"detail,omitempty"`
	Queries []Answer       `json:"queries,omitempty"` // every exchange the agent makes, in its order per question
	// Wait is how long the agent's own resolver takes over this lookup:
	// resolv.conf's timeout (Go's default 5 s) for every exchange that
	// gets no reply, the measured time for the others, A and AAAA in
	// parallel unless single-request is set. The probe computes it and
	// never sleeps it.
	Wait time.Duration `json:"wait_ns"`
	// ExchangeTimeout and Attempts are the agent's per-exchange timeout and
	// attempts, from resolv.conf and Go's defaults (net/dnsconfig_unix.go);
	// on Windows (WinLookup), the DNS client's first wait and its number of
	// rounds.
	ExchangeTimeout time.Duration `json:"exchange_timeout_ns,omitempty"`
	Attempts        int           `json:"attempts,omitempty"`
	Stalls          []AgentStall  `json:"stalls,omitempty"` // nameservers waited out, on the slowest question
	// Unchecked is set when the lookup could not be followed because the
	// resolver's configuration could not be read (Windows: the adapters);
	// Detail says why. It is no answer either way.
	Unchecked bool `json:"unchecked,omitempty"`
	// HostsFile is the hosts file that answered, on Windows (Source hosts);
	// Linux's is /etc/hosts.
	HostsFile string `json:"hosts_file,omitempty"`
	// Adapter is, on Windows (WinLookup), the adapter whose server
	// answered, or "NRPT rule KEY" when a rule's server did.
	Adapter string `json:"adapter,omitempty"`
	// NRPTRule is, on Windows, the key of the NRPT rule whose servers the
	// client asked for the candidate name last tried.
	NRPTRule string `json:"nrpt_rule,omitempty"`
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
	if res.Detail = invalidName(name); res.Detail != "" {
		res.Class = errclass.Malformed
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

// invalidName says why name cannot be looked up (empty, or not a domain
// name), or "" when it can.
func invalidName(name string) string {
	if name == "" {
		return "empty name"
	}
	if _, ok := dns.IsDomainName(name); !ok {
		return fmt.Sprintf("%q is not a valid domain name", name)
	}
	return ""
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

// lookupDNS runs the DNS half of AgentLookup. It walks Go's order
// exactly, but asks each (server, name, type) at most once, within the
// probe's own timeout: a repeated attempt gets the first answer again, and
// an exchange that got no reply is charged the agent's timeout in
// AgentAnswer.Wait instead of being waited out.
func lookupDNS(ctx context.Context, name string, conf *Conf, opt AgentOptions, res *AgentAnswer) {
	port := opt.Port
	if port == 0 {
		port = DefaultPort
	}
	servers := conf.EffectiveNameservers()
	if len(servers) == 0 {
		servers = goDefaultServers[:]
	}
	// net/dnsconfig_unix.go: timeout:n and attempts:n, each at least 1,
	// default 5 s and 2 (dnsConfig defaults); the parser keeps Go's values.
	agentTimeout := time.Duration(max(conf.Options.Timeout, 1)) * time.Second
	attempts := opt.Attempts
	if attempts <= 0 {
		attempts = max(conf.Options.Attempts, 1)
	}
	res.ExchangeTimeout, res.Attempts = agentTimeout, attempts
	probeTimeout := opt.Timeout
	if probeTimeout <= 0 {
		probeTimeout = min(agentTimeout, DefaultQueryTimeout)
	}
	ask := opt.Ask
	if ask == nil {
		qopt := QueryOptions{Timeout: probeTimeout, Attempts: 1, TCP: conf.Options.UseVC, Dial: opt.Dial}
		ask = func(ctx context.Context, server netip.AddrPort, fqdn string, qtype uint16) Answer {
			return Query(ctx, server, fqdn, qtype, qopt)
		}
	}
	w := &walker{ask: ask, tcp: conf.Options.UseVC, timeout: agentTimeout}
	serial := conf.Options.SingleRequest || conf.Options.SingleRequestReopen
	names := conf.NameList(name, opt.Hostname)
	if opt.Prefetch > 0 {
		pctx, cancel := context.WithCancel(ctx)
		defer cancel() // the walk is over: drop what it did not need
		t := time.AfterFunc(opt.Prefetch, func() {
			for _, fqdn := range names {
				for _, s := range servers {
					for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
						go w.exchange(pctx, netip.AddrPortFrom(s, port), fqdn, qt)
					}
				}
			}
		})
		defer t.Stop()
	}
	offset := 0 // Go's dnsConfig.serverOffset: starts at 0, +1 per question when rotate is set

	var lastErr *Answer
	var slowest oneName
	for _, fqdn := range names {
		qtypes := []uint16{dns.TypeA, dns.TypeAAAA}
		results := make([]oneName, len(qtypes))
		var wg sync.WaitGroup
		for i, qt := range qtypes {
			off := 0
			if conf.Options.Rotate {
				off = offset
				offset++
			}
			run := func() { results[i] = w.tryOneName(ctx, servers, port, off, attempts, fqdn, qt) }
			if serial {
				run()
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); run() }()
		}
		wg.Wait()
		// goLookupIPCNAMEOrder waits for both questions: they cost the
		// slower one in parallel, both in turn with single-request.
		var step time.Duration
		var addrs []netip.Addr
		for _, r := range results {
			if serial {
				step += r.wait
			} else {
				step = max(step, r.wait)
			}
			if r.wait >= slowest.wait {
				slowest = r
			}
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
			if !res.Server.IsValid() {
				res.Server = r.answer.Server
			}
		}
		res.Wait += step
		if len(addrs) > 0 {
			res.Source, res.FQDN, res.Addrs, res.Class, res.Detail = "dns", fqdn, addrs, errclass.None, ""
			res.Stalls = slowest.stalls
			return
		}
		if ctx.Err() != nil {
			break
		}
	}
	res.Stalls = slowest.stalls
	res.Server = netip.AddrPort{}
	if lastErr == nil {
		res.Class, res.Detail = errclass.NXDomain, "no candidate name to ask"
		return
	}
	res.Class, res.Detail = lastErr.Class, lastErr.Detail
	if ctx.Err() != nil && lastErr.Class != errclass.Canceled {
		res.Class, res.Detail = errclass.Timeout, "the lookup's deadline passed: "+lastErr.Detail
	}
}

// StallSummary says in one sentence how long the agent waits on silent
// nameservers for this lookup, or "" when it waits on none. For example:
// "the agent waits 5s per lookup on 10.0.9.9:53 before it tries 10.0.0.2:53
// (resolv.conf timeout:5 attempts:2)".
func (a *AgentAnswer) StallSummary() string {
	if len(a.Stalls) == 0 {
		return ""
	}
	if a.Order == OrderWindows {
		return a.winStallSummary()
	}
	var parts []string
	for i, s := range a.Stalls {
		p := fmt.Sprintf("%v on %s", s.Wait, s.Server)
		if i == 0 {
			p = fmt.Sprintf("%v per lookup on %s", s.Wait, s.Server)
		}
		if s.Next.IsValid() && stallIndex(a.Stalls, s.Next) < 0 {
			p += " before it tries " + s.Next.String()
		}
		parts = append(parts, p)
	}
	how := fmt.Sprintf("timeout:%d attempts:%d", int(a.ExchangeTimeout/time.Second), a.Attempts)
	s := "the agent waits " + strings.Join(parts, ", then ") + " (resolv.conf " + how + ")"
	if a.Class != errclass.None {
		s += fmt.Sprintf(", %v in all, and then fails", a.Wait)
	}
	return s
}

// oneName is the outcome of tryOneName: the settling answer (or the last
// failure), every exchange made, the agent's wait over them, and the
// servers it waited out.
type oneName struct {
	answer Answer
	tried  []Answer
	wait   time.Duration
	stalls []AgentStall
}

// walker asks each (server, name, type) of one lookup once, whatever the
// number of attempts, and charges the agent's timeout for silence.
type walker struct {
	ask     func(ctx context.Context, server netip.AddrPort, fqdn string, qtype uint16) Answer
	memo    Answers
	tcp     bool          // use-vc: part of the memo's key
	timeout time.Duration // the agent's per-exchange timeout
}

func (w *walker) exchange(ctx context.Context, server netip.AddrPort, fqdn string, qtype uint16) Answer {
	return w.memo.Get(server, fqdn, qtype, w.tcp, func() Answer { return w.ask(ctx, server, fqdn, qtype) })
}

// silent reports whether the agent would wait its whole timeout on a: no
// valid reply came (silence, or only garbage, which Go also ignores and
// keeps waiting through, golang.org/issue/13281).
func silent(a *Answer) bool {
	return a.Class == errclass.Timeout || (a.Class == errclass.DNSError && a.Ignored > 0 && a.Rcode == "")
}

// tryOneName asks one question of each server in turn, attempts times
// (net/dnsclient_unix.go tryOneName). An answer that settles the question
// (addresses, NXDOMAIN, NODATA) stops it; any other outcome moves on. Each
// exchange costs the agent its measured time, or its whole timeout when no
// reply came (net/dnsclient_unix.go exchange: one deadline of
// dnsConfig.timeout per exchange).
func (w *walker) tryOneName(ctx context.Context, servers []netip.Addr, port uint16, offset, attempts int, fqdn string, qtype uint16) oneName {
	var out oneName
	var stalled netip.AddrPort // the server just waited out, whose Next is the one asked after it
	for i := 0; i < attempts; i++ {
		for j := range servers {
			s := netip.AddrPortFrom(servers[(offset+j)%len(servers)], port)
			a := w.exchange(ctx, s, fqdn, qtype)
			out.tried = append(out.tried, a)
			out.answer = a
			if i := stallIndex(out.stalls, stalled); i >= 0 && stalled != s && !out.stalls[i].Next.IsValid() {
				out.stalls[i].Next = s
			}
			stalled = netip.AddrPort{}
			if silent(&a) && a.Class != errclass.Canceled {
				out.wait += w.timeout
				out.stalls, stalled = addStall(out.stalls, s, w.timeout), s
			} else {
				out.wait += min(a.RTT, w.timeout)
			}
			if a.final() || ctx.Err() != nil {
				return out
			}
		}
	}
	return out
}

// addStall counts one more timeout on server.
func addStall(st []AgentStall, server netip.AddrPort, timeout time.Duration) []AgentStall {
	if i := stallIndex(st, server); i >= 0 {
		st[i].Timeouts++
		st[i].Wait += timeout
		return st
	}
	return append(st, AgentStall{Server: server, Timeouts: 1, Wait: timeout})
}

func stallIndex(st []AgentStall, server netip.AddrPort) int {
	for i := range st {
		if st[i].Server == server {
			return i
		}
	}
	return -1
}
