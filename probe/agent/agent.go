// Package agent gathers facts about the AWS SSM Agent on a host: whether it
// is installed and how, its version and where that came from, whether it
// runs and with which proxy environment, its configuration overrides, its
// identity and hybrid registration, and whether it hibernates.
//
// Everything is read from files under a root directory (the probe's --root)
// through package rootfs, with capped reads. Live state (the process table
// and running commands) is used only when the root is the machine's own
// "/", because a volume mounted from another instance has no processes.
// Locations and message texts come from docs/AGENT-FACTS.md.
package agent

import (
	"context"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// Well-known host paths of the agent's files (docs/AGENT-FACTS.md).
const (
	BinaryPath       = "/usr/bin/amazon-ssm-agent"
	SnapBinaryPath   = "/snap/amazon-ssm-agent/current/amazon-ssm-agent"
	SnapMetaPath     = "/snap/amazon-ssm-agent/current/meta/snap.yaml"
	ConfigPath       = "/etc/amazon/ssm/amazon-ssm-agent.json"
	IdentityPath     = "/var/lib/amazon/ssm/runtimeconfig/identity_config.json"
	RegistrationPath = "/var/lib/amazon/ssm/registration"
	AgentLogPath     = "/var/log/amazon/ssm/amazon-ssm-agent.log"
	HibernateLogPath = "/var/log/amazon/ssm/hibernate.log"
	DpkgStatusPath   = "/var/lib/dpkg/status"
	PackageName      = "amazon-ssm-agent"
)

// Read caps. Each bounds memory and time spent on one hostile or corrupt file.
const (
	// MaxConfigBytes caps the agent config; the shipped template is ~4 KiB.
	MaxConfigBytes = 1 << 20
	// MaxEnvironBytes caps /proc/<pid>/environ; ARG_MAX-sized environments
	// are far below it in practice.
	MaxEnvironBytes = 256 << 10
	// MaxLogTailBytes is how much of the end of a log file is read.
	MaxLogTailBytes = 1 << 20
	// MaxSmallFileBytes caps small JSON and /proc files (identity,
	// registration, comm, cmdline, snap.yaml).
	MaxSmallFileBytes = 64 << 10
	// MaxDpkgStatusBytes caps the streamed dpkg status database, which is a
	// few MiB on a large server.
	MaxDpkgStatusBytes = 64 << 20
	// MaxCommandOutputBytes caps what a command may print.
	MaxCommandOutputBytes = 64 << 10
)

// DefaultCommandTimeout bounds `amazon-ssm-agent -version` and `rpm -q`.
// Both print one line and exit; 5 s leaves room for a cold page cache on a
// throttled EBS volume while keeping the run far inside its 15 s deadline.
const DefaultCommandTimeout = 5 * time.Second

// Runner runs a command and returns its standard output. It must honour ctx.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// Options says where to look and what the inspection may do.
type Options struct {
	Root        string         // the probed host's "/"; "" means "/"
	ProcDir     string         // machine path of the process table to scan; "" means /proc when Root is "/", and no scan otherwise
	Exec        bool           // run `amazon-ssm-agent -version` and `rpm -q`; honoured only when Root is "/"
	Timeout     time.Duration  // per command; 0 means DefaultCommandTimeout
	BinaryPaths []string       // host paths of the agent binary, tried in order; nil means BinaryPath then SnapBinaryPath
	Location    *time.Location // zone of the agent's log timestamps, which carry none; nil means time.Local
	Run         Runner         // runs commands; nil means os/exec with output capped at MaxCommandOutputBytes

	afterScan func(pid int)                   // tests: called between the scan and the read of pid's environ
	mountInfo string                          // tests: the mountinfo file that says how ProcDir is mounted; "" means /proc/self/mountinfo
	ids       func() (euid int, groups []int) // tests: the probe's effective uid and groups; nil means the process's own
}

// Install kinds recorded in InstallEvidence.Kind.
const (
	KindBinary = "binary" // the agent binary exists
	KindSnap   = "snap"   // the amazon-ssm-agent snap is installed
	KindDpkg   = "dpkg"   // dpkg lists the package as installed
	KindRPM    = "rpm"    // rpm -q found the package
	KindUnit   = "unit"   // a systemd unit file exists
)

// Version sources recorded in VersionEvidence.Source, in order of preference.
const (
	SourceExec = "exec" // amazon-ssm-agent -version
	SourceDpkg = "dpkg" // /var/lib/dpkg/status
	SourceRPM  = "rpm"  // rpm -q --qf %{VERSION}
	SourceSnap = "snap" // meta/snap.yaml of the current snap revision
	SourceLog  = "log"  // the startup line in amazon-ssm-agent.log
)

// InstallEvidence is one sign that the agent is installed.
type InstallEvidence struct {
	Kind   string `json:"kind"`             // KindBinary, KindSnap, KindDpkg, KindRPM or KindUnit
	Path   string `json:"path"`             // host path that showed it
	Detail string `json:"detail,omitempty"` // e.g. the dpkg Status line
}

// VersionEvidence is one source's answer to "which version".
type VersionEvidence struct {
	Source  string `json:"source"`           // SourceExec … SourceLog
	Version string `json:"version"`          // as the source printed it
	Path    string `json:"path,omitempty"`   // the file or binary asked
	Detail  string `json:"detail,omitempty"` // e.g. the time of the log line
}

// Unit describes the agent's systemd unit as found in unit directories.
type Unit struct {
	Path    string `json:"path"`    // host path of the unit file
	Enabled bool   `json:"enabled"` // a multi-user.target.wants link exists
	Masked  bool   `json:"masked"`  // the unit is a link to /dev/null
}

// Process is one agent or worker process found in the process table.
type Process struct {
	PID   int    `json:"pid"`
	Name  string `json:"name"`            // amazon-ssm-agent, ssm-agent-worker, ssm-session-worker or ssm-document-worker
	By    string `json:"by"`              // which file named it: cmdline, exe or comm
	Exe   string `json:"exe,omitempty"`   // target of /proc/<pid>/exe when readable
	State string `json:"state,omitempty"` // the state letter of /proc/<pid>/stat (R, S, Z, …) when readable
	PPID  int    `json:"ppid,omitempty"`  // the parent's pid, from the same line
	// UIDs are the real and effective uid from /proc/<pid>/status, read
	// for amazon-ssm-agent processes.
	UIDs []int `json:"uids,omitempty"`
	// Unit is the systemd unit whose control group holds a counted
	// amazon-ssm-agent process (/proc/<pid>/cgroup), e.g.
	// amazon-ssm-agent.service; empty when no unit could be read.
	Unit string `json:"unit,omitempty"`
	// Excluded says why the process is not counted as this host's running
	// agent or worker (ExcludedExited, ExcludedOtherNamespace,
	// ExcludedOtherNetwork, ExcludedOtherMount, ExcludedNotRoot,
	// ExcludedNotAgentBinary, ExcludedUnverified); "" for a counted process.
	Excluded     string `json:"excluded,omitempty"`
	PIDNamespace string `json:"pid_namespace,omitempty"` // /proc/<pid>/ns/pid, for ExcludedOtherNamespace
	NetNamespace string `json:"net_namespace,omitempty"` // /proc/<pid>/ns/net, for ExcludedOtherNetwork
	// MntNamespace is /proc/<pid>/ns/mnt, for ExcludedOtherMount, and for
	// a counted agent in a mount namespace of its own that runs the host's
	// own binary (a systemd unit with PrivateTmp= or ProtectSystem=).
	MntNamespace string `json:"mnt_namespace,omitempty"`
	// Unread lists, for ExcludedUnverified, the files that could not be
	// read, each with its error class.
	Unread []string `json:"unread,omitempty"`
}

// Facts is everything Inspect learned about the agent. Tri-state fields come
// in pairs: a value and a Checked flag with a reason when it is false, so
// "could not look" never reads as "healthy".
type Facts struct {
	Root string `json:"root"`

	Installed  bool              `json:"installed"`
	Install    []InstallEvidence `json:"install,omitempty"`
	Units      []Unit            `json:"units,omitempty"`
	PackageDBs []string          `json:"package_dbs,omitempty"` // "dpkg:<path>", "rpm:<path>" for each database present

	Version       string            `json:"version,omitempty"`        // normalised, e.g. "3.3.1142.0"
	VersionSource string            `json:"version_source,omitempty"` // the Source of the chosen evidence
	Versions      []VersionEvidence `json:"versions,omitempty"`       // every source that answered

	RunningChecked bool      `json:"running_checked"`
	RunningReason  string    `json:"running_reason,omitempty"` // why not checked, e.g. "not checked: offline root"
	Running        bool      `json:"running"`
	PIDs           []int     `json:"pids,omitempty"`    // live amazon-ssm-agent processes of this host from an agent binary
	Agents         []Process `json:"agents,omitempty"`  // the same, with how each was identified
	Workers        []Process `json:"workers,omitempty"` // worker processes
	// Excluded are processes named like the agent or a worker that are not
	// counted: exited but not reaped, in another PID, network or mount
	// namespace, not run by root, not an agent binary, or not verifiable
	// (Process.Excluded says which).
	Excluded []Process `json:"excluded,omitempty"`
	// HostNamespaces are the namespaces the processes were compared with,
	// and whose they are; nil when the process table was not scanned.
	HostNamespaces *HostNamespaces `json:"host_namespaces,omitempty"`
	// HidePID is the hidepid= value of the proc mount when it hides root's
	// processes from the probe, which then did not scan (RunningReason).
	HidePID string `json:"hidepid,omitempty"`

	ProxyChecked bool      `json:"proxy_checked"`
	ProxyReason  string    `json:"proxy_reason,omitempty"` // why not checked, e.g. "not checked: needs root to read /proc/<pid>/environ"
	Proxy        *ProxyEnv `json:"proxy,omitempty"`        // nil when checked and no proxy variable is set

	Config           *ConfigOverrides `json:"config,omitempty"`            // nil when the file is absent or the agent would ignore it
	CredentialSource string           `json:"credential_source,omitempty"` // identity_config.json: EC2, SSM or None
	// SharedCredentials are identity_config.json's credential times and
	// share file; nil when it names none.
	SharedCredentials *SharedCredentials `json:"shared_credentials,omitempty"`
	// CredentialVars are the names (never the values) of the credential
	// variables set in the running agent's environment; read with the proxy.
	CredentialVars []string `json:"credential_vars,omitempty"`
	// CredentialFiles are root's shared credentials and config files whose
	// default profile gives credentials, CredentialDropIns the drop-ins of
	// the agent's unit that set a credential variable (names only).
	CredentialFiles   []CredentialFile `json:"credential_files,omitempty"`
	CredentialDropIns []CredentialFile `json:"credential_drop_ins,omitempty"`
	Registration      *Registration    `json:"registration,omitempty"` // hybrid activation, nil when absent
	Hibernation       *Hibernation     `json:"hibernation,omitempty"`  // nil when hibernate.log is absent

	Vault *Vault `json:"vault,omitempty"` // registration IDs in the agent's Vault (never key material); nil when it has none

	Notes    []string         `json:"notes,omitempty"`    // context that is neither evidence nor a problem
	Problems []rootfs.Problem `json:"problems,omitempty"` // files that could not be read or parsed
}

// ParsedVersion parses f.Version. It returns ErrNotVersion when no source
// gave a version.
func (f *Facts) ParsedVersion() (Version, error) { return ParseVersion(f.Version) }

// Inspect gathers the agent's facts. It never returns nil and never panics
// on bad input: unreadable or malformed files become Problems. When ctx is
// done it stops early and returns what it has, with a Problem saying so.
func Inspect(ctx context.Context, opt Options) *Facts {
	fsys := rootfs.FS{Root: opt.Root}
	f := &Facts{Root: fsys.Join("/")}
	in := &inspector{ctx: ctx, opt: opt, fs: fsys, f: f}
	if in.opt.Timeout <= 0 {
		in.opt.Timeout = DefaultCommandTimeout
	}
	if in.opt.Location == nil {
		in.opt.Location = time.Local
	}
	if in.opt.Run == nil {
		in.opt.Run = execRunner
	}
	if in.opt.BinaryPaths == nil {
		in.opt.BinaryPaths = []string{BinaryPath, SnapBinaryPath}
	}
	steps := []func(){in.install, in.versions, in.processes, in.config, in.identity, in.credentialFiles, in.credentialDropIns, in.registration, in.hibernation, in.vault}
	for _, step := range steps {
		if ctx.Err() != nil {
			f.Problems = append(f.Problems, rootfs.ProblemOf(f.Root, ctx.Err()))
			break
		}
		step()
	}
	f.Installed = len(f.Install) > 0
	return f
}

// inspector carries the state of one Inspect call.
type inspector struct {
	ctx context.Context
	opt Options
	fs  rootfs.FS
	f   *Facts
}

func (in *inspector) problem(p string, err error) {
	in.f.Problems = append(in.f.Problems, rootfs.ProblemOf(p, err))
}

func (in *inspector) live() bool { return in.fs.IsLive() }
