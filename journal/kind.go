package journal

// Kind names one kind of event the catalog recognises. Its string value is
// stable: the probe's findings and the JSON report key on it.
type Kind string

// The event kinds. Finding mapping (docs/FINDINGS.md, "From the agent's logs"):
//
//	log.endpoint-timeout        ← KindEndpointTimeout
//	log.session-logging-blocked ← KindSessionLoggingBlocked
//	log.credentials-error       ← KindCredentialsError, KindDHMCNotConfigured
//	log.access-denied           ← KindAccessDenied
//	log.dns-error               ← KindDNSError
//	log.tls-error               ← KindTLSError
//	log.proxy-error             ← KindProxyError
//	log.throttled               ← KindThrottled
//	agent.hibernating           ← KindHibernating
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
	KindRegistered            Kind = "registered"              // hybrid registration succeeded (Values: the mi- ID)
)

// Kinds lists every kind in the stable order used for Result.Events.
func Kinds() []Kind {
	return []Kind{
		KindEndpointTimeout, KindSessionLoggingBlocked, KindCredentialsError, KindDHMCNotConfigured,
		KindAccessDenied, KindDNSError, KindTLSError, KindProxyError, KindThrottled, KindHibernating,
		KindConnectionRefused, KindNetworkUnreachable, KindAPIError, KindControlChannelError, KindMDSError,
		KindControlChannelUp, KindChannelInUse, KindAgentVersion, KindProxyConfig, KindS3Fallback,
		KindHealthPing, KindHealthPingOK, KindCredentialsReady, KindRegistered,
	}
}
