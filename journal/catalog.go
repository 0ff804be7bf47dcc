package journal

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/redact"
)

// Field is a bit set of the fields a pattern extracts from its entry.
type Field uint16

// The extractable fields.
const (
	FieldHost     Field = 1 << iota // service host name (from a URL, `lookup <host>`)
	FieldAddress                    // IP:port dialled (`dial tcp <ip>:<port>`, websocket peer)
	FieldURL                        // http(s)/wss URL
	FieldBucket                     // S3 bucket (s3://bucket/…, bucket.s3.<region>.amazonaws.com)
	FieldLogGroup                   // CloudWatch Logs log group name
	FieldAPI                        // API or operation name
	FieldValue                      // pattern-specific value (version, channel, proxy variable)
)

// Pattern is one row of the catalog: an entry that contains any of Literals
// (case-sensitive), none of Not, and matches Regexp when it is set, is an
// event of Kind.
type Pattern struct {
	Kind     Kind
	Literals []string       // fixed substrings, at least 11 bytes each (prefilter stride 8); any one admits the entry
	Not      []string       // fixed substrings that veto the pattern (a more specific kind owns the entry)
	Regexp   *regexp.Regexp // optional; must match; its first group, if any, is the FieldValue
	Extract  Field          // which fields to extract
	Class    errclass.Class // the class to record; None means derive it from the text (classify)
	API      string         // a fixed API name the message implies (e.g. GetMessages)
	Values   []string       // fixed FieldValues the message implies (e.g. which credential source failed); with Extract&FieldValue
	Accept   func(*Event) bool
}

// Fields holds what one entry names. Empty strings are absent fields.
type Fields struct {
	Hosts     []string
	Addresses []string
	URLs      []string
	Buckets   []string
	LogGroups []string
	APIs      []string
	Values    []string
}

// Event is one catalog match on one entry.
type Event struct {
	Kind   Kind
	Class  errclass.Class
	Fields Fields
}

// Catalog is a compiled pattern table with its prefilter. It is safe for
// concurrent use by Match.
type Catalog struct {
	patterns []Pattern
	pf       *prefilter
	litPats  [][]int   // literal index → pattern indexes
	bare     [][]Event // per pattern: its one event, prebuilt, when it extracts nothing (the frequent health-ping line); else nil
}

// agentServices are the services whose timeouts are log.endpoint-timeout.
var agentServiceHosts = []string{"ssm.", "ssmmessages.", "ec2messages."}

// onlyAgentHosts accepts an event that names no host, or names an ssm,
// ssmmessages or ec2messages host. Timeouts to s3, logs or kms belong to
// session logging, not to the agent's own channels.
func onlyAgentHosts(e *Event) bool {
	if len(e.Fields.Hosts) == 0 {
		return true
	}
	for _, h := range e.Fields.Hosts {
		for _, p := range agentServiceHosts {
			if strings.HasPrefix(h, p) {
				return true
			}
		}
	}
	return false
}

// notSessionAPIs rejects an access denial whose named APIs all belong to
// the services of session logging and encryption (s3, logs, kms): those are
// log.session-logging-blocked, not a role missing AmazonSSMManagedInstanceCore.
func notSessionAPIs(e *Event) bool {
	if len(e.Fields.APIs) == 0 {
		return true
	}
	for _, a := range e.Fields.APIs {
		if !strings.HasPrefix(a, "s3:") && !strings.HasPrefix(a, "logs:") && !strings.HasPrefix(a, "kms:") {
			return true
		}
	}
	return false
}

// DefaultPatterns returns the catalog's table: every message listed in
// docs/AGENT-FACTS.md ("Messages"). It builds a fresh table on each call.
func DefaultPatterns() []Pattern {
	hostAddr := hostAddrFields
	return append([]Pattern{
		{Kind: KindEndpointTimeout,
			Literals: []string{": i/o timeout", "connect: connection timed out", "Client.Timeout exceeded", "I/O timeout. Error:", "Client terminated MDS long poll connection"},
			Not:      []string{"lookup ", "read udp ", "[DataBackend]", "HTTP HEAD request failed", "s3://", "CloudWatch", "proxyconnect tcp"},
			Extract:  hostAddr, Class: errclass.Timeout, Accept: onlyAgentHosts},
		{Kind: KindSessionLoggingBlocked, Literals: []string{"HTTP HEAD request failed"}, Extract: hostAddr | FieldBucket},
		{Kind: KindSessionLoggingBlocked, Literals: []string{"Failed uploading ", "Failed to upload "},
			Regexp: regexp.MustCompile(`Failed (?:uploading|to upload) \S+ to s3://`), Extract: hostAddr | FieldBucket, API: "PutObject"},
		{Kind: KindSessionLoggingBlocked, Literals: []string{"Failed to upload shell session logs to S3"}, Extract: hostAddr | FieldBucket, API: "PutObject"},
		{Kind: KindSessionLoggingBlocked,
			Literals: []string{"CloudWatch log group specified in session preferences", "Error Calling DescribeLogGroups", "Error Calling CreateLogStream", "Error in PutLogEvents", "Failed to upload message to CloudWatch"},
			Regexp:   regexp.MustCompile(`Error (?:Calling|in) (\w+)|$`), Extract: hostAddr | FieldLogGroup | FieldAPI},
		{Kind: KindSessionLoggingBlocked,
			Literals: []string{"encryption is not set up on the selected", "unable to validate encryption on", "Error when decrypting data key"},
			Extract:  hostAddr | FieldBucket | FieldLogGroup},
		{Kind: KindS3Fallback, Literals: []string{"Signed HeadBucket request failed"}, Extract: hostAddr | FieldBucket, API: "HeadBucket"},
		// Credentials, by the source that failed (Values; docs/AGENT-FACTS.md,
		// "Credentials"). The EC2 role provider tries the instance profile,
		// then Default Host Management: aws/amazon-ssm-agent
		// common/identity/credentialproviders/ec2roleprovider/ec2_role_provider.go
		// (02a23568) :110 `Failed to connect to Systems Manager with instance
		// profile role credentials. Err: %v` (WARN; at DEBUG and in lower case
		// before 3.2), :96 `failed to retrieve instance profile role
		// credentials. Err: %w`, :113 `failed to call ssm:UpdateInstanceInformation
		// with instance profile role. Err: %w`; :123 `Failed to connect to
		// Systems Manager with SSM role credentials. %v` (ERROR at :145 in
		// 3.3.1142.0, as its errors.log names it); :131 `no valid credentials
		// could be retrieved for ec2 identity`, which 3.3.1142.0 follows with
		// `. Default Host Management Err: %v`. The success lines that share
		// these words (`Successfully connected with instance profile role
		// credentials`, :116) are KindCredentialSource, never an error.
		{Kind: KindCredentialsError,
			Literals: []string{"EC2RoleRequestError", "Failed to connect to Systems Manager with instance profile role credentials", "failed to connect to Systems Manager with instance profile role credentials",
				"failed to retrieve instance profile role credentials", "failed to call ssm:UpdateInstanceInformation with instance profile role"},
			Not:     []string{"Successfully connected with"},
			Extract: hostAddr | FieldValue, Values: []string{CredSourceInstanceProfile}},
		{Kind: KindCredentialsError,
			Literals: []string{"Failed to connect to Systems Manager with SSM role credentials", "failed to connect to Systems Manager with SSM role credentials", "Default Host Management Err:"},
			Not:      []string{"Successfully connected with"},
			Extract:  hostAddr | FieldValue, Values: []string{CredSourceDHMC}},
		{Kind: KindCredentialsError, Literals: []string{"no valid credentials could be retrieved for ec2 identity"},
			Extract: hostAddr | FieldValue, Values: []string{CredSourceInstanceProfile, CredSourceDHMC}},
		// The AWS SDK's error when no provider of its chain has credentials
		// (aws-sdk-go aws/credentials/chain_provider.go, ErrNoValidProvidersFoundInChain).
		{Kind: KindCredentialsError, Literals: []string{"NoCredentialProviders"}, Extract: hostAddr},
		// The credential source the agent settled on: ec2_role_provider.go
		// (02a23568) :116 (instance profile) and :126 (`Successfully connected
		// with Systems Manager role credentials`, Default Host Management).
		// Both follow a call to ssm that was answered.
		{Kind: KindCredentialSource, Literals: []string{"Successfully connected with instance profile role credentials"}, Class: errclass.None, Extract: FieldValue, Values: []string{"EC2"}},
		{Kind: KindCredentialSource, Literals: []string{"Successfully connected with Systems Manager role credentials"}, Class: errclass.None, Extract: FieldValue, Values: []string{"SSM"}},
		{Kind: KindDHMCNotConfigured, Literals: []string{"instance management role is not configured"}, Class: errclass.HTTPStatus, Extract: FieldAPI},
		{Kind: KindAccessDenied,
			Literals: []string{"AccessDeniedException", "Unauthorized request", "Request is not authenticated", "is not authorized to perform"},
			Not:      []string{"instance management role is not configured", "[DataBackend]", "Error when decrypting data key", "Fetching data key failed", "Unable to retrieve data key", "MachineFingerprintDoesNotMatch"},
			Class:    errclass.HTTPStatus, Extract: hostAddr | FieldAPI, Accept: notSessionAPIs},
		{Kind: KindDNSError, Literals: []string{": no such host"}, Class: errclass.NXDomain, Extract: FieldHost | FieldAddress | FieldURL},
		{Kind: KindDNSError, Literals: []string{"server misbehaving"}, Class: errclass.ServFail, Extract: FieldHost | FieldAddress | FieldURL},
		{Kind: KindDNSError, Literals: []string{": i/o timeout"},
			Regexp: regexp.MustCompile(`lookup \S+|read udp \S+:53: i/o timeout`), Class: errclass.Timeout, Extract: FieldHost | FieldAddress | FieldURL},
		{Kind: KindTLSError, Literals: []string{"x509: certificate", "x509: cannot validate", "tls: failed to verify certificate"},
			Not: []string{"proxyconnect tcp"}, Class: errclass.TLSUntrusted, Extract: hostAddr},
		{Kind: KindProxyError, Literals: []string{"proxyconnect tcp"}, Extract: hostAddr},
		{Kind: KindThrottled, Literals: []string{"ThrottlingException", "Unable to process due to throttling"}, Class: errclass.HTTPStatus, Extract: hostAddr | FieldAPI},
		// Hibernation: aws/amazon-ssm-agent agent/agent/agent.go, Hibernate
		// (`Entering SSM Agent hibernate - `), and agent/hibernation/hibernation.go:80
		// (`Agent is in hibernate mode. …`), :107 (`Health ping failed with
		// error - %v`), :144 (`Backing off health check to every %v seconds for
		// %v seconds.`); the last three go to hibernate.log, which the scan reads.
		{Kind: KindHibernating,
			Literals: []string{"Entering SSM Agent hibernate", "Agent is in hibernate mode", "Health ping failed with error", "Backing off health check to every"}},
		{Kind: KindConnectionRefused, Literals: []string{"connect: connection refused"}, Not: []string{"proxyconnect tcp"}, Class: errclass.Refused, Extract: hostAddr},
		{Kind: KindNetworkUnreachable, Literals: []string{"connect: no route to host", "connect: network is unreachable"}, Not: []string{"proxyconnect tcp"}, Class: errclass.Unreachable, Extract: hostAddr},
		{Kind: KindAPIError, Literals: []string{"error when calling AWS APIs", "RequestError: send request failed", "increasing error count by"},
			Not: []string{"[DataBackend]"}, Extract: hostAddr},
		// The shared credentials of the workers: aws/amazon-ssm-agent
		// common/identity/credentialproviders/sharedprovider/sharedprovider.go:82
		// (67a6d4ac, Retrieve), `shared credentials are already expired, they
		// were retrieved at %v and expired at %v`, both times RFC 3339.
		{Kind: KindCredentialsExpired, Literals: []string{"shared credentials are already expired"}, Class: errclass.Other},
		// The ssmmessages control channel: aws/amazon-ssm-agent
		// agent/messageservice/interactor/mgsinteractor/mgsinteractor.go:199
		// (Initialize, `Error setting up control channel: %v`; :202 `Set up
		// control channel successfully`, the KindControlChannelUp row below);
		// agent/session/controlchannel/controlchannel.go:93 (`Failed to get
		// controlchannel token, error: %s`) and :134 (`failed to reconnect to
		// the control channel with error: %v`, `… to the controlchannel …` in
		// older agents, 78e761a0), once the reconnect retries are spent.
		{Kind: KindControlChannelError,
			Literals: []string{"Failed to get controlchannel token", "CreateControlChannel failed", "createControlChannel request failed", "Error setting up control channel", "failed to reconnect to the control channel", "failed to reconnect to the controlchannel", "Failed to dial websocket", "I/O timeout. Error:"},
			Extract:  hostAddr},
		{Kind: KindMDSError, Literals: []string{"GetMessages Error"}, Extract: hostAddr, API: "GetMessages"},
		{Kind: KindMDSError, Literals: []string{"Client terminated MDS long poll connection"}, Class: errclass.Timeout, API: "GetMessages"},
		{Kind: KindControlChannelUp, Literals: []string{"Set up control channel successfully", "Successfully opened websocket connection to:"}, Class: errclass.None, Extract: hostAddr},
		{Kind: KindChannelInUse, Literals: []string{"SSM Connection channel status is set to"},
			Regexp: regexp.MustCompile(`SSM Connection channel status is set to (\w+)`), Extract: FieldValue},
		{Kind: KindAgentVersion, Literals: []string{"amazon-ssm-agent - v"},
			Regexp: regexp.MustCompile(`amazon-ssm-agent - v(\d+(?:\.\d+)+)`), Extract: FieldValue},
		// The successes the Timeline needs (timeline.go cites their source).
		{Kind: KindHealthPing, Literals: []string{"reporting agent health"}, Class: errclass.None},
		{Kind: KindHealthPingOK, Literals: []string{"UpdateInstanceInformation Response"}, Class: errclass.None, API: "UpdateInstanceInformation"},
		{Kind: KindCredentialsReady, Literals: []string{"Credentials ready"}, Class: errclass.None},
		{Kind: KindRegistered, Literals: []string{"Successfully registered the instance with AWS SSM"},
			Regexp: regexp.MustCompile(`(?:instance-id: (mi-[0-9a-f]+))?`), Class: errclass.None, Extract: FieldValue},
		// The EC2 registration of agents since 3.2 (the RegisterManagedInstance
		// call of the EC2 identity): aws/amazon-ssm-agent
		// common/identity/availableidentities/ec2/ec2_identity.go, Identity.Register:
		// :196 `Registering EC2 instance with Systems Manager` (the call
		// starts), :225 `EC2 registration was successful.`, :165
		// `Registration info found for ec2 instance` (registered before); and
		// core/app/registrar/registrar.go:110 (0ee892de) `failed to register
		// identity: %v`, whose cause (a timeout, a denial) the other rows read.
		{Kind: KindRegistered, Literals: []string{"EC2 registration was successful", "Registration info found for ec2 instance"}, Class: errclass.None},
		{Kind: KindRegistering, Literals: []string{"Registering EC2 instance with Systems Manager"}, Class: errclass.None},
		{Kind: KindRegistrationFailed, Literals: []string{"failed to register identity: "}, Extract: hostAddr},
		{Kind: KindProxyConfig, Literals: []string{" https_proxy: ", " http_proxy: ", " no_proxy: ", " HTTPS_PROXY: ", " HTTP_PROXY: ", " NO_PROXY: "},
			Regexp: regexp.MustCompile(`(?i)\b((?:https?|no)_proxy)\s*[:=]\s*"?([^\s"]*)`), Extract: FieldValue},
	}, agentMessagePatterns()...)
}

// agentMessagePatterns are the agent's own messages about its identity,
// credentials, session worker and IPC (the failures operators report
// most), each beside the place in the agent's public source that prints
// it. They are matched at every log level: the EC2 role provider logs its
// failures at DEBUG, and the scan reads DEBUG lines like any other.
func agentMessagePatterns() []Pattern {
	return append([]Pattern{
		// Registration and the OnPrem/EC2 identity choice: the agent tries the
		// identities in order (OnPrem first) and logs the one it takes.
		// aws/amazon-ssm-agent common/identity/identity_selector.go:88
		// (`Agent will take identity from %s`).
		{Kind: KindIdentitySelected, Literals: []string{"Agent will take identity from "},
			Regexp: regexp.MustCompile(`Agent will take identity from (\w+)`), Extract: FieldValue},
		// aws/amazon-ssm-agent common/identity/identity_selector.go:97
		// (`Agent failed to assume any identity`) and :108 (`failed to find
		// identity, retrying: %v`).
		{Kind: KindIdentityFailed, Literals: []string{"Agent failed to assume any identity", "failed to find identity, retrying"}},
		// A hybrid registration the Vault cannot serve: aws/amazon-ssm-agent
		// agent/managedInstances/registration/instance_info.go:205
		// (`Failed to load instance info from vault. %v`) and :208 (`Failed to
		// unmarshal instance info. %v`), logged through
		// `error while loading server info`.
		{Kind: KindRegistrationError, Literals: []string{"Failed to load instance info from vault", "Failed to unmarshal instance info"}},
		// ssm rejects the registration of a disk cloned from another machine:
		// aws/amazon-ssm-agent core/app/credentialrefresher/credentialrefresher.go:217-219
		// (ssm.ErrCodeMachineFingerprintDoesNotMatch, logged as `Retrieve
		// credentials produced unrecoverable aws error: %v`).
		{Kind: KindFingerprintChanged, Literals: []string{"MachineFingerprintDoesNotMatch"}, Class: errclass.HTTPStatus},
		// The credential refresher: aws/amazon-ssm-agent
		// core/app/credentialrefresher/credentialrefresher.go:219 (unrecoverable
		// aws error), :237 (`Retrieve credentials produced error: %v`); and the
		// EC2 role provider, which logs at DEBUG: aws/amazon-ssm-agent
		// common/identity/credentialproviders/ec2roleprovider/ec2_role_provider.go:67
		// (instance profile), :75 (Default Host Management, `failed to connect to
		// Systems Manager with SSM role credentials`), :82 (`no valid credentials
		// could be retrieved for ec2 identity`, already listed above).
		{Kind: KindCredentialsError,
			Literals: []string{"Retrieve credentials produced unrecoverable aws error", "Retrieve credentials produced error"},
			Not:      []string{"MachineFingerprintDoesNotMatch", "Not existing InstanceId", "RequestManagedInstanceRoleToken: InvalidInstanceId"}, Extract: hostAddrFields},
		// KMS session encryption: aws/amazon-ssm-agent
		// agent/session/datachannel/datachannel.go, ProcessKMSEncryptionHandshakeAction
		// (`Fetching data key failed: %s`), wrapping agent/crypto/blockcipher.go
		// UpdateEncryptionKey (`Unable to retrieve data key, %v`), whose cause
		// is KMS's answer, e.g. AccessDeniedException … kms:Decrypt. Values: the
		// key ARN; APIs: the denied action.
		{Kind: KindKMSDataKeyFailed, Literals: []string{"Fetching data key failed", "Unable to retrieve data key"},
			Regexp: regexp.MustCompile(`(?:(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)/[A-Za-z0-9/_-]+)|$)`), Extract: FieldValue | FieldAPI},
		// pty and Run As: aws/amazon-ssm-agent agent/session/shell/shell_unix.go:123
		// (`failed to start pty since RunAs user %s does not exist`) and :117
		// (`please set the RunAs default user`). Values: the user.
		{Kind: KindRunAsUserMissing, Literals: []string{"failed to start pty since RunAs user", "please set the RunAs default user"},
			Regexp: regexp.MustCompile(`(?:RunAs user (\S+) does not exist|please set the RunAs default user)`), Extract: FieldValue, Class: errclass.NotFound},
		// filewatcher IPC between the agent and its workers: aws/amazon-ssm-agent
		// common/filewatcherbasedipc/filewatcherchannel.go:90 (`filewatcher
		// listener encountered error when start watcher: %v`: inotify_init,
		// EMFILE when fs.inotify.max_user_instances is used up) and :96 (`… when
		// add watch: %v`: ENOSPC when max_user_watches is). Values: the error.
		{Kind: KindFilewatcherError, Literals: []string{"filewatcher listener encountered error when"},
			Regexp: regexp.MustCompile(`encountered error when (?:start watcher|add watch): ([^\n]+)`), Extract: FieldValue},
		// The session worker's data channel (a websocket to ssmmessages):
		// aws/amazon-ssm-agent agent/session/datachannel/datachannel.go, NewDataChannel
		// (`failed to create websocket for datachannel with error: %s`,
		// `failed to open datachannel with error: %s`), reported to the client as
		// `Setting up data channel with id %s failed: %s`.
		{Kind: KindDataChannelError,
			Literals: []string{"failed to create websocket for datachannel", "failed to open datachannel with error", "Setting up data channel with id"},
			Extract:  hostAddrFields},
		// ssm-user, made when Run As is off: aws/amazon-ssm-agent
		// agent/session/utility/utility_unix.go:79 (`Failed to create %s: %v`
		// after `useradd -m ssm-user`) and :99 (`Failed to add %s to sudoers
		// file: %v`).
		{Kind: KindSSMUserCreateFailed, Literals: []string{"Failed to create ssm-user", "Failed to add ssm-user to sudoers file"}},
	}, hybridNodePatterns()...)
}

// hybridNodePatterns are the messages of a hybrid (on-premises) node whose
// registration ssm no longer honours. The codes are ssm's own, passed
// through the AWS SDK's `Code: Message` error text.
func hybridNodePatterns() []Pattern {
	return []Pattern{
		// A deregistered node: the hybrid identity's credentials call fails,
		// aws/amazon-ssm-agent common/identity/availableidentities/onprem/role_provider.go:58
		// (`error occurred in RequestManagedInstanceRoleToken: %v`), with ssm's
		// InvalidInstanceId (`Not existing InstanceId mi-…`); the health check
		// then hibernates with the same error (`Entering SSM Agent hibernate - `,
		// agent/agent/agent.go). Values: the mi- ID the message names.
		{Kind: KindNodeDeregistered, Literals: []string{"Not existing InstanceId", "RequestManagedInstanceRoleToken: InvalidInstanceId"},
			Regexp: regexp.MustCompile(`(?:InstanceId (mi-[0-9a-f]{8,17})\b|$)`), Class: errclass.HTTPStatus, Extract: FieldValue},
		// Registering with an activation: aws/amazon-ssm-agent core/agent_parser.go:130
		// (`Registration failed due to %v`) wrapping :189 (`error registering
		// the instance with AWS SSM. %v`), whose cause is ssm's answer to
		// RegisterManagedInstance. Values: the code.
		{Kind: KindActivationRejected, Literals: []string{"ActivationExpired", "InvalidActivation"},
			Regexp: regexp.MustCompile(`\b(ActivationExpired|InvalidActivationId|InvalidActivation)\b`), Class: errclass.HTTPStatus, Extract: FieldValue},
	}
}

// hostAddrFields are the fields of a message about a connection.
const hostAddrFields = FieldHost | FieldAddress | FieldURL

// NewCatalog compiles a pattern table. It fails on a pattern without literals
// or with a literal shorter than 4 bytes.
func NewCatalog(patterns []Pattern) (*Catalog, error) {
	c := &Catalog{patterns: patterns}
	index := map[string]int{}
	var lits []string
	for i, p := range patterns {
		if len(p.Literals) == 0 {
			return nil, fmt.Errorf("pattern %d (%s) has no literal", i, p.Kind)
		}
		for _, l := range p.Literals {
			j, ok := index[l]
			if !ok {
				j = len(lits)
				index[l] = j
				lits = append(lits, l)
				c.litPats = append(c.litPats, nil)
			}
			c.litPats[j] = append(c.litPats[j], i)
		}
	}
	pf, err := newPrefilter(lits)
	if err != nil {
		return nil, err
	}
	c.pf = pf
	c.bare = make([][]Event, len(patterns))
	for i, p := range patterns {
		if p.Extract == 0 && p.Regexp == nil && len(p.Not) == 0 && p.Accept == nil && p.API == "" && (p.Class != errclass.None || informative(p.Kind)) {
			c.bare[i] = []Event{{Kind: p.Kind, Class: p.Class}}
		}
	}
	return c, nil
}

// DefaultCatalog compiles DefaultPatterns. The table is fixed and tested, so
// it cannot fail.
func DefaultCatalog() *Catalog {
	c, err := NewCatalog(DefaultPatterns())
	if err != nil {
		panic("journal: default catalog: " + err.Error()) // covered by TestDefaultCatalog
	}
	return c
}

// Matcher holds the scratch space of one goroutine's matching.
type Matcher struct {
	c      *Catalog
	seen   []bool
	hitPat []bool
	hits   []int
	pats   []int   // scratch: the hit patterns in table order
	out    []Event // the result buffer Match returns
	// memo holds the events of recent entry bodies (the text after the
	// agent's timestamp): error-heavy logs repeat a few errors thousands of
	// times, and the field extractors' expressions cost far more than a
	// map lookup. The events depend on the text only, and no pattern looks
	// at the timestamp. Cleared when it reaches memoSize.
	memo map[string][]Event
}

// memoSize bounds Matcher.memo: distinct error bodies in a log are few
// (a few hundred at most in the agent's logs), and each entry is capped.
const memoSize = 512

// NewMatcher returns a Matcher for c. A Matcher is not safe for concurrent
// use; make one per goroutine.
func (c *Catalog) NewMatcher() *Matcher {
	return &Matcher{c: c, seen: make([]bool, len(c.pf.lits)), hitPat: make([]bool, len(c.patterns))}
}

// Match returns the events of one entry's text (all its lines, joined by
// '\n'), at most one per kind, in catalog order. It returns nil, without
// allocating, when no literal occurs in text. The slice is the Matcher's or
// the Catalog's: valid until the next Match, and not to be modified.
func (m *Matcher) Match(text []byte) []Event {
	m.hits = m.hits[:0]
	m.c.pf.find(text, m.seen, m.onLit)
	if len(m.hits) == 0 {
		return nil
	}
	clear(m.seen)
	for _, i := range m.hits {
		m.hitPat[i] = false
	}
	// Patterns in table order, so the result is deterministic.
	if len(m.hits) == 1 && m.c.bare[m.hits[0]] != nil {
		return m.c.bare[m.hits[0]] // shared and read-only: no copy for the commonest hit
	}
	body := text[timestampLen(text):]
	if evs, ok := m.memo[string(body)]; ok {
		return evs // read-only, like every result
	}
	evs := m.match(text)
	if m.memo == nil || len(m.memo) >= memoSize {
		m.memo = make(map[string][]Event, memoSize)
	}
	m.memo[string(body)] = slices.Clone(evs) // m.out is reused by the next match
	return evs
}

// timestampLen is the length of the agent's leading "2006-01-02 15:04:05"
// timestamp (with any fraction and the space after it), or 0.
func timestampLen(t []byte) int {
	if len(t) < 20 || t[4] != '-' || t[7] != '-' || t[10] != ' ' || t[13] != ':' || t[16] != ':' {
		return 0
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
		if t[i] < '0' || t[i] > '9' {
			return 0
		}
	}
	n := 19
	for n < len(t) && (t[n] == '.' || t[n] >= '0' && t[n] <= '9') {
		n++
	}
	if n < len(t) && t[n] == ' ' {
		n++
	}
	return n
}

// match computes the events of text, whose literals' patterns are in
// m.hits, into m.out.
func (m *Matcher) match(text []byte) []Event {
	m.pats = append(m.pats[:0], m.hits...)
	sortInts(m.pats)
	out := m.out[:0]
	for _, i := range m.pats {
		p := &m.c.patterns[i]
		if containsAny(text, p.Not) {
			continue
		}
		var value []string
		if p.Regexp != nil {
			sm := p.Regexp.FindSubmatch(text)
			if sm == nil {
				continue
			}
			if p.Kind == KindProxyConfig {
				// Redact the whole entry first: a password holding a blank
				// would end the match inside the password.
				for _, mm := range p.Regexp.FindAllSubmatch([]byte(redact.Text(string(text))), 8) {
					value = append(value, strings.ToLower(string(mm[1]))+"="+string(mm[2]))
				}
			} else if len(sm) > 1 && len(sm[1]) > 0 {
				value = append(value, string(sm[1]))
			}
		}
		ev := Event{Kind: p.Kind, Class: p.Class, Fields: extract(text, p.Extract)}
		if p.Extract&FieldValue != 0 {
			ev.Fields.Values = appendDistinct(value, p.Values...)
		} else if p.Extract&FieldAPI != 0 && len(value) > 0 {
			ev.Fields.APIs = appendDistinct(ev.Fields.APIs, value...)
		}
		if p.API != "" {
			ev.Fields.APIs = appendDistinct(ev.Fields.APIs, p.API)
		}
		if p.Class == errclass.None && !informative(p.Kind) {
			ev.Class = classify(text)
			if ev.Class == errclass.Other && p.Kind == KindHibernating {
				ev.Class = errclass.None // backing off is a state, not an error
			}
		}
		if p.Accept != nil {
			// A copy for the call, so that ev itself stays off the heap
			// for the patterns without Accept (the frequent ones).
			evc := ev
			if !p.Accept(&evc) {
				continue
			}
			ev = evc
		}
		out = mergeEvent(out, ev)
	}
	m.out = out
	if len(out) == 0 {
		return nil
	}
	return out
}

// informative reports whether a kind describes the agent rather than a
// failure, so that it carries no error class.
func informative(k Kind) bool {
	switch k {
	case KindControlChannelUp, KindChannelInUse, KindAgentVersion, KindProxyConfig,
		KindHealthPing, KindHealthPingOK, KindCredentialsReady, KindRegistered, KindIdentitySelected,
		KindCredentialSource, KindRegistering:
		return true
	}
	return false
}

func (m *Matcher) onLit(lit int) {
	for _, p := range m.c.litPats[lit] {
		if !m.hitPat[p] {
			m.hitPat[p] = true
			m.hits = append(m.hits, p)
		}
	}
}

// mergeEvent adds ev to out, merging it into an event of the same kind.
func mergeEvent(out []Event, ev Event) []Event {
	for i := range out {
		if out[i].Kind == ev.Kind {
			f := &out[i].Fields
			f.Hosts = appendDistinct(f.Hosts, ev.Fields.Hosts...)
			f.Addresses = appendDistinct(f.Addresses, ev.Fields.Addresses...)
			f.URLs = appendDistinct(f.URLs, ev.Fields.URLs...)
			f.Buckets = appendDistinct(f.Buckets, ev.Fields.Buckets...)
			f.LogGroups = appendDistinct(f.LogGroups, ev.Fields.LogGroups...)
			f.APIs = appendDistinct(f.APIs, ev.Fields.APIs...)
			f.Values = appendDistinct(f.Values, ev.Fields.Values...)
			return out
		}
	}
	return append(out, ev)
}

func containsAny(s []byte, lits []string) bool {
	for _, l := range lits {
		if bytes.Contains(s, []byte(l)) {
			return true
		}
	}
	return false
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func appendDistinct(dst []string, vals ...string) []string {
outer:
	for _, v := range vals {
		if v == "" {
			continue
		}
		for _, d := range dst {
			if d == v {
				continue outer
			}
		}
		dst = append(dst, v)
	}
	return dst
}
