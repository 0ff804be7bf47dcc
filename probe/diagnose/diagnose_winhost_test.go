package diagnose

import (
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/inotify"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/routes"
	"github.com/ssm-probe/ssm-probe/probe/users"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
	"github.com/ssm-probe/ssm-probe/resolv"
)

const windowsFixtures = "testdata/obs/windows"

// TestDiagnoseWindows table-tests the Windows findings, and the Linux ones
// on a Windows host, from the fixtures in testdata/obs/windows
// (regenerate: go test -run TestDiagnoseWindows ./probe/diagnose -update).
func TestDiagnoseWindows(t *testing.T) {
	fixtureDir(t, windowsFixtures, windowsScenarios())
}

// winAdapter is the instance's adapter in the scenarios: 10.0.0.25 in the
// subnet 10.0.0.0/24, whose router is 10.0.0.1.
const winAdapter = "Ethernet 2"

// winScen is a healthy Windows Server instance in the VPC 10.0.0.0/16
// whose adapter asks the DNS servers servers: the agent service runs,
// nothing sets a proxy, w32time syncs with the Amazon Time Sync Service,
// the image finished setup, and the routes to IMDS and the Route 53
// Resolver go through the subnet's router, as EC2Launch sets them.
func winScen(servers ...string) *probetest.Scen {
	s := probetest.NewScen(servers, "10.0.0.0/16")
	o := s.O
	o.OS = obs.OSWindows
	var dns []netip.Addr
	for _, a := range servers {
		dns = append(dns, netip.MustParseAddr(a))
	}
	wc := &resolv.WinClient{Adapters: []resolv.WinAdapter{{Name: winAdapter, Description: "Amazon Elastic Network Adapter", Index: 6, Metric: 15, Up: true,
		DNSServers: dns, Addrs: []netip.Prefix{netip.MustParsePrefix("10.0.0.25/24")}, Gateways: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, DHCP: true}},
		Hosts: &resolv.Hosts{Path: `C:\Windows\System32\drivers\etc\hosts`}}
	o.Resolv = &obs.ResolvFacts{Windows: wc, Hosts: wc.Hosts}
	rt := &routes.Facts{Checked: true, IPv4Default: winAdapter, IPv4Addrs: []string{"10.0.0.25"}, Routes: []routes.Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.1"), Iface: winAdapter, Metric: 15},
		{Dst: netip.MustParsePrefix("10.0.0.0/24"), Iface: winAdapter, Metric: 271},
		{Dst: netip.MustParsePrefix("169.254.169.254/32"), Gateway: netip.MustParseAddr("10.0.0.1"), Iface: winAdapter, Metric: 15},
		{Dst: netip.MustParsePrefix("169.254.169.253/32"), Gateway: netip.MustParseAddr("10.0.0.1"), Iface: winAdapter, Metric: 15},
	}}
	o.Routes = rt
	o.Windows = &winhost.Facts{DNS: wc, Routes: rt,
		Service: &winhost.Service{Checked: true, Name: "AmazonSSMAgent", Exists: true, State: "running", StartType: "auto",
			BinaryPath: `"C:\Program Files\Amazon\SSM\amazon-ssm-agent.exe"`},
		Proxy: &winhost.Proxy{Checked: true},
		Clock: &winhost.Clock{Checked: true, ServiceState: "running", StartType: "auto", Type: "NTP", NtpServer: "169.254.169.123,0x9",
			Source: "169.254.169.123,0x9", LastSync: time.Date(2026, 11, 22, 9, 55, 0, 0, time.UTC)},
		Image: &winhost.Image{Checked: true, State: winhost.ImageStateComplete}}
	o.Agent = &agent.Facts{Root: `C:\`, Installed: true, Version: "3.3.1142.0", VersionSource: "service binary",
		RunningChecked: true, Running: true, PIDs: []int{2144}, ProxyChecked: true}
	return s
}

// vpceOK resolves every name to the interface endpoints at 10.0.1.X through
// AmazonProvidedDNS, the agent's way too, and they answer: healthy.
func vpceOK(s *probetest.Scen) *probetest.Scen {
	vpce := []string{"10.0.1.X"}
	return s.Answer("10.0.0.2", errclass.None, vpce).Answer("169.254.169.253", errclass.None, vpce).
		Agent("10.0.0.2", errclass.None, vpce).Net("10.0.1.X", "ok")
}

// dcScen is the domain-joined host: its adapter asks the two domain
// controllers 10.0.5.10 and 10.0.5.11, which answer dcAddrs for the
// endpoint names; AmazonProvidedDNS answers the interface endpoints at
// 10.0.1.X; the agent asks the first controller, and the addresses it gets
// do outcome.
func dcScen(windows bool, dcAddrs string, outcome string) *probetest.Scen {
	var s *probetest.Scen
	if windows {
		s = winScen("10.0.5.10", "10.0.5.11")
		s.O.Resolv.Windows.PrimarySuffix = "corp.example.com"
	} else {
		s = probetest.NewScen([]string{"10.0.5.10", "10.0.5.11"}, "10.0.0.0/16")
	}
	vpce := []string{"10.0.1.X"}
	s.Answer("10.0.5.10", errclass.None, []string{dcAddrs}).Answer("10.0.5.11", errclass.None, []string{dcAddrs}).
		Answer("10.0.0.2", errclass.None, vpce).Answer("169.254.169.253", errclass.None, vpce).
		Agent("10.0.5.10", errclass.None, []string{dcAddrs}).Net(dcAddrs, outcome)
	return s
}

// withNRPT adds an NRPT rule that sends .amazonaws.com to AmazonProvidedDNS,
// which the agent's lookups then take: they answer the endpoints.
func withNRPT(s *probetest.Scen) *probetest.Scen {
	s.O.Resolv.Windows.NRPT = []resolv.NRPTRule{{Key: "{6F2B5C1E-0000-4000-8000-000000000001}", Source: resolv.NRPTPolicy,
		Namespaces: []string{".amazonaws.com"}, Servers: []netip.Addr{netip.MustParseAddr("10.0.0.2")}}}
	s.O.AgentDNS = nil
	return s.Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"}).Net("10.0.1.X", "ok")
}

// staleIMDS gives the host a route to IMDS through 10.1.0.1, the router of
// the subnet the image was made in; persistent stores it as a persistent
// route too. IMDS times out.
func staleIMDS(s *probetest.Scen, gateway string, persistent bool) *probetest.Scen {
	g := netip.MustParseAddr(gateway)
	for i, r := range s.O.Routes.Routes {
		if r.Dst.Addr() == netip.MustParseAddr("169.254.169.254") {
			s.O.Routes.Routes[i].Gateway = g
		}
	}
	if persistent {
		s.O.Windows.PersistentRoutes = []winhost.PersistentRoute{{Dst: netip.MustParsePrefix("169.254.169.254/32"), Gateway: g, Metric: 15,
			Raw: "169.254.169.254,255.255.255.255," + gateway + ",15"}}
	}
	return imdsUnreachableVia(s)
}

// stopped makes the agent's service stopped with start type startType.
func stopped(s *probetest.Scen, startType string) *probetest.Scen {
	s.O.Windows.Service.State, s.O.Windows.Service.StartType = "stopped", startType
	s.O.Agent.Running, s.O.Agent.PIDs = false, nil
	return s
}

// updated makes the agent's logs show an update from 3.3.1142.0 to 3.3.1230.0.
func updated(s *probetest.Scen) *probetest.Scen {
	s.O.Logs = &journal.Result{Timeline: &journal.Timeline{Zone: "UTC", VersionChanges: []journal.VersionChange{
		{Time: time.Date(2026, 11, 22, 3, 10, 0, 0, time.UTC), From: "3.3.1142.0", To: "3.3.1230.0"}}}}
	return s
}

// userProxy sets a proxy in one user's Internet settings only, and makes
// the endpoints public addresses whose direct path does outcome.
func userProxy(outcome string) *probetest.Scen {
	s := winScen("10.0.0.2")
	pub := []string{"52.119.0.X"}
	s.Answer("10.0.0.2", errclass.None, pub).Answer("169.254.169.253", errclass.None, pub).Agent("10.0.0.2", errclass.None, pub).Net("52.119.0.X", outcome)
	s.O.Windows.Proxy.Users = []winhost.UserProxy{{SID: "S-1-5-21-3623811015-3361044348-30300820-1013",
		Setting: winhost.ProxySetting{Server: "proxy.corp.example.com:3128", Bypass: "<local>"}}}
	return s
}

// imageState sets the sysprep image state.
func imageState(s *probetest.Scen, state string) *probetest.Scen {
	s.O.Windows.Image.State = state
	return s
}

// noSync makes w32time sync from nothing, and the endpoints' Date headers
// show skew seconds.
func noSync(s *probetest.Scen, skew string) *probetest.Scen {
	c := s.O.Windows.Clock
	c.Type, c.NtpServer, c.Source, c.LastSync = "NoSync", "time.windows.com,0x9", "Local CMOS Clock", time.Time{}
	return skewed(s, skew)
}

// skewed makes the endpoints' Date headers show skew seconds.
func skewed(s *probetest.Scen, skew string) *probetest.Scen {
	s.O.Net = nil
	return s.Net("10.0.1.X", "skew:"+skew)
}

// linuxAbsent adds what a Linux fact check records when its files are
// absent: no resolv.conf, an unread /etc/passwd, inotify not looked at.
func linuxAbsent(s *probetest.Scen) *probetest.Scen {
	s.O.Resolv.Conf = &resolv.Conf{Path: "/etc/resolv.conf", Missing: true}
	s.O.Users = &users.Facts{Root: `C:\`}
	s.O.Inotify = &inotify.Facts{Reason: "not checked: not Linux"}
	s.O.Agent.HidePID = ""
	return s
}

func windowsScenarios() map[string]fixture {
	linuxFix := []string{"systemctl", "journalctl", "sudo ", "/etc/", "resolv.conf"}
	bypass := wtn(DNSResolverBypassesVPC, finding.SevFail, []string{`"Ethernet 2"`, "10.0.5.10", "10.0.5.11", "corp.example.com", `DNS servers 10.0.5.10, 10.0.5.11 of adapter "Ethernet 2"`,
		`Add-DnsServerConditionalForwarderZone -Name "ap-northeast-1.amazonaws.com" -MasterServers`, "-ReplicationScope Forest",
		"Route 53 Resolver inbound endpoint", "AWS Managed Microsoft AD", "aws ds create-conditional-forwarder", "Add-DnsClientNrptRule",
		"52.119.0.11", "10.0.1.11", "integrating-your-directory-services-dns-resolution-with-amazon-route-53-resolvers"}, append(linuxFix, "/etc/hosts")...)
	return map[string]fixture{
		"healthy": fx("a healthy Windows Server instance: its adapter asks AmazonProvidedDNS, the agent service runs and reaches the interface endpoints; no Linux fact is missing in a way that counts",
			vpceOK(winScen("10.0.0.2"))),
		"healthy-linux-facts-absent": fx("the healthy Windows host where the Linux fact checks recorded what they could not find (no resolv.conf, /etc/passwd unread, inotify not looked at): none of that is a finding on Windows",
			linuxAbsent(vpceOK(winScen("10.0.0.2")))),

		"domain-joined-dcs-public": fx("the domain-joined host: adapter \"Ethernet 2\" asks two domain controllers, which answer the endpoints' public addresses, while AmazonProvidedDNS answers the interface endpoints; the public addresses time out: the adapter, the controllers and the conditional forwarder in PowerShell",
			dcScen(true, "52.119.0.X", "timeout"), bypass),
		"domain-joined-dcs-public-nat": fx("the domain-joined host whose public addresses still answer (a NAT): a warn, the same names and fix",
			dcScen(true, "52.119.0.X", "ok"), wtn(DNSResolverBypassesVPC, finding.SevWarn, []string{`"Ethernet 2"`, "Add-DnsServerConditionalForwarderZone"}, linuxFix...)),
		"domain-joined-dcs-forward": fx("near miss: the domain controllers forward to the VPC and answer the interface endpoints' private addresses: nothing to say",
			dcScen(true, "10.0.1.X", "ok")),
		"domain-joined-nrpt-to-vpc": fx("near miss: the controllers answer public addresses, but an NRPT rule sends .amazonaws.com to AmazonProvidedDNS, which the agent's lookups take: its path works, no finding",
			withNRPT(dcScen(true, "52.119.0.X", "timeout"))),
		"domain-joined-nrpt-to-dcs": fx("a Group Policy NRPT rule sends .amazonaws.com to the domain controllers, which answer public addresses, while the adapter asks AmazonProvidedDNS (the plan's system resolver): the rule is named, not an adapter",
			func() *probetest.Scen {
				s := winScen("10.0.0.2")
				s.O.Resolv.Windows.PrimarySuffix = "corp.example.com"
				s.O.Resolv.Windows.NRPT = []resolv.NRPTRule{{Key: "{6F2B5C1E-0000-4000-8000-000000000002}", Source: resolv.NRPTPolicy,
					Namespaces: []string{".amazonaws.com"}, Servers: []netip.Addr{netip.MustParseAddr("10.0.5.10"), netip.MustParseAddr("10.0.5.11")}}}
				vpce := []string{"10.0.1.X"}
				return s.Answer("10.0.0.2", errclass.None, vpce).Answer("169.254.169.253", errclass.None, vpce).
					Agent("10.0.5.10", errclass.None, []string{"52.119.0.X"}).Net("52.119.0.X", "timeout")
			}(),
			wtn(DNSResolverBypassesVPC, finding.SevFail, []string{"NRPT rule {6F2B5C1E-0000-4000-8000-000000000002}", "10.0.5.10", "10.0.5.11",
				"the agent's lookup of ssm.ap-northeast-1.amazonaws.com went to 10.0.5.10", "Add-DnsServerConditionalForwarderZone",
				"DNS servers 10.0.5.10, 10.0.5.11 of NRPT rule {6F2B5C1E-0000-4000-8000-000000000002}"}, append(linuxFix, `adapter "Ethernet 2"`, "ADAPTER")...)),
		"domain-joined-local-nrpt-under-policy": fx("near miss: a local NRPT rule would send .amazonaws.com to the domain controllers, but a Group Policy rule exists, so the client ignores the local one; the agent asked AmazonProvidedDNS and its path works: no finding",
			func() *probetest.Scen {
				s := vpceOK(winScen("10.0.0.2"))
				s.O.Resolv.Windows.NRPT = []resolv.NRPTRule{
					{Key: "{local}", Source: resolv.NRPTLocal, Namespaces: []string{".amazonaws.com"}, Servers: []netip.Addr{netip.MustParseAddr("10.0.5.10")}},
					{Key: "{policy}", Source: resolv.NRPTPolicy, Namespaces: []string{".corp.example.com"}, Servers: []netip.Addr{netip.MustParseAddr("10.0.5.10")}}}
				return s
			}()),
		"linux-dcs-public": fx("near miss: the same DNS on a Linux host: the Linux finding, its fix unchanged (no PowerShell)",
			dcScen(false, "52.119.0.X", "timeout"), wtn(DNSResolverBypassesVPC, finding.SevFail, []string{"10.0.5.10", "/etc/hosts", "conditional forwarder"},
				"Add-DnsServerConditionalForwarderZone", "Ethernet 2", "Add-DnsClientNrptRule")),

		"imds-stale-route": fx("a route to 169.254.169.254 through 10.1.0.1, the router of the subnet the image was made in, outside the adapter's 10.0.0.0/24: IMDS times out; the route, not imds.unreachable",
			staleIMDS(vpceOK(winScen("10.0.0.2")), "10.1.0.1", false),
			wtn(IMDSStaleRoute, finding.SevFail, []string{"169.254.169.254/32 via 10.1.0.1", "10.0.0.0/24", "10.0.0.1", `"Ethernet 2"`,
				"Get-NetRoute -DestinationPrefix 169.254.169.254/32 | Remove-NetRoute -Confirm:$false", `New-NetRoute -DestinationPrefix 169.254.169.254/32 -InterfaceAlias "Ethernet 2" -NextHop 10.0.0.1`},
				append(linuxFix, "route delete")...)),
		"imds-stale-persistent-route": fx("the stale route to IMDS is also a persistent route: it comes back at every start, so the fix deletes it with route delete -p too",
			staleIMDS(vpceOK(winScen("10.0.0.2")), "10.1.0.1", true),
			wtn(IMDSStaleRoute, finding.SevFail, []string{"persistent", "route delete 169.254.169.254 (", "Remove-NetRoute"}, append(linuxFix, "-p ")...)),
		"imds-route-in-subnet": fx("near miss: the route to IMDS goes through 10.0.0.1, inside the subnet, and IMDS times out all the same: imds.unreachable as before, no route blamed",
			imdsUnreachableVia(vpceOK(winScen("10.0.0.2"))),
			wtn(IMDSUnreachable, finding.SevFail, []string{"Find-NetRoute -RemoteIPAddress 169.254.169.254"}, append(linuxFix, "iptables", "Remove-NetRoute")...)),
		"imds-stale-persistent-route-not-in-use": fx("near miss: a persistent route to IMDS through 10.1.0.1 is stored, but the table's route goes through the subnet's router: the stored route is not installed and is no cause; imds.unreachable as before",
			func() *probetest.Scen {
				s := imdsUnreachableVia(vpceOK(winScen("10.0.0.2")))
				s.O.Windows.PersistentRoutes = []winhost.PersistentRoute{{Dst: netip.MustParsePrefix("169.254.169.254/32"), Gateway: netip.MustParseAddr("10.1.0.1"), Metric: 15,
					Raw: "169.254.169.254,255.255.255.255,10.1.0.1,15"}}
				return s
			}(),
			wtn(IMDSUnreachable, finding.SevFail, nil, "Remove-NetRoute", "10.1.0.1")),
		"imds-stale-route-lower-metric-good-route": fx("near miss: a route to IMDS through 10.1.0.1 is in the table, but a route through the subnet's router has the lower metric and is the one in use: no route blamed",
			func() *probetest.Scen {
				s := imdsUnreachableVia(vpceOK(winScen("10.0.0.2")))
				s.O.Routes.Routes = append(s.O.Routes.Routes, routes.Route{Dst: netip.MustParsePrefix("169.254.169.254/32"), Gateway: netip.MustParseAddr("10.1.0.1"), Iface: winAdapter, Metric: 500})
				return s
			}(),
			wtn(IMDSUnreachable, finding.SevFail, nil, "Remove-NetRoute")),
		"imds-route-via-second-eni": fx("near miss: the route to IMDS goes through 10.0.2.1 on a second adapter that lists no DNS server (so not in the DNS client's adapters), whose on-link route holds 10.0.2.1: the gateway is on a subnet of the host; imds.unreachable as before",
			func() *probetest.Scen {
				s := imdsUnreachableVia(vpceOK(winScen("10.0.0.2")))
				for i, r := range s.O.Routes.Routes {
					if r.Dst.Addr() == netip.MustParseAddr("169.254.169.254") {
						s.O.Routes.Routes[i].Gateway, s.O.Routes.Routes[i].Iface = netip.MustParseAddr("10.0.2.1"), "Ethernet 3"
					}
				}
				s.O.Routes.Routes = append(s.O.Routes.Routes, routes.Route{Dst: netip.MustParsePrefix("10.0.2.0/24"), Iface: "Ethernet 3", Metric: 271})
				return s
			}(),
			wtn(IMDSUnreachable, finding.SevFail, nil, "Remove-NetRoute")),
		"imds-stale-route-imds-answers": fx("near miss: a route to IMDS through another subnet's router, but IMDS answers (something forwards it): no finding",
			func() *probetest.Scen {
				s := staleIMDS(vpceOK(winScen("10.0.0.2")), "10.1.0.1", false)
				s.O.IMDS.Reachable, s.O.IMDS.Failure, s.O.IMDS.Class, s.O.IMDS.Detail = true, "", "", ""
				return s
			}()),

		"service-disabled": fx("the AmazonSSMAgent service is disabled and stopped: named, with Set-Service and Start-Service; agent.not-running folds into it; nothing says \"after an update\" without evidence",
			stopped(vpceOK(winScen("10.0.0.2")), "disabled"),
			wtn(AgentServiceDisabled, finding.SevFail, []string{"AmazonSSMAgent", "disabled", "Set-Service AmazonSSMAgent -StartupType Automatic; Start-Service AmazonSSMAgent"},
				append(linuxFix, "after an update")...)),
		"service-disabled-after-update": fx("the service is disabled and the agent's logs show it updating: \"after an update\", with the versions",
			updated(stopped(vpceOK(winScen("10.0.0.2")), "disabled")),
			wtn(AgentServiceDisabled, finding.SevFail, []string{"after an update", "3.3.1142.0", "3.3.1230.0"}, linuxFix...)),
		"service-stopped-automatic": fx("near miss: the service is stopped but starts automatically: agent.not-running, its fix in PowerShell",
			stopped(vpceOK(winScen("10.0.0.2")), "auto"),
			wtn(AgentNotRunning, finding.SevFail, []string{"Start-Service AmazonSSMAgent", "amazon-ssm-agent.log", "service AmazonSSMAgent: state stopped, start type auto"}, linuxFix...)),

		"proxy-user-only": fx("a proxy set only in one user's Internet settings; the service's Environment, LocalSystem and WinHTTP set none, and the endpoints time out direct: the user's SID and the proxy, with AWS's Environment value and netsh winhttp",
			userProxy("timeout"),
			wtn(NetProxyUserOnly, finding.SevFail, []string{"S-1-5-21-3623811015-3361044348-30300820-1013", "proxy.corp.example.com:3128",
				`HKLM:\SYSTEM\CurrentControlSet\Services\AmazonSSMAgent`, "https_proxy=http://proxy.corp.example.com:3128", "no_proxy=169.254.169.254",
				`netsh winhttp set proxy proxy-server="proxy.corp.example.com:3128"`}, append(linuxFix, "already holds")...)),
		"proxy-user-only-service-env-kept": fx("the same, with a service Environment value that holds other variables: the evidence says AWS's procedure replaces the whole value, naming them",
			func() *probetest.Scen {
				s := userProxy("timeout")
				s.O.Windows.Service.EnvNames = []string{"AWS_REGION", "SSM_AGENT_LOG_LEVEL"}
				return s
			}(),
			wtn(NetProxyUserOnly, finding.SevFail, []string{"already holds AWS_REGION, SSM_AGENT_LOG_LEVEL", "replaces the whole value"}, linuxFix...)),
		"proxy-user-only-direct-works": fx("near miss: a user's proxy the agent cannot see, but the direct path works: no finding",
			userProxy("ok")),
		"proxy-winhttp-set": fx("near miss: WinHTTP sets the proxy too, which the agent reads: not invisible, so not this finding (the direct timeouts are judged as before)",
			func() *probetest.Scen {
				s := userProxy("timeout")
				s.O.Windows.Proxy.WinHTTP = &winhost.ProxySetting{Server: "proxy.corp.example.com:3128"}
				s.O.Windows.Proxy.Source = winhost.ProxyWinHTTP
				return s
			}(), w(DNSEndpointResolvesPub, finding.SevFail)),

		"image-state-incomplete": fx("the sysprep ImageState is IMAGE_STATE_UNDEPLOYABLE while the agent runs: a warn",
			imageState(vpceOK(winScen("10.0.0.2")), "IMAGE_STATE_UNDEPLOYABLE"),
			wtn(HostImageIncomplete, finding.SevWarn, []string{"IMAGE_STATE_UNDEPLOYABLE", "ImageState"}, linuxFix...)),
		"image-state-incomplete-agent-stopped": fx("the image did not finish setup and the agent is not running: a fail, agent.not-running folded into it",
			imageState(stopped(vpceOK(winScen("10.0.0.2")), "auto"), "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE"),
			wtn(HostImageIncomplete, finding.SevFail, []string{"IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE", "not running"}, linuxFix...)),

		"adapter-dns-server-silent": fx("the adapter lists a second DNS server, 10.0.7.7, that answers nothing while AmazonProvidedDNS answers: the adapter's fix in PowerShell, not resolv.conf",
			func() *probetest.Scen {
				s := vpceOK(winScen("10.0.0.2", "10.0.7.7"))
				return s.Answer("10.0.7.7", errclass.Timeout, nil)
			}(),
			wtn(DNSNameserverUnresponsive, finding.SevWarn, []string{"10.0.7.7", `Set-DnsClientServerAddress -InterfaceAlias "Ethernet 2"`}, linuxFix...)),
		"service-not-installed": fx("no AmazonSSMAgent service and no agent: agent.not-installed, its fix the Windows installer",
			func() *probetest.Scen {
				s := vpceOK(winScen("10.0.0.2"))
				s.O.Windows.Service = &winhost.Service{Checked: true, Name: "AmazonSSMAgent"}
				s.O.Agent = &agent.Facts{Root: `C:\`, RunningChecked: true, ProxyChecked: true}
				return s
			}(),
			wtn(AgentNotInstalled, finding.SevFail, []string{"AmazonSSMAgentSetup.exe", "windows_amd64", "no AmazonSSMAgent service is registered"}, append(linuxFix, "/usr/bin", "snap")...)),
		"w32time-nosync-skew": fx("w32time syncs from nothing (Type NoSync, Source Local CMOS Clock) and the clock is 420 s ahead: net.clock-skew names w32time, its fix w32tm to the Amazon Time Sync Service",
			noSync(vpceOK(winScen("10.0.0.2")), "420"),
			wtn(NetClockSkew, finding.SevFail, []string{"NoSync", "Local CMOS Clock", "w32tm /config /manualpeerlist:169.254.169.123 /syncfromflags:manual /update", "Restart-Service w32time", "w32tm /resync"},
				append(linuxFix, "chrony")...)),
		"w32time-synced-skew": fx("near miss: w32time syncs, and the clock is 420 s ahead anyway: net.clock-skew, w32time not blamed",
			skewed(vpceOK(winScen("10.0.0.2")), "420"),
			wtn(NetClockSkew, finding.SevFail, []string{"w32tm /config"}, "Local CMOS Clock", "NoSync", "chrony")),
		"w32time-nosync-no-skew": fx("near miss: w32time syncs from nothing but the clock is right: no finding",
			func() *probetest.Scen { s := noSync(vpceOK(winScen("10.0.0.2")), "0"); return s }()),
	}
}

// TestWindowsVerdicts: the healthy Windows hosts' verdict is ok, with or
// without the Linux fact checks' absences; the domain-joined host's is fail.
func TestWindowsVerdicts(t *testing.T) {
	sc := windowsScenarios()
	for name, want := range map[string]finding.Verdict{"healthy": finding.VerdictOK, "healthy-linux-facts-absent": finding.VerdictOK,
		"domain-joined-dcs-public": finding.VerdictFail, "domain-joined-nrpt-to-vpc": finding.VerdictOK} {
		o := sc[name].Observations
		r := Finish(&o, 0)
		if r.Verdict != want {
			for _, f := range r.Findings {
				t.Logf("%s %s: %s", f.Severity, f.ID, f.Summary)
			}
			t.Errorf("%s: verdict %s, want %s", name, r.Verdict, want)
		}
	}
}

// linuxCommand matches what only a Linux host runs: a fix holding one is
// wrong on Windows.
var linuxCommand = regexp.MustCompile(`systemctl|journalctl|sudo |/etc/|/var/|/proc/|snap |yum |dnf |dpkg|apt-get|iptables|nft |ip route|resolv\.conf|chrony|timedatectl|useradd`)

// windowsSilent are the findings whose rules never fire on a Windows host
// (linuxOnly): their fixes may stay Linux-only.
var windowsSilent = []finding.ID{HostResolvConf, HostInotifyExhausted, SessionRunAsUserMissing, SessionSSMUserUncreatable, SessionUserUnchecked,
	AgentKilled, AgentDuplicateInstall, NetIPv6OnlyEndpoints, AgentForeignRegistration, AgentHybridRegistrationInvalid, AgentCredentialsShadowed,
	DNSSearchListHijack, NetLocalRoute}

// windowsBranches are the conditions the fix templates branch on that a
// rule may fill on a Windows host: each is rendered with .windows.
var windowsBranches = []finding.Fill{{}, {"snap": true}, {"masked": true}, {"pkg": "rpm"}, {"pkg": "dpkg"},
	{"hybrid": true}, {"hybrid": true, "registered": true}, {"placement": true}, {"stub": true}, {"nxdomain": true}, {"vpcNoData": true},
	{"cause": "expired"}, {"cause": "unreadable"}, {"cause": "identity"}, {"cause": "vpce"}, {"imdsFix": "hop"}, {"imdsFix": "endpoint"},
	{"agentFix": true}, {"dhmcReady": true}, {"oldAgent": true}, {"persistent": true}}

// TestWindowsFixes: every fix that can be given on a Windows host, rendered
// as windowsFixes renders it, in each branch a rule may take, holds no
// Linux command; the rules of windowsSilent are held silent by
// healthy-linux-facts-absent and their guards.
func TestWindowsFixes(t *testing.T) {
	cat := NewCatalog()
	for _, id := range AllIDs() {
		if slices.Contains(windowsSilent, id) {
			continue
		}
		for _, b := range windowsBranches {
			fill := finding.Fill{"windows": true}
			maps.Copy(fill, b)
			for _, line := range cat[id].RenderFix(fill) {
				if m := linuxCommand.FindString(line); m != "" {
					t.Errorf("%s %v: on Windows its fix says %q: %q", id, b, m, line)
				}
			}
		}
	}
	// The pattern itself, on near misses.
	for line, linux := range map[string]bool{"sudo systemctl restart amazon-ssm-agent": true, "sudo tail /var/log/amazon/ssm/x.log": true,
		"Restart-Service AmazonSSMAgent": false, `Get-Content "$env:ProgramData\Amazon\SSM\Logs\amazon-ssm-agent.log"`: false,
		"w32tm /resync": false, "chronyc tracking": true} {
		if got := linuxCommand.MatchString(line); got != linux {
			t.Errorf("%q: Linux %v, want %v", line, got, linux)
		}
	}
}

// TestWindowsFixturesSayNoLinux: on every Windows fixture, no finding's
// summary, evidence or fix names a Linux command or path.
func TestWindowsFixturesSayNoLinux(t *testing.T) {
	n := 0
	for name, fx := range allFixtures(t) {
		o := fx.Observations
		if !o.IsWindows() {
			continue
		}
		n++
		for _, f := range Diagnose(&o) {
			txt := f.Summary + "\n" + strings.Join(f.Evidence, "\n") + "\n" + strings.Join(f.Remediation, "\n")
			if m := linuxCommand.FindString(txt); m != "" {
				t.Errorf("%s: %s says %q on Windows:\n%s", name, f.ID, m, txt)
			}
		}
	}
	if n == 0 {
		t.Fatal("no Windows fixture")
	}
}

// TestUserProxyFill: the fix names the proxy a user's list gives HTTPS
// traffic, read as the agent reads a list, never its user information.
func TestUserProxyFill(t *testing.T) {
	for _, c := range []struct{ list, proxy, hostport string }{
		{"proxy.corp.example.com:3128", "http://proxy.corp.example.com:3128", "proxy.corp.example.com:3128"},
		{"http=h.example.com:80;https=s.example.com:8443", "http://s.example.com:8443", "s.example.com:8443"},
		{"http=h.example.com:80", "http://h.example.com:80", "h.example.com:80"},
		{"https=REDACTED@s.example.com:8443", "http://s.example.com:8443", "s.example.com:8443"},
		{"ftp=f.example.com:21", "", ""}, // near miss: no HTTP or HTTPS proxy
		{"<local>", "", ""},
		{"", "", ""},
	} {
		f := userProxyFill(c.list)
		if f["PROXY"] != c.proxy || f["PROXY_HOSTPORT"] != c.hostport {
			t.Errorf("%q: got %v, want %q and %q", c.list, f, c.proxy, c.hostport)
		}
	}
}
