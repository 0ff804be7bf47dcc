package observe

import (
	"context"
	"crypto/x509"
	"net"
	"net/netip"
	"time"

	"github.com/rs/zerolog"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
	"github.com/ssm-probe/ssm-probe/probe/winhost"
)

// Timeouts and limits. Each default is a named constant so that the
// relations between them can be checked (TestTimeoutsFit).
const (
	// DefaultTimeout bounds one network attempt (one DNS query, one TCP
	// connect, one HTTP request). Two seconds is well above a healthy
	// in-VPC round trip (under 10 ms) and keeps a black hole cheap.
	DefaultTimeout = 2 * time.Second

	// DefaultDeadline caps the whole run (docs/INTERFACE.md). A person at a
	// serial console should get a verdict in seconds, never minutes.
	DefaultDeadline = 15 * time.Second

	// renderReserve is kept back from the deadline for diagnosis and
	// rendering, so that the report still prints inside --deadline even
	// when every check runs to the end of its budget.
	renderReserve = 250 * time.Millisecond

	// logShare is the part of the run's time the log scan may take: it
	// runs beside the live checks, never before them, and when its budget
	// runs out it stops and says how far it got. Half leaves the network
	// checks the whole run and still reads 512 MiB at a few hundred MB/s.
	logShare = 2

	// DefaultMaxConcurrent caps the checks (and so the sockets) in flight
	// at once. Far below any file-descriptor limit, and far below the
	// 1024 packets/s AmazonProvidedDNS allows an interface (docs/AGENT-FACTS.md).
	DefaultMaxConcurrent = 32
)

// DefaultIMDSEndpoint is the instance metadata service's IPv4 address.
const DefaultIMDSEndpoint = "http://169.254.169.254"

// Dialer opens network connections. *net.Dialer satisfies it; tests and
// the lab inject their own.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// Config injects the world into a run. The zero value is not usable: call
// Defaults, then override fields. No check reads a path, address or clock
// from anywhere but here.
type Config struct {
	Root           string         // file-system root the host files are read under ("/")
	ResolvConf     string         // resolv.conf path, relative to Root ("/etc/resolv.conf")
	Hosts          string         // hosts file path, relative to Root ("/etc/hosts")
	NSSwitch       string         // nsswitch.conf path, relative to Root ("/etc/nsswitch.conf")
	ProcDir        string         // process table to scan for the agent; empty means /proc on the live root
	IMDSEndpoint   string         // base URL of the instance metadata service
	VPCDNS         []netip.Addr   // AmazonProvidedDNS addresses; empty means derive them from the VPC CIDR
	DNSPort        int            // port DNS servers are asked on (53)
	EndpointPort   int            // port the service endpoints are dialled on (443)
	RootCAs        *x509.CertPool // roots for endpoint TLS; nil means the system roots (SSL_CERT_FILE honoured)
	Dialer         Dialer         // dials every TCP connection of the network checks
	Now            func() time.Time
	Timeout        time.Duration  // one network attempt
	Deadline       time.Duration  // the whole run
	Region         string         // --region override; empty means discover it
	Since          time.Duration  // how far back to read the agent's logs (0: everything)
	LogPaths       []string       // explicit log files or directories (ssm-probe logs PATH...); empty: the agent's own
	NoJournal      bool           // do not read the systemd journal
	JournalctlPath string         // journalctl to run; empty: from PATH
	Location       *time.Location // zone of the agent's zone-less log timestamps; nil: the local zone
	Live           bool           // run live checks (network, /proc); false for an offline --root
	Offline        bool           // the host files come from another machine (--root other than "/")
	MaxConcurrent  int            // checks in flight at once
	NoAPI          bool           // --no-api: make no signed AWS API call (the session preferences are not read)
	SigningDNS     []netip.Addr   // under --root X --live: the nameservers that resolve signed calls' endpoints; empty: the running host's own /etc/resolv.conf and /etc/hosts
	LogBudget      time.Duration  // time the log scan may take beside the live checks; 0: (Deadline - render reserve) / logShare
	// Windows, when set, makes the run probe a Windows host through it
	// (package winhost): the Windows fact checks replace the Linux ones,
	// and the agent's logs are read from its Windows folder. The Windows
	// build's default is the running system; elsewhere it is nil.
	Windows   winhost.Source
	trustRoot bool // tests only: the temporary root stands for the live root's own files (TrustedForSigning)
	Log       zerolog.Logger
}

// Defaults returns a Config for probing the machine it runs on.
func Defaults() Config {
	return Config{
		Root:          "/",
		ResolvConf:    "/etc/resolv.conf",
		Hosts:         "/etc/hosts",
		NSSwitch:      "/etc/nsswitch.conf",
		IMDSEndpoint:  DefaultIMDSEndpoint,
		DNSPort:       53,
		EndpointPort:  443,
		Dialer:        &net.Dialer{},
		Now:           time.Now,
		Timeout:       DefaultTimeout,
		Deadline:      DefaultDeadline,
		Since:         DefaultSince,
		Live:          true,
		MaxConcurrent: DefaultMaxConcurrent,
		Log:           zerolog.Nop(),
		Windows:       defaultWindowsSource(),
	}
}

// FS returns the host's file system under the configured root. Every read
// of a host file goes through it, so that under --root no symbolic link,
// "..", or absolute link target leads out of the volume (package rootfs).
func (c *Config) FS() rootfs.FS { return rootfs.FS{Root: c.Root} }

// TrustedForSigning reports whether the host files decide where signed
// requests and credentials go. Only the live root's do: under --root X
// --live the files come from a volume someone else wrote, whose endpoint,
// region and domain overrides, hosts file, proxy settings and CA bundle
// must never choose where the rescue host's credentials are sent. Signed
// calls then go to the standard <service>.<region>.<partition domain>
// names, resolved by the running host (SigningDNS), directly. Code that
// picks a destination, a proxy or a CA for a signed call consults this.
func (c *Config) TrustedForSigning() bool { return c.FS().IsLive() || c.trustRoot }

// logBudget is the time the log scan of a full run may take.
func (c *Config) logBudget() time.Duration {
	if c.LogBudget > 0 {
		return c.LogBudget
	}
	return (c.Deadline - renderReserve) / logShare
}

// normalize fills the fields a caller left at their zero value.
func (c *Config) normalize() {
	d := Defaults()
	if c.Root == "" {
		c.Root = d.Root
	}
	if c.ResolvConf == "" {
		c.ResolvConf = d.ResolvConf
	}
	if c.Hosts == "" {
		c.Hosts = d.Hosts
	}
	if c.NSSwitch == "" {
		c.NSSwitch = d.NSSwitch
	}
	if c.IMDSEndpoint == "" {
		c.IMDSEndpoint = d.IMDSEndpoint
	}
	if c.DNSPort == 0 {
		c.DNSPort = d.DNSPort
	}
	if c.EndpointPort == 0 {
		c.EndpointPort = d.EndpointPort
	}
	if c.Dialer == nil {
		c.Dialer = d.Dialer
	}
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.Deadline <= 0 {
		c.Deadline = d.Deadline
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = d.MaxConcurrent
	}
}
