package probe

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/imds"
)

// Free-space thresholds of host.disk-full (docs/FINDINGS.md), in percent of the
// file system, for both bytes and inodes.
const (
	diskFailPercent = 1.0
	diskWarnPercent = 5.0
)

// Unit names of the agent (docs/AGENT-FACTS.md, "Files and locations (Linux)").
const (
	unitPackage = "amazon-ssm-agent"
	unitSnap    = "snap.amazon-ssm-agent.amazon-ssm-agent"
)

// diagnoseAgent names what is wrong with the SSM Agent itself (docs/FINDINGS.md,
// "Agent and host"): not installed, installed but not running, too old,
// hibernating, and (info) endpoint overrides in its config. A fact the
// probe could not gather gives no finding: the agent check record already
// says why (for example "not checked: offline root" for the process table).
func diagnoseAgent(cat *Catalog, o *Observations) []Finding {
	a := o.Agent
	if a == nil {
		return nil
	}
	if !a.Installed {
		return []Finding{agentNotInstalled(cat, o)}
	}
	var out []Finding
	if a.RunningChecked && !a.Running {
		out = append(out, agentNotRunning(cat, o))
	}
	if f, ok := agentOutdated(cat, o); ok {
		out = append(out, f)
	}
	if h := a.Hibernation; h != nil && h.Hibernating {
		out = append(out, agentHibernating(cat, o))
	}
	if a.Config.Any() {
		out = append(out, agentOverrides(cat, a.Config))
	}
	return out
}

// agentNotInstalled builds agent.not-installed, listing where the probe
// looked and what it found instead (a masked unit, a package database that
// does not list the agent).
func agentNotInstalled(cat *Catalog, o *Observations) Finding {
	a := o.Agent
	ev := []string{fmt.Sprintf("no agent binary at %s or %s, no snap, no installed package, no unit", agent.BinaryPath, agent.SnapBinaryPath)}
	for _, u := range a.Units {
		if u.Masked {
			ev = append(ev, fmt.Sprintf("%s is masked (a link to /dev/null)", u.Path))
		}
	}
	for _, db := range a.PackageDBs {
		ev = append(ev, "package database read: "+db)
	}
	ev = append(ev, a.Notes...)
	return specificFinding(cat, AgentNotInstalled,
		fmt.Sprintf("The SSM Agent is not installed under %s: no binary, package, snap or systemd unit was found, so nothing on this host can answer Session Manager.", a.Root),
		ev, installFix(o))
}

// installFix returns the install command for the package system found.
// The package URLs are the regional ones of the AWS guide "Manually
// installing SSM Agent on Linux" (linux_arm64 / debian_arm64 on Graviton).
func installFix(o *Observations) string {
	switch packageSystem(o.Agent) {
	case agent.KindRPM:
		return "sudo dnf install -y amazon-ssm-agent (Amazon Linux), or: sudo yum install -y " + packageURL(o, agent.KindRPM) + "; then sudo systemctl enable --now amazon-ssm-agent"
	case agent.KindDpkg:
		return "sudo snap install amazon-ssm-agent --classic (Ubuntu), or: curl -fsSLo /tmp/amazon-ssm-agent.deb " + packageURL(o, agent.KindDpkg) +
			" && sudo dpkg -i /tmp/amazon-ssm-agent.deb; then sudo systemctl enable --now amazon-ssm-agent"
	}
	return "Install the agent package for this distribution (see the linked guide), then: sudo systemctl enable --now amazon-ssm-agent"
}

// packageSystem returns agent.KindRPM or agent.KindDpkg for the package
// database found under the root (rpm first: a dpkg database also exists on
// some rpm hosts with alien tools), or "".
func packageSystem(a *agent.Facts) string {
	for _, k := range []string{agent.KindRPM, agent.KindDpkg} {
		for _, db := range a.PackageDBs {
			if strings.HasPrefix(db, k+":") {
				return k
			}
		}
	}
	return ""
}

// packageURL returns the regional download URL of the agent package of
// kind (agent.KindRPM or agent.KindDpkg) for amd64.
func packageURL(o *Observations, kind string) string {
	region := regionOf(o)
	if region == "" {
		region = "REGION"
	}
	base := "https://s3." + region + ".amazonaws.com/amazon-ssm-" + region + "/latest/"
	if kind == agent.KindRPM {
		return base + "linux_amd64/amazon-ssm-agent.rpm"
	}
	return base + "debian_amd64/amazon-ssm-agent.deb"
}

// agentUnit returns the agent's systemd unit name and whether it is the
// snap's.
func agentUnit(a *agent.Facts) (string, bool) {
	for _, u := range a.Units {
		if strings.HasPrefix(path.Base(u.Path), unitSnap) {
			return unitSnap, true
		}
	}
	for _, e := range a.Install {
		if e.Kind == agent.KindSnap {
			return unitSnap, true
		}
	}
	return unitPackage, false
}

// agentNotRunning builds agent.not-running. It is only called when the
// process table was read.
func agentNotRunning(cat *Catalog, o *Observations) Finding {
	a := o.Agent
	unit, snap := agentUnit(a)
	ev := []string{"no amazon-ssm-agent process in the process table"}
	summary := "The SSM Agent is installed but not running: no amazon-ssm-agent process exists, so Session Manager cannot reach this host."
	if len(a.Excluded) > 0 {
		// Zombies, other namespaces' agents and impostors are seen, not counted.
		ev[0] = "no live amazon-ssm-agent process of this host runs an agent binary"
		for _, p := range a.Excluded {
			ev = append(ev, p.Why())
		}
		summary = "The SSM Agent is installed but not running: no live amazon-ssm-agent process of this host runs the agent (what the process table holds under that name is listed below), so Session Manager cannot reach this host."
	}
	if a.Version != "" {
		ev = append(ev, fmt.Sprintf("installed version %s (from %s)", a.Version, a.VersionSource))
	}
	masked := false
	for _, u := range a.Units {
		state := "not enabled"
		if u.Enabled {
			state = "enabled"
		}
		if u.Masked {
			state, masked = "masked", true
		}
		ev = append(ev, fmt.Sprintf("unit %s: %s", u.Path, state))
	}
	var fixes []string
	switch {
	case masked:
		fixes = append(fixes, "sudo systemctl unmask "+unit+" && sudo systemctl enable --now "+unit)
	case snap:
		fixes = append(fixes, "sudo snap start --enable amazon-ssm-agent")
	default:
		fixes = append(fixes, "sudo systemctl enable --now "+unit)
	}
	fixes = append(fixes, "Then read why it stopped: sudo journalctl -u "+unit+" -n 100; sudo tail -n 100 "+agent.AgentLogPath)
	return specificFinding(cat, AgentNotRunning, summary, ev, fixes...)
}

// agentOutdated builds agent.outdated: a fail below agent.MinSessionManager,
// a warn below agent.MinDefaultHostManagement when the instance has no
// profile (only DHMC could give it credentials). The evidence names every
// version-gated feature the agent lacks. An unknown version gives nothing.
func agentOutdated(cat *Catalog, o *Observations) (Finding, bool) {
	a := o.Agent
	v, err := a.ParsedVersion()
	if err != nil {
		return Finding{}, false
	}
	noProfile := o.IMDS != nil && o.IMDS.Profile.State == imds.ProfileAbsent
	var sev Severity
	var summary string
	switch {
	case !v.AtLeast(agent.MinSessionManager):
		sev = SevFail
		summary = fmt.Sprintf("SSM Agent %s is older than %s, the first version that supports Session Manager.", v, agent.MinSessionManager)
	case noProfile && !v.AtLeast(agent.MinDefaultHostManagement):
		sev = SevWarn
		summary = fmt.Sprintf("SSM Agent %s is older than %s, the first version that supports Default Host Management Configuration, and this instance has no instance profile: without DHMC the agent has no credentials.", v, agent.MinDefaultHostManagement)
	default:
		return Finding{}, false
	}
	ev := []string{fmt.Sprintf("agent version %s (from %s)", v, a.VersionSource)}
	for _, fe := range agent.Features() {
		if !v.AtLeast(fe.MinVersion) {
			ev = append(ev, fmt.Sprintf("lacks %s (needs %s)", fe.Name, fe.MinVersion))
		}
	}
	target := agent.MinSessionManager
	if sev == SevWarn {
		target = agent.MinDefaultHostManagement
	}
	fix := fmt.Sprintf("Update the agent to %s or later (the latest is best): aws ssm send-command --document-name AWS-UpdateSSMAgent --instance-ids %s%s, or on the host: %s",
		target, instanceOf(o), regionFlag(o), updateCommand(o))
	f := specificFinding(cat, AgentOutdated, summary, ev, fix)
	f.Severity = sev
	return f, true
}

// updateCommand returns the on-host update command for how the agent was
// installed.
func updateCommand(o *Observations) string {
	if _, snap := agentUnit(o.Agent); snap {
		return "sudo snap refresh amazon-ssm-agent"
	}
	switch packageSystem(o.Agent) {
	case agent.KindRPM:
		return "sudo yum install -y " + packageURL(o, agent.KindRPM)
	case agent.KindDpkg:
		return "curl -fsSLo /tmp/amazon-ssm-agent.deb " + packageURL(o, agent.KindDpkg) + " && sudo dpkg -i /tmp/amazon-ssm-agent.deb"
	}
	return "reinstall the latest package for this distribution"
}

// agentHibernating builds agent.hibernating. The agent backs its health
// pings off up to an hour while hibernating (docs/AGENT-FACTS.md), so
// after a fix it must be restarted to retry now.
func agentHibernating(cat *Catalog, o *Observations) Finding {
	a := o.Agent
	h := a.Hibernation
	unit, snap := agentUnit(a)
	ev := []string{fmt.Sprintf("%s: %d hibernation line(s), first %s, last %s", h.Path, h.Lines, h.First, h.Last)}
	if h.LastMessage != "" {
		ev = append(ev, "last: "+h.LastMessage)
	}
	summary := fmt.Sprintf("%s shows the agent hibernating: its health pings to Systems Manager kept failing, so it backs off", h.Path)
	if h.BackoffSeconds > 0 {
		summary += fmt.Sprintf(" (last back-off: one ping every %d s)", h.BackoffSeconds)
	}
	summary += ". After the cause is fixed it can take up to an hour to retry by itself."
	if !h.LastTime.IsZero() && !o.StartedAt.IsZero() && o.StartedAt.After(h.LastTime) {
		ev = append(ev, fmt.Sprintf("the last hibernation line is %s old", o.StartedAt.Sub(h.LastTime).Round(time.Minute)))
	}
	if h.Truncated {
		ev = append(ev, "only the end of the file was read")
	}
	restart := "sudo systemctl restart " + unit
	if snap {
		restart = "sudo snap restart amazon-ssm-agent"
	}
	return specificFinding(cat, AgentHibernating, summary, ev,
		"Fix the cause first (the other findings), then restart the agent so it retries now: "+restart)
}

// agentOverrides builds agent.endpoint-override, listing every override.
func agentOverrides(cat *Catalog, c *agent.ConfigOverrides) Finding {
	var ev []string
	add := func(key, v string) {
		if v != "" {
			ev = append(ev, fmt.Sprintf("%s = %s", key, v))
		}
	}
	add("Agent.Region", c.Region)
	add("Agent.ServiceDomain", c.ServiceDomain)
	add("Ssm.Endpoint", c.SsmEndpoint)
	add("Mgs.Endpoint", c.MgsEndpoint)
	add("Mds.Endpoint", c.MdsEndpoint)
	add("S3.Endpoint", c.S3Endpoint)
	add("Kms.Endpoint", c.KmsEndpoint)
	return cat.New(AgentEndpointOverride,
		fmt.Sprintf("%s overrides %d setting(s) that decide which endpoints the agent talks to; the probe tests the names the agent really uses.", c.Path, len(ev)),
		ev)
}

// diagnoseHost names host problems that break sessions (docs/FINDINGS.md,
// host.disk-full): free space or inodes on / or /var/lib/amazon/ssm below
// diskFailPercent (fail) or diskWarnPercent (warn). Space counts what root,
// which the agent runs as, may still use (statfs f_bfree). Paths on one file
// system are reported together. A path that could not be measured gives no
// finding: its reason is in the host check record.
func diagnoseHost(cat *Catalog, o *Observations) []Finding {
	if o.Host == nil {
		return nil
	}
	type fsys struct {
		paths []string
		d     host.Disk
	}
	var order []*fsys
	byID := map[string]*fsys{}
	for _, d := range o.Host.Disks {
		if !d.Checked || d.TotalBytes == 0 {
			continue
		}
		if f, ok := byID[d.FSID]; ok && d.FSID != "" {
			f.paths = append(f.paths, d.Path)
			continue
		}
		f := &fsys{paths: []string{d.Path}, d: d}
		order = append(order, f)
		if d.FSID != "" {
			byID[d.FSID] = f
		}
	}
	sev := Severity("")
	var ev, worst []string
	for _, f := range order {
		d := f.d
		low := d.FreePercent < diskWarnPercent
		lowInodes := d.InodesKnown && d.FreeInodesPercent < diskWarnPercent
		if !low && !lowInodes {
			continue
		}
		line := fmt.Sprintf("%s: %.1f%% free (%s of %s)", strings.Join(f.paths, " and "), d.FreePercent, bytesIEC(d.FreeBytes), bytesIEC(d.TotalBytes))
		if d.InodesKnown {
			line += fmt.Sprintf(", inodes %.1f%% free (%d of %d)", d.FreeInodesPercent, d.FreeInodes, d.TotalInodes)
		}
		ev = append(ev, line)
		worst = append(worst, f.paths[0])
		if d.FreePercent < diskFailPercent || (d.InodesKnown && d.FreeInodesPercent < diskFailPercent) {
			sev = SevFail
		} else if sev == "" {
			sev = SevWarn
		}
	}
	if sev == "" {
		return nil
	}
	what := "nearly full"
	if sev == SevFail {
		what = "full"
	}
	dirs := strings.Join(worst, " ")
	f := specificFinding(cat, HostDiskFull,
		fmt.Sprintf("The file system holding %s is %s (space or inodes below %.0f%%): the agent cannot write its state and logs, and a session opens on a blank screen.",
			strings.Join(worst, " and "), what, diskWarnPercent),
		ev,
		"Find what fills it: sudo df -h "+dirs+"; sudo df -i "+dirs+"; sudo du -xh --max-depth=2 "+worst[0]+" | sort -h | tail -n 20",
		"Free space, e.g. sudo journalctl --vacuum-size=200M; sudo apt-get clean or sudo dnf clean all; remove old files under /var/log, then restart the agent.")
	f.Severity = sev
	return []Finding{f}
}

// bytesIEC formats n bytes with a binary unit, e.g. "48.0 MiB".
func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
