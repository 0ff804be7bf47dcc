package diagnose

import (
	"maps"
	"sync"

	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// rule is one check of the observations: it reads the diagnosis input and
// returns the findings it raises.
type rule func(*input) []finding.Finding

// family pairs a family's catalog entries with the rules that raise them;
// both are declared in the family's own diagnose_*.go.
type family struct {
	entries []finding.Entry
	rules   []rule
}

// families lists every family once. Its order is the order the rules run
// in (a symptom's evidence is folded in that order), of AllIDs and of
// "ssm-probe catalog": a new family goes at the end.
func families() []family {
	return []family{
		resolvConfFamily(),   // diagnose_resolvconf.go
		imdsFamily(),         // diagnose_imds.go
		iamFamily(),          // diagnose_iam.go
		agentFamily(),        // diagnose_agent.go
		dnsFamily(),          // diagnose_dns.go
		resolveFamily(),      // diagnose_resolve.go
		netFamily(),          // diagnose_net.go
		proxyFamily(),        // diagnose_proxy.go
		logFamily(),          // diagnose_logs.go
		prefsFamily(),        // diagnose_prefs.go
		probeFamily(),        // diagnose.go
		registrationFamily(), // diagnose_registration.go
		runAsFamily(),        // diagnose_runas.go
		kmsFamily(),          // diagnose_kms.go
		inotifyFamily(),      // diagnose_inotify.go
		ipv6Family(),         // diagnose_ipv6.go
		killedFamily(),       // diagnose_killed.go
		installsFamily(),     // diagnose_installs.go
		bottlerocketFamily(), // diagnose_bottlerocket.go
		verdictFamily(),      // verdict.go
		agentCredsFamily(),   // diagnose_agentcreds.go
		channelFamily(),      // diagnose_channel.go
		winhostFamily(),      // diagnose_winhost.go
	}
}

// builtCatalog is the catalog, built (and its templates parsed) once.
var builtCatalog = sync.OnceValue(func() finding.Catalog {
	var all []finding.Entry
	for _, f := range families() {
		all = append(all, f.entries...)
	}
	return finding.NewCatalog(all...)
})

// NewCatalog returns the finding catalog: one entry per ID, with the
// severity, title, fix template and doc links of docs/FINDINGS.md. The
// map is a copy; its entries share the parsed templates, which are never
// changed.
func NewCatalog() finding.Catalog {
	return maps.Clone(builtCatalog())
}

// AllIDs returns every finding ID, in catalog order (families).
func AllIDs() []finding.ID {
	var ids []finding.ID
	for _, f := range families() {
		for _, e := range f.entries {
			ids = append(ids, e.ID)
		}
	}
	return ids
}
