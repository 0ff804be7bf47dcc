package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// ConfigOverrides holds the values of amazon-ssm-agent.json that change
// which endpoints the agent talks to. Empty means "not overridden". The
// agent decodes the file with encoding/json, so key names match without
// regard to case (appconfig.Config in the agent source).
type ConfigOverrides struct {
	Path          string `json:"path"`
	Region        string `json:"region,omitempty"`         // Agent.Region
	ServiceDomain string `json:"service_domain,omitempty"` // Agent.ServiceDomain
	SsmEndpoint   string `json:"ssm_endpoint,omitempty"`   // Ssm.Endpoint
	MgsEndpoint   string `json:"mgs_endpoint,omitempty"`   // Mgs.Endpoint (ssmmessages)
	MdsEndpoint   string `json:"mds_endpoint,omitempty"`   // Mds.Endpoint (ec2messages)
	S3Endpoint    string `json:"s3_endpoint,omitempty"`    // S3.Endpoint
	KmsEndpoint   string `json:"kms_endpoint,omitempty"`   // Kms.Endpoint
}

// Any reports whether at least one override is set.
func (c *ConfigOverrides) Any() bool {
	if c == nil {
		return false
	}
	return c.Region != "" || c.ServiceDomain != "" || c.SsmEndpoint != "" || c.MgsEndpoint != "" ||
		c.MdsEndpoint != "" || c.S3Endpoint != "" || c.KmsEndpoint != ""
}

// agentConfigFile is the subset of the agent's SsmagentConfig we read.
type agentConfigFile struct {
	Agent struct{ Region, ServiceDomain string }
	Ssm   struct{ Endpoint string }
	Mgs   struct{ Endpoint string }
	Mds   struct{ Endpoint string }
	S3    struct{ Endpoint string }
	Kms   struct{ Endpoint string }
}

// ParseConfig parses the agent config. On malformed JSON, or a value of the
// wrong type, the agent prints "Failed to unmarshal config override. Fall
// back to default." and uses none of the file, so ParseConfig returns nil
// and the error; the caller records it as a Problem.
func ParseConfig(b []byte) (*ConfigOverrides, error) {
	var raw agentConfigFile
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	t := strings.TrimSpace
	return &ConfigOverrides{
		Path:   ConfigPath,
		Region: t(raw.Agent.Region), ServiceDomain: t(raw.Agent.ServiceDomain),
		SsmEndpoint: t(raw.Ssm.Endpoint), MgsEndpoint: t(raw.Mgs.Endpoint), MdsEndpoint: t(raw.Mds.Endpoint),
		S3Endpoint: t(raw.S3.Endpoint), KmsEndpoint: t(raw.Kms.Endpoint),
	}, nil
}

// readJSON reads a small file; it reports false when the file is absent and
// records a Problem for anything else that goes wrong.
func (in *inspector) readJSON(p string, max int64) ([]byte, bool) {
	b, err := in.fs.ReadFile(p, max)
	if err != nil {
		if !isNotExist(err) {
			in.problem(p, err)
		}
		return nil, false
	}
	return b, true
}

func (in *inspector) malformed(p string, err error) {
	in.f.Problems = append(in.f.Problems, rootfs.Problem{Path: p, Class: errclass.Malformed, Detail: err.Error()})
}

func (in *inspector) config() {
	b, ok := in.readJSON(ConfigPath, MaxConfigBytes)
	if !ok {
		return
	}
	c, err := ParseConfig(b)
	if err != nil {
		in.malformed(ConfigPath, fmt.Errorf("the agent falls back to its defaults: %w", err))
		return
	}
	in.f.Config = c
}

// Credential sources of identity_config.json (docs/AGENT-FACTS.md).
const (
	CredentialEC2  = "EC2"  // the instance profile
	CredentialSSM  = "SSM"  // Default Host Management Configuration
	CredentialNone = "None" // no credentials found
)

// ParseIdentity returns the CredentialSource of identity_config.json. Its
// credential timestamps and share file are ParseSharedCredentials'.
func ParseIdentity(b []byte) (string, error) {
	var raw struct{ CredentialSource string }
	if err := json.Unmarshal(b, &raw); err != nil {
		return "", err
	}
	return strings.TrimSpace(raw.CredentialSource), nil
}

func (in *inspector) identity() {
	b, ok := in.readJSON(IdentityPath, MaxSmallFileBytes)
	if !ok {
		return
	}
	src, err := ParseIdentity(b)
	if err != nil {
		in.malformed(IdentityPath, err)
		return
	}
	in.f.CredentialSource = src
	c, err := ParseSharedCredentials(b)
	if err != nil {
		in.malformed(IdentityPath, err)
		return
	}
	in.f.SharedCredentials = c
}

// Registration is a hybrid (on-premises) activation from
// /var/lib/amazon/ssm/registration. Other fields of the file are not kept.
type Registration struct {
	Path              string `json:"path"`
	ManagedInstanceID string `json:"managed_instance_id"` // mi-…
	Region            string `json:"region"`
}

// managedIDRE is the shape of a managed instance ID: "mi-" and 17 hex digits.
var managedIDRE = regexp.MustCompile(`^mi-[0-9a-f]{17}$`)

// ParseRegistration parses the registration file. It fails on malformed JSON
// and on a ManagedInstanceID that is not of the form mi-<17 hex digits>.
func ParseRegistration(b []byte) (*Registration, error) {
	var raw struct{ ManagedInstanceID, Region string }
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	r := &Registration{Path: RegistrationPath, ManagedInstanceID: strings.TrimSpace(raw.ManagedInstanceID), Region: strings.TrimSpace(raw.Region)}
	if !managedIDRE.MatchString(r.ManagedInstanceID) {
		return r, fmt.Errorf("ManagedInstanceID %q is not of the form mi-<17 hex digits>", r.ManagedInstanceID)
	}
	return r, nil
}

func (in *inspector) registration() {
	b, ok := in.readJSON(RegistrationPath, MaxSmallFileBytes)
	if !ok {
		return
	}
	r, err := ParseRegistration(b)
	if err != nil {
		in.malformed(RegistrationPath, err)
		if r == nil {
			return
		}
	}
	in.f.Registration = r
}

// Hibernation summarises hibernate.log. The agent hibernates when its
// health pings keep failing: it logs these lines and backs off its checks
// exponentially, up to an hour (docs/AGENT-FACTS.md).
type Hibernation struct {
	Path           string    `json:"path"`
	Hibernating    bool      `json:"hibernating"`               // at least one hibernation line
	Lines          int       `json:"lines"`                     // how many hibernation lines
	First          string    `json:"first,omitempty"`           // timestamp of the first line, as logged (local time, no zone)
	Last           string    `json:"last,omitempty"`            // timestamp of the last line, as logged
	LastTime       time.Time `json:"last_time,omitzero"`        // Last in Options.Location
	LastMessage    string    `json:"last_message,omitempty"`    // the message of the last line
	BackoffSeconds int       `json:"backoff_seconds,omitempty"` // from the last "Backing off health check to every N seconds"
	Truncated      bool      `json:"truncated,omitempty"`       // only the tail of the file was read
}

// hibernateMarkers are the messages that mean the agent hibernates.
func hibernateMarkers() []string {
	return []string{"Entering SSM Agent hibernate", "Agent is in hibernate mode", "Backing off health check to every"}
}

// backoffRE extracts the interval from "Backing off health check to every %v seconds for %v seconds."
var backoffRE = regexp.MustCompile(`Backing off health check to every (\d+) seconds`)

// hibernateLineRE splits a hibernate.log line. Agents write it in one of
// two seelog formats (docs/AGENT-FACTS.md, "Log line formats"): local time,
// "2006-01-02 15:04:05 LEVEL message", or UTC, "2006-01-02T15:04:05Z LEVEL
// message". Groups: the timestamp without fraction, "Z" for UTC, the level
// and the message.
var hibernateLineRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z?) +([A-Za-z]+) +(.*)$`)

// ParseHibernateLog summarises the lines of hibernate.log. Lines without a
// leading timestamp are ignored; loc is the zone of the local-time form.
func ParseHibernateLog(b []byte, loc *time.Location) Hibernation {
	var h Hibernation
	for _, line := range bytes.Split(b, []byte("\n")) {
		m := hibernateLineRE.FindSubmatch(bytes.TrimRight(line, "\r"))
		if m == nil {
			continue
		}
		msg := string(m[4])
		hit := false
		for _, mk := range hibernateMarkers() {
			hit = hit || strings.Contains(msg, mk)
		}
		if !hit {
			continue
		}
		h.Lines++
		stamp := string(m[1]) + string(m[2])
		if h.First == "" {
			h.First = stamp
		}
		h.Last, h.LastMessage = stamp, msg
		if bm := backoffRE.FindStringSubmatch(msg); bm != nil {
			h.BackoffSeconds, _ = strconv.Atoi(bm[1])
		}
	}
	h.Hibernating = h.Lines > 0
	if h.Last != "" {
		layout, in := "2006-01-02 15:04:05", loc
		if strings.HasSuffix(h.Last, "Z") {
			layout, in = "2006-01-02T15:04:05Z", time.UTC
		}
		if t, err := time.ParseInLocation(layout, h.Last, in); err == nil {
			h.LastTime = t
		}
	}
	return h
}

func (in *inspector) hibernation() {
	b, truncated, err := in.fs.ReadTail(HibernateLogPath, MaxLogTailBytes)
	if err != nil {
		if !isNotExist(err) {
			in.problem(HibernateLogPath, err)
		}
		return
	}
	h := ParseHibernateLog(b, in.opt.Location)
	h.Path, h.Truncated = HibernateLogPath, truncated
	in.f.Hibernation = &h
}
