package journal

// Kind names one kind of event the catalog recognises. Its string value is
// stable: the probe's findings and the JSON report key on it.
type Kind string

// The event kinds. Finding mapping (docs/FINDINGS.md, "From the agent's logs"):
//
//	log.endpoint-timeout        ← KindEndpointTimeout
//	log.session-logging-blocked ← KindSessionLoggingBlocked
//	log.credentials-error       ← KindCredentialsError, KindDHMCNotConfigured
//	log.registration-pending    ← KindRegistering with no outcome after it
//	log.access-denied           ← KindAccessDenied
//	log.dns-error               ← KindDNSError
//	log.tls-error               ← KindTLSError
//	log.proxy-error             ← KindProxyError
//	log.throttled               ← KindThrottled
//	agent.hibernating           ← KindHibernating
//	agent.hybrid-registration-invalid ← KindNodeDeregistered, KindActivationRejected
//
// The other kinds are evidence and context for those findings and for the
// live checks: KindConnectionRefused and KindNetworkUnreachable are further
// dial failures, KindAPIError and KindControlChannelError / KindMDSError are
// the symptoms that usually accompany a network finding, KindControlChannelUp
// and KindChannelInUse show which channel works, KindAgentVersion and
// KindProxyConfig describe the agent. KindHealthPingOK, KindControlChannelUp,
// KindCredentialsReady and KindRegistered are the successes the Timeline
// dates the last working moment by.
const (
	KindEndpointTimeout       Kind = "endpoint-timeout"        // dial/request timeout to ssm, ssmmessages or ec2messages
	KindSessionLoggingBlocked Kind = "session-logging-blocked" // session worker cannot use the S3 bucket, log group or KMS key of the session preferences
	KindCredentialsError      Kind = "credentials-error"       // no instance role, no credential provider
	KindDHMCNotConfigured     Kind = "dhmc-not-configured"     // Default Host Management: instance management role not configured
	KindAccessDenied          Kind = "access-denied"           // AccessDeniedException / Unauthorized request on an agent API call
	KindDNSError              Kind = "dns-error"               // no such host, lookup timeouts
	KindTLSError              Kind = "tls-error"               // x509 / certificate verification failures
	KindProxyError            Kind = "proxy-error"             // proxyconnect tcp: …
	KindThrottled             Kind = "throttled"               // ThrottlingException
	KindHibernating           Kind = "hibernating"             // the agent entered hibernation or backs off its health pings
	KindConnectionRefused     Kind = "connection-refused"      // connect: connection refused
	KindNetworkUnreachable    Kind = "network-unreachable"     // no route to host, network is unreachable
	KindAPIError              Kind = "api-error"               // HealthCheck: error when calling AWS APIs, RequestError, error counts
	KindControlChannelError   Kind = "control-channel-error"   // MGS (ssmmessages) control channel or websocket failures
	KindMDSError              Kind = "mds-error"               // MDS (ec2messages) GetMessages errors and long-poll timeouts
	KindControlChannelUp      Kind = "control-channel-up"      // the control channel or its websocket opened
	KindChannelInUse          Kind = "channel-in-use"          // which connection channel the agent uses (Values: ssmmessages / ec2messages)
	KindAgentVersion          Kind = "agent-version"           // startup line `amazon-ssm-agent - v<version>` (Values: the version)
	KindProxyConfig           Kind = "proxy-config"            // startup dump of the proxy environment (Values: name=value, userinfo redacted)
	KindS3Fallback            Kind = "s3-fallback"             // signed HeadBucket failed; the agent falls back (often harmless)
	KindHealthPing            Kind = "health-ping"             // the health check is about to ping ssm (INFO; whether it worked shows in what follows)
	KindHealthPingOK          Kind = "health-ping-ok"          // DEBUG: UpdateInstanceInformation answered (the health ping reached ssm)
	KindCredentialsReady      Kind = "credentials-ready"       // the core agent's credential refresher has credentials
	KindRegistered            Kind = "registered"              // registration succeeded: hybrid (Values: the mi- ID) or EC2 (agents since 3.2)
	KindRegistering           Kind = "registering"             // the EC2 identity's RegisterManagedInstance call starts (its outcome is the next registered or registration-failed)
	KindRegistrationFailed    Kind = "registration-failed"     // the registrar could not register the identity (the cause is in the same entry)
	KindCredentialSource      Kind = "credential-source"       // the credentials the agent settled on (Values: EC2 for the instance profile, SSM for Default Host Management)

	// The agent's own messages about its identity, registration, sessions
	// and IPC. Each is matched at any level, DEBUG included: the EC2 role
	// provider logs its failures at DEBUG.
	KindIdentitySelected    Kind = "identity-selected"      // which identity the agent took (Values: OnPrem, EC2, ECS, CustomIdentity)
	KindIdentityFailed      Kind = "identity-failed"        // the agent could assume no identity
	KindRegistrationError   Kind = "registration-error"     // the hybrid registration in the Vault could not be loaded
	KindFingerprintChanged  Kind = "fingerprint-mismatch"   // ssm refuses the registration: the machine fingerprint changed (a cloned disk)
	KindKMSDataKeyFailed    Kind = "kms-data-key-failed"    // the session worker could not get the session's KMS data key (Values: the key ARN)
	KindRunAsUserMissing    Kind = "runas-user-missing"     // Run As names a user that does not exist here (Values: the user)
	KindFilewatcherError    Kind = "filewatcher-error"      // the IPC file watcher could not start (Values: the error, e.g. too many open files)
	KindDataChannelError    Kind = "data-channel-error"     // the session worker's data channel (ssmmessages websocket) failed
	KindSSMUserCreateFailed Kind = "ssm-user-create-failed" // the agent could not create ssm-user or its sudoers file

	// A hybrid (on-premises) node whose registration ssm no longer honours.
	KindNodeDeregistered   Kind = "node-deregistered"   // ssm does not know the managed node any more (Values: the mi- ID)
	KindActivationRejected Kind = "activation-rejected" // registering with an activation failed: expired, deleted or not matching (Values: the error code)
)

// The agent's shared credentials: the workers read the credentials the core
// agent saved, and refuse them once identity_config.json says they expired.
const (
	KindCredentialsExpired Kind = "credentials-expired" // `shared credentials are already expired, they were retrieved at … and expired at …`
)

// The Values of a KindCredentialsError event: which of the EC2 identity's
// two credential sources the entry shows failing.
const (
	CredSourceInstanceProfile = "instance-profile"        // the instance profile role (IMDS)
	CredSourceDHMC            = "default-host-management" // Default Host Management Configuration (ssm)
)

// Kinds lists every kind in the stable order used for Result.Events.
func Kinds() []Kind {
	return []Kind{
		KindEndpointTimeout, KindSessionLoggingBlocked, KindCredentialsError, KindDHMCNotConfigured,
		KindAccessDenied, KindDNSError, KindTLSError, KindProxyError, KindThrottled, KindHibernating,
		KindConnectionRefused, KindNetworkUnreachable, KindAPIError, KindControlChannelError, KindMDSError,
		KindControlChannelUp, KindChannelInUse, KindAgentVersion, KindProxyConfig, KindS3Fallback,
		KindHealthPing, KindHealthPingOK, KindCredentialsReady, KindRegistered,
		KindRegistering, KindRegistrationFailed, KindCredentialSource,
		KindIdentitySelected, KindIdentityFailed, KindRegistrationError, KindFingerprintChanged,
		KindKMSDataKeyFailed, KindRunAsUserMissing, KindFilewatcherError, KindDataChannelError,
		KindSSMUserCreateFailed,
		KindNodeDeregistered, KindActivationRejected,
		KindCredentialsExpired,
	}
}
