package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
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
)

// processes scans the process table for the agent and its workers, then
// reads the core process's proxy environment.
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
	agents, workers, err := in.scanProcs(pfs)
	if err != nil {
		in.problem(procDir, err)
		in.f.RunningReason = "not checked: " + err.Error()
		in.f.ProxyReason = in.f.RunningReason
		return
	}
	in.f.RunningChecked = true
	in.f.Agents, in.f.Workers = agents, workers
	for _, p := range agents {
		in.f.PIDs = append(in.f.PIDs, p.PID)
	}
	in.f.Running = len(agents) > 0
	if !in.f.Running {
		in.f.ProxyReason = ReasonNotRunning
		return
	}
	// The lowest PID is the one systemd started; another would be a second
	// install (snap and package) racing it, whose environment may differ.
	pid := agents[0].PID
	envPath := path.Join("/", strconv.Itoa(pid), "environ")
	b, err := pfs.ReadFile(envPath, MaxEnvironBytes)
	if err != nil && !errors.Is(err, rootfs.ErrTooLarge) {
		in.f.ProxyReason = environReason(err)
		in.problem(path.Join(procDir, envPath), err)
		return
	}
	in.f.ProxyChecked = true
	in.f.Proxy = ProxyFromEnviron(b)
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

// scanProcs lists numeric entries of the process table and classifies each.
// A process that exits during the scan is skipped.
func (in *inspector) scanProcs(pfs rootfs.FS) (agents, workers []Process, err error) {
	ents, err := pfs.ReadDir("/")
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if in.ctx.Err() != nil {
			return agents, workers, in.ctx.Err()
		}
		pid, perr := strconv.Atoi(e.Name())
		if perr != nil || pid <= 0 {
			continue
		}
		p, ok := identify(pfs, pid)
		if !ok {
			continue
		}
		if p.Name == ProcAgent {
			agents = append(agents, p)
		} else {
			workers = append(workers, p)
		}
	}
	byPID := func(s []Process) { sort.Slice(s, func(i, j int) bool { return s[i].PID < s[j].PID }) }
	byPID(agents)
	byPID(workers)
	return agents, workers, nil
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
	Value string `json:"value"` // with any password replaced by "xxxxx"
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
			p.Vars = append(p.Vars, ProxyVar{Name: k, Value: RedactProxy(vals[k])})
		}
	}
	if len(p.Vars) == 0 {
		return nil
	}
	p.HTTPSProxy, p.HTTPProxy = RedactProxy(p.httpsRaw), RedactProxy(p.httpRaw)
	return p
}

// RedactProxy replaces the password in a proxy URL's user information
// ("http://user:secret@proxy:3128") with "xxxxx". Values without a password
// are returned unchanged. The scheme is optional, as Go's proxy parsing
// allows "proxy:3128".
func RedactProxy(s string) string {
	auth := s
	prefix := ""
	if i := strings.Index(s, "://"); i >= 0 {
		prefix, auth = s[:i+3], s[i+3:]
	}
	end := strings.IndexAny(auth, "/?#")
	if end < 0 {
		end = len(auth)
	}
	at := strings.LastIndex(auth[:end], "@")
	if at < 0 {
		return s
	}
	user, _, hasPass := strings.Cut(auth[:at], ":")
	if !hasPass {
		return s
	}
	return fmt.Sprintf("%s%s:xxxxx%s", prefix, user, auth[at:])
}

// isNotExist reports whether err means the file is absent.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
