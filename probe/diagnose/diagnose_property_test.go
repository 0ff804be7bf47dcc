package diagnose

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/observe"
	"github.com/ssm-probe/ssm-probe/probe/routes"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// The diagnosis property test: random worlds made by perturbing a healthy
// host, per endpoint (each resolver's rcode and answers, inside or outside
// the VPC; search-list expansions and hosts pins; TCP, TLS, HTTPS and proxy
// outcomes) and as a whole (IMDS, agent and host states, from the identity
// fixtures). Every world must keep these invariants:
//
//	(a) a required endpoint whose agent path is broken makes the verdict
//	    fail, and a fail finding names that endpoint;
//	(b) when every required path reaches HTTPS and IMDS, the agent and the
//	    host are healthy, no dns.* or net.* finding fails;
//	(c) no finding text holds an empty list or name;
//	(d) Diagnose is deterministic, survives a JSON round trip of its input,
//	    and never panics;
//	(e) on a Windows host, no fix names a Linux command or path
//	    (linuxCommand, diagnose_winhost_test.go); the worlds' facts are
//	    the Linux identity fixtures', so evidence may.

// propertyWorlds is how many worlds go test checks, from a fixed seed.
// Under the race detector, which finds nothing in a pure function but
// slows it about fifteenfold, a tenth of them (make unit runs the full set
// without it, too).
const propertyWorlds = 10000

// roundTripEvery is how often a world's observations also go through JSON.
const roundTripEvery = 10

func TestDiagnoseProperties(t *testing.T) {
	g := newWorldGen(t)
	r := rand.New(rand.NewPCG(20261201, 13))
	unexplainedWorlds := 0
	n := propertyWorlds
	if raceBuild {
		n /= 10
	}
	for i := 0; i < n; i++ {
		w := g.world(r)
		w.roundTrip = i%roundTripEvery == 0
		if msg := checkWorld(&w); msg != "" {
			b, _ := json.Marshal(w.o)
			t.Fatalf("world %d (%s): %s\nobservations: %.1500s", i, w.desc, msg, b[min(len(b), 3000):])
		}
		if w.unexplained {
			unexplainedWorlds++
		}
	}
	t.Logf("%d worlds; probe.unexplained in %d", n, unexplainedWorlds)
}

// FuzzDiagnoseWorld runs the same invariants on worlds drawn from the
// fuzzer's seeds.
func FuzzDiagnoseWorld(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 20261201} {
		f.Add(s, s*7919)
	}
	g := newWorldGen(f)
	f.Fuzz(func(t *testing.T, a, b uint64) {
		w := g.world(rand.New(rand.NewPCG(a, b)))
		w.roundTrip = true
		if msg := checkWorld(&w); msg != "" {
			raw, _ := json.Marshal(w.o)
			t.Fatalf("%s: %s\nobservations: %s", w.desc, msg, raw)
		}
	})
}

// world is one generated host: its observations, what was perturbed, and
// whether its identity, agent and host are the healthy ones.
type world struct {
	o           *obs.Observations
	desc        string
	infraOK     bool // IMDS, agent and host facts are the healthy fixture's, clock in sync
	roundTrip   bool // also check a JSON round trip of the observations
	unexplained bool
}

// worldGen holds the fixtures worlds are made from.
type worldGen struct {
	healthy  obs.Observations   // identity/healthy-ec2: IMDS, agent, host
	identity []obs.Observations // every identity fixture, for perturbed IMDS/agent/host states
}

func newWorldGen(t testing.TB) *worldGen {
	g := &worldGen{}
	for name, fx := range allFixtures(t) {
		if !strings.Contains(name, "/identity/") {
			continue
		}
		g.identity = append(g.identity, fx.Observations)
		if strings.HasSuffix(name, "healthy-ec2.json") {
			g.healthy = fx.Observations
		}
	}
	if g.healthy.IMDS == nil {
		t.Fatal("no identity/healthy-ec2.json fixture")
	}
	// map iteration above is random: order the identity fixtures
	// deterministically by instance and agent state.
	sortObs(g.identity)
	return g
}

func sortObs(os []obs.Observations) {
	key := func(o *obs.Observations) string { b, _ := json.Marshal(o); return string(b) }
	for i := 1; i < len(os); i++ {
		for j := i; j > 0 && key(&os[j]) < key(&os[j-1]); j-- {
			os[j], os[j-1] = os[j-1], os[j]
		}
	}
}

// outcome kinds of one resolver for one name.
var dnsKinds = []string{"vpce", "vpce", "vpce", "public", "public", "nxdomain", "nodata", "servfail", "refused-rcode", "notimp", "timeout", "garbage", "unreachable"}

// outcome kinds of one address.
var netKinds = []string{"ok", "ok", "ok", "ok", "timeout", "refused", "unreachable", "other", "untrusted", "tlsfail", "httpfail", "missing"}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// world draws one world.
func (g *worldGen) world(r *rand.Rand) world {
	w := world{infraOK: true}
	o := &obs.Observations{Live: true}
	base := g.healthy
	if r.IntN(4) == 0 {
		base = g.identity[r.IntN(len(g.identity))]
		w.infraOK = false
	}
	o.IMDS, o.Agent, o.Host = cloneJSON(base.IMDS), cloneJSON(base.Agent), cloneJSON(base.Host)
	if o.IMDS == nil || o.IMDS.InstanceID == "" {
		o.IMDS = cloneJSON(g.healthy.IMDS)
	}
	var desc []string

	// The host's resolvers: the VPC resolver, a corporate one, two, or none.
	conf := &resolv.Conf{Path: "/etc/resolv.conf", Options: resolv.Options{Ndots: 1, Timeout: 5, Attempts: 2}}
	var system []string
	switch r.IntN(6) {
	case 0:
		system = []string{"10.0.9.9"}
	case 1:
		system = []string{"10.0.9.9", "10.0.0.2"}
	case 2:
		system = nil
		conf.Missing = r.IntN(2) == 0
	default:
		system = []string{"10.0.0.2"}
	}
	for i, s := range system {
		conf.Nameservers = append(conf.Nameservers, resolv.Nameserver{Addr: netip.MustParseAddr(s), Line: i + 1})
	}
	if r.IntN(8) == 0 {
		conf.Search = []string{"corp.example"}
		conf.Options.Ndots = 2 + r.IntN(4)
	}
	// A Windows host, sometimes: its DNS client has no search list in
	// resolv.conf's sense, and its facts come from winhost (winWorld).
	windows := r.IntN(5) == 0
	if windows {
		conf.Search, conf.Options.Ndots = nil, 1
	}
	o.Resolv = &obs.ResolvFacts{Conf: conf, Hosts: &resolv.Hosts{Path: "/etc/hosts"}}
	desc = append(desc, fmt.Sprintf("system=%v ndots=%d", system, conf.Options.Ndots))

	// A proxy for the agent, sometimes.
	proxied := r.IntN(7) == 0 && o.Agent != nil
	if proxied {
		o.Agent.ProxyChecked = true
		o.Agent.Proxy = &agent.ProxyEnv{HTTPSProxy: "http://10.0.9.20:3128", NoProxy: pick(r, []string{"169.254.169.254", "", "localhost"}),
			Vars: []agent.ProxyVar{{Name: "https_proxy", Value: "http://10.0.9.20:3128"}}}
		w.infraOK = w.infraOK && o.Agent.Proxy.NoProxy == "169.254.169.254"
		desc = append(desc, "proxy")
	}
	o.Plan = observe.BuildPlan(&observe.Config{}, o)
	if o.Plan.Problem != "" {
		w.o, w.desc = o, strings.Join(desc, "; ")
		return w
	}
	if windows {
		winWorld(r, o, system, &desc)
	}
	resolvers, roles := observe.ResolverRoles(o.Plan)

	addrFor := func(kind string, e obs.Endpoint) []netip.Addr {
		i := map[obs.Service]int{"ssm": 11, "ssmmessages": 12, "ec2messages": 13, "s3": 14, "logs": 15, "kms": 16}[e.Service]
		switch kind {
		case "vpce":
			return []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}), netip.AddrFrom4([4]byte{10, 0, 2, byte(i)})}
		case "public":
			return []netip.Addr{netip.AddrFrom4([4]byte{52, 119, 0, byte(i)})}
		case "stale":
			return []netip.Addr{netip.AddrFrom4([4]byte{10, 0, 7, byte(i)})}
		case "wildcard":
			return []netip.Addr{pick(r, []netip.Addr{netip.MustParseAddr("10.0.50.7"), netip.MustParseAddr("198.51.100.7")})}
		}
		return nil
	}
	answerOf := func(server netip.Addr, name, kind string, e obs.Endpoint) (resolv.Answer, resolv.Answer) {
		a := resolv.Answer{Server: netip.AddrPortFrom(server, 53), Name: name, Type: "A", Attempts: 1}
		q := a
		q.Type = "AAAA"
		switch kind {
		case "vpce", "public", "stale", "wildcard":
			a.Rcode, a.Addrs = "NOERROR", addrFor(kind, e)
			q.Rcode, q.Class = "NOERROR", errclass.NoData
		case "nxdomain":
			a.Rcode, a.Class, q.Rcode, q.Class = "NXDOMAIN", errclass.NXDomain, "NXDOMAIN", errclass.NXDomain
		case "nodata":
			a.Rcode, a.Class, q.Rcode, q.Class = "NOERROR", errclass.NoData, "NOERROR", errclass.NoData
		case "servfail":
			a.Rcode, a.Class, q.Rcode, q.Class = "SERVFAIL", errclass.ServFail, "SERVFAIL", errclass.ServFail
		case "refused-rcode":
			a.Rcode, a.Class, q.Rcode, q.Class = "REFUSED", errclass.DNSRefused, "REFUSED", errclass.DNSRefused
		case "notimp":
			a.Rcode, a.Class, q.Rcode, q.Class = "NOTIMP", errclass.DNSError, "NOTIMP", errclass.DNSError
		case "timeout":
			a.Class, q.Class = errclass.Timeout, errclass.Timeout
		case "garbage":
			a.Class, a.Ignored, q.Class, q.Ignored = errclass.DNSError, 3, errclass.DNSError, 3
		case "unreachable":
			a.Class, q.Class = errclass.Unreachable, errclass.Unreachable
		}
		if a.Class != errclass.None {
			a.Detail, q.Detail = "the server answered "+kind, "the server answered "+kind
		}
		return a, q
	}

	type target struct {
		e    obs.Endpoint
		addr netip.Addr
	}
	var targets []target
	seen := map[target]bool{}
	addTargets := func(e obs.Endpoint, as []netip.Addr) {
		for _, a := range as {
			t := target{e, a}
			if !seen[t] {
				seen[t] = true
				targets = append(targets, t)
			}
		}
	}
	for _, e := range o.Plan.Endpoints {
		kinds := map[netip.Addr]string{}
		for _, res := range resolvers {
			kind := pick(r, dnsKinds)
			if r.IntN(3) == 0 {
				kind = "vpce" // mostly healthy, so that single faults are common
			}
			kinds[res] = kind
			d := obs.DNSObs{Service: e.Service, Host: e.Host, Resolver: res, Roles: roles[res]}
			d.A, d.AAAA = answerOf(res, e.Host+".", kind, e)
			o.DNS = append(o.DNS, d)
			addTargets(e, d.Addrs())
		}
		// The agent's own lookup.
		ans := resolv.AgentAnswer{Name: e.Host, Order: resolv.OrderFilesDNS}
		mode := pick(r, []string{"follow", "follow", "follow", "follow", "hosts", "expanded", "missing", "timeout"})
		if windows && mode == "expanded" {
			mode = "follow" // no resolv.conf search list on Windows
		}
		switch mode {
		case "hosts":
			ans.Source, ans.Class, ans.Detail = "hosts", errclass.None, "/etc/hosts line 3"
			ans.Addrs = addrFor(pick(r, []string{"vpce", "stale", "public"}), e)
		case "expanded":
			fq := e.Host + ".corp.example."
			ans.Source, ans.FQDN = "dns", fq
			a, _ := answerOf(netip.MustParseAddr("10.0.0.2"), fq, pick(r, []string{"wildcard", "vpce"}), e)
			ans.Server, ans.Addrs = a.Server, a.Addrs
			o.Resolv.Conf.Search = []string{"corp.example"}
			if o.Resolv.Conf.Options.Ndots < 4 {
				o.Resolv.Conf.Options.Ndots = 5
			}
		case "timeout":
			q := resolv.Answer{Server: netip.MustParseAddrPort("10.0.0.2:53"), Name: e.Host + ".", Type: "A", Class: errclass.Timeout, Detail: "i/o timeout"}
			ans.Class, ans.Detail, ans.Queries = errclass.Timeout, q.Detail, []resolv.Answer{q}
		case "follow":
			servers := o.Plan.System
			if len(servers) == 0 {
				servers = nil
				q := resolv.Answer{Server: netip.MustParseAddrPort("127.0.0.1:53"), Name: e.Host + ".", Type: "A", Class: errclass.Refused, Detail: "connection refused"}
				if r.IntN(3) == 0 { // a local DNS server answers
					ans.Source, ans.Server, ans.FQDN, ans.Addrs = "dns", q.Server, e.Host+".", addrFor("vpce", e)
				} else {
					ans.Class, ans.Detail, ans.Queries = q.Class, q.Detail, []resolv.Answer{q}
				}
			}
			for _, s := range servers {
				a, _ := answerOf(s, e.Host+".", kinds[s], e)
				ans.Queries = append(ans.Queries, a)
				if a.Class == errclass.None {
					ans.Source, ans.Server, ans.FQDN, ans.Addrs, ans.Class, ans.Detail = "dns", a.Server, a.Name, a.Addrs, errclass.None, ""
					break
				}
				ans.Class, ans.Detail = a.Class, a.Detail
				if a.Class == errclass.NXDomain || a.Class == errclass.NoData {
					break // Go's resolver stops on a final answer
				}
			}
		}
		if mode != "missing" {
			o.AgentDNS = append(o.AgentDNS, obs.AgentDNSObs{Service: e.Service, Host: e.Host, Answer: ans})
			addTargets(e, ans.Addrs)
		}
		desc = append(desc, fmt.Sprintf("%s:%s", e.Service, mode))
		if proxied && !obs.NoProxyMatch(o.Agent.Proxy.NoProxy, e.Host) {
			p := obs.ProxyObs{Service: e.Service, Host: e.Host, Proxy: "http://10.0.9.20:3128", Scheme: "http", Dial: obs.Stage{OK: true}}
			switch pick(r, []string{"ok", "ok", "ok", "dial", "connect", "tls", "https", "missing"}) {
			case "dial":
				p.Dial = obs.Stage{Class: errclass.Refused, Detail: "connection refused"}
			case "connect":
				p.Connect = &obs.HTTPStage{Stage: obs.Stage{Class: errclass.HTTPStatus, Detail: "the proxy answered 403 Forbidden"}, Status: 403}
			case "tls":
				p.Connect = &obs.HTTPStage{Stage: obs.Stage{OK: true}, Status: 200}
				p.TLS = &obs.TLSStage{Stage: obs.Stage{Class: errclass.TLSUntrusted, Detail: "x509: unknown authority"}, Issuer: "CN=Corp CA"}
			case "https":
				p.Connect = &obs.HTTPStage{Stage: obs.Stage{OK: true}, Status: 200}
				p.TLS = &obs.TLSStage{Stage: obs.Stage{OK: true}}
				p.HTTP = &obs.HTTPStage{Stage: obs.Stage{Class: errclass.Malformed, Detail: "malformed HTTP response"}}
			case "missing":
				continue
			default:
				p.Connect = &obs.HTTPStage{Stage: obs.Stage{OK: true}, Status: 200}
				p.TLS = &obs.TLSStage{Stage: obs.Stage{OK: true}}
				p.HTTP = &obs.HTTPStage{Stage: obs.Stage{OK: true}, Status: 400}
			}
			o.Proxy = append(o.Proxy, p)
		}
	}
	skewed := r.IntN(20) == 0
	w.infraOK = w.infraOK && !skewed
	for _, t := range targets {
		n := obs.NetObs{Service: t.e.Service, Host: t.e.Host, Addr: t.addr, Port: 443, Sources: []string{"agent"}, TCP: obs.Stage{OK: true}}
		kind := pick(r, netKinds)
		if r.IntN(2) == 0 {
			kind = "ok"
		}
		switch kind {
		case "missing":
			continue
		case "timeout":
			n.TCP = obs.Stage{Class: errclass.Timeout, Detail: "i/o timeout", DurationMS: 2000}
		case "refused":
			n.TCP = obs.Stage{Class: errclass.Refused, Detail: "connection refused"}
		case "unreachable":
			n.TCP = obs.Stage{Class: errclass.Unreachable, Detail: "no route to host"}
		case "other":
			n.TCP = obs.Stage{Class: errclass.Other, Detail: "protocol not available"}
		case "untrusted":
			n.TLS = &obs.TLSStage{Stage: obs.Stage{Class: errclass.TLSUntrusted, Detail: "x509: unknown authority"}, Issuer: "CN=Corp CA"}
		case "tlsfail":
			n.TLS = &obs.TLSStage{Stage: obs.Stage{Class: errclass.TLSFailed, Detail: "handshake failure"}}
		case "httpfail":
			n.TLS = &obs.TLSStage{Stage: obs.Stage{OK: true}}
			n.HTTP = &obs.HTTPStage{Stage: obs.Stage{Class: errclass.Malformed, Detail: "malformed HTTP response"}}
		default:
			skew := int64(0)
			if skewed {
				skew = 900
			}
			n.TLS = &obs.TLSStage{Stage: obs.Stage{OK: true}}
			n.HTTP = &obs.HTTPStage{Stage: obs.Stage{OK: true}, Status: 400, SkewSeconds: &skew, Date: "Sun, 22 Nov 2026 10:00:00 GMT"}
		}
		o.Net = append(o.Net, n)
	}
	w.o, w.desc = o, strings.Join(desc, "; ")
	return w
}

// checkWorld checks the invariants on w; it returns what broke, or "".
func checkWorld(w *world) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprintf("panic: %v", p)
		}
	}()
	// Every world is one a run could have saved: a replay accepts it.
	if err := w.o.CheckBounds(); err != nil {
		return "a replay would refuse these observations: " + err.Error()
	}
	res := Finish(w.o, 0)
	again := Finish(w.o, 0)
	if !reflect.DeepEqual(res.Findings, again.Findings) || res.Verdict != again.Verdict {
		return "Diagnose is not deterministic"
	}
	if w.roundTrip {
		raw, err := json.Marshal(w.o)
		if err != nil {
			return "observations do not marshal: " + err.Error()
		}
		var back obs.Observations
		if err := json.Unmarshal(raw, &back); err != nil {
			return "observations do not unmarshal: " + err.Error()
		}
		if rt := Finish(&back, 0); !reflect.DeepEqual(idsOf(rt.Findings), idsOf(res.Findings)) || rt.Verdict != res.Verdict {
			return fmt.Sprintf("a JSON round trip changes the findings: %v then %v", idsOf(res.Findings), idsOf(rt.Findings))
		}
	}
	allOK := len(res.Paths) > 0
	for _, p := range res.Paths {
		if !p.Required {
			continue
		}
		allOK = allOK && p.OK()
		if p.State != agentpath.PathBroken {
			continue
		}
		if res.Verdict != finding.VerdictFail {
			return fmt.Sprintf("(a) %s is broken (%s), but the verdict is %s", p.Host, p.Line(), res.Verdict)
		}
		named := false
		for _, f := range res.Findings {
			named = named || (f.Severity == finding.SevFail && f.Names(p.Host))
		}
		if !named {
			return fmt.Sprintf("(a) no fail finding names %s (%s): %v", p.Host, p.Line(), idsOf(res.Findings))
		}
	}
	for _, f := range res.Findings {
		if f.ID == ProbeUnexplained {
			w.unexplained = true
		}
		if s := textProblem(&f); s != "" {
			return fmt.Sprintf("(c) %s holds an empty list: %q", f.ID, s)
		}
		if w.o.IsWindows() {
			if m := linuxCommand.FindString(strings.Join(f.Remediation, "\n")); m != "" {
				return fmt.Sprintf("(e) on a Windows host, the fix of %s says %q", f.ID, m)
			}
		}
		if allOK && w.infraOK && f.Severity == finding.SevFail && pathFamily(f.ID) {
			return fmt.Sprintf("(b) every required path works, but %s fails: %s", f.ID, f.Summary)
		}
	}
	return ""
}

func idsOf(fs []finding.Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f.ID) + "/" + string(f.Severity)
	}
	return out
}

// cloneJSON deep-copies v through JSON, so that a world never shares state
// with the fixture it was made from.
func cloneJSON[T any](v *T) *T {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return &out
}

// winWorld makes o a Windows host whose adapter asks system: the DNS
// client in place of resolv.conf, and the service, proxy, clock, image and
// routes of winhost, each sometimes perturbed (a stale route to IMDS, a
// disabled service, a proxy set for a user only, w32time syncing from
// nothing, an unfinished setup). The agent's running state is the world's.
func winWorld(r *rand.Rand, o *obs.Observations, system []string, desc *[]string) {
	o.OS = obs.OSWindows
	var dns []netip.Addr
	for _, a := range system {
		dns = append(dns, netip.MustParseAddr(a))
	}
	wc := &resolv.WinClient{Adapters: []resolv.WinAdapter{{Name: "Ethernet 2", Index: 6, Metric: 15, Up: true, DNSServers: dns,
		Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.25/24")}, Gateways: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, DHCP: true}},
		Hosts: &resolv.Hosts{Path: `C:\Windows\System32\drivers\etc\hosts`}}
	if r.IntN(3) == 0 {
		wc.PrimarySuffix = "corp.example.com"
	}
	o.Resolv = &obs.ResolvFacts{Windows: wc, Hosts: wc.Hosts}
	gw := netip.MustParseAddr(pick(r, []string{"10.0.0.1", "10.0.0.1", "10.0.0.1", "10.1.0.1"}))
	o.Routes = &routes.Facts{Checked: true, IPv4Default: "Ethernet 2", IPv4Addrs: []string{"10.0.0.25"}, Routes: []routes.Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.1"), Iface: "Ethernet 2", Metric: 15},
		{Dst: netip.MustParsePrefix("10.0.0.0/24"), Iface: "Ethernet 2", Metric: 271},
		{Dst: netip.MustParsePrefix("169.254.169.254/32"), Gateway: gw, Iface: "Ethernet 2", Metric: 15},
	}}
	f := &winhost.Facts{DNS: wc, Routes: o.Routes,
		Service: &winhost.Service{Checked: true, Name: "AmazonSSMAgent", Exists: true, State: "running", StartType: "auto"},
		Proxy:   &winhost.Proxy{Checked: true},
		Clock:   &winhost.Clock{Checked: true, ServiceState: "running", Type: "NTP", NtpServer: "169.254.169.123,0x9", Source: "169.254.169.123,0x9"},
		Image:   &winhost.Image{Checked: true, State: winhost.ImageStateComplete}}
	if gw != netip.MustParseAddr("10.0.0.1") && r.IntN(2) == 0 {
		f.PersistentRoutes = []winhost.PersistentRoute{{Dst: netip.MustParsePrefix("169.254.169.254/32"), Gateway: gw, Raw: "169.254.169.254,255.255.255.255,10.1.0.1,15"}}
	}
	if a := o.Agent; a != nil && a.RunningChecked && !a.Running {
		f.Service.State, f.Service.StartType = "stopped", pick(r, []string{"auto", "disabled", "manual"})
	}
	if r.IntN(6) == 0 {
		f.Proxy.Users = []winhost.UserProxy{{SID: "S-1-5-21-1-2-3-1013", Setting: winhost.ProxySetting{Server: pick(r, []string{"proxy.corp.example.com:3128", "http=10.0.9.20:3128;https=10.0.9.20:3128", ""}),
			AutoConfigURL: pick(r, []string{"", "http://wpad.corp.example.com/proxy.pac"})}}}
	}
	if r.IntN(6) == 0 {
		f.Clock.Type, f.Clock.Source = "NoSync", "Local CMOS Clock"
	}
	if r.IntN(8) == 0 {
		f.Image.State = pick(r, []string{"IMAGE_STATE_UNDEPLOYABLE", "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE"})
	}
	o.Windows = f
	*desc = append(*desc, fmt.Sprintf("windows gw=%s service=%s/%s users=%d clock=%s image=%s", gw, f.Service.State, f.Service.StartType, len(f.Proxy.Users), f.Clock.Type, f.Image.State))
}
