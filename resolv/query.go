package resolv

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// Query defaults and limits.
const (
	// DefaultQueryTimeout is the per-attempt limit when QueryOptions.Timeout
	// is zero. It matches the probe's --timeout default (docs/INTERFACE.md): long
	// enough for a resolver that forwards across a VPN, short enough that
	// a silent resolver does not stall the run.
	DefaultQueryTimeout = 2 * time.Second
	// DefaultQueryAttempts is the number of attempts when
	// QueryOptions.Attempts is zero; glibc and Go default to 2 as well.
	DefaultQueryAttempts = 2
	// DefaultPort is the DNS port (RFC 1035 §4.2).
	DefaultPort = 53
	// ednsUDPSize is the EDNS0 UDP payload size we advertise: 1232 bytes,
	// the DNS Flag Day 2020 value that Go's resolver also uses, so a large
	// answer comes back truncated exactly as it would for the agent.
	ednsUDPSize = 1232
	// maxReply bounds the buffer for one reply. 65535 is the largest DNS
	// message (the TCP length prefix is 16 bits), so no reply is cut short
	// and none can make us allocate more.
	maxReply = 65535
)

// QueryOptions tunes Query. The zero value is usable.
type QueryOptions struct {
	// Timeout is the whole wait for one question, every send and any TCP
	// retry together: a server that stays silent that long is silent.
	// 0 means DefaultQueryTimeout.
	Timeout time.Duration
	// Attempts is how many times the question is sent: the first at once,
	// each further one (hedged, on a fresh socket) when Timeout/Attempts
	// more has passed without a settling reply, or at once when every send
	// so far came back unsettled (SERVFAIL, REFUSED, lame). Every send keeps
	// listening until Timeout. 0 means DefaultQueryAttempts.
	Attempts int
	TCP      bool // ask over TCP only, like resolv.conf's use-vc
	// Dial opens connections; nil means a net.Dialer. Tests and the lab may
	// inject their own.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Answer is the typed result of one question to one server.
type Answer struct {
	Server    netip.AddrPort `json:"server"`          // address:port asked
	Name      string         `json:"name"`            // the fully qualified name asked, with a trailing dot
	Type      string         `json:"type"`            // "A", "AAAA", …
	Rcode     string         `json:"rcode,omitempty"` // "NOERROR", "NXDOMAIN", …; empty when no usable reply came
	Class     errclass.Class `json:"class"`           // None when Addrs holds at least one address
	Addrs     []netip.Addr   `json:"addrs,omitempty"` // records of the asked type, in answer order
	CNAMEs    []string       `json:"cnames,omitempty"`
	Lame      bool           `json:"lame,omitempty"`      // NOERROR without records, AA, RA or additional data: a lame referral that Go's resolver skips
	Truncated bool           `json:"truncated,omitempty"` // a UDP reply had the TC bit
	UsedTCP   bool           `json:"used_tcp,omitempty"`
	RTT       time.Duration  `json:"rtt_ns"`            // from the first send to the settling reply, or to the end of the wait
	Attempts  int            `json:"attempts"`          // sends made
	Ignored   int            `json:"ignored,omitempty"` // replies dropped over all sends: unparsable, wrong ID or wrong question
	Detail    string         `json:"detail,omitempty"`  // a human sentence on failure
}

// final reports whether the answer settles the question, so that Go's
// resolver (dnsclient_unix.go, tryOneName) would not ask again: addresses,
// NODATA or NXDOMAIN from a non-lame reply, or a cancelled run.
func (a *Answer) final() bool {
	switch a.Class {
	case errclass.None, errclass.NXDomain, errclass.Canceled, errclass.Malformed:
		return true
	case errclass.NoData:
		return !a.Lame
	}
	return false
}

// Query asks server one question directly, over UDP with a TCP retry when
// the reply is truncated (RFC 7766 §5), or over TCP only when opt.TCP is
// set. It never uses the system resolver. The whole call takes at most
// opt.Timeout (or less when ctx ends first): the question is sent once and,
// while no settling reply has come, sent again (hedged) at each
// Timeout/Attempts step, so that one lost datagram costs half a timeout and
// a silent server costs one timeout, never Timeout × Attempts. Query never
// fails: the outcome is in Answer.Class and Answer.Detail.
func Query(ctx context.Context, server netip.AddrPort, name string, qtype uint16, opt QueryOptions) Answer {
	timeout, attempts := opt.Timeout, opt.Attempts
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	if attempts <= 0 {
		attempts = DefaultQueryAttempts
	}
	start := time.Now() // before the deadline is set, so a wait to the end records at least timeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	step := timeout / time.Duration(attempts)
	hedge := time.NewTimer(step)
	defer hedge.Stop()
	results := make(chan Answer, attempts) // buffered: a send still out after return never blocks
	sent, back, ignored := 0, 0, 0
	send := func() {
		sent++
		go func() { results <- queryOnce(ctx, server, name, qtype, opt) }()
	}
	var best Answer
	finish := func(a Answer) Answer {
		a.Attempts, a.RTT, a.Ignored = sent, time.Since(start), ignored
		if a.Class == errclass.Timeout {
			timeoutDetail(&a)
		}
		return a
	}
	send()
	for {
		select {
		case a := <-results:
			back++
			ignored += a.Ignored
			if a.final() {
				return finish(a)
			}
			if back == 1 || informative(a) >= informative(best) {
				best = a
			}
			if back < sent {
				continue
			}
			if sent < attempts && ctx.Err() == nil {
				send() // every send came back unsettled: ask again now
				hedge.Reset(step)
				continue
			}
			return finish(best)
		case <-hedge.C:
			if sent < attempts && ctx.Err() == nil {
				send()
				hedge.Reset(step)
			}
		}
	}
}

// informative ranks unsettled answers: a reply (SERVFAIL, REFUSED, lame)
// says more than a network error, which says more than silence.
func informative(a Answer) int {
	switch {
	case a.Rcode != "":
		return 2
	case a.Class != errclass.Timeout:
		return 1
	}
	return 0
}

// timeoutDetail words a wait that ended without a valid reply.
func timeoutDetail(a *Answer) {
	sends := "1 query"
	if a.Attempts > 1 {
		sends = fmt.Sprintf("%d queries", a.Attempts)
	}
	if a.Ignored > 0 {
		// Only garbage came back: the server is there but broken.
		a.Class = errclass.DNSError
		a.Detail = fmt.Sprintf("%s sent %d reply(s) that were unparsable or did not match the query, and no valid reply within %v (%s)", a.Server, a.Ignored, a.RTT.Round(time.Millisecond), sends)
		return
	}
	a.Detail = fmt.Sprintf("no reply from %s within %v (%s)", a.Server, a.RTT.Round(time.Millisecond), sends)
}

// queryOnce makes one send and waits for its reply until ctx ends.
func queryOnce(ctx context.Context, server netip.AddrPort, name string, qtype uint16, opt QueryOptions) Answer {
	fqdn := dns.Fqdn(name)
	a := Answer{Server: server, Name: fqdn, Type: dns.TypeToString[qtype]}
	if a.Type == "" {
		a.Type = fmt.Sprintf("TYPE%d", qtype)
	}
	if _, ok := dns.IsDomainName(fqdn); !ok || name == "" {
		a.Class, a.Detail = errclass.Malformed, fmt.Sprintf("%q is not a valid domain name", name)
		return a
	}
	q := new(dns.Msg)
	q.SetQuestion(fqdn, qtype)
	q.SetEdns0(ednsUDPSize, false)
	dial := opt.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	start := time.Now()
	var (
		reply *dns.Msg
		err   error
	)
	if !opt.TCP {
		reply, err = exchangeUDP(ctx, dial, server, q, &a)
	}
	if opt.TCP || (err == nil && reply.Truncated) {
		a.Truncated = a.Truncated || (reply != nil && reply.Truncated)
		a.UsedTCP = true
		reply, err = exchangeTCP(ctx, dial, server, q)
	}
	a.RTT = time.Since(start)
	if err != nil {
		classifyErr(ctx, err, &a)
		return a
	}
	classifyReply(reply, qtype, &a)
	return a
}

// errGarbage marks a reply that could not be parsed or did not match.
var errGarbage = errors.New("malformed reply")

// exchangeUDP sends q and waits for the matching reply until ctx ends.
// Like Go's resolver (golang.org/issue/13281) it ignores unparsable replies
// and replies with a wrong ID or question, which may be forgeries, and keeps
// waiting; a.Ignored counts them.
func exchangeUDP(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), server netip.AddrPort, q *dns.Msg, a *Answer) (*dns.Msg, error) {
	conn, err := dial(ctx, "udp", server.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := bindDeadline(ctx, conn)
	defer stop()
	wire, err := q.Pack()
	if err != nil {
		return nil, err
	}
	if _, err := conn.Write(wire); err != nil {
		return nil, err
	}
	buf := make([]byte, maxReply)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		r := new(dns.Msg)
		if r.Unpack(buf[:n]) != nil || !matches(q, r) {
			a.Ignored++
			continue
		}
		return r, nil
	}
}

// exchangeTCP sends q over TCP with the two-byte length prefix of RFC 1035
// §4.2.2 and reads one reply.
func exchangeTCP(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), server netip.AddrPort, q *dns.Msg) (*dns.Msg, error) {
	conn, err := dial(ctx, "tcp", server.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := bindDeadline(ctx, conn)
	defer stop()
	wire, err := q.Pack()
	if err != nil {
		return nil, err
	}
	msg := binary.BigEndian.AppendUint16(nil, uint16(len(wire)))
	if _, err := conn.Write(append(msg, wire...)); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, fmt.Errorf("reading TCP length: %w", err)
	}
	buf := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, fmt.Errorf("reading TCP reply: %w", err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf); err != nil {
		return nil, fmt.Errorf("%w over TCP: %v", errGarbage, err)
	}
	if !matches(q, r) {
		return nil, fmt.Errorf("%w over TCP: ID or question does not match the query", errGarbage)
	}
	return r, nil
}

// bindDeadline applies ctx's deadline to conn and interrupts blocked reads
// and writes when ctx is cancelled early. The returned func releases it.
func bindDeadline(ctx context.Context, conn net.Conn) func() bool {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

// matches reports whether r answers q: a response with the same ID and the
// same question (names compared without case).
func matches(q, r *dns.Msg) bool {
	if !r.Response || r.Id != q.Id {
		return false
	}
	if len(r.Question) == 0 {
		// Some servers omit the question in errors such as FORMERR or REFUSED.
		return r.Rcode != dns.RcodeSuccess
	}
	rq, qq := r.Question[0], q.Question[0]
	return rq.Qtype == qq.Qtype && rq.Qclass == qq.Qclass && strings.EqualFold(rq.Name, qq.Name)
}

// classifyErr sets the class and detail of an attempt without a usable reply.
func classifyErr(ctx context.Context, err error, a *Answer) {
	a.Class = errclass.Of(err)
	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), context.Canceled) {
			a.Class = errclass.Canceled
		} else {
			a.Class = errclass.Timeout
		}
	}
	switch {
	case errors.Is(err, errGarbage):
		a.Class = errclass.DNSError
		a.Detail = fmt.Sprintf("%s: %v", a.Server, err)
	case a.Class == errclass.Timeout:
		// Worded by Query, which knows how many sends went unanswered.
	case a.Class == errclass.Refused:
		a.Detail = fmt.Sprintf("%s refused the connection (nothing listens on that port): %v", a.Server, err)
	default:
		a.Detail = fmt.Sprintf("%s: %v", a.Server, err)
	}
}

// classifyReply maps a reply to a class (RFC 1035 §4.1.1 rcodes; NODATA per
// RFC 2308 §2.2) and collects the records of the asked type.
func classifyReply(r *dns.Msg, qtype uint16, a *Answer) {
	a.Rcode = dns.RcodeToString[r.Rcode]
	if a.Rcode == "" {
		a.Rcode = fmt.Sprintf("RCODE%d", r.Rcode)
	}
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			if qtype == dns.TypeA {
				if ip, ok := netip.AddrFromSlice(rr.A.To4()); ok {
					a.Addrs = append(a.Addrs, ip)
				}
			}
		case *dns.AAAA:
			if qtype == dns.TypeAAAA {
				if ip, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
					a.Addrs = append(a.Addrs, ip)
				}
			}
		case *dns.CNAME:
			a.CNAMEs = append(a.CNAMEs, rr.Target)
		}
	}
	switch r.Rcode {
	case dns.RcodeSuccess:
		if len(a.Addrs) > 0 || (qtype != dns.TypeA && qtype != dns.TypeAAAA && len(r.Answer) > 0) {
			a.Class = errclass.None
			return
		}
		a.Class = errclass.NoData
		// Go's checkHeader (golang.org/issue/15434): an empty NOERROR without
		// AA, RA or any additional record is a lame referral.
		if len(r.Answer) == 0 && !r.Authoritative && !r.RecursionAvailable && len(r.Extra) == 0 {
			a.Lame = true
			a.Detail = fmt.Sprintf("%s sent a lame referral for %s (no answer, no AA, no RA)", a.Server, a.Name)
			return
		}
		a.Detail = fmt.Sprintf("%s has no %s record for %s (NODATA)", a.Server, a.Type, a.Name)
	case dns.RcodeNameError:
		a.Class = errclass.NXDomain
		a.Detail = fmt.Sprintf("%s says %s does not exist (NXDOMAIN)", a.Server, a.Name)
	case dns.RcodeServerFailure:
		a.Class = errclass.ServFail
		a.Detail = fmt.Sprintf("%s answered SERVFAIL for %s", a.Server, a.Name)
	case dns.RcodeRefused:
		a.Class = errclass.DNSRefused
		a.Detail = fmt.Sprintf("%s refused to answer for %s (REFUSED)", a.Server, a.Name)
	default:
		a.Class = errclass.DNSError
		a.Detail = fmt.Sprintf("%s answered %s for %s", a.Server, a.Rcode, a.Name)
	}
}
