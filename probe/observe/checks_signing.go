package observe

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/prefs"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// signingPlan is where signed calls go when the host files are not trusted
// for signing (Config.TrustedForSigning): the standard endpoint names of
// the region this host vouches for, resolved by this host.
type signingPlan struct {
	region      string
	hosts       map[obs.Service]string // service -> standard name
	notFollowed []string               // the volume's settings not followed for signing, with why
	problem     string                 // why no signed call can be made
}

// whyNotFollowed says why a volume's setting is not followed for signing.
const whyNotFollowed = "the volume is not trusted to choose where this host's credentials go"

// standardSigningPlan derives the signing plan from the flag or IMDS (the
// running host's own answers) alone, and lists the volume's overrides it
// leaves out.
func standardSigningPlan(cfg *Config, o *obs.Observations) *signingPlan {
	sp := &signingPlan{hosts: map[obs.Service]string{}}
	domain := ""
	switch {
	case cfg.Region != "":
		sp.region = cfg.Region
	case o.IMDS != nil && o.IMDS.Region != "":
		sp.region, domain = o.IMDS.Region, o.IMDS.Domain
	default:
		sp.problem = "not checked: under --root, signed calls need a region this host vouches for (--region, or IMDS), not the volume's"
	}
	if domain == "" {
		domain = partitionDomain(sp.region)
	}
	for _, svc := range obs.PrefsServices() {
		sp.hosts[svc] = string(svc) + "." + sp.region + "." + domain
	}
	if o.Agent != nil && o.Agent.Config != nil {
		ov := o.Agent.Config
		add := func(what, val string) {
			if val != "" {
				sp.notFollowed = append(sp.notFollowed, fmt.Sprintf("%s %s %q", ov.Path, what, clipValue(val)))
			}
		}
		add("Agent.Region", ov.Region)
		add("Agent.ServiceDomain", ov.ServiceDomain)
		add("Ssm.Endpoint", ov.SsmEndpoint)
		add("S3.Endpoint", ov.S3Endpoint)
	}
	if f := o.Resolv; f != nil && f.Hosts != nil {
		var names []string // the standard names, then the volume's overrides
		for _, svc := range obs.PrefsServices() {
			names = append(names, sp.hosts[svc])
		}
		if o.Plan != nil {
			for _, e := range o.Plan.Endpoints {
				if slices.Contains(obs.PrefsServices(), e.Service) {
					names = append(names, e.Host)
				}
			}
		}
		seen := map[string]bool{}
		for _, n := range names {
			if !seen[n] && len(f.Hosts.EntriesFor(n)) > 0 {
				sp.notFollowed = append(sp.notFollowed, fmt.Sprintf("%s entry for %s", cfg.Hosts, n))
			}
			seen[n] = true
		}
	}
	if o.Resolv != nil && o.Resolv.Conf != nil && len(o.Resolv.Conf.Nameservers) > 0 {
		sp.notFollowed = append(sp.notFollowed, cfg.ResolvConf+" nameservers")
	}
	if o.Agent != nil && o.Agent.Proxy != nil {
		sp.notFollowed = append(sp.notFollowed, "the agent's proxy settings")
	}
	return sp
}

// clipValue caps a volume's value quoted in the report.
func clipValue(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// note says where the signed calls went, and what was not followed.
func (sp *signingPlan) note() string {
	s := "signed calls went to the standard endpoint names, resolved by this host, because " + whyNotFollowed
	if len(sp.notFollowed) > 0 {
		s += "; not followed for signing: " + strings.Join(sp.notFollowed, ", ")
	}
	return s
}

// resolver returns how a target's addresses are found: the way the
// running host resolves, with its own /etc/resolv.conf, /etc/hosts and
// nsswitch.conf (never the volume's), or asking the SigningDNS servers when
// set.
func (sp *signingPlan) resolver(cfg *Config) func(context.Context, prefs.Target) prefs.Target {
	var conf *resolv.Conf
	var hosts *resolv.Hosts
	var nss *resolv.NSSwitch
	if len(cfg.SigningDNS) > 0 {
		conf = &resolv.Conf{Options: resolv.Options{Ndots: resolv.DefaultNdots, Timeout: resolv.DefaultTimeoutSec, Attempts: resolv.DefaultAttempts}}
		for _, a := range cfg.SigningDNS {
			conf.Nameservers = append(conf.Nameservers, resolv.Nameserver{Addr: a})
		}
	} else {
		conf = resolv.ReadConf(resolv.DefaultConfPath)
		hosts = resolv.ReadHosts(resolv.DefaultHostsPath)
		nss = resolv.ReadNSSwitch("/etc/nsswitch.conf")
	}
	return func(ctx context.Context, t prefs.Target) prefs.Target {
		lctx, cancel := context.WithTimeout(ctx, agentLookupBudget*cfg.Timeout)
		defer cancel()
		ans := resolv.AgentLookup(lctx, t.Host, conf, hosts, nss, resolv.AgentOptions{
			Port: uint16(cfg.DNSPort), Timeout: cfg.Timeout, Attempts: 1, Dial: cfg.Dialer.DialContext})
		if ans.Class == errclass.None {
			t.Addrs = append([]netip.Addr(nil), ans.Addrs...)
		}
		return t
	}
}
