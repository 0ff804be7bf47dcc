//go:build linux

package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Runner timeouts.
const (
	// readyTimeout bounds the server process's start: generating a key and
	// binding a few dozen sockets takes well under a second.
	readyTimeout = 10 * time.Second
	// stopTimeout is how long the server process gets to exit on SIGTERM
	// before it is killed.
	stopTimeout = 3 * time.Second
	// instanceTimeout bounds one probe run in the instance namespace,
	// mounts and fake agent included: the probe's own 15 s deadline plus
	// ample margin. The command is killed when it passes.
	instanceTimeout = 45 * time.Second
	// waitDelay bounds the wait for a killed instance's output pipes.
	waitDelay = 2 * time.Second
	// maxReportBytes caps a report read back from the probe.
	maxReportBytes = 16 << 20
)

// Runner runs scenarios: one fresh pair of namespaces per scenario,
// removed again whatever happens.
type Runner struct {
	Probe    string // absolute path of the ssm-probe binary
	Self     string // absolute path of ssm-probe-lab, started as the server process and copied in as the fake agent
	RepoRoot string // where "@path" agent files are read from
	WorkDir  string // scratch directory, removed and recreated per scenario
	Net      *Net
	Log      io.Writer        // the lab's own progress and diagnostics
	Now      func() time.Time // the clock retimed logs are aligned to; nil means time.Now
}

// Run is one scenario's run.
type Run struct {
	Scenario *Scenario
	Format   string        // json (e2e) or text (demo)
	Output   []byte        // the report as the probe printed it
	Report   *Report       // parsed, when Format is json
	Exit     int           // the probe's exit code
	Wall     time.Duration // the probe process's wall time, measured inside the instance
	Stderr   string        // the probe's standard error
	Replay   *Report       // the saved observations re-diagnosed (--observations), when Format is json
}

// RunScenario runs the probe once in a fresh lab built for s. The lab is
// torn down before it returns, on success, error and cancellation alike.
func (r *Runner) RunScenario(ctx context.Context, s *Scenario, format string) (run *Run, err error) {
	if err := r.Net.Cleanup(ctx); err != nil {
		return nil, err
	}
	defer func() {
		// Teardown must run even when ctx is cancelled by a signal.
		cctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		if cerr := r.Net.Cleanup(cctx); cerr != nil && err == nil {
			err = cerr
		}
		os.RemoveAll(r.scenarioDir(s))
	}()
	w := r.scenarioDir(s)
	if err := os.RemoveAll(w); err != nil {
		return nil, err
	}
	if err := r.prepareTree(s, w); err != nil {
		return nil, err
	}
	extra, err := s.HostExtras()
	if err != nil {
		return nil, err
	}
	if err := r.Net.Setup(ctx, extra, s.IPv6Only, s.LocalLinks...); err != nil {
		return nil, err
	}
	if err := r.Net.Isolated(ctx, s.LocalLinks...); err != nil {
		return nil, fmt.Errorf("isolation check: %w", err)
	}
	if err := r.Net.Firewall(ctx, s.Firewall); err != nil {
		return nil, err
	}
	if err := r.Net.WriteEtc(s.ResolvConfText(), s.HostsText()); err != nil {
		return nil, err
	}
	if err := r.age(s, w); err != nil {
		return nil, err
	}
	stop, err := r.startServers(ctx, s, w)
	if err != nil {
		return nil, err
	}
	defer stop()
	return r.runInstance(ctx, s, w, format)
}

func (r *Runner) scenarioDir(s *Scenario) string { return filepath.Join(r.WorkDir, s.Name) }

// now is the runner's clock.
func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// age sets the modification times of s.FileAges: /etc/resolv.conf and
// /etc/hosts are the files ip netns exec binds over /etc, the agent's files
// are in the overlay's upper directory.
func (r *Runner) age(s *Scenario, w string) error {
	ages, err := s.Ages()
	if err != nil {
		return err
	}
	for p, d := range ages {
		f := filepath.Join(w, "upper", p)
		if p == "/etc/resolv.conf" || p == "/etc/hosts" {
			f = filepath.Join(r.Net.NetnsDir, InstNS, filepath.Base(p))
		}
		at := r.now().Add(-d)
		if err := os.Chtimes(f, at, at); err != nil {
			return fmt.Errorf("file_ages %s: %w", p, err)
		}
	}
	return nil
}

// prepareTree writes the overlay upper directories: the agent's files and
// the fake agent binary (a copy of ssm-probe-lab, see FakeAgentName).
func (r *Runner) prepareTree(s *Scenario, w string) error {
	for _, d := range s.overlays() {
		for _, sub := range []string{"upper", "work"} {
			if err := os.MkdirAll(filepath.Join(w, sub, d), 0o755); err != nil {
				return err
			}
		}
	}
	up := filepath.Join(w, "upper")
	if s.Agent.Installed {
		for _, d := range agentDirs {
			if err := os.MkdirAll(filepath.Join(up, d), 0o755); err != nil {
				return err
			}
		}
		for _, bin := range s.agentBinaries() {
			if err := installFakeAgent(r.Self, filepath.Join(up, bin)); err != nil {
				return err
			}
		}
		if s.Agent.Unit {
			if err := installUnit(up); err != nil {
				return err
			}
		}
	}
	files, err := agentFiles(r.RepoRoot, s.Agent)
	if err != nil {
		return err
	}
	contents := map[string][]byte{}
	var latest time.Time // of the retimed log files together: one shift keeps errors.log beside its main log
	for p, content := range files {
		b := []byte(content)
		if src, ok := strings.CutPrefix(content, "@"); ok {
			var err error
			if b, err = readCapped(filepath.Join(r.RepoRoot, src), maxAgentFileBytes); err != nil {
				return fmt.Errorf("agent file %s: %w", p, err)
			}
		}
		contents[p] = b
		if retimed(s, p) {
			if t := latestTime(b, time.Local); t.After(latest) {
				latest = t
			}
		}
	}
	shift := r.now().Add(-LogAge).Sub(latest).Truncate(time.Second)
	for p, b := range contents {
		if retimed(s, p) && !latest.IsZero() {
			b = shiftTimes(b, shift, time.Local)
		}
		dst := filepath.Join(up, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// retimed reports whether the agent file p of s is a log to retime.
func retimed(s *Scenario, p string) bool {
	return s.Agent.RecentLogs && strings.HasPrefix(p, "/var/log/")
}

// agentFiles is Files with LogDir's files added: each regular file of the
// folder as "@PATH" under /var/log/amazon/ssm, identity_config.json in the
// agent's runtimeconfig folder. Files wins over LogDir for one path.
func agentFiles(repo string, a AgentSpec) (map[string]string, error) {
	if a.LogDir == "" {
		return a.Files, nil
	}
	if filepath.IsAbs(a.LogDir) || slices.Contains(strings.Split(filepath.ToSlash(a.LogDir), "/"), "..") {
		return nil, fmt.Errorf("log_dir %q: a folder inside the repository", a.LogDir)
	}
	ents, err := os.ReadDir(filepath.Join(repo, a.LogDir))
	if err != nil {
		return nil, fmt.Errorf("log_dir: %w", err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		dst := "/var/log/amazon/ssm/" + e.Name()
		if e.Name() == "identity_config.json" {
			dst = "/var/lib/amazon/ssm/runtimeconfig/identity_config.json"
		}
		out[dst] = "@" + filepath.ToSlash(filepath.Join(a.LogDir, e.Name()))
	}
	for p, c := range a.Files {
		out[p] = c
	}
	return out, nil
}

// readCapped reads at most limit bytes of file, failing when it is larger.
func readCapped(file string, limit int64) ([]byte, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, limit)
	}
	return b, nil
}

// startServers starts `ssm-probe-lab serve` in the infrastructure
// namespace and waits until it is ready. The returned function stops it.
func (r *Runner) startServers(ctx context.Context, s *Scenario, w string) (func(), error) {
	spec, err := s.Servers(filepath.Join(w, "ca.pem"))
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	specFile := filepath.Join(w, "servers.json")
	if err := os.WriteFile(specFile, b, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command("ip", "netns", "exec", InfraNS, r.Self, "serve", "--spec", specFile)
	// ip netns exec execs the server in place, so Pdeathsig reaches it if
	// the lab dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = r.Log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			cmd.Process.Kill()
			<-exited
		}
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		io.Copy(io.Discard, out)
		cmd.Wait()
		close(exited)
	}()
	t := time.NewTimer(readyTimeout)
	defer t.Stop()
	select {
	case l := <-line:
		if l == "ready" {
			return stop, nil
		}
		stop()
		return nil, fmt.Errorf("server process: %q instead of ready", l)
	case <-t.C:
		stop()
		return nil, fmt.Errorf("server process not ready within %v", readyTimeout)
	case <-ctx.Done():
		stop()
		return nil, ctx.Err()
	}
}

// runInstance runs the probe as the instance: in the instance's network
// namespace, in a new mount and PID namespace whose PID 1 is the instance
// script. When it ends, the kernel kills the fake agent and drops the mounts.
func (r *Runner) runInstance(ctx context.Context, s *Scenario, w, format string) (*Run, error) {
	script := filepath.Join(w, "instance.sh")
	if err := os.WriteFile(script, []byte(InstanceScript(s, w, r.Probe, format)), 0o755); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, instanceTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", InstNS,
		"unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc",
		"/bin/bash", script)
	// A clean environment: the probe must not inherit the lab's proxy
	// variables or anything else from the operator's shell.
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	// Its own process group: on cancellation the whole group is killed
	// (unshare, the instance script, the probe and the fake agent), not
	// only unshare, and Wait stops waiting for the output pipe after
	// waitDelay. Pdeathsig covers a lab killed outright; unshare's
	// --kill-child passes it on to the namespace's PID 1.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	var errb capBuffer
	cmd.Stdout, cmd.Stderr = &errb, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("instance: %w", ctx.Err())
		}
		return nil, fmt.Errorf("instance: %v: %s", err, strings.TrimSpace(string(errb.b)))
	}
	run := &Run{Scenario: s, Format: format}
	meta, err := readCapped(filepath.Join(w, "probe.meta"), 1024)
	if err != nil {
		return nil, fmt.Errorf("instance: no result: %v: %s", err, strings.TrimSpace(string(errb.b)))
	}
	f := strings.Fields(string(meta))
	if len(f) != 2 {
		return nil, fmt.Errorf("instance: malformed result %q", meta)
	}
	run.Exit, err = strconv.Atoi(f[0])
	ns, err2 := strconv.ParseInt(f[1], 10, 64)
	if err != nil || err2 != nil {
		return nil, fmt.Errorf("instance: malformed result %q", meta)
	}
	run.Wall = time.Duration(ns)
	if run.Output, err = readCapped(filepath.Join(w, "probe.out"), maxReportBytes); err != nil {
		return nil, err
	}
	if b, err := readCapped(filepath.Join(w, "probe.err"), maxReportBytes); err == nil {
		run.Stderr = string(b)
	}
	if format == "json" {
		if run.Report, err = ParseReport(run.Output); err != nil {
			return run, fmt.Errorf("probe output: %w (exit %d, stderr %q)", err, run.Exit, run.Stderr)
		}
		if run.Replay, err = r.replay(ctx, filepath.Join(w, observationsFile)); err != nil {
			return run, err
		}
	}
	return run, nil
}

// observationsFile is where the instance's probe saves its observations
// (--save-observations) in the scenario's work directory.
const observationsFile = "probe.obs.json"

// replay re-diagnoses the observations the instance's probe saved, with
// --observations: pure, no network, so it runs outside the namespaces.
func (r *Runner) replay(ctx context.Context, obsFile string) (*Report, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Probe, "--observations", obsFile, "--format", "json")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	var out, errb capBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("replay of %s: %w", obsFile, ctx.Err())
	}
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		return nil, fmt.Errorf("replay of %s: %v", obsFile, err)
	}
	rep, perr := ParseReport(out.b)
	if perr != nil {
		return nil, fmt.Errorf("replay of %s: %w (stderr %q)", obsFile, perr, strings.TrimSpace(string(errb.b)))
	}
	return rep, nil
}

// shq quotes s for bash.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// InstanceScript is the bash script that plays the instance. It runs as
// PID 1 of a private PID and mount namespace inside the instance's network
// namespace: it lays the agent's files over /etc, /var/lib, /var/log and
// /usr/bin (and /usr/sbin or /root when the scenario adds files there)
// with overlays (the host's directories are untouched), restores
// the /etc/netns bind mounts the /etc overlay hides, fakes the EC2 DMI
// identity on a tmpfs over /sys/class (or hides every identity file of an
// on-premises server), leaves a zombie agent and starts the fake agent
// (from each of its install paths) when the scenario asks, and runs the
// probe with its defaults, SSL_CERT_FILE aside.
func InstanceScript(s *Scenario, w, probeBin, format string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n# ssm-probe lab: the instance of scenario %s.\nset -euo pipefail\nW=%s\n", s.Name, shq(w))
	b.WriteString("for d in")
	for _, d := range s.overlays() {
		b.WriteString(" " + shq(d))
	}
	// A directory that is a link on the host (/usr/sbin -> bin on a merged
	// /usr) cannot be overlaid alone: the mount would land on its target.
	b.WriteString("; do\n  [ ! -L \"$d\" ] || { echo \"lab: $d is a link on this host; it cannot be overlaid\" >&2; exit 1; }\n  mount -t overlay ssmp-lab -o \"lowerdir=$d,upperdir=$W/upper$d,workdir=$W/work$d\" \"$d\"\ndone\n")
	fmt.Fprintf(&b, "for f in resolv.conf hosts; do mount --bind %s/\"$f\" /etc/\"$f\"; done\n", shq("/etc/netns/"+InstNS))
	b.WriteString("mount -t tmpfs -o size=64k,mode=0755 ssmp-dmi /sys/class\n")
	if s.OnPremises {
		// No EC2 identity: the empty /sys/class hides the machine's DMI,
		// and so do empty mounts over the other identity files there are.
		b.WriteString("for d in /sys/devices/virtual/dmi /sys/hypervisor; do\n  if [ -d \"$d\" ]; then mount -t tmpfs -o size=4k,mode=0755 ssmp-dmi \"$d\"; fi\ndone\n")
	} else {
		b.WriteString("mkdir -p /sys/class/dmi/id\n")
		fmt.Fprintf(&b, "echo %s > /sys/class/dmi/id/board_asset_tag\necho 'Amazon EC2' > /sys/class/dmi/id/sys_vendor\n", shq(InstanceID))
	}
	if s.Agent.Zombie {
		// A zombie agent: it exits while its parent, a shell that has
		// exec'd sleep, never waits for it. The delay lets the exec happen
		// first, so that bash cannot reap it. Wait, bounded (100 x 20 ms),
		// until /proc shows it in state Z, and give up loudly otherwise.
		b.WriteString("/bin/bash -c '(sleep 0.2; exec /usr/bin/amazon-ssm-agent -version >/dev/null) & exec sleep 600' &\n")
		b.WriteString("zombie() { grep -qs '^[0-9]* (amazon-ssm-agen) Z ' /proc/[0-9]*/stat; }\n")
		b.WriteString("for i in $(seq 100); do zombie && break; sleep 0.02; done\nzombie || { echo 'lab: no zombie amazon-ssm-agent appeared' >&2; exit 1; }\n")
	}
	if s.Agent.Running {
		for i, bin := range s.agentBinaries() {
			b.WriteString("env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin")
			for _, e := range s.Agent.Env {
				b.WriteString(" " + shq(e))
			}
			b.WriteString(" " + bin + " &\n")
			// Wait, bounded (50 x 20 ms), until env has exec'd the agent: a
			// probe that scans /proc first would see env, not the agent.
			fmt.Fprintf(&b, "agent=$!\nfor i in $(seq 50); do\n  case \"$(tr '\\0' ' ' </proc/$agent/cmdline 2>/dev/null)\" in %s*) break;; esac\n  sleep 0.02\ndone\n", bin)
			if i > 0 {
				// The second agent is the scenario's point: give up loudly
				// unless it runs from that very file, rather than run the
				// probe without it.
				fmt.Fprintf(&b, "[ \"$(readlink /proc/$agent/exe)\" = %s ] || { echo %s >&2; exit 1; }\n",
					shq(bin), shq("lab: no agent runs from "+bin))
			}
		}
	}
	save := ""
	if format == "json" {
		save = ` --save-observations "$W/` + observationsFile + `"`
	}
	fmt.Fprintf(&b, "t0=$(date +%%s%%N)\nrc=0\nSSL_CERT_FILE=\"$W/ca.pem\" %s --format %s --no-color%s >\"$W/probe.out\" 2>\"$W/probe.err\" || rc=$?\n",
		shq(probeBin), shq(format), save)
	b.WriteString("t1=$(date +%s%N)\necho \"$rc $((t1 - t0))\" >\"$W/probe.meta\"\n")
	return b.String()
}

// ErrSkip wraps the reason the lab cannot run on this machine.
var ErrSkip = errors.New("lab cannot run here")

// Preflight reports, wrapped in ErrSkip, why the lab cannot run: not root,
// not Linux, or a missing tool or kernel feature.
func Preflight(ctx context.Context, ex Exec) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: needs root (network namespaces, mounts, nftables)", ErrSkip)
	}
	for _, tool := range []string{"ip", "nft", "unshare", "mount", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s not found (Debian: apt-get install iproute2 nftables util-linux mount bash)", ErrSkip, tool)
		}
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return fmt.Errorf("%w: no network namespaces: %v", ErrSkip, err)
	}
	probeNS := NSPrefix + "preflight"
	if _, err := ex(ctx, "", "ip", "netns", "add", probeNS); err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // interrupted: not a reason to skip
		}
		return fmt.Errorf("%w: cannot create a network namespace: %v", ErrSkip, err)
	}
	_, err := ex(ctx, "table inet ssmp_preflight {}\n", "ip", "netns", "exec", probeNS, "nft", "-f", "-")
	ex(context.WithoutCancel(ctx), "", "ip", "netns", "delete", probeNS)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%w: nftables does not work in a namespace: %v", ErrSkip, err)
	}
	return nil
}

// logTimeLayout is the agent's log timestamp: local time without a zone
// (docs/AGENT-FACTS.md, "Log line formats").
const logTimeLayout = "2006-01-02 15:04:05"

// Retime shifts every line's leading agent timestamp by one offset, chosen
// so that the last timestamped line reads last (in loc). Lines without a
// timestamp are kept as they are.
func Retime(b []byte, last time.Time, loc *time.Location) []byte {
	latest := latestTime(b, loc)
	if latest.IsZero() {
		return b
	}
	return shiftTimes(b, last.Sub(latest).Truncate(time.Second), loc)
}

// latestTime is the latest timestamp a line of b starts with; zero when none.
func latestTime(b []byte, loc *time.Location) time.Time {
	var latest time.Time
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if t, ok := lineTime(l, loc); ok && t.After(latest) {
			latest = t
		}
	}
	return latest
}

// shiftTimes moves the timestamp each line of b starts with by shift.
func shiftTimes(b []byte, shift time.Duration, loc *time.Location) []byte {
	var out strings.Builder
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if t, layout, ok := lineStamp(l, loc); ok {
			l = t.Add(shift).In(loc).Format(layout) + l[len(layout):]
		}
		out.WriteString(l)
	}
	return []byte(out.String())
}

// lineTime parses the timestamp a log line starts with.
func lineTime(l string, loc *time.Location) (time.Time, bool) {
	t, _, ok := lineStamp(l, loc)
	return t, ok
}

// syslogLayouts are the timestamps of the system logs a scenario may
// write besides the agent's: rsyslog's traditional format (no year: the
// current one, or the one before when that lies in the future) and its
// high-precision one.
var syslogLayouts = []string{"Jan _2 15:04:05", "2006-01-02T15:04:05.000000-07:00"}

// lineStamp parses the timestamp a log line starts with, and gives its
// layout.
func lineStamp(l string, loc *time.Location) (time.Time, string, bool) {
	for _, layout := range append([]string{logTimeLayout}, syslogLayouts...) {
		if len(l) < len(layout) {
			continue
		}
		t, err := time.ParseInLocation(layout, l[:len(layout)], loc)
		if err != nil {
			continue
		}
		if t.Year() == 0 {
			now := time.Now().In(loc)
			t = t.AddDate(now.Year(), 0, 0)
			if t.After(now.Add(24 * time.Hour)) {
				t = t.AddDate(-1, 0, 0)
			}
		}
		return t, layout, true
	}
	return time.Time{}, "", false
}
