package resolv

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// OrderWindows is the lookup order of a Windows host: Go hands the name to
// the OS (GetAddrInfoW, net/lookup_windows.go lookupIP, since Windows
// prefers the system resolver, net/conf.go goosPrefersCgo), and the Windows
// DNS client answers from the hosts file it loaded into its cache first,
// then from DNS (WinLookup).
const OrderWindows LookupOrder = "windows"

// The Windows DNS client's waits, each the time one round of queries waits
// for a reply before the next round is sent.
var (
	// winOneListWaits is the schedule over one list of servers (one
	// adapter's, or an NRPT rule's): the first server 1 s, the second 1 s,
	// the third (or the second again) 2 s, then all of them 4 s and 2 s
	// more; 10 s in all. "DNS client resolution timeouts",
	// https://learn.microsoft.com/en-us/troubleshoot/windows-server/networking/dns-client-resolution-timeouts
	winOneListWaits = [...]time.Duration{time.Second, time.Second, 2 * time.Second, 4 * time.Second, 2 * time.Second}
	// winAdaptersWaits is the schedule over several adapters: the first
	// server of the preferred adapter 1 s, the first server of every adapter
	// still under consideration 2 s, then every server of those adapters 2
	// s, 4 s and 8 s; 17 s in all. "DNS queries and lookups",
	// https://learn.microsoft.com/en-us/windows-server/networking/dns/queries-lookups
	winAdaptersWaits = [...]time.Duration{time.Second, 2 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
)

// AdapterOf returns the name of the first adapter, in the client's order,
// that lists server a, or "".
func (c *WinClient) AdapterOf(a netip.Addr) string {
	if ads := c.AdaptersOf([]netip.Addr{a}); len(ads) > 0 {
		return ads[0].Name
	}
	return ""
}

// AdaptersOf returns the adapters that list any of servers as a DNS
// server, in the client's order.
func (c *WinClient) AdaptersOf(servers []netip.Addr) []WinAdapter {
	if c == nil {
		return nil
	}
	var out []WinAdapter
	for _, ad := range c.Adapters {
		if slices.ContainsFunc(ad.DNSServers, func(s netip.Addr) bool { return slices.Contains(servers, s) }) {
			out = append(out, ad)
		}
	}
	return out
}

// UpServers returns the DNS servers of the adapters that are up, once
// each, in the client's order of adapters: the servers WinLookup asks
// for a name no NRPT rule covers.
func (c *WinClient) UpServers() []netip.Addr {
	if c == nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range c.Adapters {
		if !a.Up {
			continue
		}
		for _, s := range a.DNSServers {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// Rule returns the NRPT rule that applies to name, or nil. The DNS client
// checks the NRPT before it sends a query, and the more discrete rule
// wins: an FQDN rule over a suffix rule, a longer suffix over a shorter
// one, and any suffix over the "." (any name) rule. Two rules of the same
// namespace conflict, and neither applies. When any rule comes from Group
// Policy, the local rules are ignored. "Configure DNSSEC rules using the
// Name Resolution Policy Table",
// https://learn.microsoft.com/en-us/windows-server/networking/dns/name-resolution-policy-table
func (c *WinClient) Rule(name string) *NRPTRule {
	if c == nil || len(c.NRPT) == 0 {
		return nil
	}
	key := canonName(name)
	if key == "" {
		return nil
	}
	policy := slices.ContainsFunc(c.NRPT, func(r NRPTRule) bool { return r.Source == NRPTPolicy })
	type match struct {
		rule *NRPTRule
		ns   string
		rank int
	}
	var ms []match
	for i := range c.NRPT {
		r := &c.NRPT[i]
		if policy && r.Source != NRPTPolicy {
			continue
		}
		for _, ns := range r.Namespaces {
			if rank, ok := nrptMatch(ns, key); ok {
				ms = append(ms, match{r, canonNamespace(ns), rank})
			}
		}
	}
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].rank > ms[j].rank })
	for i := 0; i < len(ms); {
		j := i + 1
		conflict := false
		for ; j < len(ms) && ms[j].ns == ms[i].ns; j++ {
			if ms[j].rule != ms[i].rule {
				conflict = true
			}
		}
		if !conflict {
			return ms[i].rule
		}
		i = j
	}
	return nil
}

// canonNamespace lowercases an NRPT namespace and drops a trailing dot,
// keeping "." itself.
func canonNamespace(ns string) string {
	ns = strings.ToLower(strings.TrimSpace(ns))
	if ns == "." {
		return ns
	}
	return strings.TrimSuffix(ns, ".")
}

// nrptMatch reports whether namespace ns covers the canonical name key,
// and how specific the match is: "." covers every name (rank 0), ".suffix"
// the names that end in it (rank its length), anything else exactly that
// host (rank above any suffix).
func nrptMatch(ns, key string) (int, bool) {
	ns = canonNamespace(ns)
	switch {
	case ns == "":
		return 0, false
	case ns == ".":
		return 0, true
	case strings.HasPrefix(ns, "."):
		return len(ns), strings.HasSuffix(key, ns)
	}
	return 1 << 20, key == ns
}

// NameList returns the names the Windows DNS client asks for name, in
// order ("DNS queries and lookups", the DNS server query process,
// https://learn.microsoft.com/en-us/windows-server/networking/dns/queries-lookups):
// a name ending in a dot as is; a name with a dot in it as is (with the
// dot added), then with each suffix only when AppendToMultiLabel is set;
// a single-label name only with the suffixes (Windows resolves it as is by
// LLMNR or NetBIOS, not DNS). The suffixes are the search list when set,
// else the primary suffix and, with devolution, its parents down to two
// labels, then each adapter's connection-specific suffix.
func (c *WinClient) NameList(name string) []string {
	if strings.HasSuffix(name, ".") {
		return []string{name}
	}
	var out []string
	multi := strings.Contains(name, ".")
	if multi {
		out = append(out, name+".")
		if c == nil || !c.AppendToMultiLabel {
			return out
		}
	}
	for _, s := range c.suffixes() {
		if fq := name + "." + s + "."; len(fq) <= 254 && !slices.Contains(out, fq) {
			out = append(out, fq)
		}
	}
	return out
}

// suffixes returns the suffixes the client appends, in order.
func (c *WinClient) suffixes() []string {
	if c == nil {
		return nil
	}
	var out []string
	add := func(s string) {
		s = strings.Trim(strings.TrimSpace(s), ".")
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(c.SearchList) > 0 {
		for _, s := range c.SearchList {
			add(s)
		}
		return out
	}
	add(c.PrimarySuffix)
	if c.Devolution {
		p := strings.Trim(c.PrimarySuffix, ".")
		for strings.Count(p, ".") >= 2 {
			p = p[strings.IndexByte(p, '.')+1:]
			add(p)
		}
	}
	for _, a := range c.Adapters {
		add(a.Suffix)
	}
	return out
}

// winList is one list of servers the client asks as a unit: one adapter's,
// or an NRPT rule's.
type winList struct {
	name    string // the adapter's name, or "NRPT rule KEY"
	servers []netip.Addr
}

// lists returns the server lists the client asks for fqdn and the NRPT
// rule that chose them (nil when the adapters' servers apply), and why
// none when there are none.
func (c *WinClient) lists(fqdn string) ([]winList, *NRPTRule, string) {
	if r := c.Rule(fqdn); r != nil && len(r.Servers) > 0 {
		return []winList{{name: "NRPT rule " + r.Key, servers: r.Servers}}, r, ""
	}
	var out []winList
	down := 0
	if c != nil {
		for _, a := range c.Adapters {
			if len(a.DNSServers) == 0 {
				continue
			}
			if !a.Up {
				down++
				continue
			}
			out = append(out, winList{name: a.Name, servers: a.DNSServers})
		}
	}
	if len(out) == 0 {
		why := "no adapter has a DNS server, and no NRPT rule names one"
		if down > 0 {
			why = fmt.Sprintf("no adapter that is up has a DNS server (%d down)", down)
		}
		return nil, nil, why
	}
	return out, nil, ""
}

// WinLookup answers name the way the SSM agent's resolver does on Windows:
// Go calls GetAddrInfoW with AF_UNSPEC (net/lookup_windows.go lookupIP),
// and the Windows DNS client resolves it:
//
//   - the hosts file first: the client loads it into its cache when it
//     starts, and answers from the cache before any query ("DNS queries
//     and lookups", DNS Client service resolver);
//   - candidate names from WinClient.NameList;
//   - for each candidate, the NRPT rule that applies (WinClient.Rule): its
//     servers replace the adapters'; a rule without servers leaves the
//     adapters';
//   - A and AAAA, each over the servers in the client's rounds: one list
//     (one adapter, or the rule's servers) by winOneListWaits; several
//     adapters by winAdaptersWaits, the preferred server of the first
//     adapter, then the preferred servers of every adapter, then every
//     server of every adapter still under consideration. A positive answer
//     ends the search; a negative one (NXDOMAIN, NODATA), or any other DNS
//     reply (SERVFAIL is a response too), removes every server of that
//     adapter from consideration; an ICMP error moves on to the next
//     server ("DNS Clients", Windows Server 2012 R2,
//     https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-server-2012-r2-and-2012/dn593685(v=ws.11));
//   - an adapter none of whose servers answered a candidate is timed out
//     at once for the later candidates of the lookup (the client's 30 s
//     time-out of such an adapter).
//
// The client's waits are computed (AgentAnswer.Wait, Stalls), never
// slept: each (server, name, type) is asked once, through opt.Ask when
// set. The adaptive first time-out (25 ms to 1 s, from the network's past)
// is taken at its documented 1 s default. It never fails: the outcome is
// in AgentAnswer.Class.
func WinLookup(ctx context.Context, name string, c *WinClient, opt AgentOptions) AgentAnswer {
	res := AgentAnswer{Name: name, Order: OrderWindows}
	if res.Detail = invalidName(name); res.Detail != "" {
		res.Class = errclass.Malformed
		return res
	}
	if c != nil && c.Hosts != nil {
		if addrs := c.Hosts.Lookup(name); len(addrs) > 0 {
			res.Source, res.Addrs, res.HostsFile = "hosts", addrs, c.Hosts.Path
			res.Detail = fmt.Sprintf("%s line %d", c.Hosts.Path, c.Hosts.EntriesFor(name)[0].Line)
			return res
		}
	}
	port := opt.Port
	if port == 0 {
		port = DefaultPort
	}
	ask := opt.Ask
	if ask == nil {
		probeTimeout := opt.Timeout
		if probeTimeout <= 0 {
			probeTimeout = DefaultQueryTimeout
		}
		qopt := QueryOptions{Timeout: probeTimeout, Attempts: 1, Dial: opt.Dial}
		ask = func(ctx context.Context, server netip.AddrPort, fqdn string, qtype uint16) Answer {
			return Query(ctx, server, fqdn, qtype, qopt)
		}
	}
	w := &walker{ask: ask}
	res.ExchangeTimeout = winOneListWaits[0]
	res.Attempts = len(winOneListWaits)
	names := c.NameList(name)
	if opt.Prefetch > 0 {
		// As AgentLookup: past the prefetch delay, ask at once whatever
		// the walk may still need, so that silent servers met in turn
		// cost the probe about one timeout in all.
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		t := time.AfterFunc(opt.Prefetch, func() {
			for _, fqdn := range names {
				lists, _, _ := c.lists(fqdn)
				for _, l := range lists {
					for _, s := range l.servers {
						for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
							go w.exchange(pctx, netip.AddrPortFrom(s, port), fqdn, qt)
						}
					}
				}
			}
		})
		defer t.Stop()
	}
	dead := map[string]bool{} // adapters timed out for the rest of the lookup
	var lastErr *winQuestion
	asIsErr := false // lastErr is the name as given's
	var slowest winQuestion
	for _, fqdn := range names {
		lists, rule, why := c.lists(fqdn)
		if rule != nil {
			res.NRPTRule = rule.Key
		} else {
			res.NRPTRule = ""
		}
		if len(lists) == 0 {
			res.Class, res.Detail = errclass.Other, why
			if c != nil && c.Unread != "" {
				// No adapter is known because none could be read, not
				// because there is none: the lookup could not be followed.
				res.Unchecked, res.Detail = true, "not checked: the adapters' DNS servers could not be read ("+c.Unread+")"
			}
			return res
		}
		var live []winList
		for _, l := range lists {
			if !dead[l.name] {
				live = append(live, l)
			}
		}
		qtypes := []uint16{dns.TypeA, dns.TypeAAAA}
		results := make([]winQuestion, len(qtypes))
		var wg sync.WaitGroup
		for i, qt := range qtypes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = w.winQuestion(ctx, live, port, fqdn, qt)
			}()
		}
		wg.Wait()
		var step time.Duration
		var addrs []netip.Addr
		for i := range results {
			r := &results[i]
			step = max(step, r.wait)
			// the slower question's stalls; on a tie, the one answered
			if r.wait > slowest.wait || (r.wait == slowest.wait && r.answer.Class == errclass.None) {
				slowest = *r
			}
			res.Queries = append(res.Queries, r.tried...)
			for _, l := range r.silentLists {
				dead[l] = true
			}
			if r.answer.Class != errclass.None {
				// Keep the first error, but prefer the name as given's
				// (its A question's, asked first).
				if lastErr == nil || (fqdn == name+"." && !asIsErr) {
					lastErr, asIsErr = r, fqdn == name+"."
				}
				continue
			}
			addrs = append(addrs, r.answer.Addrs...)
			if !res.Server.IsValid() {
				res.Server, res.Adapter = r.answer.Server, r.list
			}
		}
		res.Wait += step
		if len(addrs) > 0 {
			res.Source, res.FQDN, res.Addrs, res.Class, res.Detail = "dns", fqdn, addrs, errclass.None, ""
			res.Stalls = slowest.stalls
			return res
		}
		res.Server, res.Adapter = netip.AddrPort{}, ""
		if ctx.Err() != nil {
			break
		}
	}
	res.Stalls = slowest.stalls
	if lastErr == nil {
		res.Class, res.Detail = errclass.NXDomain, "no candidate name to ask"
		return res
	}
	res.Class, res.Detail = lastErr.answer.Class, lastErr.answer.Detail
	if ctx.Err() != nil && res.Class != errclass.Canceled {
		res.Class, res.Detail = errclass.Timeout, "the lookup's deadline passed: "+res.Detail
	}
	return res
}

// winQuestion is the outcome of one question (name and type) over the
// client's rounds.
type winQuestion struct {
	answer      Answer         // the settling answer, or the failure
	settled     netip.AddrPort // the server whose reply ended the search, if one did
	list        string         // the list (adapter or rule) of the server that answered
	tried       []Answer       // every exchange, in the order sent
	wait        time.Duration
	stalls      []AgentStall
	silentLists []string // lists whose every server was asked and none replied
}

// winServer is one server of a question's walk.
type winServer struct {
	addr   netip.AddrPort
	list   int
	sent   bool
	sentAt time.Duration // when the client first sent the question to it
	ans    Answer
	done   bool // its reply was taken, or its list left consideration
}

// replies reports whether the client gets a reply from the server: any
// DNS reply, or an ICMP error that ends the exchange at once. Silence and
// replies that are not DNS (the client keeps listening) are not.
func (s *winServer) replies() bool { return !silent(&s.ans) }

// at is when the server's reply reaches the client.
func (s *winServer) at() time.Duration { return s.sentAt + max(s.ans.RTT, 0) }

// winQuestion walks one question through the client's rounds over lists.
// Each round sends the question to the servers it names that have not had
// it yet (a resend costs nothing more: the reply to the first send is
// what the client gets), then takes the replies that arrive before the
// round's wait ends, in the order they arrive; it ends early when every
// server asked has replied.
func (w *walker) winQuestion(ctx context.Context, lists []winList, port uint16, fqdn string, qtype uint16) winQuestion {
	var out winQuestion
	var srv []*winServer
	first := make([]int, len(lists)) // index in srv of each list's first server
	for i, l := range lists {
		first[i] = len(srv)
		for _, a := range l.servers {
			srv = append(srv, &winServer{addr: netip.AddrPortFrom(a, port), list: i})
		}
	}
	removed := make([]bool, len(lists))
	waits := winAdaptersWaits[:]
	if len(lists) == 1 {
		waits = winOneListWaits[:]
	}
	considered := func(s *winServer) bool { return !removed[s.list] && !s.done }
	targets := func(round int) []*winServer {
		var t []*winServer
		switch {
		case len(lists) == 1 && round < 3:
			// one list: its first, second and third server in turn,
			// the last one again when the list is shorter
			t = append(t, srv[min(round, len(srv)-1)])
		case len(lists) > 1 && round == 0:
			t = append(t, srv[first[0]])
		case len(lists) > 1 && round == 1:
			for _, i := range first {
				t = append(t, srv[i])
			}
		default:
			t = srv
		}
		var keep []*winServer
		for _, s := range t {
			if considered(s) {
				keep = append(keep, s)
			}
		}
		return keep
	}
	if len(srv) == 0 {
		out.answer = Answer{Name: dns.Fqdn(fqdn), Type: dns.TypeToString[qtype], Class: errclass.Timeout,
			Detail: "every adapter's servers timed out on an earlier name of this lookup; the client times them out at once for 30 s"}
		return out
	}
	var now time.Duration
	var lastNeg, lastFail *Answer
	for round, wait := range waits {
		ts := targets(round)
		var fresh []*winServer
		for _, s := range ts {
			if !s.sent {
				s.sent, s.sentAt = true, now
				fresh = append(fresh, s)
			}
		}
		var wg sync.WaitGroup
		for _, s := range fresh {
			wg.Add(1)
			go func() { defer wg.Done(); s.ans = w.exchange(ctx, s.addr, fqdn, qtype) }()
		}
		wg.Wait()
		for _, s := range fresh {
			out.tried = append(out.tried, s.ans)
			if s.ans.Class == errclass.Canceled {
				out.answer, out.wait = s.ans, now
				return out
			}
		}
		outstanding := func() bool {
			for _, s := range srv {
				if s.sent && considered(s) {
					return true
				}
			}
			return false
		}
		if !outstanding() {
			break // nothing left to ask or wait for
		}
		deadline := now + wait
		var arrivals []*winServer
		for _, s := range srv {
			if s.sent && considered(s) && s.replies() && s.at() < deadline {
				arrivals = append(arrivals, s)
			}
		}
		sort.SliceStable(arrivals, func(i, j int) bool { return arrivals[i].at() < arrivals[j].at() })
		early := false
		for _, s := range arrivals {
			if !considered(s) {
				continue
			}
			s.done = true
			t := max(now, s.at())
			switch {
			case s.ans.Class == errclass.None:
				out.answer, out.list, out.wait, out.settled = s.ans, lists[s.list].name, t, s.addr
				out.finish(srv, lists)
				return out
			case s.ans.Class == errclass.NXDomain || (s.ans.Class == errclass.NoData && !s.ans.Lame):
				// a negative answer: every server of that list leaves
				a := s.ans
				lastNeg = &a
				removed[s.list] = true
				if !slices.Contains(removed, false) {
					out.settled = s.addr // no adapter left: the search ends on it
				}
			default:
				// any other reply: a DNS reply (SERVFAIL, REFUSED…) is a
				// response too, and ends the adapter's consideration
				// just as a negative one; an ICMP error only this server's
				a := s.ans
				lastFail = &a
				if s.ans.Rcode != "" {
					removed[s.list] = true
					if !slices.Contains(removed, false) {
						out.settled = s.addr
					}
				}
			}
			if !outstanding() {
				now, early = t, true
				break
			}
		}
		if early {
			continue // the next round starts at once
		}
		// The round ran to its end: every server asked and still silent
		// was waited out for it.
		for _, s := range srv {
			if s.sent && considered(s) && !s.replies() {
				out.stalls = addStall(out.stalls, s.addr, wait)
			}
		}
		now = deadline
	}
	out.wait = now
	switch {
	case lastNeg != nil:
		out.answer = *lastNeg
	case lastFail != nil:
		out.answer = *lastFail
	default:
		// no reply at all: the last exchange made says why
		out.answer = out.tried[len(out.tried)-1]
		for i := len(out.tried) - 1; i >= 0; i-- {
			if silent(&out.tried[i]) {
				out.answer = out.tried[i]
				break
			}
		}
	}
	out.finish(srv, lists)
	return out
}

// finish records the lists whose every server was asked and none replied
// (the client times such an adapter out for the next 30 s), names each
// stall's adapter and the server that settled the question after it.
func (q *winQuestion) finish(srv []*winServer, lists []winList) {
	for i, l := range lists {
		asked, replied := false, false
		for _, s := range srv {
			if s.list == i && s.sent {
				asked = true
				replied = replied || s.replies()
			}
		}
		if asked && !replied {
			q.silentLists = append(q.silentLists, l.name)
		}
	}
	for i := range q.stalls {
		for _, s := range srv {
			if s.addr == q.stalls[i].Server {
				q.stalls[i].Adapter = lists[s.list].name
				break
			}
		}
		if q.settled.IsValid() && stallIndex(q.stalls, q.settled) < 0 {
			q.stalls[i].Next = q.settled
		}
	}
}

// winStallSummary is StallSummary for the Windows DNS client: its waits
// overlap (later rounds ask several servers at once), so each server's
// wait is given on its own, with its adapter.
func (a *AgentAnswer) winStallSummary() string {
	var parts []string
	for _, s := range a.Stalls {
		p := fmt.Sprintf("on %s", s.Server)
		if s.Adapter != "" {
			p += fmt.Sprintf(" (%s)", s.Adapter)
		}
		p += fmt.Sprintf(" for %v", s.Wait)
		if s.Next.IsValid() && stallIndex(a.Stalls, s.Next) < 0 {
			p += " before " + s.Next.String()
			if a.Adapter != "" && s.Next == a.Server {
				p += fmt.Sprintf(" (%s)", a.Adapter)
			}
			p += " answers"
		}
		parts = append(parts, p)
	}
	s := "the agent's DNS client waits " + strings.Join(parts, ", and ") + " (Windows DNS client time-outs)"
	if a.Class != errclass.None {
		s += fmt.Sprintf(", %v in all, and then fails", a.Wait)
	}
	return s
}
