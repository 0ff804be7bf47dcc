package probe

// The finding IDs of docs/FINDINGS.md. They are a contract: scripts, health
// checks and dashboards key on them. Never change the meaning of one, never
// reuse one. Every ID here has exactly one catalog entry (catalog.go);
// TestCatalogComplete enforces it.
const (
	DNSVPCResolverSilent      ID = "dns.vpc-resolver-silent"
	DNSEndpointResolvesPub    ID = "dns.endpoint-resolves-public"
	DNSResolverBypassesVPC    ID = "dns.resolver-bypasses-vpc"
	DNSEndpointNoAddress      ID = "dns.endpoint-no-address"
	DNSHostsOverride          ID = "dns.hosts-override"
	DNSHostsStale             ID = "dns.hosts-stale"
	DNSNameserverUnresponsive ID = "dns.nameserver-unresponsive"
	DNSStubResolver           ID = "dns.stub-resolver"

	NetEndpointBlocked         ID = "net.endpoint-blocked"
	NetNoRoute                 ID = "net.no-route"
	NetConnectionRefused       ID = "net.connection-refused"
	NetTLSFailed               ID = "net.tls-failed"
	NetProxyFailed             ID = "net.proxy-failed"
	NetProxyIMDSNotExcluded    ID = "net.proxy-imds-not-excluded"
	NetClockSkew               ID = "net.clock-skew"
	NetOptionalEndpointUnreach ID = "net.optional-endpoint-unreachable"

	IMDSUnreachable      ID = "imds.unreachable"
	IMDSTokenTimeout     ID = "imds.token-timeout"
	IMDSDisabled         ID = "imds.disabled"
	IAMNoInstanceProfile ID = "iam.no-instance-profile"
	IAMCredsUnavailable  ID = "iam.credentials-unavailable"

	AgentNotInstalled     ID = "agent.not-installed"
	AgentNotRunning       ID = "agent.not-running"
	AgentOutdated         ID = "agent.outdated"
	AgentHibernating      ID = "agent.hibernating"
	AgentEndpointOverride ID = "agent.endpoint-override"
	HostDiskFull          ID = "host.disk-full"

	LogEndpointTimeout       ID = "log.endpoint-timeout"
	LogSessionLoggingBlocked ID = "log.session-logging-blocked"
	LogCredentialsError      ID = "log.credentials-error"
	LogAccessDenied          ID = "log.access-denied"
	LogDNSError              ID = "log.dns-error"
	LogTLSError              ID = "log.tls-error"
	LogProxyError            ID = "log.proxy-error"
	LogThrottled             ID = "log.throttled"

	// Added by this project (documented in docs/FINDINGS.md, "Added by this project").
	ProbeIncomplete ID = "probe.incomplete"
	IMDSUnusable    ID = "imds.unusable"
	HostResolvConf  ID = "host.resolv-conf-problem"

	// Session preferences (issue 10; documented in docs/FINDINGS.md).
	PrefsS3BucketMissing        ID = "prefs.s3-bucket-missing"
	PrefsLogGroupMissing        ID = "prefs.log-group-missing"
	PrefsLoggingEndpointUnreach ID = "prefs.logging-endpoint-unreachable"
	PrefsUnreadable             ID = "prefs.unreadable"

	// The agent path (issue 13; documented in docs/FINDINGS.md).
	ProbeUnexplained    ID = "probe.unexplained"
	DNSResolverError    ID = "dns.resolver-error"
	DNSSearchListHijack ID = "dns.search-list-hijack"
	IAMSSMAccessDenied  ID = "iam.ssm-access-denied"
)

// AllIDs returns every ID constant above, in catalog order.
func AllIDs() []ID {
	return []ID{
		DNSVPCResolverSilent, DNSEndpointResolvesPub, DNSResolverBypassesVPC, DNSEndpointNoAddress,
		DNSHostsOverride, DNSHostsStale, DNSNameserverUnresponsive, DNSStubResolver,
		NetEndpointBlocked, NetNoRoute, NetConnectionRefused, NetTLSFailed, NetProxyFailed,
		NetProxyIMDSNotExcluded, NetClockSkew, NetOptionalEndpointUnreach,
		IMDSUnreachable, IMDSTokenTimeout, IMDSDisabled, IAMNoInstanceProfile, IAMCredsUnavailable,
		AgentNotInstalled, AgentNotRunning, AgentOutdated, AgentHibernating, AgentEndpointOverride, HostDiskFull,
		LogEndpointTimeout, LogSessionLoggingBlocked, LogCredentialsError, LogAccessDenied, LogDNSError,
		LogTLSError, LogProxyError, LogThrottled,
		ProbeIncomplete, HostResolvConf, IMDSUnusable,
		PrefsS3BucketMissing, PrefsLogGroupMissing, PrefsLoggingEndpointUnreach, PrefsUnreadable,
		ProbeUnexplained, DNSResolverError, DNSSearchListHijack, IAMSSMAccessDenied,
	}
}
