package diagnose

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
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

// The findings of the agent itself and of the host it runs on.
const (
	AgentNotInstalled     finding.ID = "agent.not-installed"
	AgentNotRunning       finding.ID = "agent.not-running"
	AgentOutdated         finding.ID = "agent.outdated"
	AgentHibernating      finding.ID = "agent.hibernating"
	AgentEndpointOverride finding.ID = "agent.endpoint-override"
	HostDiskFull          finding.ID = "host.disk-full"
)

// The agent package's regional download URL for amd64 (AWS guide "Manually
// installing SSM Agent on Linux"), by package system (agentFill).
const (
	rpmURL = "https://s3.{{.REGION}}.amazonaws.com/amazon-ssm-{{.REGION}}/latest/linux_amd64/amazon-ssm-agent.rpm"
	debURL = "https://s3.{{.REGION}}.amazonaws.com/amazon-ssm-{{.REGION}}/latest/debian_amd64/amazon-ssm-agent.deb"
)

// agentFamily pairs the findings about the agent and the host it runs on with the rules that raise them.
func agentFamily() family {
	return family{rules: []rule{diagnoseAgent, diagnoseHost}, entries: []finding.Entry{
		{ID: AgentNotInstalled, Severity: finding.SevFail,
			Title: "The SSM Agent is not installed",
			Fix: `{{if .windows}}` + winAgentInstall + `{{else if eq .pkg "` + agent.KindRPM + `"}}sudo dnf install -y amazon-ssm-agent (Amazon Linux), or: sudo yum install -y ` + rpmURL + `; then sudo systemctl enable --now {{or .unit "amazon-ssm-agent"}}` +
				`{{else if eq .pkg "` + agent.KindDpkg + `"}}sudo snap install amazon-ssm-agent --classic (Ubuntu), or: curl -fsSLo /tmp/amazon-ssm-agent.deb ` + debURL + ` && sudo dpkg -i /tmp/amazon-ssm-agent.deb; then sudo systemctl enable --now {{or .unit "amazon-ssm-agent"}}` +
				`{{else}}Install the agent package for this distribution (see the linked guide), then: sudo systemctl enable --now {{or .unit "amazon-ssm-agent"}}{{end}}`,
			Docs: []string{finding.DocAgentInstall, DocAgentInstallWindows}},
		{ID: AgentNotRunning, Severity: finding.SevFail,
			Title: "The SSM Agent is not running",
			Fix: finding.FixLines(
				"{{if .windows}}Set-Service AmazonSSMAgent -StartupType Automatic; Start-Service AmazonSSMAgent{{else if .masked}}sudo systemctl unmask {{or .unit \"amazon-ssm-agent\"}} && sudo systemctl enable --now {{or .unit \"amazon-ssm-agent\"}}{{else if .snap}}sudo snap start --enable amazon-ssm-agent{{else}}sudo systemctl enable --now {{or .unit \"amazon-ssm-agent\"}}{{end}}",
				"Then read why it stopped: "+winOr("Get-Content \""+winAgentLog+"\" -Tail 100; Get-WinEvent -LogName System -MaxEvents 50 | Where-Object ProviderName -eq 'Service Control Manager'", "sudo journalctl -u {{or .unit \"amazon-ssm-agent\"}} -n 100; sudo tail -n 100 "+agent.AgentLogPath)),
			Docs: []string{finding.DocAgentStatus},
			// A kill the logs show is why it is not running (diagnose_killed.go);
			// on Windows, a disabled service or an unfinished setup (diagnose_winhost.go).
			DependsOn: []finding.ID{AgentKilled, AgentServiceDisabled, HostImageIncomplete}},
		{ID: AgentOutdated, Severity: finding.SevFail,
			Title: "The SSM Agent is too old",
			Fix: `Update the agent to {{or .target "` + agent.MinSessionManager + `"}} or later (the latest is best): aws ssm send-command --document-name AWS-UpdateSSMAgent --instance-ids {{.INSTANCE_ID}}{{.regionFlag}}, or on the host: ` +
				`{{if .windows}}the latest AmazonSSMAgentSetup.exe (https://s3.{{.REGION}}.amazonaws.com/amazon-ssm-{{.REGION}}/latest/windows_amd64/AmazonSSMAgentSetup.exe, run with /S){{else if .snap}}sudo snap refresh amazon-ssm-agent{{else if eq .pkg "` + agent.KindRPM + `"}}sudo yum install -y ` + rpmURL +
				`{{else if eq .pkg "` + agent.KindDpkg + `"}}curl -fsSLo /tmp/amazon-ssm-agent.deb ` + debURL + ` && sudo dpkg -i /tmp/amazon-ssm-agent.deb{{else}}reinstall the latest package for this distribution{{end}}`,
			Docs: []string{finding.DocAgentVersion, finding.DocAgentInstall}},
		{ID: AgentHibernating, Severity: finding.SevWarn,
			Title: "The SSM Agent is hibernating",
			Fix:   "Fix the cause first (the other findings), then restart the agent so it retries now: {{if .windows}}" + winRestart + "{{else if .snap}}sudo snap restart amazon-ssm-agent{{else}}sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}{{end}}",
			Docs:  []string{finding.DocHibernation},
			// A deregistered hybrid node hibernates: the registration is the cause.
			DependsOn: []finding.ID{AgentHybridRegistrationInvalid}},
		{ID: AgentEndpointOverride, Severity: finding.SevInfo,
			Title: "The agent config overrides a region, domain or endpoint"},
		{ID: HostDiskFull, Severity: finding.SevFail,
			Title: "The disk is (nearly) full",
			Fix: finding.FixLines(
				winOr("Find what fills it: Get-Volume; Get-ChildItem $env:ProgramData\\Amazon\\SSM -Recurse | Measure-Object -Sum Length", "Find what fills it: sudo df -h {{.PATHS}}; sudo df -i {{.PATHS}}; sudo du -xh --max-depth=2 {{.PATH}} | sort -h | tail -n 20"),
				winOr("Free space (Disk Cleanup: cleanmgr /sagerun, old logs under $env:ProgramData\\Amazon\\SSM\\Logs), then "+winRestart, "Free space, e.g. sudo journalctl --vacuum-size=200M; sudo apt-get clean or sudo dnf clean all; remove old files under /var/log, then restart the agent.")),
			Docs: []string{finding.DocTroubleshoot}},
	}}
}

// agentFill fills the agent's fixes: how it is installed (pkg: rpm or
// dpkg; snap), its unit, the instance and the region of its download URL.
func agentFill(o *obs.Observations) finding.Fill {
	unit, snap := agentUnit(o.Agent)
	return finding.Fill{"pkg": packageSystem(o.Agent), "snap": snap, "unit": unit,
		"INSTANCE_ID": instanceOf(o), "regionFlag": regionFlag(o), "REGION": regionOf(o)}
}

// diagnoseAgent names what is wrong with the SSM Agent itself (docs/FINDINGS.md,
// "Agent and host"): not installed, installed but not running, too old,
// hibernating, and (info) endpoint overrides in its config. A fact the
// probe could not gather gives no finding: the agent check record already
// says why (for example "not checked: offline root" for the process table).
func diagnoseAgent(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	a := o.Agent
	if a == nil {
		return nil
	}
	if bottlerocket(o) != nil {
		// The agent runs in the control container: its absence here is
		// expected (diagnose_bottlerocket.go, host.bottlerocket).
		return nil
	}
	if !a.Installed {
		return []finding.Finding{agentNotInstalled(cat, o)}
	}
	var out []finding.Finding
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
func agentNotInstalled(cat *finding.Catalog, o *obs.Observations) finding.Finding {
	a := o.Agent
	if o.IsWindows() {
		ev := []string{"no AmazonSSMAgent service and no agent under %ProgramFiles%\\Amazon\\SSM"}
		if s := winServiceLine(o); s != "" {
			ev[0] = s
		}
		return cat.New(AgentNotInstalled,
			fmt.Sprintf("The SSM Agent is not installed under %s: no AmazonSSMAgent service and no agent binary were found, so nothing on this host can answer Session Manager.", a.Root),
			append(ev, a.Notes...), agentFill(o))
	}
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
	return cat.New(AgentNotInstalled,
		fmt.Sprintf("The SSM Agent is not installed under %s: no binary, package, snap or systemd unit was found, so nothing on this host can answer Session Manager.", a.Root),
		ev, agentFill(o))
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

// agentUnit returns the agent's systemd unit name and whether it is the
// snap's.
func agentUnit(a *agent.Facts) (string, bool) {
	// The running agent's binary says which unit runs it (diagnose_installs.go).
	if u, ok := runningUnit(a); ok {
		return u, u == unitSnap
	}
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
func agentNotRunning(cat *finding.Catalog, o *obs.Observations) finding.Finding {
	a := o.Agent
	ev := []string{"no amazon-ssm-agent process in the process table"}
	summary := "The SSM Agent is installed but not running: no amazon-ssm-agent process exists, so Session Manager cannot reach this host."
	if len(a.Excluded) > 0 {
		// Zombies, other namespaces' agents, users' copies and impostors
		// are seen, not counted.
		ev[0] = "no live amazon-ssm-agent process of this host (root, in this host's PID, network and mount namespaces) runs an agent binary"
		for _, p := range a.Excluded {
			ev = append(ev, p.Why())
		}
		summary = "The SSM Agent is installed but not running: no live amazon-ssm-agent process of this host runs the agent (what the process table holds under that name is listed below), so Session Manager cannot reach this host."
	}
	if a.Version != "" {
		ev = append(ev, fmt.Sprintf("installed version %s (from %s)", a.Version, a.VersionSource))
	}
	if s := winServiceLine(o); s != "" {
		ev = append(ev, s) // the service control manager's word (diagnose_winhost.go)
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
	return cat.New(AgentNotRunning, summary, ev, agentFill(o), finding.Fill{"masked": masked})
}

// agentOutdated builds agent.outdated: a fail below agent.MinSessionManager,
// a warn below agent.MinDefaultHostManagement when the instance has no
// profile (only DHMC could give it credentials). The evidence names every
// version-gated feature the agent lacks. An unknown version gives nothing.
func agentOutdated(cat *finding.Catalog, o *obs.Observations) (finding.Finding, bool) {
	a := o.Agent
	v, err := a.ParsedVersion()
	if err != nil {
		return finding.Finding{}, false
	}
	noProfile := o.IMDS != nil && o.IMDS.Profile.State == imds.ProfileAbsent
	var sev finding.Severity
	var summary string
	switch {
	case !v.AtLeast(agent.MinSessionManager):
		sev = finding.SevFail
		summary = fmt.Sprintf("SSM Agent %s is older than %s, the first version that supports Session Manager.", v, agent.MinSessionManager)
	case noProfile && !v.AtLeast(agent.MinDefaultHostManagement):
		sev = finding.SevWarn
		summary = fmt.Sprintf("SSM Agent %s is older than %s, the first version that supports Default Host Management Configuration, and this instance has no instance profile: without DHMC the agent has no credentials.", v, agent.MinDefaultHostManagement)
	default:
		return finding.Finding{}, false
	}
	ev := []string{fmt.Sprintf("agent version %s (from %s)", v, a.VersionSource)}
	for _, fe := range agent.Features() {
		if !v.AtLeast(fe.MinVersion) {
			ev = append(ev, fmt.Sprintf("lacks %s (needs %s)", fe.Name, fe.MinVersion))
		}
	}
	target := agent.MinSessionManager
	if sev == finding.SevWarn {
		target = agent.MinDefaultHostManagement
	}
	return cat.NewAt(AgentOutdated, sev, summary, ev, agentFill(o), finding.Fill{"target": target}), true
}

// agentHibernating builds agent.hibernating. The agent backs its health
// pings off up to an hour while hibernating (docs/AGENT-FACTS.md), so
// after a fix it must be restarted to retry now.
func agentHibernating(cat *finding.Catalog, o *obs.Observations) finding.Finding {
	a := o.Agent
	h := a.Hibernation
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
	return cat.New(AgentHibernating, summary, ev, agentFill(o))
}

// agentOverrides builds agent.endpoint-override, listing every override.
func agentOverrides(cat *finding.Catalog, c *agent.ConfigOverrides) finding.Finding {
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
func diagnoseHost(in *input) []finding.Finding {
	cat, o := in.cat, in.o
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
	sev := finding.Severity("")
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
			sev = finding.SevFail
		} else if sev == "" {
			sev = finding.SevWarn
		}
	}
	if sev == "" {
		return nil
	}
	what := "nearly full"
	if sev == finding.SevFail {
		what = "full"
	}
	return []finding.Finding{cat.NewAt(HostDiskFull, sev,
		fmt.Sprintf("The file system holding %s is %s (space or inodes below %.0f%%): the agent cannot write its state and logs, and a session opens on a blank screen.",
			strings.Join(worst, " and "), what, diskWarnPercent),
		ev, finding.Fill{"PATHS": strings.Join(worst, " "), "PATH": worst[0]})}
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
