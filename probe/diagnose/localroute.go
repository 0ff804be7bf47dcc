package diagnose

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/routes"
)

// localRouteFix is net.local-route's fix: what moves the route off the
// VPC's range, by the owner its interface's name tells (routeOwner).
var localRouteFix = finding.FixLines(
	`{{if eq .owner "docker0"}}Docker's default bridge (docker0) takes {{.ROUTE}}: in /etc/docker/daemon.json set "bip" to a range outside {{.VPC_CIDR}}, e.g. {"bip": "192.168.200.1/24"}, then sudo systemctl restart docker.`+
		`{{else if eq .owner "docker-network"}}A Docker network ({{.IFACE}}) takes {{.ROUTE}}: find it (docker network ls; docker network inspect NAME), remove or recreate it on another subnet (docker network rm NAME), and keep Docker's pools off the VPC: "default-address-pools": [{"base": "192.168.0.0/16", "size": 24}] in /etc/docker/daemon.json, then sudo systemctl restart docker.`+
		`{{else if eq .owner "podman"}}A Podman network ({{.IFACE}}) takes {{.ROUTE}}: podman network ls; recreate it with --subnet outside {{.VPC_CIDR}}, and set default_subnet in /etc/containers/containers.conf ([network]) to a range outside it.`+
		`{{else if eq .owner "cni"}}The container network ({{.IFACE}}) takes {{.ROUTE}}: its pod range overlaps the VPC. Set the CNI's pod network (the cluster's cluster-cidr, flannel's net-conf.json Network, the Calico IP pool) to a range outside {{.VPC_CIDR}}.`+
		`{{else if eq .owner "wireguard"}}The WireGuard interface {{.IFACE}} takes {{.ROUTE}}: narrow AllowedIPs in /etc/wireguard/{{.IFACE}}.conf so that it covers neither {{.VPC_CIDR}} nor 169.254.169.254 and 169.254.169.253, then wg-quick down {{.IFACE}}; wg-quick up {{.IFACE}}.`+
		`{{else if eq .owner "vpn"}}The VPN on {{.IFACE}} takes {{.ROUTE}}: keep the VPC's range ({{.VPC_CIDR}}) and 169.254.169.254 and 169.254.169.253 out of the routes it installs (OpenVPN: the server's push "route" lines, or route-nopull with your own routes on the client).`+
		`{{else if eq .owner "libvirt"}}The libvirt network on {{.IFACE}} takes {{.ROUTE}}: virsh net-edit NAME and give it a range outside {{.VPC_CIDR}}, then virsh net-destroy NAME; virsh net-start NAME.`+
		`{{else if eq .owner "lxc"}}The LXC/LXD bridge {{.IFACE}} takes {{.ROUTE}}: give it a range outside {{.VPC_CIDR}} (lxc network set {{.IFACE}} ipv4.address 192.168.201.1/24, or LXC_NETWORK in /etc/default/lxc-net).`+
		`{{else if eq .owner "gateway"}}A static route sends {{.ROUTE}} to {{.GATEWAY}} instead of the subnet's router: unless that host forwards the traffic, it goes no further. Remove it (sudo ip route del {{.ROUTE}} via {{.GATEWAY}}) and the configuration that adds it at boot (netplan, systemd-networkd, /etc/sysconfig/network-scripts/route-{{.IFACE}}).`+
		`{{else if eq .owner "reject"}}A reject route takes {{.ROUTE}}: remove it (sudo ip route del {{.ROUTE}}) and whatever adds it at boot.`+
		`{{else}}The route to {{.ROUTE}} on {{.IFACE}} takes the traffic: find what added it (ip -d link show {{.IFACE}}; ip route show dev {{.IFACE}}) and move it off {{.VPC_CIDR}}.{{end}}`,
	"Then ip route get ADDRESS must name dev {{.DEFAULT_IFACE}}{{if eq .owner \"gateway\"}} and the default route's gateway{{end}} for each address above, and the agent must be restarted if it hibernated: sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}")

// routeOwner names what an interface belongs to, by its name: the owner
// that decides the fix. "eni" is a network interface of the instance (a
// secondary ENI), which is not a local capture.
func routeOwner(r routes.Route) string {
	n := r.Iface
	has := func(ps ...string) bool {
		for _, p := range ps {
			if strings.HasPrefix(n, p) {
				return true
			}
		}
		return false
	}
	switch {
	case r.Reject:
		return "reject"
	case n == "docker0":
		return "docker0"
	case has("br-", "docker_gwbridge"):
		return "docker-network"
	case has("podman", "cni-podman"):
		return "podman"
	case has("cni", "flannel", "cali", "vxlan.calico", "cilium", "weave", "kube-bridge", "cbr0", "genev_sys"):
		return "cni"
	case has("wg"):
		return "wireguard"
	case has("tun", "tap", "ppp", "ipsec", "vti", "utun", "tailscale", "zt"):
		return "vpn"
	case has("virbr"):
		return "libvirt"
	case has("lxcbr", "lxdbr"):
		return "lxc"
	case has("eth", "ens", "enp", "eno", "enX"):
		return "eni"
	}
	return "other"
}

// capture is an address the kernel sends into a local interface, or
// rejects, instead of the interface of the default route.
type capture struct {
	addr  netip.Addr
	what  string // what the address is, for a person
	route routes.Route
	owner string
}

// localRoute returns the route that captures a, if one does: the kernel's
// pick (routes.Facts.Lookup) is a reject route, or on an interface whose
// name tells a local owner (routeOwner: a container bridge, a CNI, a VPN)
// and that does not hold the default route. An interface whose name tells
// nothing is not blamed: the evidence does not go that far. Nothing is
// said when the routes were not read.
func (in *input) localRoute(a netip.Addr) (routes.Route, string, bool) {
	f := in.o.Routes
	if f == nil || !f.Checked || !a.IsValid() || f.Truncated || notLinux(in.o) {
		return routes.Route{}, "", false // not read, or cut short: the pick is unknown
	}
	r, ok := f.Lookup(a)
	if !ok {
		return routes.Route{}, "", false
	}
	def := f.IPv4Default
	if !a.Unmap().Is4() {
		def = f.IPv6Default
	}
	owner := routeOwner(r)
	if !r.Reject && r.Iface == def && in.elsewhere(f, r, a) {
		return r, "gateway", true
	}
	if !r.Reject && (r.Iface == def || owner == "eni" || owner == "other") {
		return routes.Route{}, "", false
	}
	return r, owner, true
}

// elsewhere reports whether r, on the default route's interface, is a
// more specific route that sends a, an address inside the VPC's CIDRs, to
// a gateway other than the default route's (the subnet's router): a static
// route to another host of the subnet.
func (in *input) elsewhere(f *routes.Facts, r routes.Route, a netip.Addr) bool {
	if !r.Gateway.IsValid() || r.Dst.Bits() == 0 || in.o.Plan == nil {
		return false
	}
	if _, inside := in.o.Plan.InVPC(a); !inside {
		return false
	}
	def, ok := f.Lookup(unspecified(a))
	return ok && def.Dst.Bits() == 0 && def.Gateway.IsValid() && def.Gateway != r.Gateway
}

// unspecified is the address that only a default route holds: 0.0.0.0 or
// ::, of a's family.
func unspecified(a netip.Addr) netip.Addr {
	if a.Unmap().Is4() {
		return netip.IPv4Unspecified()
	}
	return netip.IPv6Unspecified()
}

// imdsAddr is the address of the IMDS endpoint the probe used.
func imdsAddr(id *imds.Identity) netip.Addr {
	if id == nil {
		return netip.Addr{}
	}
	u, err := url.Parse(id.Endpoint)
	if err != nil {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(u.Hostname())
	return a
}

// imdsCaptured reports whether IMDS failed at TCP or got no answer, and a
// local route takes its address: then net.local-route names the cause.
func (in *input) imdsCaptured() (capture, bool) {
	id := in.o.IMDS
	if id == nil || id.Failure != imds.FailUnreachable && id.Failure != imds.FailNoAnswer {
		return capture{}, false
	}
	a := imdsAddr(id)
	if r, owner, ok := in.localRoute(a); ok {
		return capture{a, "the instance metadata service", r, owner}, true
	}
	return capture{}, false
}

// endpointCaptured lists the addresses of v's agent path that failed TCP
// and that a local route takes. Only a path broken at TCP counts: a route
// the agent's path does not use, or a path that works, is no cause.
func (in *input) endpointCaptured(v *agentpath.View) []capture {
	ap := in.byHost[v.Endpoint.Host]
	if v.Proxy != nil {
		return in.proxyCaptured(v)
	}
	if ap == nil || ap.State != agentpath.PathBroken || ap.Failed != agentpath.StageTCP {
		return nil
	}
	var out []capture
	for _, pa := range ap.Addrs {
		if pa.Failed != agentpath.StageTCP {
			continue
		}
		if r, owner, ok := in.localRoute(pa.Addr); ok {
			out = append(out, capture{pa.Addr, v.Endpoint.Host, r, owner})
		}
	}
	return out
}

// proxyCaptured is endpointCaptured for an endpoint the agent reaches
// through its proxy: TCP to the proxy failed, and a local route takes the
// proxy's address (a name is not resolved here: only an address literal
// is looked up).
func (in *input) proxyCaptured(v *agentpath.View) []capture {
	if stage, _, _ := v.Proxy.Failed(); stage != obs.ProxyDial {
		return nil
	}
	u, err := url.Parse(v.Proxy.Proxy)
	if err != nil {
		return nil
	}
	a, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil
	}
	if r, owner, ok := in.localRoute(a); ok {
		return []capture{{a, "the agent's proxy " + v.Proxy.Proxy, r, owner}}
	}
	return nil
}

// localRouteFinding is net.local-route: the route the kernel picks for an
// address the agent needs (an endpoint's, IMDS's or AmazonProvidedDNS's)
// goes into a local interface (a container bridge, a CNI, a VPN) or is a
// reject route, and the agent's connection there failed. The packets
// never leave the host, whatever the security groups say.
func localRouteFinding(in *input) []finding.Finding {
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
	var cs []capture
	var hosts []string
	for i := range in.views {
		v := &in.views[i]
		if c := in.endpointCaptured(v); len(c) > 0 {
			cs = append(cs, c...)
			hosts = append(hosts, v.Endpoint.Host)
		}
	}
	if c, ok := in.imdsCaptured(); ok {
		cs = append(cs, c)
	}
	for _, c := range in.resolversCaptured() {
		cs = append(cs, c)
		for _, p := range in.paths {
			if p.State == agentpath.PathBroken && p.Failed == agentpath.StageResolve && p.Server.Addr() == c.addr {
				hosts = appendUnique(hosts, p.Host)
			}
		}
	}
	if len(cs) == 0 {
		return nil
	}
	f := in.o.Routes
	head := cs[0]
	def := f.IPv4Default
	if !head.addr.Unmap().Is4() {
		def = f.IPv6Default
	}
	var ev, names []string
	seen := map[netip.Addr]bool{}
	for _, c := range cs {
		names = appendUnique(names, c.what)
		if seen[c.addr] {
			continue // the proxy's address, once for all the endpoints it carries
		}
		seen[c.addr] = true
		ev = append(ev, fmt.Sprintf("%s (%s): the kernel's route is %s", c.addr, c.what, c.route))
	}
	if def != "" {
		ev = append(ev, "the default route is on "+def)
	} else {
		ev = append(ev, "there is no default route for this address family")
	}
	where := ""
	if in.o.Plan != nil && len(in.o.Plan.VPCCIDRs) > 0 {
		if c, ok := in.o.Plan.InVPC(head.addr); ok {
			where = fmt.Sprintf(" %s lies inside the VPC's %s;", head.addr, c)
		}
	}
	summary := fmt.Sprintf("The route this host's kernel picks for %s (%s) is %s%s:%s the packets go into %s and never leave the host, so no security group, route table or endpoint is at fault. It breaks %s.",
		head.addr, head.what, head.route, notDefault(def), where, describeOwner(head), strings.Join(names, ", "))
	if head.owner == "gateway" {
		summary = fmt.Sprintf("The route this host's kernel picks for %s (%s) is %s: a static route to %s, another host, not the subnet's router that the default route uses.%s Unless that host forwards the traffic, it goes no further, whatever the endpoint's security group allows. It breaks %s.",
			head.addr, head.what, head.route, head.route.Gateway, strings.TrimSuffix(where, ";")+".", strings.Join(names, ", "))
	}
	fill := finding.Fill{"ROUTE": head.route.Dst.String(), "IFACE": head.route.Iface, "GATEWAY": head.route.Gateway.String(),
		"owner": head.owner, "DEFAULT_IFACE": orPlaceholder(def, "DEFAULT_IFACE")}
	if in.o.Plan != nil {
		fill["VPC_CIDR"] = firstCIDR(in.o.Plan)
	}
	out := in.cat.New(NetLocalRoute, summary, ev, fill)
	out.About(hosts...)
	return []finding.Finding{out}
}

// notDefault says that a route is not on the default route's interface,
// when there is a default route.
func notDefault(def string) string {
	if def == "" {
		return ""
	}
	return ", not the default route's interface (" + def + ")"
}

// describeOwner says in words where a captured address's packets go.
func describeOwner(c capture) string {
	words := map[string]string{
		"docker0":        "Docker's default bridge docker0",
		"docker-network": "the Docker network bridge " + c.route.Iface,
		"podman":         "the Podman network " + c.route.Iface,
		"cni":            "the container network interface " + c.route.Iface,
		"wireguard":      "the WireGuard tunnel " + c.route.Iface,
		"vpn":            "the VPN tunnel " + c.route.Iface,
		"libvirt":        "the libvirt bridge " + c.route.Iface,
		"lxc":            "the LXC/LXD bridge " + c.route.Iface,
		"reject":         "a reject route (the kernel refuses them)",
	}
	if w, ok := words[c.owner]; ok {
		return w
	}
	return "the interface " + c.route.Iface
}

// resolversCaptured lists AmazonProvidedDNS addresses that the host asks
// (they are in its resolv.conf), that a local route takes and that did not
// answer.
func (in *input) resolversCaptured() []capture {
	if in.o.Plan == nil {
		return nil
	}
	var out []capture
	for _, a := range in.o.Plan.VPC {
		if !slices.Contains(in.o.Plan.System, a) {
			continue // not a resolver the host asks
		}
		silent := false
		for i := range in.o.DNS {
			d := &in.o.DNS[i]
			if d.Resolver == a && d.Class() == errclass.Timeout {
				silent = true
				break
			}
		}
		if !silent {
			continue
		}
		if r, owner, ok := in.localRoute(a); ok {
			out = append(out, capture{a, "AmazonProvidedDNS", r, owner})
		}
	}
	return out
}

// capturedHost reports whether net.local-route explains v's broken path,
// which the other network rules then leave to it.
func (in *input) capturedHost(v *agentpath.View) bool { return len(in.endpointCaptured(v)) > 0 }
