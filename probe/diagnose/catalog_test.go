package diagnose

import (
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/finding"
)

func TestCatalogComplete(t *testing.T) {
	cat := NewCatalog()
	ids := AllIDs()
	seen := map[finding.ID]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("%s listed twice in AllIDs", id)
		}
		seen[id] = true
		e, ok := cat[id]
		if !ok {
			t.Errorf("%s has no catalog entry", id)
			continue
		}
		if e.Title == "" || (e.Severity != finding.SevFail && e.Severity != finding.SevWarn && e.Severity != finding.SevInfo) {
			t.Errorf("%s: incomplete entry %+v", id, e)
		}
		if e.Severity != finding.SevInfo && (len(e.Docs) == 0 && id != ProbeIncomplete) {
			t.Errorf("%s: a fail/warn finding needs a doc link", id)
		}
		for _, d := range e.Docs {
			if !strings.HasPrefix(d, "https://docs.aws.amazon.com/") {
				t.Errorf("%s: doc %q is not an AWS doc link", id, d)
			}
		}
	}
	if len(cat) != len(ids) {
		t.Errorf("catalog has %d entries, AllIDs %d", len(cat), len(ids))
	}
}

func TestCatalogRejectsDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering an ID twice must panic")
		}
	}()
	finding.NewCatalog(finding.Entry{ID: "x.y", Severity: finding.SevInfo, Title: "a"}, finding.Entry{ID: "x.y", Severity: finding.SevInfo, Title: "b"})
}

func TestCatalogRejectsUnknownDependency(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a DependsOn naming an unknown ID must panic")
		}
	}()
	finding.NewCatalog(finding.Entry{ID: "x.y", Severity: finding.SevInfo, Title: "a", DependsOn: []finding.ID{"nope"}})
}

func TestSettleFoldsDownstream(t *testing.T) {
	cat := NewCatalog()
	fs := cat.Settle([]finding.Finding{
		cat.New(LogEndpointTimeout, "logs", []string{"dial tcp 10.0.0.5:443: i/o timeout (12 times)"}),
		cat.New(DNSStubResolver, "stub", nil),
		cat.New(NetEndpointBlocked, "blocked", []string{"tcp timeout"}),
	})
	if len(fs) != 2 {
		t.Fatalf("got %d findings, want 2: %+v", len(fs), fs)
	}
	if fs[0].ID != NetEndpointBlocked || fs[1].ID != DNSStubResolver {
		t.Fatalf("order %s, %s", fs[0].ID, fs[1].ID)
	}
	last := fs[0].Evidence[len(fs[0].Evidence)-1]
	if !strings.Contains(last, "i/o timeout") {
		t.Errorf("downstream evidence not folded in: %q", last)
	}
}

// TestSettleChain: a log finding folds into the optional-endpoint finding,
// which folds into the preferences finding; the log lines must reach the
// finding that is kept.
func TestSettleChain(t *testing.T) {
	cat := NewCatalog()
	fs := cat.Settle([]finding.Finding{
		cat.New(LogSessionLoggingBlocked, "logs", []string{"12 lines", "HTTP HEAD request failed", "sample 2", "sample 3"}),
		cat.New(NetOptionalEndpointUnreach, "optional", []string{"s3 timeout", "logs timeout"}),
		cat.New(PrefsLoggingEndpointUnreach, "prefs", []string{"bucket corp-logs"}),
	})
	if len(fs) != 1 || fs[0].ID != PrefsLoggingEndpointUnreach {
		t.Fatalf("got %+v, want only the preferences finding", fs)
	}
	ev := strings.Join(fs[0].Evidence, "\n")
	for _, want := range []string{"s3 timeout", "logs timeout", "HTTP HEAD request failed", "(1 more lines)"} {
		if !strings.Contains(ev, want) {
			t.Errorf("evidence lacks %q:\n%s", want, ev)
		}
	}
}

// TestSettleExplains: the kept finding lists every ID folded into it, also
// through a chain, for machines (JSON "explains", prom).
func TestSettleExplains(t *testing.T) {
	cat := NewCatalog()
	fs := cat.Settle([]finding.Finding{
		cat.New(LogSessionLoggingBlocked, "logs", nil),
		cat.New(NetOptionalEndpointUnreach, "optional", nil),
		cat.New(PrefsLoggingEndpointUnreach, "prefs", nil),
	})
	if len(fs) != 1 {
		t.Fatalf("got %d findings", len(fs))
	}
	got := fs[0].Explains
	if len(got) != 2 || !containsID(got, LogSessionLoggingBlocked) || !containsID(got, NetOptionalEndpointUnreach) {
		t.Errorf("explains %v, want both folded IDs", got)
	}
}

// TestSettleKeepsAFailOverAWarnRoot: a root cause folds a symptom only when
// it is at least as severe, so a warn about resolv.conf's options never
// hides a fail about an endpoint.
func TestSettleKeepsAFailOverAWarnRoot(t *testing.T) {
	cat := NewCatalog()
	warnRoot := cat.New(HostResolvConf, "unknown option", nil)
	fs := cat.Settle([]finding.Finding{warnRoot, cat.New(DNSEndpointNoAddress, "nodata", nil)})
	if len(fs) != 2 {
		t.Fatalf("a warn root folded a fail: %+v", fs)
	}
	failRoot := warnRoot
	failRoot.Severity = finding.SevFail
	fs = cat.Settle([]finding.Finding{failRoot, cat.New(DNSEndpointNoAddress, "nodata", nil)})
	if len(fs) != 1 || fs[0].ID != HostResolvConf {
		t.Fatalf("a fail root did not fold its symptom: %+v", fs)
	}
}

func containsID(ids []finding.ID, id finding.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
