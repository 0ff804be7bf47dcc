package probe

// Doc links cited by the catalog.
const (
	docTroubleshoot   = "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-troubleshooting.html"
	docVPCEndpoints   = "https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-create-vpc.html"
	docVPCDNS         = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html"
	docPrivateDNS     = "https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html"
	docResolverIn     = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-forwarding-inbound-queries.html"
	docEndpointSG     = "https://docs.aws.amazon.com/vpc/latest/privatelink/interface-endpoints.html"
	docNAT            = "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-nat-gateway.html"
	docIMDSOptions    = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html"
	docInstanceRole   = "https://docs.aws.amazon.com/systems-manager/latest/userguide/setup-instance-permissions.html"
	docDHMC           = "https://docs.aws.amazon.com/systems-manager/latest/userguide/fleet-manager-default-host-management-configuration.html"
	docAgentInstall   = "https://docs.aws.amazon.com/systems-manager/latest/userguide/manually-install-ssm-agent-linux.html"
	docAgentStatus    = "https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-status-and-restart.html"
	docAgentLogs      = "https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-logs.html"
	docAgentProxy     = "https://docs.aws.amazon.com/systems-manager/latest/userguide/configure-proxy-ssm-agent.html"
	docSessionLogging = "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-logging.html"
	docTimeSync       = "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/set-time.html"
	docAgentVersion   = "https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-v3.html"
	docHibernation    = "https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-technical-details.html"
	docPrefsCLI       = "https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-configure-preferences-cli.html"
	docPrefsConsole   = "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-getting-started-configure-preferences.html"
	docResolverRules  = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-rules-managing.html"
	docDNSFirewall    = "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resolver-dns-firewall.html"
	docDHCPOptions    = "https://docs.aws.amazon.com/vpc/latest/userguide/DHCPOptionSet.html"
	docAgentConfig    = "https://docs.aws.amazon.com/systems-manager/latest/userguide/ssm-agent-config.html"
	docSCP            = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html"
	docBoundary       = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"
	docEndpointPolicy = "https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-access.html"
)

// prefsFixCLI is the command pair that edits the account's Session Manager
// preferences for a region: fetch the document, edit prefs.json, write it
// back (AWS docs, "Update Session Manager preferences (command line)").
const prefsFixCLI = "aws ssm get-document --name SSM-SessionManagerRunShell --query Content --output text > prefs.json; edit prefs.json as described; then aws ssm update-document --name SSM-SessionManagerRunShell --content file://prefs.json --document-version '$LATEST'"

// NewCatalog returns the finding catalog: one entry per ID of ids.go, with
// the severity, title, generic fixes and doc links of docs/FINDINGS.md. Rules
// add the specific fix (with the names and addresses involved) in front.
func NewCatalog() Catalog {
	return newCatalog(
		// DNS.
		Entry{ID: DNSVPCResolverSilent, Severity: SevFail,
			Title: "AmazonProvidedDNS does not answer",
			Remediation: []string{
				"Turn on the VPC attribute \"DNS resolution\": VPC console > Your VPCs > (the VPC) > Actions > Edit VPC settings > Enable DNS resolution, or: aws ec2 modify-vpc-attribute --vpc-id VPC_ID --enable-dns-support \"{\\\"Value\\\":true}\"",
				"Check that no host firewall rule (iptables/nftables) drops UDP and TCP port 53 to the VPC resolver.",
			},
			Docs: []string{docVPCDNS}},
		Entry{ID: DNSEndpointResolvesPub, Severity: SevFail,
			Title: "Endpoint names resolve to public addresses that cannot be reached",
			Remediation: []string{
				"If interface endpoints exist, make their private DNS take effect, checking in this order: (1) VPC attribute \"DNS hostnames\": aws ec2 modify-vpc-attribute --vpc-id VPC_ID --enable-dns-hostnames \"{\\\"Value\\\":true}\"; (2) VPC attribute \"DNS resolution\": aws ec2 modify-vpc-attribute --vpc-id VPC_ID --enable-dns-support \"{\\\"Value\\\":true}\"; (3) the endpoint's \"Private DNS names\": aws ec2 modify-vpc-endpoint --vpc-endpoint-id VPCE_ID --private-dns-enabled",
				"If there are no interface endpoints, create them for ssm, ssmmessages and ec2messages, or give the subnet a NAT gateway or internet gateway route.",
			},
			Docs: []string{docVPCDNS, docPrivateDNS, docVPCEndpoints}},
		Entry{ID: DNSResolverBypassesVPC, Severity: SevFail,
			Title: "The host's DNS servers do not see the VPC's endpoint zone",
			Remediation: []string{
				"Recommended: create a Route 53 Resolver inbound endpoint in the VPC and add a conditional forwarder for the region's amazonaws.com zone (e.g. REGION.amazonaws.com) on the host's DNS servers, pointing at the inbound endpoint's addresses. AmazonProvidedDNS itself does not answer queries from outside the VPC.",
				"Or give the subnet a NAT path so that the public addresses work.",
				"Stop-gap only: pin the endpoint names in /etc/hosts to the endpoint's private addresses (they break when the endpoint is recreated).",
			},
			Docs:      []string{docResolverIn, docVPCEndpoints},
			DependsOn: []ID{HostResolvConf}},
		Entry{ID: DNSEndpointNoAddress, Severity: SevFail,
			Title: "An endpoint name has no address",
			Remediation: []string{
				"If the name belongs to an interface endpoint with private DNS enabled, select at least one subnet for it: VPC console > Endpoints > (endpoint) > Actions > Manage subnets, or: aws ec2 modify-vpc-endpoint --vpc-endpoint-id VPCE_ID --add-subnet-ids SUBNET_ID",
				"Check the region and domain in /etc/amazon/ssm/amazon-ssm-agent.json overrides.",
			},
			Docs:      []string{docVPCEndpoints, docPrivateDNS},
			DependsOn: []ID{HostResolvConf}},
		Entry{ID: DNSHostsOverride, Severity: SevWarn,
			Title: "/etc/hosts pins an endpoint name",
			Remediation: []string{
				"Remove the pin from /etc/hosts and let DNS answer; the pin breaks silently when the endpoint is recreated.",
			},
			Docs: []string{docPrivateDNS}},
		Entry{ID: DNSHostsStale, Severity: SevFail,
			Title: "/etc/hosts pins an endpoint name to a wrong address",
			Remediation: []string{
				"Remove the stale line from /etc/hosts (or correct it to what AmazonProvidedDNS answers), then restart the agent: sudo systemctl restart amazon-ssm-agent",
			},
			Docs: []string{docPrivateDNS}},
		Entry{ID: DNSNameserverUnresponsive, Severity: SevWarn,
			Title: "A configured nameserver does not answer",
			Remediation: []string{
				"Remove or fix the silent nameserver in /etc/resolv.conf (or the DHCP options set / systemd-resolved configuration that writes it).",
			},
			Docs:      []string{docVPCDNS},
			DependsOn: []ID{DNSVPCResolverSilent, HostResolvConf}},
		Entry{ID: DNSStubResolver, Severity: SevInfo,
			Title: "The system resolver is the systemd-resolved stub"},

		// Network path.
		Entry{ID: NetEndpointBlocked, Severity: SevFail,
			Title: "The VPC endpoint does not accept HTTPS from this instance",
			Remediation: []string{
				"Allow inbound TCP 443 on the endpoint's security group from the VPC CIDR or from this instance's security group: aws ec2 authorize-security-group-ingress --group-id ENDPOINT_SG_ID --protocol tcp --port 443 --cidr VPC_CIDR",
				"Less often: the instance's security group egress rules or the subnet's network ACL block 443 to the endpoint.",
			},
			Docs: []string{docEndpointSG, docVPCEndpoints}},
		Entry{ID: NetNoRoute, Severity: SevFail,
			Title: "No network path to the public endpoints",
			Remediation: []string{
				"Give the subnet a route to a NAT gateway (private subnet) or an internet gateway with a public IP (public subnet), or an HTTP proxy for the agent.",
				"Or create interface endpoints for ssm, ssmmessages and ec2messages with private DNS enabled.",
			},
			Docs:      []string{docNAT, docVPCEndpoints},
			DependsOn: []ID{DNSEndpointResolvesPub}},
		Entry{ID: NetConnectionRefused, Severity: SevFail,
			Title: "Connections to the endpoint are refused",
			Remediation: []string{
				"Look for a local firewall REJECT rule (iptables -S; nft list ruleset) or an appliance in the path that resets port 443.",
			},
			Docs: []string{docTroubleshoot}},
		Entry{ID: NetTLSFailed, Severity: SevFail,
			Title: "TLS to the endpoint fails",
			Remediation: []string{
				"If a TLS-inspecting proxy or firewall sits in the path, exempt the Systems Manager endpoints from inspection.",
				"Otherwise install the Amazon Trust Services roots (Amazon Root CA 1, Starfield Services Root CA - G2) in the system trust store (ca-certificates).",
			},
			Docs: []string{docTroubleshoot}},
		Entry{ID: NetProxyFailed, Severity: SevFail,
			Title: "The agent's proxy does not carry its connections",
			Remediation: []string{
				"Fix the proxy, or correct the agent's proxy settings: sudo systemctl edit amazon-ssm-agent (Environment=\"https_proxy=...\"), then sudo systemctl restart amazon-ssm-agent. HTTPS proxies are not supported for Session Manager.",
			},
			Docs: []string{docAgentProxy}},
		Entry{ID: NetProxyIMDSNotExcluded, Severity: SevWarn,
			Title: "The agent's no_proxy does not cover the metadata service",
			Remediation: []string{
				"Add 169.254.169.254 to no_proxy in the agent's environment: sudo systemctl edit amazon-ssm-agent, Environment=\"no_proxy=169.254.169.254\", then sudo systemctl restart amazon-ssm-agent",
			},
			Docs: []string{docAgentProxy}},
		Entry{ID: NetClockSkew, Severity: SevFail,
			Title: "The clock is off",
			Remediation: []string{
				"Synchronise the clock with the Amazon Time Sync Service (169.254.169.123) through chrony, then restart the agent. SigV4 rejects requests more than 5 minutes off.",
			},
			Docs: []string{docTimeSync}},
		Entry{ID: NetOptionalEndpointUnreach, Severity: SevWarn,
			Title: "An optional endpoint (s3, logs or kms) cannot be reached",
			Remediation: []string{
				"If session logging or encryption is used, add the matching endpoint (an S3 gateway endpoint, or interface endpoints for logs and kms) or a NAT path; otherwise sessions stall for minutes before the prompt appears.",
			},
			Docs:      []string{docSessionLogging, docVPCEndpoints},
			DependsOn: []ID{PrefsLoggingEndpointUnreach}},

		// Identity and credentials.
		Entry{ID: IMDSUnreachable, Severity: SevFail,
			Title: "The instance metadata service cannot be reached",
			Remediation: []string{
				"Check that the metadata endpoint is enabled and that no host firewall or route blocks 169.254.169.254: aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID --http-endpoint enabled",
			},
			Docs: []string{docIMDSOptions}},
		Entry{ID: IMDSTokenTimeout, Severity: SevFail,
			Title: "IMDSv2 token requests get no answer (hop limit)",
			Remediation: []string{
				"aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID --http-put-response-hop-limit 2",
			},
			Docs: []string{docIMDSOptions}},
		Entry{ID: IMDSDisabled, Severity: SevFail,
			Title: "The instance metadata service is turned off",
			Remediation: []string{
				"aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID --http-endpoint enabled",
			},
			Docs: []string{docIMDSOptions}},
		Entry{ID: IAMNoInstanceProfile, Severity: SevFail,
			Title: "No instance profile is attached",
			Remediation: []string{
				"Attach an instance profile whose role has AmazonSSMManagedInstanceCore: aws ec2 associate-iam-instance-profile --instance-id INSTANCE_ID --iam-instance-profile Name=PROFILE_NAME",
			},
			Docs: []string{docInstanceRole, docDHMC}},
		Entry{ID: IAMCredsUnavailable, Severity: SevFail,
			Title: "The instance role's credentials are unusable",
			Remediation: []string{
				"Check the role's trust policy (it must trust ec2.amazonaws.com) and that the role still exists; re-associate the instance profile if needed.",
			},
			Docs:      []string{docInstanceRole},
			DependsOn: []ID{IAMNoInstanceProfile}},

		// Agent and host.
		Entry{ID: AgentNotInstalled, Severity: SevFail,
			Title: "The SSM Agent is not installed",
			Remediation: []string{
				"Install the agent for this distribution (package amazon-ssm-agent, or the snap on Ubuntu), then: sudo systemctl enable --now amazon-ssm-agent",
			},
			Docs: []string{docAgentInstall}},
		Entry{ID: AgentNotRunning, Severity: SevFail,
			Title: "The SSM Agent is not running",
			Remediation: []string{
				"sudo systemctl enable --now amazon-ssm-agent (snap: sudo snap start amazon-ssm-agent), then read sudo journalctl -u amazon-ssm-agent for why it stopped.",
			},
			Docs: []string{docAgentStatus}},
		Entry{ID: AgentOutdated, Severity: SevFail,
			Title: "The SSM Agent is too old",
			Remediation: []string{
				"Update the agent: AWS-UpdateSSMAgent (Run Command), or the distribution's package manager.",
			},
			Docs: []string{docAgentVersion, docAgentInstall}},
		Entry{ID: AgentHibernating, Severity: SevWarn,
			Title: "The SSM Agent is hibernating",
			Remediation: []string{
				"After fixing the cause, restart the agent so it retries now instead of in up to an hour: sudo systemctl restart amazon-ssm-agent",
			},
			Docs: []string{docHibernation}},
		Entry{ID: AgentEndpointOverride, Severity: SevInfo,
			Title: "The agent config overrides a region, domain or endpoint"},
		Entry{ID: HostDiskFull, Severity: SevFail,
			Title: "The disk is (nearly) full",
			Remediation: []string{
				"Free space or inodes on the file system (e.g. old logs under /var/log, package caches); a full root volume gives a blank session screen.",
			},
			Docs: []string{docTroubleshoot}},

		// From the agent's logs.
		Entry{ID: LogEndpointTimeout, Severity: SevWarn,
			Title: "The agent's logs show timeouts to Systems Manager endpoints",
			Remediation: []string{
				"Run sudo ssm-probe on the instance: it tells an endpoint security group without 443, a missing NAT path and a DNS problem apart. For an interface endpoint, allow inbound 443 on its security group from the VPC CIDR.",
			},
			Docs: []string{docAgentLogs, docVPCEndpoints},
			DependsOn: []ID{NetEndpointBlocked, NetNoRoute, DNSEndpointResolvesPub, DNSResolverBypassesVPC,
				DNSHostsStale, DNSEndpointNoAddress, DNSSearchListHijack, DNSResolverError, ProbeUnexplained}},
		Entry{ID: LogSessionLoggingBlocked, Severity: SevWarn,
			Title: "Session logging cannot reach its S3 bucket or CloudWatch log group",
			Remediation: []string{
				"Systems Manager > Session Manager > Preferences: correct the S3 bucket / CloudWatch log group or turn session logging off (the setting is account- and region-wide).",
				"Add the s3 (gateway) and logs (interface) endpoints or a NAT path, and grant the role s3:PutObject / logs:PutLogEvents for the destination.",
			},
			Docs:      []string{docSessionLogging},
			DependsOn: []ID{NetOptionalEndpointUnreach, PrefsS3BucketMissing, PrefsLogGroupMissing, PrefsLoggingEndpointUnreach}},
		Entry{ID: LogCredentialsError, Severity: SevWarn,
			Title:     "The agent's logs show credential errors",
			Docs:      []string{docInstanceRole, docDHMC},
			DependsOn: []ID{IAMNoInstanceProfile, IAMCredsUnavailable, IMDSTokenTimeout, IMDSDisabled, IMDSUnreachable}},
		Entry{ID: LogAccessDenied, Severity: SevWarn,
			Title: "The agent's logs show access denied",
			Remediation: []string{
				"Attach AmazonSSMManagedInstanceCore to the instance role: aws iam attach-role-policy --role-name ROLE --policy-arn arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
			},
			Docs:      []string{docInstanceRole},
			DependsOn: []ID{IAMSSMAccessDenied}},
		Entry{ID: LogDNSError, Severity: SevWarn,
			Title: "The agent's logs show DNS failures",
			Remediation: []string{
				"Check the nameservers in /etc/resolv.conf and the VPC attributes DNS resolution and DNS hostnames; sudo ssm-probe compares the host's resolvers with AmazonProvidedDNS.",
			},
			Docs: []string{docAgentLogs},
			DependsOn: []ID{DNSVPCResolverSilent, DNSResolverBypassesVPC, DNSEndpointNoAddress,
				DNSNameserverUnresponsive, DNSResolverError, DNSSearchListHijack, HostResolvConf}},
		Entry{ID: LogTLSError, Severity: SevWarn,
			Title: "The agent's logs show TLS certificate errors",
			Remediation: []string{
				"Exempt the Systems Manager endpoints from TLS inspection, or install the Amazon Trust Services roots (ca-certificates).",
			},
			Docs:      []string{docTroubleshoot},
			DependsOn: []ID{NetTLSFailed}},
		Entry{ID: LogProxyError, Severity: SevWarn,
			Title: "The agent's logs show proxy errors",
			Remediation: []string{
				"Check the proxy named in the agent's environment (systemctl show amazon-ssm-agent -p Environment); Session Manager needs an http:// proxy that allows CONNECT to the endpoints.",
			},
			Docs:      []string{docAgentProxy},
			DependsOn: []ID{NetProxyFailed}},
		Entry{ID: LogThrottled, Severity: SevWarn,
			Title: "The agent's logs show API throttling",
			Remediation: []string{
				"Throttling is usually transient; if it persists, look for many agents or scripts sharing the account's ssm API rate in this region.",
			},
			Docs: []string{docTroubleshoot}},

		// Added by this project.
		Entry{ID: ProbeIncomplete, Severity: SevInfo,
			Title: "Some required checks could not run",
			Remediation: []string{
				"Run the probe as root on the instance itself (sudo ssm-probe), with a longer --deadline if checks timed out.",
			},
		},
		Entry{ID: IMDSUnusable, Severity: SevFail,
			Title: "The instance metadata service answers, but not usefully",
			Remediation: []string{
				"Look for something answering in IMDS's place (a proxy without no_proxy=169.254.169.254, a DNAT rule, a container metadata emulator): ip route get 169.254.169.254; sudo iptables -t nat -S; sudo nft list ruleset",
			},
			Docs: []string{docIMDSOptions}},
		Entry{ID: HostResolvConf, Severity: SevWarn,
			Title: "resolv.conf has problems",
			Remediation: []string{
				"Fix /etc/resolv.conf (or what generates it: DHCP options set, systemd-resolved, NetworkManager, cloud-init).",
			},
			Docs: []string{docVPCDNS}},

		// Session preferences (issue 10). The setting is account- and
		// region-wide, so every entry says where to change it.
		Entry{ID: PrefsS3BucketMissing, Severity: SevFail,
			Title: "Session logs go to an S3 bucket that does not exist",
			Remediation: []string{
				"Systems Manager > Session Manager > Preferences > Edit: under S3 logging, choose an existing bucket or turn S3 logging off (account- and region-wide).",
				"Or from the CLI: " + prefsFixCLI + " (set inputs.s3BucketName to an existing bucket, or to \"\" to turn S3 logging off).",
			},
			Docs: []string{docSessionLogging, docPrefsConsole, docPrefsCLI}},
		Entry{ID: PrefsLogGroupMissing, Severity: SevFail,
			Title: "Session logs go to a CloudWatch log group that does not exist",
			Remediation: []string{
				"Systems Manager > Session Manager > Preferences > Edit: under CloudWatch logging, choose an existing log group or turn CloudWatch logging off (account- and region-wide); or recreate the group: aws logs create-log-group --log-group-name LOG_GROUP",
				"Or from the CLI: " + prefsFixCLI + " (set inputs.cloudWatchLogGroupName to an existing group, or to \"\" to turn CloudWatch logging off).",
			},
			Docs: []string{docSessionLogging, docPrefsConsole, docPrefsCLI}},
		Entry{ID: PrefsLoggingEndpointUnreach, Severity: SevFail,
			Title: "Session preferences need an endpoint this host cannot reach",
			Remediation: []string{
				"Give the subnet the endpoint the preferences use: an S3 gateway endpoint (aws ec2 create-vpc-endpoint --vpc-id VPC_ID --service-name com.amazonaws.REGION.s3 --route-table-ids RTB_ID), interface endpoints for logs and kms, or a NAT path.",
				"Or turn the logging or encryption off: Systems Manager > Session Manager > Preferences > Edit (account- and region-wide), or " + prefsFixCLI + " (set inputs.s3BucketName / inputs.cloudWatchLogGroupName to \"\", inputs.kmsKeyId to \"\" and the encryption flags to false).",
			},
			Docs: []string{docSessionLogging, docVPCEndpoints, docPrefsCLI}},
		Entry{ID: PrefsUnreadable, Severity: SevInfo,
			Title: "The session preferences could not be checked",
			Remediation: []string{
				"To let the probe read them, grant the instance role ssm:GetDocument on document/SSM-SessionManagerRunShell (AmazonSSMManagedInstanceCore has it), and s3:ListBucket / logs:DescribeLogGroups for the destinations; or read them yourself: Systems Manager > Session Manager > Preferences, or aws ssm get-document --name SSM-SessionManagerRunShell --query Content --output text",
			},
			Docs: []string{docPrefsConsole, docPrefsCLI},
			DependsOn: []ID{NetClockSkew, IMDSUnreachable, IMDSTokenTimeout, IMDSDisabled, IMDSUnusable,
				IAMNoInstanceProfile, IAMCredsUnavailable, NetEndpointBlocked, NetNoRoute, NetConnectionRefused,
				NetTLSFailed, NetProxyFailed, DNSEndpointResolvesPub, DNSResolverBypassesVPC, DNSEndpointNoAddress,
				DNSHostsStale, DNSVPCResolverSilent, DNSResolverError, DNSSearchListHijack, HostResolvConf,
				DNSNameserverUnresponsive, IAMSSMAccessDenied, ProbeUnexplained}},

		// The agent path (issue 13).
		Entry{ID: ProbeUnexplained, Severity: SevFail,
			Title: "The agent's path to an endpoint is broken for a reason no rule knows",
			Remediation: []string{
				"Follow the evidence: it names the endpoint, the stage where the agent's path stops (resolve, proxy, tcp, tls, https), the error class and the raw detail.",
				"Please report it with the saved observations (ssm-probe --format json > report.json), so that a rule can name this cause: https://github.com/ssm-probe/ssm-probe/issues",
			},
			Docs: []string{docTroubleshoot}},
		Entry{ID: DNSResolverError, Severity: SevFail,
			Title:     "The resolver the agent uses answers endpoint names with an error",
			Docs:      []string{docVPCDNS, docResolverIn, docResolverRules, docDNSFirewall},
			DependsOn: []ID{HostResolvConf}},
		Entry{ID: DNSSearchListHijack, Severity: SevFail,
			Title: "A search domain answers the endpoint names before the real names are asked",
			Docs:  []string{docDHCPOptions, docAgentConfig}},
		Entry{ID: IAMSSMAccessDenied, Severity: SevWarn,
			Title: "The instance role may not call the Systems Manager API",
			Docs:  []string{docInstanceRole, docSCP, docBoundary, docEndpointPolicy}},
	)
}
