package probe

import (
	"maps"
	"slices"
	"sync"
)

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

	docDeregisterHybrid = "https://docs.aws.amazon.com/systems-manager/latest/userguide/fleet-manager-deregister-hybrid-nodes.html"
	docRunAs            = "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-preferences-run-as.html"
	docSessionKMS       = "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-preferences-enable-encryption.html"
	docKMSKeyPolicy     = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html"
	docDualStack        = "https://docs.aws.amazon.com/general/latest/gr/rande.html#dual-stack-endpoints"
)

// prefsFixCLI is the command pair that edits the account's Session Manager
// preferences for a region: fetch the document, edit prefs.json, write it
// back (AWS docs, "Update Session Manager preferences (command line)").
const prefsFixCLI = "aws ssm get-document --name SSM-SessionManagerRunShell --query Content --output text > prefs.json; edit prefs.json as described; then aws ssm update-document --name SSM-SessionManagerRunShell --content file://prefs.json --document-version '$LATEST'"

// families lists every family's catalog entries, each declared in the file
// of the rules that raise them. Its order is the order of AllIDs and of
// "ssm-probe catalog": new families go at the end.
func families() [][]Entry {
	return [][]Entry{
		dnsEntries,          // diagnose_dns.go
		resolvConfEntries,   // diagnose_resolvconf.go
		resolveEntries,      // diagnose_resolve.go
		netEntries,          // diagnose_net.go
		proxyEntries,        // diagnose_proxy.go
		imdsEntries,         // diagnose_imds.go
		iamEntries,          // diagnose_iam.go
		agentEntries,        // diagnose_agent.go
		logEntries,          // diagnose_logs.go
		prefsEntries,        // diagnose_prefs.go
		probeEntries,        // diagnose.go
		verdictEntries,      // verdict.go
		registrationEntries, // diagnose_registration.go
		runAsEntries,        // diagnose_runas.go
		kmsEntries,          // diagnose_kms.go
		inotifyEntries,      // diagnose_inotify.go
		ipv6Entries,         // diagnose_ipv6.go
	}
}

// builtCatalog is the catalog, built (and its templates parsed) once.
var builtCatalog = sync.OnceValue(func() Catalog {
	return newCatalog(slices.Concat(families()...)...)
})

// NewCatalog returns the finding catalog: one entry per ID, with the
// severity, title, fix template and doc links of docs/FINDINGS.md. The
// map is a copy; its entries share the parsed templates, which are never
// changed.
func NewCatalog() Catalog {
	return maps.Clone(builtCatalog())
}

// AllIDs returns every finding ID, in catalog order (families).
func AllIDs() []ID {
	var ids []ID
	for _, f := range families() {
		for _, e := range f {
			ids = append(ids, e.ID)
		}
	}
	return ids
}
