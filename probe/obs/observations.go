// Package obs holds the observations of one run: the typed, JSON-serialisable
// record that the observing layer (package observe) writes and the
// diagnosing layer (package diagnose) reads. It is the only value that
// crosses between the two.
package obs

import (
	"slices"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/inotify"
	"github.com/ssm-probe/ssm-probe/probe/routes"
	"github.com/ssm-probe/ssm-probe/probe/users"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
	"github.com/ssm-probe/ssm-probe/resolv"
)

// Observations is the record of one run: what was asked and what came back,
// typed and JSON-serialisable. Diagnose reads nothing else, so a saved
// Observations file can be re-diagnosed anywhere (the --observations seam).
type Observations struct {
	StartedAt time.Time `json:"started_at"`
	Root      string    `json:"root"`
	Live      bool      `json:"live"`    // live checks (network, /proc) ran
	Offline   bool      `json:"offline"` // the files came from another machine's volume
	// OS is the probed host's system: OSLinux or OSWindows. A file saved
	// before the Windows build has none, and is Linux (IsWindows).
	OS     string `json:"os,omitempty"`
	Region string `json:"region_override,omitempty"`

	Resolv   *ResolvFacts    `json:"resolv,omitempty"`
	IMDS     *imds.Identity  `json:"imds,omitempty"`
	Agent    *agent.Facts    `json:"agent,omitempty"`
	Host     *host.Facts     `json:"host,omitempty"`
	Plan     *Plan           `json:"plan,omitempty"`
	DNS      []DNSObs        `json:"dns,omitempty"`       // each endpoint name asked of each resolver directly
	AgentDNS []AgentDNSObs   `json:"agent_dns,omitempty"` // each endpoint name resolved the agent's way
	Net      []NetObs        `json:"net,omitempty"`       // each endpoint address tried: TCP, TLS, HTTPS
	Proxy    []ProxyObs      `json:"proxy,omitempty"`     // each endpoint no_proxy does not cover, tried through the agent's proxy
	Logs     *journal.Result `json:"logs,omitempty"`      // what the agent's logs show
	Prefs    *PrefsObs       `json:"prefs,omitempty"`     // the account's Session Manager preferences and their destinations
	Checks   []CheckRecord   `json:"checks,omitempty"`

	Users   *users.Facts   `json:"users,omitempty"`   // the local users and whether ssm-user can be created (Run As)
	Inotify *inotify.Facts `json:"inotify,omitempty"` // inotify and file-handle use, live only
	Routes  *routes.Facts  `json:"routes,omitempty"`  // default routes and addresses of both families, live only

	// Windows is what a Windows host's service manager, registry and
	// system files say (package winhost); nil on Linux. Its DNS client is
	// also in Resolv.Windows, and its routes in Routes.
	Windows *winhost.Facts `json:"windows,omitempty"`
}

// The probed host's systems (Observations.OS).
const (
	OSLinux   = "linux"
	OSWindows = "windows"
)

// IsWindows reports whether the observations are of a Windows host.
func (o *Observations) IsWindows() bool { return o != nil && o.OS == OSWindows }

// Add merges p into o: the facts p holds replace o's, and its lists are
// appended to o's. Neither value's lists are written: o's are copied on
// append, so values handed between phases stay unchanged.
func (o *Observations) Add(p Observations) {
	setIf(&o.Resolv, p.Resolv)
	setIf(&o.IMDS, p.IMDS)
	setIf(&o.Agent, p.Agent)
	setIf(&o.Host, p.Host)
	setIf(&o.Plan, p.Plan)
	setIf(&o.Logs, p.Logs)
	setIf(&o.Prefs, p.Prefs)
	setIf(&o.Users, p.Users)
	setIf(&o.Inotify, p.Inotify)
	setIf(&o.Routes, p.Routes)
	setIf(&o.Windows, p.Windows)
	o.DNS = appendCopy(o.DNS, p.DNS)
	o.AgentDNS = appendCopy(o.AgentDNS, p.AgentDNS)
	o.Net = appendCopy(o.Net, p.Net)
	o.Proxy = appendCopy(o.Proxy, p.Proxy)
	o.Checks = appendCopy(o.Checks, p.Checks)
}

func setIf[T any](dst **T, v *T) {
	if v != nil {
		*dst = v
	}
}

// appendCopy appends add to a copy of s (nil when both are empty).
func appendCopy[T any](s, add []T) []T {
	if len(add) == 0 {
		return s
	}
	return append(slices.Clip(s), add...)
}

// ResolvFacts is what the host's resolver configuration says.
type ResolvFacts struct {
	Conf     *resolv.Conf     `json:"conf"`               // /etc/resolv.conf
	Upstream *resolv.Conf     `json:"upstream,omitempty"` // systemd-resolved's upstream file, when Conf is the stub
	Hosts    *resolv.Hosts    `json:"hosts,omitempty"`
	NSSwitch *resolv.NSSwitch `json:"nsswitch,omitempty"`
	// Windows is the Windows DNS client's configuration, which takes the
	// place of Conf, Upstream and NSSwitch on a Windows host.
	Windows *resolv.WinClient `json:"windows,omitempty"`
}

// Unreadable returns the host paths that could not be read for want of
// permission, in order, once each. The running agent's environ is left to
// the agent.proxy check, which says what it hides (the proxy).
func Unreadable(problems []rootfs.Problem) []string {
	var out []string
	for _, p := range problems {
		if p.Class == errclass.Permission && !strings.HasSuffix(p.Path, "/environ") && !slices.Contains(out, p.Path) {
			out = append(out, p.Path)
		}
	}
	return out
}
