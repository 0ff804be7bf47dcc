package obs

import (
	"fmt"
	"net/netip"

	"github.com/ssm-probe/ssm-probe/probe/routes"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
)

// MaxAddrsPerHost caps the addresses tried for one endpoint name, over all
// resolvers. An interface endpoint has one address per Availability Zone
// (at most six in a Region today) and a public endpoint a handful; a
// resolver that answers with thousands (one 64 KiB UDP reply holds about
// 4,000 A records) must not turn one run into thousands of connections
// and a report of thousands of checks.
const MaxAddrsPerHost = 16

// MaxPlanned is the most endpoints a run plans: the services, and on
// Bottlerocket the ECR endpoints of its control container.
func MaxPlanned() int { return len(Services()) + len(BottlerocketEndpoints("", "")) }

// CheckBounds reports, for observations read from a file, the first way in
// which they are larger than a run could have made them: more endpoints
// than the planner lists (Services), a DNS, agent-view, network or proxy
// record about a host that is not planned, more records for one host than
// the plan's resolvers, the address cap, or one agent view and one proxy
// try allow. Diagnosis then has a known size to work on, whatever the file
// holds (a replay is otherwise bounded only by the file's size cap).
func (o *Observations) CheckBounds() error {
	planned := map[string]int{} // host -> endpoints planned for it (overrides may share one)
	resolvers := map[netip.Addr]bool{}
	if o.Plan != nil {
		if n, max := len(o.Plan.Endpoints), MaxPlanned(); n > max {
			return fmt.Errorf("the plan lists %d endpoints; a run plans at most %d", n, max)
		}
		for _, e := range o.Plan.Endpoints {
			planned[e.Host]++
		}
		for _, a := range append(append([]netip.Addr{}, o.Plan.System...), o.Plan.VPC...) {
			resolvers[a] = true
		}
	}
	type limit struct {
		what  string
		max   int
		hosts []string
	}
	for _, l := range []limit{
		{"DNS answers", len(resolvers), hostsOf(o.DNS, func(d DNSObs) string { return d.Host })},
		{"agent-view lookups", 1, hostsOf(o.AgentDNS, func(d AgentDNSObs) string { return d.Host })},
		{"addresses tried", MaxAddrsPerHost, hostsOf(o.Net, func(n NetObs) string { return n.Host })},
		{"proxy tries", 1, hostsOf(o.Proxy, func(p ProxyObs) string { return p.Host })},
	} {
		count := map[string]int{}
		for _, h := range l.hosts {
			if planned[h] == 0 {
				return fmt.Errorf("the %s hold a record for %q, which the plan does not list", l.what, h)
			}
			if max := l.max * planned[h]; count[h] >= max {
				return fmt.Errorf("the %s hold more than %d records for %s; a run makes at most %d", l.what, max, h, max)
			}
			count[h]++
		}
	}
	if err := o.systemBounds(); err != nil {
		return err
	}
	return o.listBounds()
}

// systemBounds reports facts of one system in the observations of the
// other: the rules of each system read only its own facts, so a file that
// mixes them would be diagnosed by neither.
func (o *Observations) systemBounds() error {
	switch o.OS {
	case "", OSLinux:
		if o.Windows != nil || o.Resolv != nil && o.Resolv.Windows != nil {
			return fmt.Errorf("a Linux host's observations (os %q) hold a Windows host's facts", o.OS)
		}
	case OSWindows:
		if o.Resolv != nil && (o.Resolv.Conf != nil || o.Resolv.Upstream != nil || o.Resolv.NSSwitch != nil) || o.Users != nil || o.Inotify != nil {
			return fmt.Errorf("a Windows host's observations hold a Linux host's facts (resolv.conf, nsswitch.conf, users or inotify)")
		}
	default:
		return fmt.Errorf("os %q is neither %q nor %q", o.OS, OSLinux, OSWindows)
	}
	return nil
}

// listBounds reports the first list of the host's facts that is longer
// than its reader keeps: the routes, and a Windows host's adapters, NRPT
// rules and their lists, persistent routes and users' proxies.
func (o *Observations) listBounds() error {
	type list struct {
		what   string
		n, max int
	}
	var ls []list
	if o.Routes != nil {
		ls = append(ls, list{"routes", len(o.Routes.Routes), routes.MaxRoutes})
	}
	if o.Resolv != nil && o.Resolv.Windows != nil {
		w := o.Resolv.Windows
		ls = append(ls, list{"adapters", len(w.Adapters), winhost.MaxAdapters}, list{"NRPT rules", len(w.NRPT), 2 * winhost.MaxNRPTRules})
		for _, a := range w.Adapters {
			ls = append(ls, list{"DNS servers of an adapter", len(a.DNSServers), winhost.MaxListItems},
				list{"addresses of an adapter", len(a.Addrs), winhost.MaxListItems}, list{"gateways of an adapter", len(a.Gateways), winhost.MaxListItems})
		}
		for _, r := range w.NRPT {
			ls = append(ls, list{"namespaces of an NRPT rule", len(r.Namespaces), winhost.MaxListItems}, list{"servers of an NRPT rule", len(r.Servers), winhost.MaxListItems})
		}
	}
	if w := o.Windows; w != nil {
		ls = append(ls, list{"persistent routes", len(w.PersistentRoutes), winhost.MaxPersistentRoutes})
		if w.Proxy != nil {
			ls = append(ls, list{"users' proxies", len(w.Proxy.Users), winhost.MaxUserHives})
		}
	}
	for _, l := range ls {
		if l.n > l.max {
			return fmt.Errorf("the %s number %d; a run keeps at most %d", l.what, l.n, l.max)
		}
	}
	return nil
}

func hostsOf[T any](recs []T, host func(T) string) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = host(r)
	}
	return out
}
