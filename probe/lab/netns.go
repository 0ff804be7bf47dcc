//go:build linux

package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Timeouts of the host commands (ip, nft, kill). Each returns in
// milliseconds; the bound only keeps a wedged command from hanging the lab.
const (
	commandTimeout = 10 * time.Second
	// maxCommandOutput caps what the lab keeps of a command's output.
	maxCommandOutput = 1 << 20
	// maxLeftoverPIDs bounds the processes killed in one leftover namespace.
	maxLeftoverPIDs = 1024
)

// Exec runs one command with stdin and returns its standard output. Errors
// carry the command's standard error.
type Exec func(ctx context.Context, stdin, name string, args ...string) ([]byte, error)

// RealExec runs commands with os/exec, each bounded by commandTimeout.
func RealExec(ctx context.Context, stdin, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb capBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		return out.b, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(errb.b)))
	}
	return out.b, nil
}

// capBuffer keeps the first maxCommandOutput bytes written to it.
type capBuffer struct{ b []byte }

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := maxCommandOutput - len(c.b); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		c.b = append(c.b, p[:room]...)
	}
	return len(p), nil
}

// Net builds and removes the lab's namespaces. It only ever changes
// namespaces whose names start with NSPrefix, and /etc/netns/<those>.
type Net struct {
	Exec     Exec
	NetnsDir string // "/etc/netns", where ip netns exec finds per-namespace resolv.conf and hosts
}

func (n *Net) ip(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	return n.Exec(ctx, stdin, "ip", args...)
}

// Cleanup removes every namespace named NSPrefix*, after killing the
// processes in it (a crashed run's servers), and their /etc/netns
// directories. Mounts die with the lab's mount namespaces, and firewall
// rules and links with the network namespaces.
func (n *Net) Cleanup(ctx context.Context) error {
	nss, err := n.Leftovers(ctx)
	if err != nil {
		return err
	}
	var errs []string
	for _, ns := range nss {
		if pids, err := n.ip(ctx, "", "netns", "pids", ns); err == nil {
			for i, p := range strings.Fields(string(pids)) {
				if i >= maxLeftoverPIDs {
					break
				}
				if pid, err := strconv.Atoi(p); err == nil && pid > 1 {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		if _, err := n.ip(ctx, "", "netns", "delete", ns); err != nil {
			errs = append(errs, err.Error())
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(n.NetnsDir, NSPrefix+"*"))
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err.Error())
		}
	}
	os.Remove(n.NetnsDir) // only when empty: ip netns exec needs it only while a lab runs
	if len(errs) > 0 {
		return fmt.Errorf("cleanup: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Leftovers lists the network namespaces named NSPrefix* that exist now.
func (n *Net) Leftovers(ctx context.Context) ([]string, error) {
	out, err := n.ip(ctx, "", "netns", "list")
	if err != nil {
		return nil, err
	}
	var nss []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], NSPrefix) {
			nss = append(nss, f[0])
		}
	}
	return nss, nil
}

// Setup makes the two namespaces and the veth between them, gives the
// infrastructure namespace every service address (and extra) and the
// instance its address and routes. The veth is created inside the
// infrastructure namespace and its peer moved straight into the instance's,
// so no link ever exists in the host's namespace.
//
// links are the scenario's local interfaces of the instance (bridges).
//
// With ipv6Only the instance gets no IPv4 address or route, but RouterAddr6
// and InstanceAddr6 on the veth and an IPv6 default route through it: the
// infrastructure namespace has no link but lo and the veth, so the route
// ends there.
func (n *Net) Setup(ctx context.Context, extra []netip.Addr, ipv6Only bool, links ...LocalLink) error {
	steps := [][]string{
		{"netns", "add", InfraNS},
		{"netns", "add", InstNS},
		{"-n", InfraNS, "link", "add", InfraLink, "type", "veth", "peer", "name", InstLink, "netns", InstNS},
	}
	for _, s := range steps {
		if _, err := n.ip(ctx, "", s...); err != nil {
			return err
		}
	}
	var infra strings.Builder
	infra.WriteString("link set lo up\n")
	fmt.Fprintf(&infra, "addr add %s/24 dev %s\nlink set %s up\n", RouterAddr, InfraLink, InfraLink)
	if ipv6Only {
		fmt.Fprintf(&infra, "addr add %s/64 dev %s nodad\n", RouterAddr6, InfraLink)
	}
	for _, a := range InfraAddrs(extra) {
		fmt.Fprintf(&infra, "addr add %s/32 dev lo\n", a)
	}
	if _, err := n.ip(ctx, infra.String(), "-n", InfraNS, "-batch", "-"); err != nil {
		return err
	}
	var inst strings.Builder
	inst.WriteString("link set lo up\n")
	if ipv6Only {
		fmt.Fprintf(&inst, "addr add %s/64 dev %s nodad\nlink set %s up\n", InstanceAddr6, InstLink, InstLink)
		fmt.Fprintf(&inst, "route add ::/0 via %s dev %s\n", RouterAddr6, InstLink)
	} else {
		fmt.Fprintf(&inst, "addr add %s/24 dev %s\nlink set %s up\n", InstanceAddr, InstLink, InstLink)
		for _, p := range InstanceRoutes() {
			fmt.Fprintf(&inst, "route add %s via %s dev %s\n", p, RouterAddr, InstLink)
		}
		// A bridge with no port, as docker0 is with no container: the
		// kernel installs its connected route, and what it takes goes
		// nowhere.
		for _, l := range links {
			fmt.Fprintf(&inst, "link add %s type bridge\naddr add %s dev %s\nlink set %s up\n", l.Name, l.Addr, l.Name, l.Name)
		}
	}
	_, err := n.ip(ctx, inst.String(), "-n", InstNS, "-batch", "-")
	return err
}

// localLinkRoute reports whether a route of the instance on dev is one of
// a scenario's local link's own: IPv4 inside its prefix (the connected,
// local and broadcast routes), IPv6 link-local or multicast only. Such a
// route ends at a bridge with no port.
func localLinkRoute(links []LocalLink, dev, dst string, v6 bool) bool {
	for _, l := range links {
		if l.Name != dev {
			continue
		}
		if v6 {
			p, err := netip.ParsePrefix(dst)
			if err != nil {
				a, err2 := netip.ParseAddr(dst)
				if err2 != nil {
					return false
				}
				p = netip.PrefixFrom(a, 128)
			}
			return netip.MustParsePrefix("fe80::/10").Contains(p.Addr()) || p.Addr().IsMulticast()
		}
		own := netip.MustParsePrefix(l.Addr).Masked()
		if a, err := netip.ParseAddr(dst); err == nil {
			return own.Contains(a)
		}
		p, err := netip.ParsePrefix(dst)
		return err == nil && own.Contains(p.Addr()) && p.Bits() >= own.Bits()
	}
	return false
}

// WriteEtc writes the instance's /etc/netns/<InstNS>/{resolv.conf,hosts},
// which ip netns exec bind-mounts over /etc (ip-netns(8)).
func (n *Net) WriteEtc(resolvConf, hosts string) error {
	dir := filepath.Join(n.NetnsDir, InstNS)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(resolvConf), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "hosts"), []byte(hosts), 0o644)
}

// Firewall loads the scenario's rules into the infrastructure namespace.
func (n *Net) Firewall(ctx context.Context, rules []Rule) error {
	rs, err := Ruleset(rules)
	if err != nil {
		return err
	}
	_, err = n.Exec(ctx, rs, "ip", "netns", "exec", InfraNS, "nft", "-f", "-")
	return err
}

// Ruleset renders rules as an nftables ruleset (nft(8)) whose input chain
// drops what the rules name, for packets that arrive over the veth from
// the instance only: the servers' own traffic (the proxy's) is not
// affected, as a security group applies to one interface.
func Ruleset(rules []Rule) (string, error) {
	var b strings.Builder
	b.WriteString("table inet ssmp_lab {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n")
	for _, r := range rules {
		as, err := r.Addrs()
		if err != nil {
			return "", err
		}
		m := []string{fmt.Sprintf("iifname %q", InfraLink)}
		if as != nil {
			var s []string
			for _, a := range as {
				s = append(s, a.String())
			}
			m = append(m, "ip daddr { "+strings.Join(s, ", ")+" }")
		}
		switch {
		case r.Port != 0 && r.Proto != "":
			m = append(m, fmt.Sprintf("%s dport %d", r.Proto, r.Port))
		case r.Port != 0:
			m = append(m, fmt.Sprintf("meta l4proto { tcp, udp } th dport %d", r.Port))
		case r.Proto != "":
			m = append(m, "meta l4proto "+r.Proto)
		}
		m = append(m, "drop")
		if r.Why != "" {
			m = append(m, fmt.Sprintf("comment %q", strings.ReplaceAll(r.Why, `"`, "'")))
		}
		b.WriteString("\t\t" + strings.Join(m, " ") + "\n")
	}
	b.WriteString("\t}\n}\n")
	return b.String(), nil
}

// Isolated checks that the instance cannot reach the host's network: each
// namespace holds only loopback and its end of the veth pair, the instance
// has no IPv4 default route and routes IPv6 only through the veth or lo
// (an IPv6-only scenario's default route ends in the infrastructure
// namespace), and a route lookup for an address outside the lab's prefixes
// fails (a lookup sends no packet).
func (n *Net) Isolated(ctx context.Context, links ...LocalLink) error {
	instLinks := []string{"lo", InstLink}
	for _, l := range links {
		instLinks = append(instLinks, l.Name)
	}
	sort.Strings(instLinks)
	for ns, want := range map[string][]string{InstNS: instLinks, InfraNS: {"lo", InfraLink}} {
		out, err := n.ip(ctx, "", "-n", ns, "-j", "link", "show")
		if err != nil {
			return err
		}
		var links []struct {
			Name string `json:"ifname"`
		}
		if err := json.Unmarshal(out, &links); err != nil {
			return fmt.Errorf("ip -n %s -j link show: %w", ns, err)
		}
		var got []string
		for _, l := range links {
			got = append(got, l.Name)
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			return fmt.Errorf("namespace %s has links %v, want only %v", ns, got, want)
		}
	}
	out, err := n.ip(ctx, "", "-4", "-n", InstNS, "-j", "route", "show", "table", "all")
	if err != nil {
		return err
	}
	var routes []struct {
		Dst string `json:"dst"`
		Dev string `json:"dev"`
	}
	if err := json.Unmarshal(out, &routes); err != nil {
		return fmt.Errorf("ip -4 -n %s -j route show: %w", InstNS, err)
	}
	for _, r := range routes {
		if r.Dst == "default" {
			return fmt.Errorf("namespace %s has a default route via %s", InstNS, r.Dev)
		}
		if r.Dev != "" && r.Dev != InstLink && r.Dev != "lo" && !localLinkRoute(links, r.Dev, r.Dst, false) {
			return fmt.Errorf("namespace %s routes %s via %s", InstNS, r.Dst, r.Dev)
		}
	}
	out6, err := n.ip(ctx, "", "-6", "-n", InstNS, "-j", "route", "show", "table", "all")
	if err != nil {
		return err
	}
	var routes6 []struct {
		Dst string `json:"dst"`
		Dev string `json:"dev"`
	}
	if err := json.Unmarshal(out6, &routes6); err != nil {
		return fmt.Errorf("ip -6 -n %s -j route show: %w", InstNS, err)
	}
	for _, r := range routes6 {
		if r.Dev != "" && r.Dev != InstLink && r.Dev != "lo" && !localLinkRoute(links, r.Dev, r.Dst, true) {
			return fmt.Errorf("namespace %s routes %s via %s", InstNS, r.Dst, r.Dev)
		}
	}
	// 192.88.99.1 is outside every prefix the instance routes.
	if out, err := n.ip(ctx, "", "-n", InstNS, "route", "get", "192.88.99.1"); err == nil {
		return fmt.Errorf("namespace %s has a route to 192.88.99.1: %s", InstNS, strings.TrimSpace(string(out)))
	}
	return nil
}
