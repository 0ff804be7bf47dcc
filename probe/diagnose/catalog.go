package diagnose

import (
	"maps"
	"slices"
	"sync"

	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// families lists every family's catalog entries, each declared in the file
// of the rules that raise them. Its order is the order of AllIDs and of
// "ssm-probe catalog": new families go at the end.
func families() [][]finding.Entry {
	return [][]finding.Entry{
		dnsEntries,          // reach/diagnose_dns.go
		resolvConfEntries,   // reach/diagnose_resolvconf.go
		resolveEntries,      // reach/diagnose_resolve.go
		netEntries,          // reach/diagnose_net.go
		proxyEntries,        // reach/diagnose_proxy.go
		imdsEntries,         // reach/diagnose_imds.go
		iamEntries,          // reach/diagnose_iam.go
		agentEntries,        // diagnose_agent.go
		logEntries,          // diagnose_logs.go
		prefsEntries,        // reach/diagnose_prefs.go
		probeEntries,        // diagnose.go
		verdictEntries,      // reach/verdict.go
		registrationEntries, // diagnose_registration.go
		runAsEntries,        // diagnose_runas.go
		kmsEntries,          // diagnose_kms.go
		inotifyEntries,      // diagnose_inotify.go
		ipv6Entries,         // reach/diagnose_ipv6.go
	}
}

// builtCatalog is the catalog, built (and its templates parsed) once.
var builtCatalog = sync.OnceValue(func() finding.Catalog {
	return finding.NewCatalog(slices.Concat(families()...)...)
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
		for _, e := range f {
			ids = append(ids, e.ID)
		}
	}
	return ids
}
