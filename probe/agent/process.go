package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
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
// agent (Process.Excluded).
const (
	// ExcludedExited: /proc/<pid>/stat gives state Z (zombie: it exited and
	// its parent has not reaped it) or X (dead), proc(5).
	ExcludedExited = "exited"
	// ExcludedOtherNamespace: /proc/<pid>/ns/pid differs from the probe's
	// own, so it belongs to another PID namespace, e.g. a container's agent,
	// which serves that container rather than this host.
	ExcludedOtherNamespace = "other-pid-namespace"
	// ExcludedNotAgentBinary: it calls itself amazon-ssm-agent, but
	// /proc/<pid>/exe is not an agent binary from a known install path
	// (agentBinaryPaths). Its environment is not the agent's.
	ExcludedNotAgentBinary = "not-agent-binary"
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
	pfs := rootfs.FS{Root: procDir}
	var s scan
	var env []byte
	var envErr error
	for attempt := 0; attempt < 2; attempt++ {
		var err error
		if s, err = in.scanProcs(pfs); err != nil {
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
	in.f.RunningChecked = true
	in.f.Agents, in.f.Workers, in.f.Excluded = s.agents, s.workers, s.excluded
	for _, p := range s.agents {
		in.f.PIDs = append(in.f.PIDs, p.PID)
	}
	in.f.Running = len(s.agents) > 0
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
	}
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
	case ExcludedNotAgentBinary:
		return fmt.Sprintf("pid %d calls itself %s but runs %s, which is not an agent binary from a known install path (%s, %s or %s<revision>/%s); its environment is not taken as the agent's proxy settings",
			p.PID, p.Name, p.Exe, agentBinaryPaths()[0], agentBinaryPaths()[1], snapDir, ProcAgent)
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
// is not reaped, runs in another PID namespace, or is an impostor of the
// core process goes to excluded.
func (in *inspector) scanProcs(pfs rootfs.FS) (scan, error) {
	var s scan
	ents, err := pfs.ReadDir("/")
	if err != nil {
		return s, err
	}
	// Unreadable (another user's process, or a fixture tree without it):
	// then no process is taken as foreign.
	selfNS, _ := pfs.Readlink("/self/ns/pid")
	for _, e := range ents {
		if in.ctx.Err() != nil {
			return s, in.ctx.Err()
		}
		pid, perr := strconv.Atoi(e.Name())
		if perr != nil || pid <= 0 {
			continue
		}
		p, ok := identify(pfs, pid)
		if !ok {
			continue
		}
		st, serr := readStat(pfs, pid)
		if isNotExist(serr) {
			if _, lerr := pfs.Lstat("/" + strconv.Itoa(pid)); isNotExist(lerr) {
				continue // exited and reaped during the scan
			}
		}
		p.State, p.PPID = st.State, st.PPID
		switch ns, _ := pfs.Readlink("/" + strconv.Itoa(pid) + "/ns/pid"); {
		case serr == nil && st.exited():
			p.Excluded = ExcludedExited
		case selfNS != "" && ns != "" && ns != selfNS:
			p.Excluded, p.PIDNamespace = ExcludedOtherNamespace, ns
		case p.Name == ProcAgent && p.Exe != "" && !knownAgentBinary(in.fs, p.Exe):
			p.Excluded = ExcludedNotAgentBinary
		}
		switch {
		case p.Excluded != "":
			s.excluded = append(s.excluded, p)
		case p.Name == ProcAgent:
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
// truncates to 15 bytes). It reports false when none is an agent process.
func identify(pfs rootfs.FS, pid int) (Process, bool) {
	dir := "/" + strconv.Itoa(pid)
	p := Process{PID: pid}
	if exe, err := pfs.Readlink(dir + "/exe"); err == nil {
		p.Exe = exe
	}
	if b, err := pfs.ReadFile(dir+"/cmdline", MaxSmallFileBytes); err == nil || errors.Is(err, rootfs.ErrTooLarge) {
		argv0, _, _ := bytes.Cut(b, []byte{0})
		if name := knownName(path.Base(string(argv0)), false); name != "" {
			p.Name, p.By = name, "cmdline"
			return p, true
		}
	}
	if p.Exe != "" {
		if name := knownName(path.Base(strings.TrimSuffix(p.Exe, " (deleted)")), false); name != "" {
			p.Name, p.By = name, "exe"
			return p, true
		}
	}
	if b, err := pfs.ReadFile(dir+"/comm", MaxSmallFileBytes); err == nil {
		if name := knownName(strings.TrimRight(string(b), "\n"), true); name != "" {
			p.Name, p.By = name, "comm"
			return p, true
		}
	}
	return p, false
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
