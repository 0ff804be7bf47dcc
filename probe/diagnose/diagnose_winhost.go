package diagnose

// The Windows host family. The file is not named diagnose_windows.go:
// that suffix is a build constraint, and diagnosis runs on every system
// (a saved Windows observation is diagnosed on Linux too).

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// The findings only a Windows host gives.
const (
	IMDSStaleRoute       finding.ID = "imds.stale-route"
	AgentServiceDisabled finding.ID = "agent.service-disabled"
	NetProxyUserOnly     finding.ID = "net.proxy-user-only"
	HostImageIncomplete  finding.ID = "host.image-state-incomplete"
)

// AWS's pages the Windows fixes follow (the catalog's doc links are AWS
// pages only). The fixes also follow Microsoft's cmdlet references:
// Add-DnsServerConditionalForwarderZone (module DnsServer: -Name,
// -MasterServers, and -ReplicationScope for a zone stored in Active
// Directory), Remove-NetRoute and New-NetRoute (module NetTCPIP),
// Add-DnsClientNrptRule (module DnsClient), and the sysprep image states
// (Setup\State ImageState).
const (
	// DocADResolver is AWS's post on forwarding a directory's DNS to Route 53
	// Resolver; it is named in the fix text (not an AWS docs page).
	DocADResolver = "https://aws.amazon.com/blogs/networking-and-content-delivery/integrating-your-directory-services-dns-resolution-with-amazon-route-53-resolvers/"
	// DocADForwarders is the conditional forwarders of AWS Managed Microsoft AD.
	DocADForwarders = "https://docs.aws.amazon.com/directoryservice/latest/admin-guide/ms_ad_conditional_forwarders.html"
	// DocAgentProxyWindows is AWS's "Configure SSM Agent to use a proxy for Windows Server instances".
	DocAgentProxyWindows = "https://docs.aws.amazon.com/systems-manager/latest/userguide/configure-proxy-ssm-agent-windows.html"
	// DocWindowsTime is AWS's page on the time of a Windows instance (Amazon Time Sync Service).
	DocWindowsTime = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/windows-set-time.html"
	// DocAgentInstallWindows is AWS's "Manually installing SSM Agent on Windows Server".
	DocAgentInstallWindows = "https://docs.aws.amazon.com/systems-manager/latest/userguide/manually-install-ssm-agent-windows.html"
	// DocWindowsSysprep is AWS's page on making a Windows AMI with Sysprep.
	DocWindowsSysprep = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-create-win-sysprep.html"
)

// winhostFamily pairs the findings of a Windows host with the rules that raise them.
func winhostFamily() family {
	return family{rules: []rule{imdsStaleRoute, serviceDisabled, proxyUserOnly, imageIncomplete}, entries: []finding.Entry{
		{ID: IMDSStaleRoute, Severity: finding.SevFail,
			Title: "A route to the instance metadata service points outside the subnet",
			Fix: finding.FixLines(
				"Remove the route: Get-NetRoute -DestinationPrefix {{.DST}} | Remove-NetRoute -Confirm:$false{{if .persistent}}; route delete {{.DST_ADDR}} (it is also stored as a persistent route, which comes back at every start; route delete removes the stored route too){{end}}",
				"{{if .GATEWAY}}Add it through the adapter's own gateway: New-NetRoute -DestinationPrefix {{.DST}} -InterfaceAlias \"{{.ADAPTER}}\" -NextHop {{.GATEWAY}}{{else}}Add it through the gateway of the adapter's subnet (Get-NetIPConfiguration shows it): New-NetRoute -DestinationPrefix {{.DST}} -InterfaceAlias \"ADAPTER\" -NextHop GATEWAY{{end}}",
				"Then restart the agent so it fetches its credentials again: Restart-Service AmazonSSMAgent"),
			Docs: []string{finding.DocIMDSOptions}},
		{ID: AgentServiceDisabled, Severity: finding.SevFail,
			Title: "The AmazonSSMAgent service is disabled",
			Fix: finding.FixLines(
				"Set-Service AmazonSSMAgent -StartupType Automatic; Start-Service AmazonSSMAgent",
				"Then read why it stopped: Get-Content \"$env:ProgramData\\Amazon\\SSM\\Logs\\amazon-ssm-agent.log\" -Tail 100"),
			Docs: []string{finding.DocAgentStatus}},
		{ID: NetProxyUserOnly, Severity: finding.SevFail,
			Title: "A proxy is set only for a user, which the agent's LocalSystem service does not see",
			Fix: finding.FixLines(
				"Give the agent's service the proxy (AWS's procedure for Windows Server): $k = \"HKLM:\\SYSTEM\\CurrentControlSet\\Services\\AmazonSSMAgent\"; New-ItemProperty -Path $k -Name Environment -PropertyType MultiString -Value @(\"https_proxy={{.PROXY}}\", \"http_proxy={{.PROXY}}\", \"no_proxy=169.254.169.254\") -Force; Restart-Service AmazonSSMAgent",
				"Or set the machine's WinHTTP proxy, which the agent reads last: netsh winhttp set proxy proxy-server=\"{{.PROXY_HOSTPORT}}\" bypass-list=\"169.254.169.254\"; Restart-Service AmazonSSMAgent"),
			Docs: []string{DocAgentProxyWindows}},
		{ID: HostImageIncomplete, Severity: finding.SevWarn,
			Title: "Windows setup did not finish (sysprep image state)",
			Fix: finding.FixLines(
				"Read the state: Get-ItemProperty HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State | Select-Object ImageState",
				"Why setup stopped: Get-Content C:\\Windows\\Panther\\setupact.log -Tail 50 (and C:\\Windows\\Panther\\UnattendGC\\setupact.log)",
				"Make the AMI again with Sysprep as AWS's guide describes, so that its instances finish setup at their first boot (IMAGE_STATE_COMPLETE); then Start-Service AmazonSSMAgent"),
			Docs: []string{DocWindowsSysprep, finding.DocAgentStatus}},
	}}
}

// windowsFixes gives every finding of a Windows host its Windows fix: the
// templates that differ by system test {{if .windows}}. It runs once, after
// the findings are settled, so that no rule has to remember it.
func windowsFixes(in *input, fs []finding.Finding) {
	if !in.o.IsWindows() {
		return
	}
	for i := range fs {
		in.cat.Refill(&fs[i], finding.Fill{"windows": true})
	}
}

// notLinux reports whether a rule that reads a Linux host's files or
// processes (resolv.conf and its search list, nsswitch, /etc/passwd,
// systemd units and the journal, snaps, /proc, inotify, the route names of
// Linux interfaces, the agent's registration files) must stay silent: on a
// Windows host those facts are absent by nature, and their absence is no
// finding. windowsSilent (the tests) lists the findings these rules raise.
func notLinux(o *obs.Observations) bool { return o.IsWindows() }

// nrptBypass reports, on a Windows host, whether an NRPT rule sends v's
// name to servers that are not the VPC resolver, the agent's lookup went to
// one of them and got no address inside the VPC, while AmazonProvidedDNS
// answers inside it. The plan's system resolvers are the adapters' (an NRPT
// rule's serve only its namespace), so bypasses does not see this.
func (in *input) nrptBypass(v *agentpath.View) (resolv.NRPTRule, bool) {
	o, p := in.o, in.o.Plan
	if !o.IsWindows() || o.Resolv == nil || p == nil || len(p.VPCCIDRs) == 0 || v.Agent == nil || !v.Agent.Answer.Server.IsValid() {
		return resolv.NRPTRule{}, false
	}
	server := v.Agent.Answer.Server.Addr()
	r := o.Resolv.Windows.Rule(v.Endpoint.Host)
	if r == nil || !slices.Contains(r.Servers, server) || slices.Contains(p.VPC, server) {
		return resolv.NRPTRule{}, false
	}
	vpcAddrs, vpcBy := v.VPCAnswer()
	if vpcBy == nil || !anyInVPC(p, vpcAddrs) {
		return resolv.NRPTRule{}, false
	}
	addrs, _ := v.AgentAddrs()
	return *r, !anyInVPC(p, addrs)
}

// nrptBypassEvidence says what the NRPT rule's server answered the agent,
// beside AmazonProvidedDNS's answer.
func nrptBypassEvidence(p *obs.Plan, v *agentpath.View, r resolv.NRPTRule, vpcAddrs []netip.Addr, vpcBy *obs.DNSObs) []string {
	a := v.Agent.Answer
	got := "no address (" + string(a.Class) + ")"
	if addrs, _ := v.AgentAddrs(); len(addrs) > 0 {
		got = fmt.Sprintf("%s (%s)", obs.JoinAddrs(addrs), placeAddrs(p, addrs))
	}
	return []string{
		fmt.Sprintf("the agent's lookup of %s went to %s through NRPT rule %s and got %s", v.Endpoint.Host, a.Server.Addr(), r.Key, got),
		fmt.Sprintf("AmazonProvidedDNS %s answered %s with %s (%s)", vpcBy.Resolver, v.Endpoint.Host, obs.JoinAddrs(vpcAddrs), placeAddrs(p, vpcAddrs)),
	}
}

// winBypass describes dns.resolver-bypasses-vpc on a Windows host: the
// adapters whose DNS servers the agent asked (usually domain controllers),
// and the conditional forwarder in PowerShell. hosts are the endpoints
// whose lookups bypass the VPC.
func winBypass(in *input, hosts []string) (summary string, ev []string, fill finding.Fill) {
	o, p := in.o, in.o.Plan
	var w *resolv.WinClient
	if o.Resolv != nil {
		w = o.Resolv.Windows
	}
	servers := p.System
	var asked []netip.Addr // the servers the agent's lookups went to
	for _, h := range hosts {
		for i := range in.views {
			v := &in.views[i]
			if v.Endpoint.Host == h && v.Agent != nil && v.Agent.Answer.Server.IsValid() && !slices.Contains(asked, v.Agent.Answer.Server.Addr()) {
				asked = append(asked, v.Agent.Answer.Server.Addr())
			}
		}
	}
	if len(asked) > 0 {
		servers = asked
	}
	// An NRPT rule that takes the names sends them to its own servers,
	// whatever the adapters say.
	var rule *resolv.NRPTRule
	if len(hosts) > 0 {
		if r := w.Rule(hosts[0]); r != nil && len(r.Servers) > 0 {
			rule, servers = r, r.Servers
		}
	}
	var adapters []resolv.WinAdapter
	if rule == nil {
		adapters = w.AdaptersOf(servers)
	}
	var names []string
	var dcs []netip.Addr
	for _, a := range adapters {
		names = append(names, fmt.Sprintf("%q", a.Name))
		desc := ""
		if a.Description != "" {
			desc = " (" + a.Description + ")"
		}
		ev = append(ev, fmt.Sprintf("adapter %q%s asks %s%s", a.Name, desc, obs.JoinAddrs(a.DNSServers), dnsSource(a)))
		for _, s := range a.DNSServers {
			if !slices.Contains(dcs, s) {
				dcs = append(dcs, s)
			}
		}
	}
	if len(dcs) == 0 {
		dcs = servers
	}
	who := ""
	if w != nil && w.PrimarySuffix != "" {
		who = " (the domain controllers of " + w.PrimarySuffix + ", when that primary DNS suffix is the Active Directory domain the host is joined to)"
		ev = append(ev, "the computer's primary DNS suffix is "+w.PrimarySuffix+": usually the Active Directory domain it is joined to")
	}
	adapterText := "this host's adapters"
	switch {
	case rule != nil:
		adapterText = fmt.Sprintf("the NRPT rule %s, namespace %s", rule.Key, strings.Join(rule.Namespaces, ", "))
		ev = append(ev, fmt.Sprintf("NRPT rule %s (%s) sends %s to %s, whatever the adapters list", rule.Key, rule.Source, strings.Join(rule.Namespaces, ", "), obs.JoinAddrs(rule.Servers)))
	case len(names) > 0:
		adapterText = "adapter " + strings.Join(names, ", ")
	}
	summary = fmt.Sprintf("The Windows DNS client of this host asks %s through %s%s, and they do not forward the endpoint names to the VPC resolver: they answer the public addresses, while AmazonProvidedDNS answers the interface endpoints' private ones. AmazonProvidedDNS does not answer queries from outside the VPC, and AWS Managed Microsoft AD's own DNS does not know the VPC's private names either, so the fix is a conditional forwarder on these DNS servers to a Route 53 Resolver inbound endpoint.",
		obs.JoinAddrs(dcs), adapterText, who)
	via := ""
	switch {
	case rule != nil:
		via = " of NRPT rule " + rule.Key
	case len(adapters) > 0:
		via = fmt.Sprintf(" of adapter %q", adapters[0].Name)
	}
	return summary, ev, finding.Fill{"via": via, "DNS_SERVERS": obs.JoinAddrs(dcs)}
}

// adapterFill names, for a fix, the adapter that lists any of the DNS
// servers servers (addresses as text); nil off Windows or when none does.
func adapterFill(o *obs.Observations, servers []string) finding.Fill {
	if !o.IsWindows() || o.Resolv == nil {
		return nil
	}
	var as []netip.Addr
	for _, s := range servers {
		if a, err := netip.ParseAddr(s); err == nil {
			as = append(as, a)
		}
	}
	if ad := o.Resolv.Windows.AdaptersOf(as); len(ad) > 0 {
		return finding.Fill{"ADAPTER": ad[0].Name}
	}
	return nil
}

// dnsSource says where an adapter's DNS servers come from.
func dnsSource(a resolv.WinAdapter) string {
	switch {
	case a.StaticDNS:
		return ", set by hand or by policy"
	case a.DHCP:
		return ", from DHCP (the VPC's DHCP options set)"
	}
	return ""
}

// imdsAddrs are the link-local addresses a stale route can take: IMDS and
// the Route 53 Resolver.
var imdsAddrs = []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("169.254.169.253")}

// staleRoute is a route to IMDS or the resolver whose next hop lies outside
// every on-link prefix of the host.
type staleRoute struct {
	dst        netip.Prefix
	gateway    netip.Addr
	iface      string // "" for a persistent route not in the table
	persistent bool
	active     bool // the route the host picks for its address (routes.Facts.Lookup)
}

// onLink returns whether the host reaches g without a gateway: an
// adapter's own prefix holds it, or a route of the table with no gateway
// (an on-link route: an adapter without DNS servers, such as a second ENI,
// has one too) does.
func onLink(o *obs.Observations, g netip.Addr) bool {
	if o.Resolv != nil && o.Resolv.Windows != nil {
		for _, a := range o.Resolv.Windows.Adapters {
			for _, p := range a.Addrs {
				if p.Masked().Contains(g) {
					return true
				}
			}
		}
	}
	if o.Routes != nil {
		for _, r := range o.Routes.Routes {
			if r.Dst.Bits() > 0 && !r.Reject && (!r.Gateway.IsValid() || r.Gateway.IsUnspecified()) && r.Dst.Contains(g) {
				return true
			}
		}
	}
	return false
}

// staleIMDSRoutes lists the routes of a Windows host to 169.254.169.254
// and .253, in the table or stored as persistent routes, whose next hop is
// on no subnet of the host. Only a table route can be active: the one the
// host picks for the address (longest prefix, then lowest metric). A stored
// route whose gateway is off every subnet is not installed at all.
func staleIMDSRoutes(o *obs.Observations) []staleRoute {
	w := o.Windows
	if w == nil || o.Routes == nil || !o.Routes.Checked {
		return nil // the table is not known: no route can be judged
	}
	var out []staleRoute
	at := map[[2]netip.Addr]int{} // a route seen in the table and stored as persistent is one route
	add := func(r staleRoute) {
		k := [2]netip.Addr{r.dst.Addr(), r.gateway}
		i, seen := at[k]
		if !seen {
			at[k] = len(out)
			out = append(out, r)
			return
		}
		out[i].persistent = out[i].persistent || r.persistent
		out[i].active = out[i].active || r.active
		if out[i].iface == "" {
			out[i].iface = r.iface
		}
	}
	offLink := func(g netip.Addr) bool { return g.IsValid() && g.Is4() && !g.IsUnspecified() && !onLink(o, g) }
	for _, a := range imdsAddrs {
		if r, ok := o.Routes.Lookup(a); ok && offLink(r.Gateway) {
			add(staleRoute{dst: r.Dst, gateway: r.Gateway, iface: r.Iface, active: true})
		}
		for _, r := range o.Routes.Routes {
			if r.Dst.Bits() == 32 && r.Dst.Addr() == a && offLink(r.Gateway) {
				add(staleRoute{dst: r.Dst, gateway: r.Gateway, iface: r.Iface})
			}
		}
	}
	for _, r := range w.PersistentRoutes {
		if r.Dst.Bits() == 32 && slices.Contains(imdsAddrs, r.Dst.Addr()) && offLink(r.Gateway) {
			add(staleRoute{dst: r.Dst, gateway: r.Gateway, persistent: true})
		}
	}
	return out
}

// imdsTimedOut reports whether IMDS gave no TCP connection or no answer.
func imdsTimedOut(o *obs.Observations) bool {
	return o.IMDS != nil && (o.IMDS.Failure == imds.FailUnreachable || o.IMDS.Failure == imds.FailNoAnswer)
}

// imdsStaleRoute is imds.stale-route: IMDS times out, and the route the
// host picks for it goes to a next hop outside every subnet of the host.
// imds.unreachable folds into it. A stored or inactive route alone is no
// cause: the route in use is.
func imdsStaleRoute(in *input) []finding.Finding {
	o := in.o
	if !o.IsWindows() || !imdsTimedOut(o) {
		return nil
	}
	stale := staleIMDSRoutes(o)
	var hit *staleRoute
	for i := range stale {
		if stale[i].active && stale[i].dst.Contains(imdsAddr(o.IMDS)) {
			hit = &stale[i]
			break
		}
	}
	if hit == nil {
		return nil
	}
	a := primaryAdapter(o)
	subnet, gw := "", ""
	for _, p := range a.Addrs {
		if p.Addr().Is4() {
			subnet = p.Masked().String()
			break
		}
	}
	for _, g := range a.Gateways {
		if g.Is4() {
			gw = g.String()
			break
		}
	}
	var ev []string
	for _, r := range stale {
		line := fmt.Sprintf("route %s via %s", r.dst, r.gateway)
		if r.iface != "" {
			line += fmt.Sprintf(" on %q", r.iface)
		}
		if r.active {
			line += " (the route in use)"
		}
		if r.persistent {
			line += " (persistent: HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\PersistentRoutes)"
		}
		ev = append(ev, line)
	}
	ev = append(ev, fmt.Sprintf("adapter %q is on %s, gateway %s: %s is on no subnet of this host", a.Name, orUnknown(subnet), orUnknown(gw), hit.gateway))
	ev = append(ev, fmt.Sprintf("IMDS at %s: %s", imdsAddr(o.IMDS), o.IMDS.Failure))
	summary := fmt.Sprintf("The route to the instance metadata service, %s via %s, points at a gateway outside this instance's subnet (%s on adapter %q, whose gateway is %s), so IMDS times out and the agent gets no region, identity or credentials. A route like this is usually left from another subnet (an image made there, or a route added by hand).",
		hit.dst, hit.gateway, orUnknown(subnet), a.Name, orUnknown(gw))
	persistent := slices.ContainsFunc(stale, func(r staleRoute) bool { return r.persistent && r.dst == hit.dst })
	f := in.cat.New(IMDSStaleRoute, summary, ev, finding.Fill{"DST": hit.dst.String(), "DST_ADDR": hit.dst.Addr().String(),
		"persistent": persistent, "ADAPTER": a.Name, "GATEWAY": gw})
	return []finding.Finding{f}
}

// primaryAdapter is the adapter of the IPv4 default route, or the first.
func primaryAdapter(o *obs.Observations) resolv.WinAdapter {
	if o.Resolv == nil || o.Resolv.Windows == nil || len(o.Resolv.Windows.Adapters) == 0 {
		return resolv.WinAdapter{}
	}
	as := o.Resolv.Windows.Adapters
	if o.Routes != nil && o.Routes.IPv4Default != "" {
		for _, a := range as {
			if a.Name == o.Routes.IPv4Default {
				return a
			}
		}
	}
	return as[0]
}

// serviceDisabled is agent.service-disabled: the AmazonSSMAgent service's
// start type is disabled and it does not run. "After an update" is said
// only when the agent's logs show its version changing.
func serviceDisabled(in *input) []finding.Finding {
	o := in.o
	if !o.IsWindows() || o.Windows == nil {
		return nil
	}
	s := o.Windows.Service
	if s == nil || !s.Checked || !s.Exists || !strings.EqualFold(s.StartType, "disabled") || strings.EqualFold(s.State, "running") {
		return nil
	}
	ev := []string{winServiceLine(o)}
	if s.BinaryPath != "" {
		ev = append(ev, "binary "+s.BinaryPath)
	}
	summary := fmt.Sprintf("The %s service is disabled and not running, so the agent does not start, now or at the next boot, and Session Manager cannot reach this host.", s.Name)
	if vc := lastVersionChange(o); vc != "" {
		ev = append(ev, vc)
		summary = fmt.Sprintf("The %s service was left disabled and not running after an update of the agent (its logs show the version changing), so the agent does not start, now or at the next boot, and Session Manager cannot reach this host.", s.Name)
	}
	return []finding.Finding{in.cat.New(AgentServiceDisabled, summary, ev)}
}

// winServiceLine describes the agent's Windows service, or "".
func winServiceLine(o *obs.Observations) string {
	if !o.IsWindows() || o.Windows == nil || o.Windows.Service == nil || !o.Windows.Service.Checked {
		return ""
	}
	s := o.Windows.Service
	if !s.Exists {
		return fmt.Sprintf("no %s service is registered", s.Name)
	}
	line := fmt.Sprintf("service %s: state %s, start type %s", s.Name, orUnknown(s.State), orUnknown(s.StartType))
	if s.ExitCode != 0 {
		line += fmt.Sprintf(", last exit code %d", s.ExitCode)
	}
	return line
}

// lastVersionChange describes the latest version change the agent's logs
// show, or "".
func lastVersionChange(o *obs.Observations) string {
	if o.Logs == nil || o.Logs.Timeline == nil || len(o.Logs.Timeline.VersionChanges) == 0 {
		return ""
	}
	c := o.Logs.Timeline.VersionChanges[len(o.Logs.Timeline.VersionChanges)-1]
	return fmt.Sprintf("the agent's logs show it updated from %s to %s at %s", c.From, c.To, c.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
}

// proxyUserOnly is net.proxy-user-only: a user's Internet settings name a
// proxy, the three places the agent reads (its service's Environment,
// LocalSystem's Internet settings, WinHTTP) name none, and the required
// endpoints time out direct.
func proxyUserOnly(in *input) []finding.Finding {
	o := in.o
	if !o.IsWindows() || o.Windows == nil || o.Windows.Proxy == nil {
		return nil
	}
	p := o.Windows.Proxy
	if !p.Checked || len(p.Users) == 0 || p.Source != "" || setsProxy(p.ServiceEnv) || setsProxy(p.LocalSystem) || setsProxy(p.WinHTTP) {
		return nil
	}
	var user *winhost.UserProxy
	for i := range p.Users {
		if setsProxy(&p.Users[i].Setting) {
			user = &p.Users[i]
			break
		}
	}
	if user == nil {
		return nil
	}
	var e evidence
	for _, ap := range in.paths {
		if ap.Required && ap.State == agentpath.PathBroken && ap.Failed == agentpath.StageTCP && in.timedOut(ap.Host) {
			e.add(ap.Host, fmt.Sprintf("%s: TCP 443 direct times out", ap.Host))
		}
	}
	if len(e.lines) == 0 {
		return nil // the direct path works, or fails otherwise: the proxy is not why
	}
	what := user.Setting.Server
	if what == "" {
		what = "the script " + user.Setting.AutoConfigURL
	}
	e.lines = append([]string{
		fmt.Sprintf("user %s's Internet settings set the proxy %s", user.SID, what),
		"the AmazonSSMAgent service's Environment, LocalSystem's Internet settings and WinHTTP set none (the agent reads those three, in that order)"}, e.lines...)
	if svc := o.Windows.Service; svc != nil && len(svc.EnvNames) > 0 {
		e.lines = append(e.lines, fmt.Sprintf("the service's Environment value already holds %s: AWS's procedure below replaces the whole value, so keep those entries in its list", strings.Join(svc.EnvNames, ", ")))
	}
	summary := fmt.Sprintf("A proxy (%s) is set only in the Internet settings of user %s. The agent runs as LocalSystem and reads its proxy from its service's Environment, LocalSystem's Internet settings and WinHTTP, which set none, so it goes direct, and the endpoints time out there.", what, user.SID)
	return in.found(NetProxyUserOnly, summary, e, userProxyFill(user.Setting.Server))
}

// timedOut reports whether every address host's agent path tried timed out at TCP.
func (in *input) timedOut(host string) bool {
	any := false
	for _, n := range in.o.Net {
		if n.Host != host || n.TCP.OK {
			continue
		}
		if n.TCP.Class != "timeout" {
			return false
		}
		any = true
	}
	return any
}

func setsProxy(s *winhost.ProxySetting) bool {
	return s != nil && (s.Server != "" || s.AutoConfigURL != "" || s.AutoDetect)
}

// userProxyFill fills the fix's proxy from a user's proxy server list,
// read the way the agent reads such a list (winhost.ParseAgentProxyList):
// its HTTPS proxy, else its HTTP one, as scheme://host:port (never user
// information) and as host:port.
func userProxyFill(list string) finding.Fill {
	https, http := winhost.ParseAgentProxyList(list)
	if https == "" {
		https = http
	}
	u, err := url.Parse(https)
	if https == "" || err != nil || u.Host == "" {
		return finding.Fill{"PROXY": "", "PROXY_HOSTPORT": ""}
	}
	return finding.Fill{"PROXY": u.Scheme + "://" + u.Host, "PROXY_HOSTPORT": u.Host}
}

// imageIncomplete is host.image-state-incomplete: the sysprep ImageState is
// not IMAGE_STATE_COMPLETE. A fail when the agent does not run either.
func imageIncomplete(in *input) []finding.Finding {
	o := in.o
	if !o.IsWindows() || o.Windows == nil || o.Windows.Image == nil {
		return nil
	}
	img := o.Windows.Image
	if !img.Checked || img.State == "" || img.State == winhost.ImageStateComplete {
		return nil
	}
	ev := []string{fmt.Sprintf("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State ImageState = %s", img.State)}
	sev := finding.SevWarn
	summary := fmt.Sprintf("Windows setup did not finish on this image (ImageState %s, not %s): an image captured or booted in this state may not have run its first-boot tasks, and services can fail to start.", img.State, winhost.ImageStateComplete)
	if a := o.Agent; a != nil && a.RunningChecked && !a.Running {
		sev = finding.SevFail
		ev = append(ev, "the agent is not running")
		summary += " The agent is not running."
	}
	return []finding.Finding{in.cat.NewAt(HostImageIncomplete, sev, summary, ev)}
}

// w32timeEvidence describes the Windows Time service when it does not sync
// from a time source (net.clock-skew on Windows), or nil.
func w32timeEvidence(o *obs.Observations) []string {
	if !o.IsWindows() || o.Windows == nil || o.Windows.Clock == nil || !o.Windows.Clock.Checked {
		return nil
	}
	c := o.Windows.Clock
	var ev []string
	if strings.EqualFold(c.Type, "NoSync") {
		ev = append(ev, "w32time's Type is NoSync: it syncs from nothing")
	}
	if strings.EqualFold(c.Source, "Local CMOS Clock") || strings.EqualFold(c.Source, "Free-running System Clock") {
		ev = append(ev, fmt.Sprintf("w32tm /query /status: Source %s (it never synced)", c.Source))
	}
	if c.ServiceState != "" && !strings.EqualFold(c.ServiceState, "running") {
		ev = append(ev, fmt.Sprintf("the W32Time service is %s (start type %s)", c.ServiceState, orUnknown(c.StartType)))
	}
	if len(ev) > 0 && c.NtpServer != "" {
		ev = append(ev, "NtpServer: "+c.NtpServer)
	}
	return ev
}

// winOr is fix template text that differs by system: win on a Windows host
// (windowsFixes fills .windows), linux elsewhere.
func winOr(win, linux string) string { return "{{if .windows}}" + win + "{{else}}" + linux + "{{end}}" }

// The Windows forms of the agent's commands in the fixes.
const (
	winRestart  = "Restart-Service AmazonSSMAgent"
	winAgentLog = `$env:ProgramData\Amazon\SSM\Logs\amazon-ssm-agent.log`
	winProbe    = "ssm-probe.exe in an elevated PowerShell"
	winHosts    = `%SystemRoot%\System32\drivers\etc\hosts`
	winConfig   = `%ProgramFiles%\Amazon\SSM\amazon-ssm-agent.json`
	// winAgentInstall installs the agent on Windows Server (AWS guide
	// "Manually installing SSM Agent on Windows Server").
	winAgentInstall = `Install the agent (AWS guide "Manually installing SSM Agent on Windows Server"): Invoke-WebRequest https://s3.{{.REGION}}.amazonaws.com/amazon-ssm-{{.REGION}}/latest/windows_amd64/AmazonSSMAgentSetup.exe -OutFile $env:TEMP\AmazonSSMAgentSetup.exe; Start-Process -FilePath $env:TEMP\AmazonSSMAgentSetup.exe -ArgumentList "/S" -Wait; Start-Service AmazonSSMAgent`
	// winProxyEnv is AWS's procedure for the agent's proxy on Windows Server:
	// the service's Environment registry value.
	winProxyEnv = `New-ItemProperty -Path HKLM:\SYSTEM\CurrentControlSet\Services\AmazonSSMAgent -Name Environment -PropertyType MultiString -Value @("https_proxy=http://PROXY_HOST:PORT", "http_proxy=http://PROXY_HOST:PORT", "no_proxy=169.254.169.254") -Force; ` + winRestart
)
