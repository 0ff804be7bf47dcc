//go:build linux

package agent

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// The live tests below start real processes and scan the machine's /proc
// with them in it. The machine may hold other processes under the agent's
// names (other tests, a lab's namespaces), so each test asserts only what
// the scan says about the processes it started.

// childDeadline bounds every wait on a child: to reach a state, and to be
// reaped at cleanup.
const childDeadline = 10 * time.Second

// startChild starts cmd and registers its cleanup: kill, then reap within
// childDeadline. It does not wait for the child otherwise, so a child that
// exits stays a zombie until the test ends.
func startChild(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(childDeadline):
			t.Errorf("child %d (%v) not reaped within %v", cmd.Process.Pid, cmd.Args, childDeadline)
		}
	})
	return cmd
}

// waitFor polls cond until it holds, failing the test after childDeadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(childDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, childDeadline)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liveProc is the machine's process table.
var liveProc = rootfs.FS{Root: "/proc"}

// stateOf returns the state letter of pid, or "" when it cannot be read.
func stateOf(pid int) string {
	st, err := readStat(liveProc, pid)
	if err != nil {
		return ""
	}
	return st.State
}

// argv0Is reports whether pid's argv[0] is name.
func argv0Is(pid int, name string) bool {
	b, err := liveProc.ReadFile("/"+strconv.Itoa(pid)+"/cmdline", MaxSmallFileBytes)
	return err == nil && bytes.HasPrefix(b, []byte(name+"\x00"))
}

// installAgent copies the system's binary tool (sleep, true) to
// <root>/usr/bin/amazon-ssm-agent: run from there, a process has the
// agent's name in comm and cmdline and an exe at the agent's install path
// under the root, as a packaged agent does on the live root.
func installAgent(t *testing.T, root, tool string) string {
	t.Helper()
	src, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("no %s: %v", tool, err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(root, BinaryPath)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// scanLive inspects a root that holds no agent files, with the machine's
// own /proc as the process table.
func scanLive(t *testing.T, root string, afterScan func(int)) *Facts {
	t.Helper()
	f := Inspect(context.Background(), Options{Root: root, ProcDir: "/proc", afterScan: afterScan})
	if !f.RunningChecked {
		t.Fatalf("process table not read: %s", f.RunningReason)
	}
	return f
}

// excludedAs returns pid's entry among the excluded processes.
func excludedAs(t *testing.T, f *Facts, pid int) Process {
	t.Helper()
	for _, p := range f.Agents {
		if p.PID == pid {
			t.Fatalf("pid %d counted as a running agent: %+v", pid, p)
		}
	}
	for _, p := range f.Excluded {
		if p.PID == pid {
			return p
		}
	}
	t.Fatalf("pid %d neither counted nor excluded; excluded: %+v", pid, f.Excluded)
	return Process{}
}

// TestLiveZombieAgent: an amazon-ssm-agent that exited and that its parent
// (this test) has not reaped is in state Z; it is excluded as exited, with
// its parent named, and its environment is not read.
func TestLiveZombieAgent(t *testing.T) {
	root := t.TempDir()
	bin := installAgent(t, root, "true")
	cmd := startChild(t, exec.Command(bin))
	pid := cmd.Process.Pid
	waitFor(t, "the child becomes a zombie", func() bool { return stateOf(pid) == "Z" })

	f := scanLive(t, root, nil)
	p := excludedAs(t, f, pid)
	want(t, "zombie", p, Process{PID: pid, Name: ProcAgent, By: "comm", State: "Z", PPID: os.Getpid(), Excluded: ExcludedExited})
	if !strings.Contains(p.Why(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("why does not name the parent: %s", p.Why())
	}
}

// TestLiveImpostor: bash's exec -a sets argv[0] to amazon-ssm-agent for
// sleep. It is excluded as not an agent binary, and its proxy variable is
// not taken as the agent's.
func TestLiveImpostor(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	cmd := exec.Command("bash", "-c", "exec -a amazon-ssm-agent sleep 30")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "https_proxy=http://impostor.example:3128"}
	pid := startChild(t, cmd).Process.Pid
	waitFor(t, "exec -a takes effect", func() bool { return argv0Is(pid, ProcAgent) })
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	sleep, _ = filepath.EvalSymlinks(sleep)

	f := scanLive(t, t.TempDir(), nil)
	p := excludedAs(t, f, pid)
	want(t, "excluded", p.Excluded, ExcludedNotAgentBinary)
	want(t, "exe", p.Exe, sleep)
	if f.Proxy != nil && strings.Contains(f.Proxy.HTTPSProxy, "impostor") {
		t.Errorf("the impostor's environment was taken as the agent's: %+v", f.Proxy)
	}
	if !strings.Contains(p.Why(), "not an agent binary") || !strings.Contains(p.Why(), sleep) {
		t.Errorf("why: %s", p.Why())
	}
}

// TestLiveOtherPIDNamespace: an agent started by unshare in a new PID
// namespace (as in a container) runs the agent binary but is not this
// host's agent.
func TestLiveOtherPIDNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("unshare --pid needs root (CAP_SYS_ADMIN); the test runs as root in CI")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare (util-linux)")
	}
	root := t.TempDir()
	bin := installAgent(t, root, "sleep")
	// --kill-child: the agent dies with unshare, which the cleanup kills.
	cmd := startChild(t, exec.Command("unshare", "--pid", "--fork", "--kill-child", "--mount-proc", bin, "30"))
	var child int
	waitFor(t, "the agent starts in the new namespace", func() bool {
		child = childOf(cmd.Process.Pid)
		return child > 0 && argv0Is(child, bin)
	})

	f := scanLive(t, root, nil)
	p := excludedAs(t, f, child)
	want(t, "excluded", p.Excluded, ExcludedOtherNamespace)
	self, _ := os.Readlink("/proc/self/ns/pid")
	if p.PIDNamespace == "" || p.PIDNamespace == self {
		t.Errorf("pid namespace %q, the probe's is %q", p.PIDNamespace, self)
	}
}

// childOf returns a child of pid from the process table, or 0.
func childOf(pid int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(liveProc, c); err == nil && st.PPID == pid {
			return c
		}
	}
	return 0
}

// TestLiveAgentEndsDuringRead: the agent with the lowest pid ends between
// the scan and the read of its environ (reaped, or killed and left a
// zombie). The table is scanned again and the other agent's environment
// read.
func TestLiveAgentEndsDuringRead(t *testing.T) {
	for _, reap := range []bool{true, false} {
		name := map[bool]string{true: "reaped", false: "zombie"}[reap]
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			bin := installAgent(t, root, "sleep")
			start := func(proxy string) *exec.Cmd {
				c := exec.Command(bin, "30")
				c.Env = []string{"https_proxy=" + proxy}
				return startChild(t, c)
			}
			first, second := start("http://first.example:3128"), start("http://second.example:3128")
			if first.Process.Pid > second.Process.Pid {
				first, second = second, first // pids wrapped around
			}
			for _, c := range []*exec.Cmd{first, second} {
				waitFor(t, "the agents start", func() bool { return argv0Is(c.Process.Pid, bin) })
			}
			var scans int
			f := scanLive(t, root, func(pid int) {
				scans++
				if scans > 1 || pid != first.Process.Pid {
					return
				}
				first.Process.Kill()
				if reap {
					first.Wait()
				} else {
					waitFor(t, "the killed agent becomes a zombie", func() bool { return stateOf(pid) == "Z" })
				}
			})
			switch {
			case len(f.PIDs) == 0 || f.PIDs[0] == first.Process.Pid:
				t.Fatalf("the agent that ended is counted, or none: %+v", f.Agents)
			case f.PIDs[0] != second.Process.Pid:
				t.Skipf("another agent with a lower pid runs on this machine: %+v", f.Agents)
			}
			want(t, "scans", scans, 2)
			if f.Proxy == nil {
				t.Fatalf("no proxy: %s", f.ProxyReason)
			}
			want(t, "proxy of the agent that still runs", f.Proxy.HTTPSProxy, "http://second.example:3128")
			if !reap {
				want(t, "the zombie", excludedAs(t, f, first.Process.Pid).Excluded, ExcludedExited)
			}
		})
	}
}

// TestKnownAgentBinary lists the install paths the agent's packages use,
// and lookalikes that are not.
func TestKnownAgentBinary(t *testing.T) {
	live := rootfs.FS{Root: "/"}
	under := rootfs.FS{Root: "/tmp/root"}
	cases := []struct {
		fsys rootfs.FS
		exe  string
		want bool
	}{
		{live, "/usr/bin/amazon-ssm-agent", true},
		{live, "/usr/bin/amazon-ssm-agent (deleted)", true},
		{live, "/usr/sbin/amazon-ssm-agent", true},
		{live, "/snap/amazon-ssm-agent/7993/amazon-ssm-agent", true},
		{live, "/snap/amazon-ssm-agent/x1/amazon-ssm-agent", true},
		{live, "/snap/amazon-ssm-agent//amazon-ssm-agent", false},
		{live, "/snap/amazon-ssm-agent/7993/bin/amazon-ssm-agent", false},
		{live, "/snap/amazon-ssm-agent/7993/ssm-agent-worker", false},
		{live, "/usr/bin/sleep", false},
		{live, "/tmp/amazon-ssm-agent", false},
		{live, "/usr/local/bin/amazon-ssm-agent", false},
		{under, "/tmp/root/usr/bin/amazon-ssm-agent", true},
		{under, "/usr/bin/amazon-ssm-agent", true},
		{under, "/tmp/root/snap/amazon-ssm-agent/12/amazon-ssm-agent", true},
		{under, "/tmp/other/usr/bin/amazon-ssm-agent", false},
	}
	for _, c := range cases {
		if got := knownAgentBinary(c.fsys, c.exe); got != c.want {
			t.Errorf("root %s, exe %s: got %v, want %v", c.fsys.Root, c.exe, got, c.want)
		}
	}
}

// openToAll makes dir and its parent (the test's temporary directories,
// 0700) reachable by another user.
func openToAll(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLiveNotRootAgent: a copy of the agent binary at its install path,
// started by an unprivileged user (uid 65534) with its own https_proxy, is
// excluded as not root, and its proxy is never taken as the agent's (D8b).
func TestLiveNotRootAgent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("starting a process as another user needs root; the test runs as root in CI")
	}
	root := t.TempDir()
	openToAll(t, root)
	bin := installAgent(t, root, "sleep")
	cmd := exec.Command(bin, "30")
	cmd.Env = []string{"https_proxy=http://nobody.example:3128"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	pid := startChild(t, cmd).Process.Pid
	waitFor(t, "the agent starts as uid 65534", func() bool { return argv0Is(pid, bin) })

	f := scanLive(t, root, nil)
	p := excludedAs(t, f, pid)
	want(t, "excluded", p.Excluded, ExcludedNotRoot)
	want(t, "uids", p.UIDs, []int{65534, 65534})
	if f.Proxy != nil && strings.Contains(f.Proxy.HTTPSProxy, "nobody.example") {
		t.Errorf("the user's environment was taken as the agent's: %+v", f.Proxy)
	}
	if !strings.Contains(p.Why(), "runs as uid 65534") {
		t.Errorf("why: %s", p.Why())
	}
}

// TestLiveOtherNamespaces: the agent binary started by unshare in a new
// mount and network namespace (a container run with --pid=host) is
// excluded as another network's, and its proxy is not taken (D8b); started
// in a new mount namespace alone, over the same file system (as systemd
// runs a unit with PrivateTmp=), it runs this host's own binary and is
// counted, with its mount namespace recorded.
func TestLiveOtherNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("unshare --mount --net needs root (CAP_SYS_ADMIN); the test runs as root in CI")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare (util-linux)")
	}
	root := t.TempDir()
	bin := installAgent(t, root, "sleep")
	start := func(proxy string, flags ...string) int {
		cmd := exec.Command("unshare", append(flags, bin, "30")...)
		cmd.Env = []string{"https_proxy=" + proxy}
		pid := startChild(t, cmd).Process.Pid // unshare execs the agent without --fork
		waitFor(t, "the agent starts in its namespaces", func() bool { return argv0Is(pid, bin) })
		return pid
	}
	container := start("http://container.example:3128", "--mount", "--propagation", "private", "--net")
	sandboxed := start("http://sandboxed.example:3128", "--mount", "--propagation", "private")

	f := scanLive(t, root, nil)
	p := excludedAs(t, f, container)
	want(t, "excluded", p.Excluded, ExcludedOtherNetwork)
	self, _ := os.Readlink("/proc/self/ns/net")
	if p.NetNamespace == "" || p.NetNamespace == self {
		t.Errorf("network namespace %q, the probe's is %q", p.NetNamespace, self)
	}
	var counted *Process
	for i := range f.Agents {
		if f.Agents[i].PID == sandboxed {
			counted = &f.Agents[i]
		}
	}
	if counted == nil {
		t.Fatalf("the agent in a mount namespace of its own, running the host's binary, is not counted; excluded: %+v", f.Excluded)
	}
	selfMnt, _ := os.Readlink("/proc/self/ns/mnt")
	if counted.MntNamespace == "" || counted.MntNamespace == selfMnt {
		t.Errorf("mount namespace %q not recorded (the probe's is %q)", counted.MntNamespace, selfMnt)
	}
	if f.Proxy != nil && strings.Contains(f.Proxy.HTTPSProxy, "container.example") {
		t.Errorf("the container's environment was taken as the agent's: %+v", f.Proxy)
	}
}

// TestOtherMountNamespaceOtherFile: a process in another mount namespace
// whose binary is not the file this host has at that path (a container's
// image) is excluded as another mount namespace's. The fixture's exe links
// point at paths absent from this machine, so no file can be the same.
func TestOtherMountNamespaceOtherFile(t *testing.T) {
	src := filepath.Join("testdata", "roots", "hostpid-container", "proc")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	// Same network namespace as the host: only the mount namespace differs.
	link := filepath.Join(dir, "3200", "ns", "net")
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("net:[4026531840]", link); err != nil {
		t.Fatal(err)
	}
	f := Inspect(context.Background(), Options{Root: filepath.Join("testdata", "roots", "hostpid-container"), ProcDir: dir})
	want(t, "running", f.RunningChecked && !f.Running, true)
	want(t, "excluded", excludedPIDs(f), map[int]string{3200: ExcludedOtherMount})
	if f.Proxy != nil {
		t.Errorf("proxy read: %+v", f.Proxy)
	}
	if w := f.Excluded[0].Why(); !strings.Contains(w, "another mount namespace (mnt:[4026532610])") {
		t.Errorf("why: %s", w)
	}
}

// TestHidePIDNotChecked: what a user who is not root sees of a process
// table mounted hidepid=2 (invisible): its own processes only. The scan is
// not checked, with the reason, never "not running" (N5). Root, and a
// member of the mount's gid= group, see everything, so for them the
// scan's answer stands.
func TestHidePIDNotChecked(t *testing.T) {
	dir := t.TempDir()
	proc := filepath.Join(dir, "proc")
	for name, body := range map[string]string{
		"950/comm": "bash\n", "950/cmdline": "bash\x00", "950/stat": "950 (bash) S 1 950 950 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 1 0 1234\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(proc, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mountinfo := filepath.Join(dir, "mountinfo")
	line := "22 1 0:21 / " + proc + " rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw,gid=27,hidepid=invisible\n"
	if err := os.WriteFile(mountinfo, []byte("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"+line), 0o644); err != nil {
		t.Fatal(err)
	}
	inspect := func(euid int, groups ...int) *Facts {
		return Inspect(context.Background(), Options{Root: filepath.Join("testdata", "roots", "deb"), ProcDir: proc,
			mountInfo: mountinfo, ids: func() (int, []int) { return euid, groups }})
	}

	f := inspect(1000, 1000)
	want(t, "running checked", f.RunningChecked, false)
	want(t, "hidepid", f.HidePID, HidePIDInvisible)
	for _, r := range []string{f.RunningReason, f.ProxyReason} {
		if !strings.HasPrefix(r, "not checked: "+proc+" is mounted hidepid=invisible") || !strings.Contains(r, "uid 1000") {
			t.Errorf("reason %q", r)
		}
	}
	for name, f := range map[string]*Facts{"root": inspect(0), "gid 27": inspect(1000, 1000, 27)} {
		if !f.RunningChecked || f.Running || f.HidePID != "" {
			t.Errorf("%s: running checked %v, running %v, hidepid %q (%s); want the scan's answer: not running", name, f.RunningChecked, f.Running, f.HidePID, f.RunningReason)
		}
	}

	// A mountinfo that cannot be read leaves a probe that is not root
	// unable to tell.
	f = Inspect(context.Background(), Options{Root: filepath.Join("testdata", "roots", "deb"), ProcDir: proc,
		mountInfo: filepath.Join(dir, "absent"), ids: func() (int, []int) { return 1000, nil }})
	want(t, "running checked", f.RunningChecked, false)
	if !strings.Contains(f.RunningReason, "hidepid") {
		t.Errorf("reason %q", f.RunningReason)
	}
}
