//go:build linux

package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/prefs/prefstest"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// maxScenarioBytes caps one scenario file; the real ones are about 1 KiB.
const maxScenarioBytes = 1 << 20

// maxAgentFileBytes caps one agent file a scenario copies in (a log
// fixture); the real log excerpts are a few KiB.
const maxAgentFileBytes = 4 << 20

// Answer kinds a DNS server can give besides an address set.
const (
	AnswerNoData   = "nodata"   // NOERROR with no records
	AnswerNXDomain = "nxdomain" // name does not exist
	AnswerSilent   = "silent"   // no reply at all
	AnswerServFail = "servfail" // SERVFAIL: the server failed to resolve it
	AnswerRefused  = "refused"  // REFUSED: the server will not resolve it
	AnswerNotImp   = "notimp"   // NOTIMP: the server does not implement the query
)

// Scenario is one lab scenario, as read from scenarios/NAME.json.
type Scenario struct {
	Name   string `json:"name"`   // the file's base name
	Broken string `json:"broken"` // what is broken, for a person
	// IMDSMode is an imdstest.Mode; empty means v2-required.
	IMDSMode string `json:"imds_mode,omitempty"`
	// OnPremises makes the instance an on-premises server: no EC2 DMI or
	// hypervisor identity (an empty /sys/class), and nothing listens at
	// IMDS's address, so connections to it are refused.
	OnPremises bool `json:"on_premises,omitempty"`
	// IPv6Only gives the instance an IPv6-only subnet: no IPv4 address or
	// route, an IPv6 address and a default route to the infrastructure
	// namespace (which has no other link, so nothing leaves the lab).
	IPv6Only   bool     `json:"ipv6_only,omitempty"`
	ResolvConf []string `json:"resolv_conf,omitempty"` // the instance's /etc/resolv.conf lines; empty means "nameserver 10.0.0.2"
	Hosts      []string `json:"hosts,omitempty"`       // lines added to the instance's /etc/hosts
	VPCDNS     DNSSpec  `json:"vpc_dns"`               // AmazonProvidedDNS
	CorpDNS    *DNSSpec `json:"corp_dns,omitempty"`    // the corporate DNS at CorpDNSAddr; nil means none runs
	Firewall   []Rule   `json:"firewall,omitempty"`    // packets from the instance that are dropped
	// LocalLinks are interfaces of the instance besides its veth, as a
	// container runtime, a CNI or a VPN adds them: each a bridge with no
	// port, named and addressed as given ("docker0", "10.0.1.1/24"), whose
	// connected route the kernel installs. Traffic it takes never leaves
	// the instance.
	LocalLinks []LocalLink `json:"local_links,omitempty"`
	// DateOffset shifts every endpoint's clock ("-10m"): its HTTP Date
	// header, and the time against which it checks a SigV4 signature's
	// X-Amz-Date. The instance's clock is then off by minus that much.
	DateOffset string `json:"date_offset,omitempty"`
	Proxy      bool   `json:"proxy,omitempty"` // run the CONNECT proxy at ProxyAddr:ProxyPort
	// Prefs are the region's Session Manager preferences the endpoints
	// serve; nil means the account never saved any (no document).
	Prefs *PrefsSpec `json:"prefs,omitempty"`
	Agent AgentSpec  `json:"agent"`
	// FileAges dates files of the instance: host path -> how long before
	// the run it was last written ("10m35s"), for /etc/resolv.conf,
	// /etc/hosts and the agent files among Agent.Files. A scenario so
	// replays a change made on the host just before the agent broke.
	FileAges map[string]string `json:"file_ages,omitempty"`
	Want     Want              `json:"want"`
}

// LocalLink is one local interface of the instance (Scenario.LocalLinks).
type LocalLink struct {
	Name string `json:"name"` // the interface name, e.g. docker0, br-3f2a9c1d4e5b, wg0
	Addr string `json:"addr"` // its address and prefix, e.g. 10.0.1.1/24
}

// localLinkName is an interface name the lab may create: at most 15
// characters (IFNAMSIZ), not the lab's own prefix.
var localLinkName = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,14}$`)

// Validate checks the name and the address.
func (l LocalLink) Validate() error {
	if !localLinkName.MatchString(l.Name) || strings.HasPrefix(l.Name, NSPrefix) || l.Name == InstLink {
		return fmt.Errorf("local_links: name %q: 1 to 15 of [a-z0-9_.-], not the lab's own", l.Name)
	}
	p, err := netip.ParsePrefix(l.Addr)
	if err != nil || !p.Addr().Is4() || p.Bits() < 8 {
		return fmt.Errorf("local_links: %s addr %q: an IPv4 address with a prefix of /8 or longer", l.Name, l.Addr)
	}
	return nil
}

// Preferences documents a scenario can serve (PrefsSpec.Document).
const (
	// PrefsNone: there is no SSM-SessionManagerRunShell document, as in an
	// account whose Session Manager preferences were never saved; GetDocument
	// answers InvalidDocument and sessions use the defaults.
	PrefsNone = "none"
	// PrefsSaved: the document exists, as the console saves it, with the
	// PrefsSpec's inputs and every other input at its default.
	PrefsSaved = "saved"
)

// PrefsSpec is the region's Session Manager preferences (the document
// SSM-SessionManagerRunShell, AWS docs "Session document schema") and the
// state of the logging destinations they name. The camel-case fields are
// the document's inputs of the same name; the snake-case ones are the lab's
// world. The endpoints answer ssm:GetDocument, s3:HeadBucket and
// logs:DescribeLogGroups from it through prefstest, signed with the fake
// IMDS's role credentials.
type PrefsSpec struct {
	Document               string `json:"document"`                         // PrefsNone (or empty) or PrefsSaved
	S3BucketName           string `json:"s3BucketName,omitempty"`           // session logs go to this bucket
	BucketDeleted          bool   `json:"bucket_deleted,omitempty"`         // HeadBucket of it answers 404
	CloudWatchLogGroupName string `json:"cloudWatchLogGroupName,omitempty"` // session logs go to this log group
	LogGroupDeleted        bool   `json:"log_group_deleted,omitempty"`      // DescribeLogGroups does not list it
	KMSKeyID               string `json:"kmsKeyId,omitempty"`               // session data is encrypted with this key
	// DenyGetDocument makes ssm:GetDocument answer AccessDeniedException, as
	// for a role without AmazonSSMManagedInstanceCore, or an SCP, permissions
	// boundary or endpoint policy that denies it.
	DenyGetDocument bool `json:"deny_get_document,omitempty"`
	// DenyClause is the denial clause of that AccessDeniedException's
	// message (IAM User Guide, "Troubleshoot access denied error
	// messages"); empty means "because no identity-based policy allows the
	// ssm:GetDocument action".
	DenyClause       string `json:"deny_clause,omitempty"`
	RunAsEnabled     bool   `json:"runAsEnabled,omitempty"`     // sessions start as RunAsDefaultUser
	RunAsDefaultUser string `json:"runAsDefaultUser,omitempty"` // the Run As user
}

// maxLogGroupName is the longest CloudWatch Logs group name (CloudWatch
// Logs API reference, CreateLogGroup: logGroupName, 1 to 512 characters).
const maxLogGroupName = 512

// maxKMSKeyID bounds kmsKeyId: the AWS KMS API reference gives KeyId
// (a key ID, key ARN, alias name or alias ARN) 1 to 2048 characters.
const maxKMSKeyID = 2048

// Validate checks the preferences: a known document kind, no inputs
// without a document, valid destination names (S3 bucket naming rules;
// CloudWatch Logs group names of [.-_/#A-Za-z0-9], 1 to 512 characters),
// and no deleted destination that the preferences do not name.
func (p *PrefsSpec) Validate() error {
	if p == nil {
		return nil
	}
	if p.DenyClause != "" && (!p.DenyGetDocument || len(p.DenyClause) > 200 || strings.ContainsAny(p.DenyClause, "\n\"")) {
		return fmt.Errorf("prefs: deny_clause needs deny_get_document, and is one short line")
	}
	switch p.Document {
	case "", PrefsNone:
		if p.S3BucketName != "" || p.CloudWatchLogGroupName != "" || p.KMSKeyID != "" || p.BucketDeleted || p.LogGroupDeleted || p.RunAsEnabled || p.RunAsDefaultUser != "" {
			return fmt.Errorf("prefs: document %q has no inputs and no destinations; use %q", PrefsNone, PrefsSaved)
		}
		return nil
	case PrefsSaved:
	default:
		return fmt.Errorf("prefs: document %q: %s or %s", p.Document, PrefsNone, PrefsSaved)
	}
	if p.S3BucketName != "" && !prefstest.ValidBucketName(p.S3BucketName) {
		return fmt.Errorf("prefs: s3BucketName %q is not a valid bucket name", p.S3BucketName)
	}
	if p.BucketDeleted && p.S3BucketName == "" {
		return fmt.Errorf("prefs: bucket_deleted without s3BucketName")
	}
	if g := p.CloudWatchLogGroupName; g != "" && !validLogGroup(g) {
		return fmt.Errorf("prefs: cloudWatchLogGroupName %q is not a valid log group name", g)
	}
	if p.LogGroupDeleted && p.CloudWatchLogGroupName == "" {
		return fmt.Errorf("prefs: log_group_deleted without cloudWatchLogGroupName")
	}
	if len(p.KMSKeyID) > maxKMSKeyID || strings.ContainsAny(p.KMSKeyID, " \t\n\"") {
		return fmt.Errorf("prefs: kmsKeyId %q is not a key ID, alias or ARN", p.KMSKeyID)
	}
	if u := p.RunAsDefaultUser; u != "" && !runAsUserRE.MatchString(u) {
		return fmt.Errorf("prefs: runAsDefaultUser %q is not a user name", u)
	}
	return nil
}

// runAsUserRE is a portable user name (useradd(8): lower case, digits,
// underscore and hyphen, at most 32 characters).
var runAsUserRE = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// validLogGroup applies the CloudWatch Logs group name rule.
func validLogGroup(g string) bool {
	if len(g) > maxLogGroupName {
		return false
	}
	for _, r := range g {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/#", r)) {
			return false
		}
	}
	return g != ""
}

// Fake returns the prefstest configuration that serves p in the lab's
// region with the fake IMDS's credentials; dateOffset is the scenario's
// DateOffset, which moves the fake's clock, its Date headers and the
// window in which it accepts a signature's time alike. A nil p serves no
// document. Every named destination exists unless it is marked deleted.
func (p *PrefsSpec) Fake(dateOffset time.Duration) prefstest.Config {
	c := prefstest.Config{Region: Region, ClockOffset: dateOffset, RecordLimit: maxRecordedRequests}
	if p != nil {
		c.DenyGetDocument, c.DenyClause = p.DenyGetDocument, p.DenyClause
	}
	if p == nil || p.Document != PrefsSaved {
		return c
	}
	// The inputs the console saves, at their defaults (AWS docs, "Session
	// document schema"), with the scenario's destinations.
	c.Document = prefstest.Document(map[string]any{
		"s3BucketName":                p.S3BucketName,
		"s3KeyPrefix":                 "",
		"s3EncryptionEnabled":         false,
		"cloudWatchLogGroupName":      p.CloudWatchLogGroupName,
		"cloudWatchEncryptionEnabled": false,
		"cloudWatchStreamingEnabled":  p.CloudWatchLogGroupName != "",
		"idleSessionTimeout":          "20",
		"maxSessionDuration":          "",
		"kmsKeyId":                    p.KMSKeyID,
		"runAsEnabled":                p.RunAsEnabled,
		"runAsDefaultUser":            p.RunAsDefaultUser,
		"shellProfile":                map[string]string{"windows": "", "linux": ""},
	})
	if p.S3BucketName != "" && !p.BucketDeleted {
		c.Buckets = map[string]string{p.S3BucketName: Region}
	}
	if p.CloudWatchLogGroupName != "" && !p.LogGroupDeleted {
		c.LogGroups = []string{p.CloudWatchLogGroupName}
	}
	return c
}

// maxRecordedRequests caps what the endpoints' fake remembers of the
// requests it answered; the lab never reads them back, and one probe run
// sends a few dozen.
const maxRecordedRequests = 1000

// DNSSpec says how a DNS server answers the service names. Default and
// the Services values are an address set name (SetVPCE, …) or one of
// AnswerNoData, AnswerNXDomain, AnswerSilent, AnswerServFail,
// AnswerRefused, AnswerNotImp. Other names get NXDOMAIN, unless Other says
// otherwise.
type DNSSpec struct {
	Default  string            `json:"default"`
	Services map[string]string `json:"services,omitempty"` // per-service exceptions
	// Other answers every name that is not a service name, as a wildcard
	// record does: a service name with a search domain appended, say. It is
	// an IPv4 address inside the VPC CIDR, or one of the answer kinds.
	Other string `json:"other,omitempty"`
}

// Rule drops packets that arrive from the instance: to To (an address set
// name, an address, or "all"), on Port (0: any port) over Proto ("tcp",
// "udp", or "" for both).
type Rule struct {
	To    string `json:"to"`
	Port  int    `json:"port,omitempty"`
	Proto string `json:"proto,omitempty"`
	Why   string `json:"why,omitempty"` // the AWS object it plays, e.g. "endpoint security group without 443"
}

// AgentSpec describes the agent the instance has.
type AgentSpec struct {
	Installed bool     `json:"installed"`     // /usr/bin/amazon-ssm-agent exists and prints AgentVersion
	Running   bool     `json:"running"`       // /usr/bin/amazon-ssm-agent (and SecondBinary) runs (the fake agent, FakeAgentName)
	Env       []string `json:"env,omitempty"` // the running agent's environment (NAME=value)
	// SecondBinary installs the fake agent at a second install path too
	// (one of SecondBinaries), and Running starts it there beside the one
	// at /usr/bin: two agents from two install paths, as when a package
	// and a hand-copied binary, or two packagings, both start one.
	SecondBinary string `json:"second_binary,omitempty"`
	// Zombie leaves an amazon-ssm-agent process that has exited and that
	// its parent never reaps (state Z), as a killed agent is until then.
	Zombie bool `json:"zombie,omitempty"`
	// Unit installs the agent's systemd unit, enabled (UnitPath and its
	// multi-user.target.wants link). The lab runs no systemd: the service
	// reads as stopped unless Running starts the agent.
	Unit bool `json:"unit,omitempty"`
	// Files are extra files in the agent's directories: host path -> content,
	// or "@PATH" to copy PATH (relative to the repository root) in.
	Files map[string]string `json:"files,omitempty"`
	// LogDir is a folder of the repository (a capture of the real agent,
	// journal/testdata/real/NAME) to install as the agent's log directory:
	// its files go to /var/log/amazon/ssm, its identity_config.json to the
	// agent's runtimeconfig folder. RecentLogs retimes them like Files.
	LogDir string `json:"log_dir,omitempty"`
	// RecentLogs shifts the timestamps of the log files among Files so that
	// the last line is LogAge before the run: a real log excerpt then reads
	// as a fault the agent hit just now, not years ago.
	RecentLogs bool `json:"recent_logs,omitempty"`
}

// LogAge is how long before the run the last retimed log line lies: well
// inside the 15 minutes within which docs/FINDINGS.md calls a log fault recent.
const LogAge = 2 * time.Minute

// Want is what the probe must report.
type Want struct {
	Status string `json:"status"` // ok, warn, fail or unknown
	// Findings must all be present, each as "id" or "id/severity". A fail
	// finding that is not listed is unexpected.
	Findings []string `json:"findings"`
	// Absent lists findings ("id" or "id/severity") that must not appear,
	// whatever their severity.
	Absent []string `json:"absent,omitempty"`
	// ChangedBefore lists host paths the headline finding (the report's
	// first) must name among its changes_before, and it must carry since.
	ChangedBefore []string `json:"changed_before,omitempty"`
	// Names maps a finding ID to texts its summary, evidence or fix must
	// contain (the objects it must name); NotNames to texts they must not
	// (a wrong cause or fix). The finding must be present for either.
	Names    map[string][]string `json:"names,omitempty"`
	NotNames map[string][]string `json:"not_names,omitempty"`
	// MaxSeconds bounds the probe's wall time in this world, at the
	// default --timeout. Required, and at most MaxWall.
	MaxSeconds float64 `json:"max_seconds"`
	// ProbeBug, when set, says the probe is known to get this scenario wrong
	// and how (see the lab report). A mismatch is then reported as a known
	// probe bug, not a failure; a match is reported so the note is removed.
	ProbeBug string `json:"probe_bug,omitempty"`
	Comment  string `json:"comment,omitempty"` // why the expectation is what it is
}

// agentDirs are where a scenario may put agent files (docs/AGENT-FACTS.md).
var agentDirs = []string{"/etc/amazon/ssm/", "/var/log/amazon/ssm/", "/var/lib/amazon/ssm/"}

// Overlays are the host directories the instance sees through an overlay,
// so that the agent's files can be added without touching the host.
func Overlays() []string { return []string{"/etc", "/var/lib", "/var/log", "/usr/bin"} }

// AgentBinary is where the lab installs the fake agent: the deb's and the
// rpm's install path.
const AgentBinary = "/usr/bin/amazon-ssm-agent"

// SecondBinaries are the paths AgentSpec.SecondBinary may name: the agent's
// other install path outside the snap, SUSE's (aws/amazon-ssm-agent
// packaging/suse/amazon-ssm-agent.service:6), which the probe knows. Its
// directory is overlaid only for a scenario that names it.
var SecondBinaries = []string{"/usr/sbin/amazon-ssm-agent"}

// rootAWSFiles are root's AWS files a scenario may add (the credentials
// that take precedence over the instance role, docs/AGENT-FACTS.md); /root
// is overlaid only for a scenario that adds one.
var rootAWSFiles = []string{"/root/.aws/credentials", "/root/.aws/config"}

// overlays are Overlays, the directory of the agent's second binary when
// s names one, and /root when s adds one of rootAWSFiles.
func (s *Scenario) overlays() []string {
	out := Overlays()
	if b := s.Agent.SecondBinary; b != "" && !slices.Contains(out, path.Dir(b)) {
		out = append(out, path.Dir(b))
	}
	for p := range s.Agent.Files {
		if slices.Contains(rootAWSFiles, p) {
			return append(out, "/root")
		}
	}
	return out
}

// agentBinaries are the paths the fake agent is installed at, and started
// from when the agent runs: AgentBinary, then the second binary if any.
func (s *Scenario) agentBinaries() []string {
	out := []string{AgentBinary}
	if s.Agent.SecondBinary != "" {
		out = append(out, s.Agent.SecondBinary)
	}
	return out
}

// LoadScenario reads and validates one scenario file.
func LoadScenario(file string) (*Scenario, error) {
	fh, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxScenarioBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxScenarioBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxScenarioBytes)
	}
	var s Scenario
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if want := strings.TrimSuffix(filepath.Base(file), ".json"); s.Name != want {
		return nil, fmt.Errorf("%s: name %q differs from the file name %q", file, s.Name, want)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &s, nil
}

// LoadScenarios reads every *.json scenario in dir, sorted by name.
func LoadScenarios(dir string) ([]*Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no scenarios in %s", dir)
	}
	sort.Strings(files)
	var out []*Scenario
	for _, f := range files {
		s, err := LoadScenario(f)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Validate checks a scenario's values.
func (s *Scenario) Validate() error {
	if s.Name == "" || s.Broken == "" {
		return fmt.Errorf("name and broken are required")
	}
	if s.IMDSMode != "" && !validMode(s.IMDSMode) {
		return fmt.Errorf("imds_mode %q: one of %v", s.IMDSMode, imdstest.AllModes())
	}
	if s.OnPremises && s.IMDSMode != "" {
		return fmt.Errorf("imds_mode %q: an on-premises server has no IMDS", s.IMDSMode)
	}
	specs := []DNSSpec{s.VPCDNS}
	if s.CorpDNS != nil {
		specs = append(specs, *s.CorpDNS)
	}
	for _, d := range specs {
		if _, err := d.Zone(); err != nil {
			return err
		}
	}
	for _, r := range s.Firewall {
		if _, err := r.Addrs(); err != nil {
			return err
		}
		if r.Proto != "" && r.Proto != "tcp" && r.Proto != "udp" {
			return fmt.Errorf("firewall proto %q: tcp, udp or empty", r.Proto)
		}
		if r.Port < 0 || r.Port > 65535 {
			return fmt.Errorf("firewall port %d", r.Port)
		}
	}
	for _, l := range s.LocalLinks {
		if err := l.Validate(); err != nil {
			return err
		}
	}
	if len(s.LocalLinks) > 0 && s.IPv6Only {
		return fmt.Errorf("local_links: an IPv6-only instance has no IPv4 links")
	}
	if _, err := s.Offset(); err != nil {
		return err
	}
	if err := s.Prefs.Validate(); err != nil {
		return err
	}
	for p := range s.Agent.Files {
		if !agentPath(p) {
			return fmt.Errorf("agent file %q is outside %v and is not one of %v or %v", p, agentDirs, userFiles, rootAWSFiles)
		}
	}
	if (s.Agent.Running || s.Agent.Zombie || s.Agent.Unit) && !s.Agent.Installed {
		return fmt.Errorf("agent: running, zombie or unit needs installed (the fake agent binary)")
	}
	if b := s.Agent.SecondBinary; b != "" {
		if !slices.Contains(SecondBinaries, b) {
			return fmt.Errorf("agent.second_binary %q: one of %v (an agent install path besides %s)", b, SecondBinaries, AgentBinary)
		}
		if !s.Agent.Installed {
			return fmt.Errorf("agent.second_binary needs installed (the fake agent binary)")
		}
	}
	for _, e := range s.Agent.Env {
		if !strings.Contains(e, "=") {
			return fmt.Errorf("agent env %q is not NAME=value", e)
		}
	}
	switch s.Want.Status {
	case "ok", "warn", "fail", "unknown":
	default:
		return fmt.Errorf("want.status %q: ok, warn, fail or unknown", s.Want.Status)
	}
	for _, f := range append(append([]string{}, s.Want.Findings...), s.Want.Absent...) {
		if _, _, err := splitWant(f); err != nil {
			return err
		}
	}
	if _, err := s.HostExtras(); err != nil {
		return err
	}
	if _, err := s.Ages(); err != nil {
		return err
	}
	if s.Want.MaxSeconds <= 0 || s.Want.MaxSeconds > MaxWall.Seconds() {
		return fmt.Errorf("want.max_seconds %g: required, above 0 and at most %g", s.Want.MaxSeconds, MaxWall.Seconds())
	}
	return nil
}

// Ages parses FileAges.
func (s *Scenario) Ages() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for p, a := range s.FileAges {
		if _, ok := s.Agent.Files[p]; !ok && p != "/etc/resolv.conf" && p != "/etc/hosts" {
			return nil, fmt.Errorf("file_ages %q: /etc/resolv.conf, /etc/hosts or one of agent.files", p)
		}
		d, err := time.ParseDuration(a)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("file_ages %q: %q is not a duration >= 0", p, a)
		}
		out[p] = d
	}
	return out, nil
}

// userFiles are the files outside agentDirs a scenario may replace: the
// user database the Run As checks read, the system logs that tell of the
// agent being killed, and os-release (a Bottlerocket host).
var userFiles = []string{"/etc/passwd", "/etc/nsswitch.conf", "/var/log/messages", "/var/log/syslog", "/var/log/kern.log", "/etc/os-release"}

// agentPath reports whether p is a clean path inside one of agentDirs, or
// one of userFiles.
func agentPath(p string) bool {
	if path.Clean(p) != p {
		return false
	}
	if slices.Contains(userFiles, p) || slices.Contains(rootAWSFiles, p) {
		return true
	}
	for _, d := range agentDirs {
		if strings.HasPrefix(p, d) && len(p) > len(d) {
			return true
		}
	}
	return false
}

func validMode(m string) bool {
	for _, x := range imdstest.AllModes() {
		if string(x) == m {
			return true
		}
	}
	return false
}

// Offset parses DateOffset.
func (s *Scenario) Offset() (time.Duration, error) {
	if s.DateOffset == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s.DateOffset)
	if err != nil {
		return 0, fmt.Errorf("date_offset: %w", err)
	}
	return d, nil
}

// Zone turns the spec into a resolvtest zone for every service name.
func (d DNSSpec) Zone() (resolvtest.Zone, error) {
	z := resolvtest.Zone{}
	for _, svc := range servicesList {
		ans := d.Default
		if a, ok := d.Services[svc]; ok {
			ans = a
		}
		e, err := entry(ans, svc)
		if err != nil {
			return nil, err
		}
		z[Host(svc)] = e
	}
	if d.Other != "" {
		e, err := otherEntry(d.Other)
		if err != nil {
			return nil, err
		}
		z["*"] = e
	}
	for svc := range d.Services {
		if _, ok := z[Host(svc)]; !ok {
			return nil, fmt.Errorf("dns: unknown service %q", svc)
		}
	}
	return z, nil
}

// otherAddr returns the address of an Other answer, if it is one.
func otherAddr(answer string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(answer)
	return a, err == nil
}

// otherEntry is the resolvtest entry of DNSSpec.Other.
func otherEntry(answer string) (resolvtest.Entry, error) {
	if a, ok := otherAddr(answer); ok {
		if !a.Is4() || !netip.MustParsePrefix(VPCCIDR).Contains(a) {
			return resolvtest.Entry{}, fmt.Errorf("dns other: %s must be an IPv4 address inside %s", a, VPCCIDR)
		}
		return resolvtest.Entry{Addrs: []netip.Addr{a}}, nil
	}
	if slices.Contains(SetNames(), answer) {
		return resolvtest.Entry{}, fmt.Errorf("dns other: %q is per service; give one address", answer)
	}
	return entry(answer, "")
}

// entry is the resolvtest entry for one answer kind.
func entry(answer, service string) (resolvtest.Entry, error) {
	switch answer {
	case AnswerNoData:
		return resolvtest.Entry{}, nil
	case AnswerNXDomain, "":
		return resolvtest.Entry{Rcode: dns.RcodeNameError}, nil
	case AnswerSilent:
		return resolvtest.Entry{Silent: true}, nil
	case AnswerServFail:
		return resolvtest.Entry{Rcode: dns.RcodeServerFailure}, nil
	case AnswerRefused:
		return resolvtest.Entry{Rcode: dns.RcodeRefused}, nil
	case AnswerNotImp:
		return resolvtest.Entry{Rcode: dns.RcodeNotImplemented}, nil
	}
	a, err := SetAddr(answer, service)
	if err != nil {
		return resolvtest.Entry{}, fmt.Errorf("dns answer: %w", err)
	}
	return resolvtest.Entry{Addrs: []netip.Addr{a}}, nil
}

// Addrs returns the addresses a rule drops traffic to; nil means all.
func (r Rule) Addrs() ([]netip.Addr, error) {
	if r.To == "all" {
		return nil, nil
	}
	if as, err := SetAddrs(r.To); err == nil {
		return as, nil
	}
	var out []netip.Addr
	for _, f := range strings.Split(r.To, ",") {
		a, err := netip.ParseAddr(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("firewall to %q: an address set (%v), addresses or all", r.To, SetNames())
		}
		out = append(out, a)
	}
	return out, nil
}

// HostExtras returns the addresses named in the scenario's hosts lines that
// the infrastructure namespace does not already hold (a stale pin's old
// address), so that packets to them reach the firewall rather than being
// lost for lack of a route.
func (s *Scenario) HostExtras() ([]netip.Addr, error) {
	known := map[netip.Addr]bool{}
	for _, a := range InfraAddrs(nil) {
		known[a] = true
	}
	var out []netip.Addr
	for _, l := range s.Hosts {
		f := strings.Fields(l)
		if len(f) < 2 {
			return nil, fmt.Errorf("hosts line %q: want ADDRESS NAME…", l)
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			return nil, fmt.Errorf("hosts line %q: %w", l, err)
		}
		pfx := netip.MustParsePrefix(VPCCIDR)
		if !known[a] && !a.IsLoopback() {
			if !pfx.Contains(a) {
				return nil, fmt.Errorf("hosts line %q: a new address must be inside %s", l, VPCCIDR)
			}
			known[a] = true
			out = append(out, a)
		}
	}
	// A wildcard's address (DNSSpec.Other) is held too: something is there.
	specs := []DNSSpec{s.VPCDNS}
	if s.CorpDNS != nil {
		specs = append(specs, *s.CorpDNS)
	}
	for _, d := range specs {
		if a, ok := otherAddr(d.Other); ok && !known[a] {
			known[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// ResolvConfText is the instance's /etc/resolv.conf.
func (s *Scenario) ResolvConfText() string {
	lines := s.ResolvConf
	if len(lines) == 0 {
		lines = []string{"nameserver " + VPCResolver, "search " + Region + ".compute.internal"}
	}
	return "# ssm-probe lab, scenario " + s.Name + "\n" + strings.Join(lines, "\n") + "\n"
}

// HostsText is the instance's /etc/hosts.
func (s *Scenario) HostsText() string {
	base := "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n" +
		InstanceAddr + " ip-10-0-5-10." + Region + ".compute.internal ip-10-0-5-10\n"
	if len(s.Hosts) == 0 {
		return base
	}
	return base + strings.Join(s.Hosts, "\n") + "\n"
}

// ServerSpec is what the lab's server process serves inside the
// infrastructure namespace. It is written as JSON by the runner and read by
// `ssm-probe-lab serve`.
type ServerSpec struct {
	CAFile     string           `json:"ca_file"` // where Serve writes the generated CA's PEM
	DNS        []DNSServer      `json:"dns"`
	IMDS       netip.AddrPort   `json:"imds"` // invalid: no IMDS is served`
	IMDSMode   string           `json:"imds_mode"`
	Endpoints  []netip.AddrPort `json:"endpoints"` // TLS endpoints, one certificate for every service name
	DateOffset time.Duration    `json:"date_offset"`
	// Prefs are the preferences the endpoints serve (PrefsSpec.Fake); nil
	// means no document.
	Prefs *PrefsSpec `json:"prefs,omitempty"`
	Proxy *ProxySpec `json:"proxy,omitempty"`
}

// DNSServer is one DNS server of a ServerSpec.
type DNSServer struct {
	Addr netip.AddrPort  `json:"addr"`
	Zone resolvtest.Zone `json:"zone"`
}

// ProxySpec is the CONNECT proxy: where it listens and how it resolves
// the names it is asked for (a proxy resolves with its own DNS; the lab's
// knows the services' public addresses only).
type ProxySpec struct {
	Addr  netip.AddrPort        `json:"addr"`
	Hosts map[string]netip.Addr `json:"hosts"`
}

// Servers returns the scenario's ServerSpec; caFile is where the CA goes.
func (s *Scenario) Servers(caFile string) (*ServerSpec, error) {
	vz, err := s.VPCDNS.Zone()
	if err != nil {
		return nil, err
	}
	off, err := s.Offset()
	if err != nil {
		return nil, err
	}
	mode := s.IMDSMode
	if mode == "" {
		mode = string(imdstest.V2Required)
	}
	sp := &ServerSpec{
		CAFile: caFile,
		DNS: []DNSServer{
			{Addr: netip.AddrPortFrom(netip.MustParseAddr(VPCResolver), 53), Zone: vz},
			{Addr: netip.AddrPortFrom(netip.MustParseAddr(LinkResolver), 53), Zone: vz},
		},
		IMDS:       netip.AddrPortFrom(netip.MustParseAddr(IMDSAddr), 80),
		IMDSMode:   mode,
		DateOffset: off,
		Prefs:      s.Prefs,
	}
	if s.OnPremises {
		sp.IMDS, sp.IMDSMode = netip.AddrPort{}, ""
	}
	if s.CorpDNS != nil {
		cz, err := s.CorpDNS.Zone()
		if err != nil {
			return nil, err
		}
		sp.DNS = append(sp.DNS, DNSServer{Addr: netip.AddrPortFrom(netip.MustParseAddr(CorpDNSAddr), 53), Zone: cz})
	}
	for _, set := range SetNames() {
		as, _ := SetAddrs(set)
		for _, a := range as {
			sp.Endpoints = append(sp.Endpoints, netip.AddrPortFrom(a, 443))
		}
	}
	if s.Proxy {
		p := &ProxySpec{Addr: netip.AddrPortFrom(netip.MustParseAddr(ProxyAddr), ProxyPort), Hosts: map[string]netip.Addr{}}
		for _, svc := range servicesList {
			p.Hosts[Host(svc)], _ = SetAddr(SetPublic, svc)
		}
		sp.Proxy = p
	}
	return sp, nil
}

// LoadServerSpec reads a ServerSpec written by the runner.
func LoadServerSpec(file string) (*ServerSpec, error) {
	b, err := readCapped(file, maxScenarioBytes)
	if err != nil {
		return nil, err
	}
	var sp ServerSpec
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := sp.Prefs.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &sp, nil
}
