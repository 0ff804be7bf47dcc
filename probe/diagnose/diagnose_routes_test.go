package diagnose

import (
	"net/netip"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/routes"
)

const routeFixtures = "testdata/obs/routes"

// TestDiagnoseLocalRoutes table-tests net.local-route from the fixtures in
// testdata/obs/routes (regenerate: go test -run TestDiagnoseLocalRoutes
// ./probe/diagnose -update).
func TestDiagnoseLocalRoutes(t *testing.T) {
	fixtureDir(t, routeFixtures, routeScenarios())
}

// withHostRoutes gives the host a default route on ens5, its subnet
// 10.0.0.0/24, and the extra routes (destination, interface).
func withHostRoutes(s *probetest.Scen, extra ...string) *probetest.Scen {
	f := &routes.Facts{Checked: true, IPv4Default: "ens5", IPv4Addrs: []string{"10.0.0.25"}, Routes: []routes.Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.1"), Iface: "ens5"},
		{Dst: netip.MustParsePrefix("10.0.0.0/24"), Iface: "ens5"},
	}}
	for i := 0; i+1 < len(extra); i += 2 {
		r := routes.Route{Dst: netip.MustParsePrefix(extra[i]), Iface: extra[i+1]}
		if r.Iface == "reject" {
			r.Iface, r.Reject = "lo", true
		}
		f.Routes = append(f.Routes, r)
	}
	s.O.Routes = f
	return s
}

// vpceScen resolves every name to the interface endpoints at 10.0.1.X,
// whose TCP does outcome.
func vpceScen(outcome string) *probetest.Scen {
	vpce := []string{"10.0.1.X"}
	return probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", errclass.None, vpce).
		Answer("169.254.169.253", errclass.None, vpce).Agent("10.0.0.2", errclass.None, vpce).Net("10.0.1.X", outcome)
}

func routeScenarios() map[string]fixture {
	blocked := func(id finding.ID) wantFinding { return w(id, finding.SevFail) }
	return map[string]fixture{
		"docker0-takes-endpoints": fx("docker0 on 10.0.1.0/24 inside the VPC's 10.0.0.0/16 takes the endpoint addresses: the route, not the endpoint's security group",
			withHostRoutes(vpceScen("timeout"), "10.0.1.0/24", "docker0", "172.17.0.0/16", "docker0"),
			wtn(NetLocalRoute, finding.SevFail, []string{"docker0", "10.0.1.0/24", "\"bip\"", "/etc/docker/daemon.json", "10.0.1.11", "ens5"},
				"endpoint's security group", "authorize-security-group-ingress")),
		"docker-network-takes-endpoints": fx("a user-defined Docker network br-… on 10.0.0.0/20 is more specific than the VPC's /16 and takes the endpoints",
			withHostRoutes(vpceScen("timeout"), "10.0.0.0/20", "br-3f2a9c1d4e5b"),
			wtn(NetLocalRoute, finding.SevFail, []string{"br-3f2a9c1d4e5b", "default-address-pools", "docker network"}, "authorize-security-group-ingress")),
		"wireguard-takes-endpoints": fx("a WireGuard tunnel whose AllowedIPs cover the VPC's range",
			withHostRoutes(vpceScen("timeout"), "10.0.0.0/8", "wg0"),
			wtn(NetLocalRoute, finding.SevFail, []string{"wg0", "AllowedIPs", "/etc/wireguard/wg0.conf"})),
		"cni-takes-endpoints": fx("flannel's pod range overlaps the VPC",
			withHostRoutes(vpceScen("timeout"), "10.0.1.0/24", "cni0"),
			wtn(NetLocalRoute, finding.SevFail, []string{"cni0", "pod"})),
		"reject-route": fx("an unreachable route for the endpoints' range",
			withHostRoutes(vpceScen("refused"), "10.0.1.0/24", "reject"),
			wtn(NetLocalRoute, finding.SevFail, []string{"unreachable 10.0.1.0/24", "ip route del 10.0.1.0/24"})),
		"imds-through-vpn": fx("a VPN route for 169.254.169.254 takes IMDS: no TCP; the route, not imds.unreachable",
			imdsUnreachableVia(withHostRoutes(vpceScen("ok"), "169.254.169.254/32", "tun0")),
			wtn(NetLocalRoute, finding.SevFail, []string{"tun0", "169.254.169.254", "the instance metadata service"})),
		"proxy-through-vpn": fx("the agent's proxy at 10.0.9.20 sits behind a VPN route on tun0 and TCP to it fails: the route, not the proxy",
			proxyDialFails(withHostRoutes(probetest.Proxied(vpceScen("ok"), "169.254.169.254", "ok"), "10.0.9.0/24", "tun0")),
			wtn(NetLocalRoute, finding.SevFail, []string{"10.0.9.20", "the agent's proxy", "tun0"})),
		"static-route-to-appliance": fx("a static route sends 10.0.1.0/24 to 10.0.0.50, another host of the subnet, instead of the VPC router 10.0.0.1: named, not the endpoint's security group",
			viaGateway(withHostRoutes(vpceScen("timeout")), "10.0.1.0/24", "10.0.0.50"),
			wtn(NetLocalRoute, finding.SevFail, []string{"10.0.0.50", "ip route del 10.0.1.0/24 via 10.0.0.50"}, "authorize-security-group-ingress")),
		"imds-through-vpn-no-plan": fx("a VPN's 169.254.169.0/24 takes IMDS, so no region and no plan: the route is still named",
			noPlan(imdsUnreachableVia(withHostRoutes(vpceScen("ok"), "169.254.169.0/24", "tun0"))),
			wtn(NetLocalRoute, finding.SevFail, []string{"tun0", "169.254.169.254"})),
		// Near misses.
		"static-route-via-router": fx("a more specific route through the subnet's own router 10.0.0.1, and 443 dropped: net.endpoint-blocked",
			viaGateway(withHostRoutes(vpceScen("timeout")), "10.0.1.0/24", "10.0.0.1"),
			blocked(NetEndpointBlocked)),
		"static-route-outside-vpc": fx("a static route to another host for a range outside the VPC, public endpoints through a NAT: ok",
			viaGateway(withHostRoutes(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", errclass.None, []string{"52.119.0.X"}).
				Answer("169.254.169.253", errclass.None, []string{"52.119.0.X"}).Agent("10.0.0.2", errclass.None, []string{"52.119.0.X"}).Net("52.119.0.X", "ok")), "192.168.0.0/16", "10.0.0.50")),
		"proxy-dial-fails-default-route": fx("TCP to the agent's proxy fails and its route is the default one: net.proxy-failed as before",
			proxyDialFails(withHostRoutes(probetest.Proxied(vpceScen("ok"), "169.254.169.254", "ok"))),
			blocked(NetProxyFailed)),
		"docker0-elsewhere-sg-drops": fx("docker0 sits on 172.17.0.0/16, outside the VPC; the endpoint's security group drops 443: net.endpoint-blocked as before",
			withHostRoutes(vpceScen("timeout"), "172.17.0.0/16", "docker0"),
			blocked(NetEndpointBlocked)),
		"docker0-overlaps-path-works": fx("docker0 overlaps the VPC on 10.0.1.0/24 but the endpoints answer (the bridge forwards, or the probe's view was partial): the agent's path works, so no finding",
			withHostRoutes(vpceScen("ok"), "10.0.1.0/24", "docker0")),
		"secondary-eni": fx("a second ENI holds the route to the endpoint's subnet and 443 is dropped: not a local capture, net.endpoint-blocked",
			withHostRoutes(vpceScen("timeout"), "10.0.1.0/24", "ens6"),
			blocked(NetEndpointBlocked)),
		"resolver-through-docker0": fx("docker0 on 10.0.0.0/24 takes the VPC resolver at 10.0.0.2, which the host asks and which is silent",
			withHostRoutes(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", errclass.Timeout, nil).
				Answer("169.254.169.253", errclass.None, []string{"10.0.1.X"}).Agent("10.0.0.2", errclass.Timeout, nil), "10.0.0.0/25", "docker0"),
			wtn(NetLocalRoute, finding.SevFail, []string{"10.0.0.2", "AmazonProvidedDNS", "docker0"})),
		"imds-unreachable-default-route": fx("IMDS does not answer TCP, and its route is the default one: imds.unreachable as before",
			imdsUnreachableVia(withHostRoutes(vpceScen("ok"))),
			blocked(IMDSUnreachable)),
		"unnamed-interface-no-default": fx("no default route, the VPC's range on an interface whose name tells no owner, and 443 dropped: net.endpoint-blocked, the route is not blamed",
			noDefault(withHostRoutes(vpceScen("timeout"), "10.0.0.0/16", "vnet-a1")),
			blocked(NetEndpointBlocked)),
		"routes-cut-short": fx("docker0 overlaps the endpoints, but the table held more routes than were kept: the kernel's pick is unknown, so net.endpoint-blocked as before",
			truncated(withHostRoutes(vpceScen("timeout"), "10.0.1.0/24", "docker0")),
			blocked(NetEndpointBlocked)),
		"routes-not-read": fx("the endpoints time out and the routes were not read (under --root): net.endpoint-blocked, nothing about routes",
			vpceScen("timeout"),
			blocked(NetEndpointBlocked)),
	}
}

// imdsUnreachableVia makes IMDS fail at TCP.
func imdsUnreachableVia(s *probetest.Scen) *probetest.Scen {
	id := s.O.IMDS
	id.Reachable, id.Failure, id.Class, id.Detail = false, imds.FailUnreachable, errclass.Timeout, "dial tcp 169.254.169.254:80: i/o timeout"
	return s
}

// noDefault removes the default route.
func noDefault(s *probetest.Scen) *probetest.Scen {
	s.O.Routes.IPv4Default = ""
	s.O.Routes.Routes = s.O.Routes.Routes[1:]
	return s
}

// proxyDialFails makes TCP to the agent's proxy time out for every endpoint.
func proxyDialFails(s *probetest.Scen) *probetest.Scen {
	for i := range s.O.Proxy {
		p := &s.O.Proxy[i]
		p.Dial = obs.Stage{Class: errclass.Timeout, Detail: "dial tcp 10.0.9.20:3128: i/o timeout", DurationMS: 2000}
		p.Connect, p.TLS, p.HTTP = nil, nil, nil
	}
	return s
}

// viaGateway adds a route to dst through gw on ens5.
func viaGateway(s *probetest.Scen, dst, gw string) *probetest.Scen {
	s.O.Routes.Routes = append(s.O.Routes.Routes, routes.Route{Dst: netip.MustParsePrefix(dst), Gateway: netip.MustParseAddr(gw), Iface: "ens5"})
	return s
}

// noPlan drops what needs the region: the plan and every live check of it.
func noPlan(s *probetest.Scen) *probetest.Scen {
	s.O.Plan, s.O.DNS, s.O.AgentDNS, s.O.Net = nil, nil, nil, nil
	return s
}

// truncated marks the table as cut short, as Read leaves it when the host
// has more than routes.MaxRoutes routes.
func truncated(s *probetest.Scen) *probetest.Scen {
	s.O.Routes.Truncated = true
	s.O.Routes.Problems = append(s.O.Routes.Problems, "5000 routes, only the first 4096 kept")
	return s
}

// TestRouteOwner names each interface's owner by its name, near misses
// included (an ENI, a name that tells nothing).
func TestRouteOwner(t *testing.T) {
	cases := map[string]string{
		"docker0": "docker0", "br-3f2a9c1d4e5b": "docker-network", "docker_gwbridge": "docker-network",
		"cni-podman0": "podman", "podman1": "podman", "cni0": "cni", "flannel.1": "cni", "cali1a2b3c4d5e6": "cni",
		"vxlan.calico": "cni", "cilium_host": "cni", "wg0": "wireguard", "tun0": "vpn", "tailscale0": "vpn",
		"virbr0": "libvirt", "lxdbr0": "lxc", "ens5": "eni", "eth1": "eni", "enX0": "eni",
		"bond0": "other", "vnet-a1": "other", "eni1a2b3c4d5e6": "other", "veth1234": "other",
	}
	for name, want := range cases {
		if got := routeOwner(routes.Route{Iface: name}); got != want {
			t.Errorf("routeOwner(%s) = %s, want %s", name, got, want)
		}
	}
	if got := routeOwner(routes.Route{Iface: "docker0", Reject: true}); got != "reject" {
		t.Errorf("a reject route's owner is %s", got)
	}
}
