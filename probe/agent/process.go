package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
	"github.com/ssm-probe/ssm-probe/probe/redact"
)

// Names of the agent's processes. The core process is amazon-ssm-agent; it
// starts the workers (docs/AGENT-FACTS.md, "Log line formats").
const (
	ProcAgent          = "amazon-ssm-agent"
	ProcAgentWorker    = "ssm-agent-worker"
	ProcSessionWorker  = "ssm-session-worker"
	ProcDocumentWorker = "ssm-document-worker"
)

// commLen is the longest name /proc/<pid>/comm holds: TASK_COMM_LEN is 16
// bytes including the NUL (proc(5)), so "amazon-ssm-agent" shows as
// "amazon-ssm-agen".
const commLen = 15

// Reasons recorded when the process table or environ was not read.
const (
	ReasonOfflineRoot   = "not checked: offline root"
	ReasonEnvironRoot   = "not checked: needs root to read /proc/<pid>/environ"
	ReasonNotRunning    = "not checked: the agent is not running"
	ReasonEnvironFailed = "not checked: could not read /proc/<pid>/environ"
	ReasonEnvironGone   = "not checked: the agent process exited while its environment was read, twice"
)

// Why a process named like the agent is not counted as this host's running
// agent (Process.Excluded). The running agent is an amazon-ssm-agent process
// that has not exited, runs in this host's PID, network and mount namespaces
// (hostNamespaces), with real and effective uid 0, from an agent install
// path (knownAgentBinary); its workers need the same namespaces. Anything
// else is listed with one of these, never counted, and never read for a
// proxy.
const (
	// ExcludedExited: /proc/<pid>/stat gives state Z (zombie: it exited and
	// its parent has not reaped it) or X (dead), proc(5).
	ExcludedExited = "exited"
	// ExcludedOtherNamespace: /proc/<pid>/ns/pid differs from this host's,
	// so it belongs to another PID namespace, e.g. a container's agent,
	// which serves that container rather than this host.
	ExcludedOtherNamespace = "other-pid-namespace"
	// ExcludedOtherNetwork: /proc/<pid>/ns/net differs from this host's: it
	// reaches the network from another network namespace (a container run
	// with --pid=host, for one), so neither its connections nor its
	// environment are the host agent's.
	ExcludedOtherNetwork = "other-network-namespace"
	// ExcludedOtherMount: /proc/<pid>/ns/mnt differs from this host's and
	// its executable is not the file this host has at that path: it runs
	// another file system's agent (a container's image). A process in its
	// own mount namespace that runs the host's own binary (a systemd unit
	// with PrivateTmp= or ProtectSystem= gets one) is counted.
	ExcludedOtherMount = "other-mount-namespace"
	// ExcludedNotRoot: the real or effective uid in /proc/<pid>/status is
	// not 0. The agent runs as root (its unit sets no User=); a copy run by
	// a user carries that user's environment.
	ExcludedNotRoot = "not-root"
	// ExcludedNotAgentBinary: it calls itself amazon-ssm-agent, but
	// /proc/<pid>/exe is not an agent binary from a known install path
	// (agentBinaryPaths). Its environment is not the agent's.
	ExcludedNotAgentBinary = "not-agent-binary"
	// ExcludedUnverified: what would tell whether it is this host's agent
	// could not be read (Process.Unread says what; without root, the
	// namespace and exe links of root's processes are unreadable). It is
	// not counted, and when no process is, whether the agent runs is "not
	// checked" rather than no.
	ExcludedUnverified = "unverified"
)

// agentBinaryPaths are the host paths where the agent's packages install
// amazon-ssm-agent: /usr/bin for the rpm (aws/amazon-ssm-agent
// packaging/linux/amazon-ssm-agent.spec:20) and deb packages
// (packaging/ubuntu/amazon-ssm-agent.service:11), /usr/sbin for SUSE's
// (packaging/suse/amazon-ssm-agent.service:6). The snap runs it from the
// root of its revision, /snap/amazon-ssm-agent/<revision>/amazon-ssm-agent
// (packaging/snap/snapcraft.yml:16); see knownAgentBinary.
func agentBinaryPaths() []string {
	return []string{BinaryPath, "/usr/sbin/amazon-ssm-agent"}
}

// snapDir is where snapd mounts the agent snap's revisions.
const snapDir = "/snap/amazon-ssm-agent/"

// knownAgentBinary reports whether exe, the target of /proc/<pid>/exe, is
// an agent binary from a known install path. A binary replaced by an
// upgrade while it runs reads "<path> (deleted)" and still counts. The path
// is taken as a host path and, for a process table that is not the root's
// own (tests), also under the root; on the live root the two are the same.
func knownAgentBinary(fsys rootfs.FS, exe string) bool {
	p := path.Clean(strings.TrimSuffix(exe, " (deleted)"))
	for _, k := range agentBinaryPaths() {
		if p == k || p == fsys.Join(k) {
			return true
		}
	}
	for _, prefix := range []string{snapDir, fsys.Join(snapDir) + "/"} {
		if rev, ok := strings.CutPrefix(p, prefix); ok {
			rev, bin, ok := strings.Cut(rev, "/")
			return ok && rev != "" && bin == ProcAgent
		}
	}
	return false
}

// processes scans the process table for the agent and its workers, then
// reads the core process's proxy environment. When that process ends
// between the scan and the read (the read fails with ESRCH or ENOENT, or
// the process is a zombie after it), the table is scanned once more.
func (in *inspector) processes() {
	procDir := in.opt.ProcDir
	if procDir == "" {
		if !in.live() {
			in.f.RunningReason, in.f.ProxyReason = ReasonOfflineRoot, ReasonOfflineRoot
			return
		}
		procDir = "/proc"
	}
	if reason := in.procHidden(procDir); reason != "" {
		in.f.RunningReason, in.f.ProxyReason = reason, reason
		return
	}
	pfs := rootfs.FS{Root: procDir}
	host := hostNamespaces(pfs)
	in.f.HostNamespaces = &host
	var s scan
	var env []byte
	var envErr error
	for attempt := 0; attempt < 2; attempt++ {
		var err error
		if s, err = in.scanProcs(pfs, procDir, host); err != nil {
			in.problem(procDir, err)
			in.f.RunningReason = "not checked: " + err.Error()
			in.f.ProxyReason = in.f.RunningReason
			return
		}
		if len(s.agents) == 0 {
			break
		}
		// The lowest PID is the one systemd started; another would be a
		// second install (snap and package) racing it, whose environment
		// may differ.
		pid := s.agents[0].PID
		if in.opt.afterScan != nil {
			in.opt.afterScan(pid)
		}
		env, envErr = pfs.ReadFile(path.Join("/", strconv.Itoa(pid), "environ"), MaxEnvironBytes)
		if !vanished(pfs, pid, envErr) {
			break
		}
		envErr = errGone
	}
	in.f.Agents, in.f.Workers, in.f.Excluded = s.agents, s.workers, s.excluded
	for _, p := range s.agents {
		in.f.PIDs = append(in.f.PIDs, p.PID)
	}
	in.f.Running = len(s.agents) > 0
	if !in.f.Running {
		// A process that may be the agent but could not be verified makes
		// "is it running" unknown, never no.
		var unsure []string
		for _, p := range s.excluded {
			if p.Excluded == ExcludedUnverified {
				unsure = append(unsure, fmt.Sprintf("pid %d (%s)", p.PID, p.Name))
			}
		}
		if len(unsure) > 0 {
			in.f.RunningReason = "not checked: no process could be verified as this host's agent, and " + strings.Join(unsure, ", ") + " may be it"
			if euid, _ := in.ids(); euid != 0 {
				in.f.RunningReason += "; " + ReasonUnverifiedNonRoot
			}
			in.f.ProxyReason = in.f.RunningReason
			return
		}
	}
	in.f.RunningChecked = true
	switch {
	case !in.f.Running:
		in.f.ProxyReason = ReasonNotRunning
	case errors.Is(envErr, errGone):
		in.f.ProxyReason = ReasonEnvironGone
	case envErr != nil && !errors.Is(envErr, rootfs.ErrTooLarge):
		in.f.ProxyReason = environReason(envErr)
		in.problem(path.Join(procDir, strconv.Itoa(s.agents[0].PID), "environ"), envErr)
	default:
		in.f.ProxyChecked = true
		in.f.Proxy = ProxyFromEnviron(env)
		in.f.CredentialVars = CredentialVarsFromEnviron(env)
	}
}

// ReasonUnverifiedNonRoot ends the reason of a scan, by a probe that is not
// root, that found only unverified processes: the ns/ and exe links of
// another user's process need ptrace access to it (proc(5)).
const ReasonUnverifiedNonRoot = "without root, the namespace and exe links of root's processes cannot be read: run the probe as root"

// MaxMountInfoBytes caps /proc/self/mountinfo, one line of about 150 bytes
// per mount: a busy container host has tens of thousands.
const MaxMountInfoBytes = 16 << 20

// ids returns the probe's effective uid and its groups.
func (in *inspector) ids() (int, []int) {
	if in.opt.ids != nil {
		return in.opt.ids()
	}
	groups := []int{os.Getegid()}
	if gs, err := os.Getgroups(); err == nil {
		groups = append(groups, gs...)
	}
	return os.Geteuid(), groups
}

// procHidden returns why the process table at procDir cannot show the
// agent to this probe, or "": the proc file system there is mounted with
// hidepid (proc(5)) and the probe runs neither as root nor in its gid=
// group, so root's processes are hidden (hidepid=2, 4) or unreadable
// (hidepid=1). The mount is found in the probe's own mountinfo. When that
// cannot be read, a probe that is not root cannot tell, and says so.
func (in *inspector) procHidden(procDir string) string {
	euid, groups := in.ids()
	if euid == 0 {
		return ""
	}
	dir, err := filepath.Abs(procDir)
	if err != nil {
		return ""
	}
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	mi := in.opt.mountInfo
	if mi == "" {
		mi = "/proc/self/mountinfo"
	}
	b, err := rootfs.FS{Root: "/"}.ReadFile(mi, MaxMountInfoBytes)
	if err != nil {
		in.problem(mi, err)
		return fmt.Sprintf("not checked: %s could not be read (%s), so whether %s hides root's processes from uid %d (hidepid) is unknown", mi, rootfs.Class(err), dir, euid)
	}
	m, ok := procMountOf(b, dir)
	if !ok || !m.hiddenFrom(euid, groups) {
		return ""
	}
	in.f.HidePID = m.HidePID
	what := "hides root's processes, the agent's included,"
	if m.HidePID == HidePIDNoAccess {
		what = "makes root's processes, the agent's included, unreadable"
	}
	return fmt.Sprintf("not checked: %s is mounted hidepid=%s, which %s from uid %d: run the probe as root", m.Point, m.HidePID, what, euid)
}

// HostNamespaces are the namespaces the probe takes as this host's: its
// own, for the network the probe tests is the network of the namespace it
// runs in, and an agent in another network namespace does not take the path
// the probe follows. On the host that is the init's namespaces; a process of
// a --pid=host container is in another network and mount namespace and is
// excluded. A probe started beside the agent inside one network namespace
// (ip netns exec, as a lab or a test bench runs both) takes that namespace,
// where taking PID 1's would exclude the very agent it probes for. Where
// the scanned table has no "self" (a fake table in tests, or a --proc-dir
// that is not the probe's own), PID 1's are taken; Of says which. When
// neither can be read, Of is empty and no process can be verified.
type HostNamespaces struct {
	Of   string `json:"of"` // "self" (the probe), "pid 1", or "" when neither could be read
	PID  string `json:"pid,omitempty"`
	Mnt  string `json:"mnt,omitempty"`
	Net  string `json:"net,omitempty"`
	Note string `json:"note,omitempty"` // what could not be read
}

// hostNamespaces reads the ns/pid, ns/mnt and ns/net links of self (the
// probe), or of PID 1 when the table has no readable self.
func hostNamespaces(pfs rootfs.FS) HostNamespaces {
	var notes []string
	for _, who := range []struct{ dir, of string }{{"/self", "self"}, {"/1", "pid 1"}} {
		h := HostNamespaces{Of: who.of}
		var err error
		for _, k := range []struct {
			name string
			v    *string
		}{{"pid", &h.PID}, {"mnt", &h.Mnt}, {"net", &h.Net}} {
			if *k.v, err = pfs.Readlink(who.dir + "/ns/" + k.name); err != nil {
				notes = append(notes, fmt.Sprintf("%s: ns/%s: %s", who.of, k.name, rootfs.Class(err)))
				break
			}
		}
		if err == nil {
			h.Note = strings.Join(notes, "; ")
			return h
		}
	}
	return HostNamespaces{Note: strings.Join(notes, "; ")}
}

// Why says, for a person, why an excluded process is not counted; "" for
// a counted one.
func (p Process) Why() string {
	switch p.Excluded {
	case ExcludedExited:
		what := "a zombie"
		if p.State == "X" {
			what = "dead"
		}
		parent := "its parent"
		if p.PPID > 0 {
			parent = fmt.Sprintf("its parent, pid %d,", p.PPID)
		}
		return fmt.Sprintf("pid %d (%s) has exited (state %s, %s): %s has not reaped it yet; it runs nothing", p.PID, p.Name, p.State, what, parent)
	case ExcludedOtherNamespace:
		return fmt.Sprintf("pid %d (%s) runs in another PID namespace (%s), for example inside a container: it is not this host's agent", p.PID, p.Name, p.PIDNamespace)
	case ExcludedOtherNetwork:
		return fmt.Sprintf("pid %d (%s) runs in another network namespace (%s), for example a container's: it is not this host's agent, and its environment is not taken as the agent's proxy settings", p.PID, p.Name, p.NetNamespace)
	case ExcludedOtherMount:
		return fmt.Sprintf("pid %d (%s) runs in another mount namespace (%s) from a file that is not this host's %s, for example a container's: it is not this host's agent, and its environment is not taken as the agent's proxy settings", p.PID, p.Name, p.MntNamespace, strings.TrimSuffix(p.Exe, " (deleted)"))
	case ExcludedNotRoot:
		return fmt.Sprintf("pid %d (%s) runs as uid %d (effective %d), not root as the agent does: it is a user's copy, not this host's agent, and its environment is not taken as the agent's proxy settings", p.PID, p.Name, p.UIDs[0], p.UIDs[1])
	case ExcludedNotAgentBinary:
		return fmt.Sprintf("pid %d calls itself %s but runs %s, which is not an agent binary from a known install path (%s, %s or %s<revision>/%s); its environment is not taken as the agent's proxy settings",
			p.PID, p.Name, p.Exe, agentBinaryPaths()[0], agentBinaryPaths()[1], snapDir, ProcAgent)
	case ExcludedUnverified:
		return fmt.Sprintf("pid %d (%s) could not be verified as this host's agent: %s could not be read; it is not counted and its environment is not read", p.PID, p.Name, strings.Join(p.Unread, ", "))
	}
	return ""
}

// errGone marks an environ read whose process ended during it.
var errGone = errors.New("the process exited")

// vanished reports whether process pid ended around a read of its environ
// that returned err: the read failed with ESRCH, /proc/<pid> is gone (the
// read then failed with ENOENT), or the process is now a zombie (whose
// environ reads as empty, without an error).
func vanished(pfs rootfs.FS, pid int, err error) bool {
	if errors.Is(err, syscall.ESRCH) {
		return true
	}
	dir := "/" + strconv.Itoa(pid)
	if _, lerr := pfs.Lstat(dir); isNotExist(lerr) {
		return true
	}
	st, serr := readStat(pfs, pid)
	return serr == nil && st.exited()
}

// environReason turns a failure to read environ into a "not checked"
// reason. environ is readable only by the process owner and root (proc(5),
// ptrace access mode PTRACE_MODE_READ_FSCREDS).
func environReason(err error) string {
	if rootfs.Class(err) == errclass.Permission {
		return ReasonEnvironRoot
	}
	return ReasonEnvironFailed + ": " + err.Error()
}

// scan is what one pass over the process table found.
type scan struct {
	agents   []Process // live amazon-ssm-agent processes of this host
	workers  []Process // live worker processes of this host
	excluded []Process // agent-named processes not counted, with Excluded set
}

// scanProcs lists numeric entries of the process table and classifies each.
// A process that exits during the scan is skipped; one that has exited but
// is not reaped, or that classify does not take as this host's, goes to
// excluded.
func (in *inspector) scanProcs(pfs rootfs.FS, procDir string, host HostNamespaces) (scan, error) {
	var s scan
	ents, err := pfs.ReadDir("/")
	if err != nil {
		return s, err
	}
	for _, e := range ents {
		if in.ctx.Err() != nil {
			return s, in.ctx.Err()
		}
		pid, perr := strconv.Atoi(e.Name())
		if perr != nil || pid <= 0 {
			continue
		}
		p, exeErr, ok := identify(pfs, pid)
		if !ok {
			continue
		}
		gone := func() bool {
			_, lerr := pfs.Lstat("/" + strconv.Itoa(pid))
			return isNotExist(lerr)
		}
		st, serr := readStat(pfs, pid)
		if isNotExist(serr) && gone() {
			continue // exited and reaped during the scan
		}
		p.State, p.PPID = st.State, st.PPID
		if serr == nil && st.exited() {
			p.Excluded = ExcludedExited
		} else if p.Excluded = in.classify(pfs, procDir, host, &p, exeErr); p.Excluded == ExcludedUnverified && gone() {
			continue
		}
		switch {
		case p.Excluded != "":
			s.excluded = append(s.excluded, p)
		case p.Name == ProcAgent:
			// The unit whose cgroup holds it: which unit starts it, so that
			// two agents each name theirs. Unread, it is left unsaid.
			if b, err := pfs.ReadFile("/"+strconv.Itoa(pid)+"/cgroup", MaxSmallFileBytes); err == nil {
				p.Unit = parseCgroupUnit(b)
			}
			s.agents = append(s.agents, p)
		default:
			s.workers = append(s.workers, p)
		}
	}
	for _, l := range [][]Process{s.agents, s.workers, s.excluded} {
		sort.Slice(l, func(i, j int) bool { return l[i].PID < l[j].PID })
	}
	return s, nil
}

// classify says why live process p is not this host's agent or worker, or
// "" when it is: its PID, network and mount namespaces are the host's (a
// mount namespace of its own is allowed when it runs the host's own
// binary), and, for the core process, its real and effective uid are 0 and
// its executable is an agent binary from a known install path. A
// definite difference wins over what could not be read; what could not be
// read makes it ExcludedUnverified, with p.Unread saying what.
func (in *inspector) classify(pfs rootfs.FS, procDir string, host HostNamespaces, p *Process, exeErr error) string {
	dir := "/" + strconv.Itoa(p.PID)
	var unread []string
	cannot := func(what string, err error) {
		unread = append(unread, fmt.Sprintf("%s (%s)", path.Join(procDir, dir, what), rootfs.Class(err)))
	}
	if host.Of == "" {
		unread = append(unread, "this host's namespaces ("+host.Note+")")
	} else {
		for _, k := range []struct {
			name, host, code string
			v                *string
		}{
			{"pid", host.PID, ExcludedOtherNamespace, &p.PIDNamespace},
			{"net", host.Net, ExcludedOtherNetwork, &p.NetNamespace},
			{"mnt", host.Mnt, ExcludedOtherMount, &p.MntNamespace},
		} {
			ns, err := pfs.Readlink(dir + "/ns/" + k.name)
			switch {
			case err != nil:
				cannot("ns/"+k.name, err)
			case ns == k.host:
			case k.name == "mnt" && sameBinary(procDir, p.PID, host, p.Exe):
				// Its own mount namespace over the host's file system,
				// as systemd gives a unit with PrivateTmp=, ProtectSystem=
				// and the like: the host's agent, counted; the namespace
				// stays in the record.
				p.MntNamespace = ns
			default:
				*k.v = ns
				return k.code
			}
		}
	}
	if p.Name == ProcAgent {
		switch b, err := pfs.ReadFile(dir+"/status", MaxSmallFileBytes); {
		case err != nil:
			cannot("status", err)
		default:
			uids, perr := parseUIDs(b)
			if perr != nil {
				cannot("status", perr)
				break
			}
			p.UIDs = uids
			if uids[0] != 0 || uids[1] != 0 {
				return ExcludedNotRoot
			}
		}
		switch {
		case p.Exe == "":
			cannot("exe", exeErr)
		case !knownAgentBinary(in.fs, p.Exe):
			return ExcludedNotAgentBinary
		}
	}
	if len(unread) > 0 {
		p.Unread = unread
		return ExcludedUnverified
	}
	return ""
}

// sameBinary reports whether process pid runs the very file (device and
// inode) that the host's mount namespace has at the path of its exe link,
// exe. The kernel follows /proc/<pid>/exe to the running file in any
// namespace, and /proc/<host>/root to the host's root. A binary replaced by
// an upgrade ("(deleted)") is not the file at its path any more.
func sameBinary(procDir string, pid int, host HostNamespaces, exe string) bool {
	if exe == "" || !path.IsAbs(exe) || strings.HasSuffix(exe, " (deleted)") {
		return false
	}
	who := "1"
	if host.Of == "self" {
		who = "self"
	}
	a, err := os.Stat(filepath.Join(procDir, strconv.Itoa(pid), "exe"))
	if err != nil {
		return false
	}
	b, err := os.Stat(filepath.Join(procDir, who, "root", exe))
	return err == nil && os.SameFile(a, b)
}

// parseCgroupUnit returns the systemd unit whose control group holds a
// process, from its /proc/<pid>/cgroup (cgroups(7): one
// "hierarchy-ID:controllers:path" line per hierarchy; systemd names a
// unit's group after the unit, systemd.unit(5), e.g.
// /system.slice/amazon-ssm-agent.service). The unified hierarchy's line
// ("0::") is read first, then the v1 systemd one ("name=systemd"); the
// unit is the deepest path element that names a service or a scope. ""
// when no line names one (the root group "/", a slice, a malformed file).
func parseCgroupUnit(b []byte) string {
	units := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], "/") {
			continue
		}
		key := f[0] + ":" + f[1]
		if key != "0:" && !strings.HasSuffix(key, ":name=systemd") {
			continue
		}
		if key != "0:" {
			key = "name=systemd"
		}
		el := strings.Split(strings.TrimSpace(f[2]), "/")
		for i := len(el) - 1; i >= 0; i-- {
			e := el[i]
			if n, ok := strings.CutSuffix(e, ".service"); ok && n != "" || strings.HasSuffix(e, ".scope") && e != ".scope" {
				if _, seen := units[key]; !seen {
					units[key] = e
				}
				break
			}
		}
	}
	if u, ok := units["0:"]; ok {
		return u
	}
	return units["name=systemd"]
}

// errStatus reports a /proc/<pid>/status without a well-formed Uid: line.
var errStatus = errors.New("no well-formed Uid: line in /proc/<pid>/status")

// parseUIDs returns the real and effective uid from the "Uid:" line of
// /proc/<pid>/status (proc(5): real, effective, saved set, file system).
func parseUIDs(b []byte) ([]int, error) {
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, "Uid:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 4 {
			return nil, errStatus
		}
		var uids []int
		for _, x := range f[:2] {
			n, err := strconv.ParseUint(x, 10, 32)
			if err != nil {
				return nil, errStatus
			}
			uids = append(uids, int(n))
		}
		return uids, nil
	}
	return nil, errStatus
}

// procStat is what the probe reads of /proc/<pid>/stat.
type procStat struct {
	State string `json:"state"` // one letter: R, S, D, Z, T, t, X, I, …
	PPID  int    `json:"ppid"`
}

// exited reports whether the state is Z (zombie) or X (dead).
func (s procStat) exited() bool { return s.State == "Z" || s.State == "X" }

// readStat reads and parses /proc/<pid>/stat.
func readStat(pfs rootfs.FS, pid int) (procStat, error) {
	b, err := pfs.ReadFile("/"+strconv.Itoa(pid)+"/stat", MaxSmallFileBytes)
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// errStat reports a /proc/<pid>/stat line that is not "pid (comm) state
// ppid …".
var errStat = errors.New("malformed /proc/<pid>/stat")

// parseStat parses the start of a /proc/<pid>/stat line (proc(5)): the pid,
// the command name in parentheses, the state and the parent's pid. The
// name may itself hold spaces and parentheses, so the fields after it start
// after the last ')'.
func parseStat(b []byte) (procStat, error) {
	line := string(b)
	i := strings.LastIndexByte(line, ')')
	if i < 0 || !strings.Contains(line[:i], " (") {
		return procStat{}, errStat
	}
	f := strings.Fields(line[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return procStat{}, errStat
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil || ppid < 0 {
		return procStat{}, errStat
	}
	return procStat{State: f[0], PPID: ppid}, nil
}

// identify names the process pid from, in order, the base name of argv[0]
// in cmdline, the base name of the exe link, and comm (which the kernel
// truncates to 15 bytes). It reports false when none is an agent process,
// and returns why the exe link could not be read, if it could not.
func identify(pfs rootfs.FS, pid int) (Process, error, bool) {
	dir := "/" + strconv.Itoa(pid)
	p := Process{PID: pid}
	exe, exeErr := pfs.Readlink(dir + "/exe")
	if exeErr == nil {
		p.Exe = exe
	}
	if b, err := pfs.ReadFile(dir+"/cmdline", MaxSmallFileBytes); err == nil || errors.Is(err, rootfs.ErrTooLarge) {
		argv0, _, _ := bytes.Cut(b, []byte{0})
		if name := knownName(path.Base(string(argv0)), false); name != "" {
			p.Name, p.By = name, "cmdline"
			return p, exeErr, true
		}
	}
	if p.Exe != "" {
		if name := knownName(path.Base(strings.TrimSuffix(p.Exe, " (deleted)")), false); name != "" {
			p.Name, p.By = name, "exe"
			return p, exeErr, true
		}
	}
	if b, err := pfs.ReadFile(dir+"/comm", MaxSmallFileBytes); err == nil {
		if name := knownName(strings.TrimRight(string(b), "\n"), true); name != "" {
			p.Name, p.By = name, "comm"
			return p, exeErr, true
		}
	}
	return p, exeErr, false
}

// knownName returns the agent process name that s denotes, or "". With
// comm set, s may be the 15-byte truncation of a longer name.
func knownName(s string, comm bool) string {
	for _, n := range []string{ProcAgent, ProcAgentWorker, ProcSessionWorker, ProcDocumentWorker} {
		if s == n || (comm && len(n) > commLen && s == n[:commLen]) {
			return n
		}
	}
	return ""
}

// ProxyVar is one proxy variable found in the agent's environment.
type ProxyVar struct {
	Name  string `json:"name"`  // as spelled in the environment, e.g. "https_proxy"
	Value string `json:"value"` // with any user information replaced by "REDACTED" (package redact)
}

// ProxyEnv is the proxy configuration of the agent's environment. The
// agent's HTTP clients take their proxy from the environment through Go's
// http.ProxyFromEnvironment, which prefers the upper-case name of each
// variable and falls back to the lower-case one (golang.org/x/net/http/httpproxy,
// FromEnvironment). The effective fields follow that rule.
type ProxyEnv struct {
	Vars       []ProxyVar `json:"vars"`                  // every proxy variable set, in environment order
	HTTPSProxy string     `json:"https_proxy,omitempty"` // effective, redacted
	HTTPProxy  string     `json:"http_proxy,omitempty"`  // effective, redacted
	NoProxy    string     `json:"no_proxy,omitempty"`    // effective

	httpsRaw, httpRaw string // effective, unredacted, for the proxy check; never serialised
}

// HTTPSProxyURL returns the effective HTTPS proxy with its credentials, for
// connecting through it. It must not be logged or reported.
func (p *ProxyEnv) HTTPSProxyURL() string { return p.httpsRaw }

// HTTPProxyURL returns the effective HTTP proxy with its credentials, for
// connecting through it. It must not be logged or reported.
func (p *ProxyEnv) HTTPProxyURL() string { return p.httpRaw }

// proxyVarNames are the variables ProxyFromEnvironment reads.
func proxyVarNames() []string {
	return []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"}
}

// ProxyFromEnviron parses the NUL-separated contents of /proc/<pid>/environ
// (proc(5)) and returns the proxy variables, or nil when none is set to a
// non-empty value. When a name appears twice the first occurrence counts,
// as Go's os.Getenv sees it (syscall.copyenv keeps the first) and as
// getenv(3) in glibc does.
func ProxyFromEnviron(b []byte) *ProxyEnv {
	vals := map[string]string{}
	var order []string
	for _, kv := range bytes.Split(b, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok {
			continue
		}
		for _, n := range proxyVarNames() {
			if k == n {
				if _, seen := vals[k]; !seen {
					order = append(order, k)
					vals[k] = v
				}
			}
		}
	}
	pick := func(upper, lower string) string {
		if v := vals[upper]; v != "" {
			return v
		}
		return vals[lower]
	}
	p := &ProxyEnv{
		httpsRaw: pick("HTTPS_PROXY", "https_proxy"),
		httpRaw:  pick("HTTP_PROXY", "http_proxy"),
		NoProxy:  pick("NO_PROXY", "no_proxy"),
	}
	for _, k := range order {
		if vals[k] != "" {
			p.Vars = append(p.Vars, ProxyVar{Name: k, Value: redact.Value(vals[k])})
		}
	}
	if len(p.Vars) == 0 {
		return nil
	}
	p.HTTPSProxy, p.HTTPProxy = redact.Value(p.httpsRaw), redact.Value(p.httpRaw)
	return p
}

// ErrMalformedProxy is returned by ParseProxy for a value that does not
// parse to a host and port. Its text never quotes the value, which may hold
// a password.
var ErrMalformedProxy = errors.New("the proxy setting does not parse to host:port, so it was not dialled (a password holding a raw '/', '?', '#' or '@' must be percent-encoded)")

// ParseProxy parses a proxy variable the way Go's http.ProxyFromEnvironment
// does (golang.org/x/net/http/httpproxy, parseProxy): a value without a
// scheme is taken as http://value. It fails, with ErrMalformedProxy, when the
// value does not parse or names no host, or its port is not a number, so that
// a password holding a raw delimiter never makes the probe dial the wrong
// host.
func ParseProxy(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" || strings.ContainsAny(u.Hostname(), " @") {
		return nil, ErrMalformedProxy
	}
	if u.User == nil && strings.Contains(s, "@") {
		// The '@' that ends the user information fell into the path, query
		// or fragment: a delimiter in the password cut the authority short,
		// and the host Go would dial is part of the password.
		return nil, ErrMalformedProxy
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return nil, ErrMalformedProxy
		}
	}
	return u, nil
}

// isNotExist reports whether err means the file is absent.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
