//go:build linux

package observe

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

func TestRunChecksDeadlineWithBlockingCheck(t *testing.T) {
	cfg := testConfig(t)
	cfg.normalize()
	block := make(chan struct{})
	defer close(block)
	fine := &host.Facts{}
	checks := []Check{
		{Name: "ignores-ctx", Target: "forever", Required: true, Run: func(context.Context) Outcome {
			<-block // ignores its context on purpose
			return Outcome{Status: obs.StatusPass}
		}},
		{Name: "quick", Target: "x", Run: func(context.Context) Outcome {
			return Outcome{Status: obs.StatusPass, seen: obs.Observations{Host: fine}}
		}},
		{Name: "panics", Target: "y", Run: func(context.Context) Outcome { panic("boom") }},
		{Name: "no-status", Target: "z", Run: func(context.Context) Outcome { return Outcome{} }},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	recs, _ := runChecks(ctx, &cfg, checks)
	if took := time.Since(t0); took > 2*time.Second {
		t.Fatalf("runChecks took %v with a 300ms deadline", took)
	}
	want := []struct {
		st    obs.Status
		class errclass.Class
	}{{obs.StatusTimeout, errclass.Timeout}, {obs.StatusPass, errclass.None}, {obs.StatusError, errclass.Other}, {obs.StatusError, errclass.None}}
	for i, w := range want {
		if recs[i].Status != w.st || recs[i].Class != w.class {
			t.Errorf("%s: status %s class %q, want %s %q (%s)", recs[i].Name, recs[i].Status, recs[i].Class, w.st, w.class, recs[i].Reason)
		}
	}
	if recs[1].Detail != fine {
		t.Errorf("detail lost: %v", recs[1].Detail)
	}
}

func TestRunChecksConcurrencyLimit(t *testing.T) {
	cfg := testConfig(t)
	cfg.normalize()
	cfg.MaxConcurrent = 3
	var cur, peak atomic.Int32
	var checks []Check
	for i := 0; i < 12; i++ {
		checks = append(checks, Check{Name: "c", Run: func(context.Context) Outcome {
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
			cur.Add(-1)
			return Outcome{Status: obs.StatusPass}
		}})
	}
	recs, _ := runChecks(context.Background(), &cfg, checks)
	for _, r := range recs {
		if r.Status != obs.StatusPass {
			t.Fatalf("check %s: %s", r.Name, r.Status)
		}
	}
	if p := peak.Load(); p > 3 || p < 1 {
		t.Errorf("peak concurrency %d, want 1..3", p)
	}
}

func TestRunChecksLateResultNotSaved(t *testing.T) {
	cfg := testConfig(t)
	cfg.normalize()
	release := make(chan struct{})
	returned := make(chan struct{})
	checks := []Check{{Name: "late", Run: func(context.Context) Outcome {
		<-release
		defer close(returned)
		return Outcome{Status: obs.StatusPass, seen: obs.Observations{Host: &host.Facts{}}}
	}}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	recs, ob := runChecks(ctx, &cfg, checks)
	close(release)
	<-returned
	if recs[0].Status != obs.StatusTimeout || ob.Host != nil {
		t.Errorf("late check: status %s, host facts %v; want timeout and nothing kept", recs[0].Status, ob.Host)
	}
}

// TestRunDeadline runs the whole probe with an IMDS that accepts TCP and
// never answers, and a run deadline shorter than the per-attempt timeout:
// the report must still come back inside the deadline.
func TestRunDeadline(t *testing.T) {
	cfg := testConfig(t)
	ln := blackHoleHTTP(t)
	cfg.IMDSEndpoint = "http://" + ln
	cfg.Timeout = 5 * time.Second
	cfg.Deadline = 700 * time.Millisecond
	t0 := time.Now()
	res := run(context.Background(), cfg)
	took := time.Since(t0)
	if took > cfg.Deadline+200*time.Millisecond {
		t.Fatalf("Run took %v, deadline %v", took, cfg.Deadline)
	}
	var found bool
	for _, c := range res.Checks {
		if c.Name == "imds" {
			found = true
			if c.Status.Checked() && c.Status == obs.StatusPass {
				t.Errorf("a silent IMDS must not pass: %+v", c)
			}
		}
	}
	if !found {
		t.Fatal("no imds check recorded")
	}
	if res.Verdict == finding.VerdictOK {
		t.Errorf("verdict ok with an IMDS that never answered")
	}
}

func TestTimeoutsFit(t *testing.T) {
	if DefaultTimeout*3 > DefaultDeadline {
		t.Errorf("the deadline (%v) must leave room for several sequential attempts (%v each)", DefaultDeadline, DefaultTimeout)
	}
	if renderReserve >= DefaultTimeout {
		t.Errorf("renderReserve %v must be far below one attempt %v", renderReserve, DefaultTimeout)
	}
}

// TestAgentEnvUnreadableIsUnknown: a running agent whose environment the
// probe may not read (non-root) leaves the agent's path unknown, so the
// verdict is unknown, never ok.
func TestAgentEnvUnreadableIsUnknown(t *testing.T) {
	cfg := testConfig(t)
	cfg.normalize()
	f := &agent.Facts{Installed: true, RunningChecked: true, Running: true, PIDs: []int{2391},
		ProxyReason: "not checked: needs root to read /proc/2391/environ"}
	recs, _ := runChecks(context.Background(), &cfg, []Check{agentEnvCheck(f)})
	if recs[0].Status != obs.StatusSkip || !recs[0].Required || recs[0].Target != "/proc/2391/environ" {
		t.Fatalf("record %+v", recs[0])
	}
	if v := diagnose.Finish(&obs.Observations{Checks: recs}, 0).Verdict; v != finding.VerdictUnknown {
		t.Errorf("verdict %s, want unknown", v)
	}
	fs := diagnose.Diagnose(&obs.Observations{Checks: recs})
	if len(fs) != 1 || fs[0].ID != diagnose.ProbeIncomplete || !strings.Contains(fs[0].Evidence[0], "needs root") {
		t.Errorf("findings %+v, want probe.incomplete naming the reason", fs)
	}
}

// TestRunnerFollowUps checks that checks started by a finished check's
// follow-up are waited for and recorded, and that a batch that finishes
// before the next one is started does not end the run early.
func TestRunnerFollowUps(t *testing.T) {
	cfg := testConfig(t)
	cfg.normalize()
	r := newRunner(context.Background(), &cfg)
	pass := func(name obs.CheckName) Check {
		return Check{Name: name, Run: func(context.Context) Outcome { return Outcome{Status: obs.StatusPass, Reason: string(name)} }}
	}
	first := r.start([]Check{pass("early")}, nil)
	time.Sleep(10 * time.Millisecond) // let it finish before anything else starts
	var second, third *batch
	var mu sync.Mutex
	root := r.start([]Check{pass("a"), pass("b")}, func(obs.Observations) {
		b := r.start([]Check{pass("c")}, func(obs.Observations) {
			t3 := r.start([]Check{pass("d")}, nil)
			mu.Lock()
			third = t3
			mu.Unlock()
		})
		mu.Lock()
		second = b
		mu.Unlock()
	})
	r.wait()
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, b := range []*batch{first, root, second, third} {
		for _, rec := range b.records() {
			if rec.Status != obs.StatusPass {
				t.Errorf("%s: %s %s", rec.Name, rec.Status, rec.Reason)
			}
			got = append(got, string(rec.Name))
		}
	}
	if strings.Join(got, ",") != "early,a,b,c,d" {
		t.Errorf("records %v, want early,a,b,c,d", got)
	}
}

// TestRunnerHandsSeenOn checks that a follow-up is handed what its batch's
// checks observed, as a value in check order, and that runner.seen merges
// batches without writing the values it was given.
func TestRunnerHandsSeenOn(t *testing.T) {
	cfg := testConfig(t)
	cfg.normalize()
	r := newRunner(context.Background(), &cfg)
	saw := func(host string) Check {
		return Check{Name: obs.CheckDNS, Target: host, Run: func(context.Context) Outcome {
			return Outcome{Status: obs.StatusPass, seen: obs.Observations{DNS: []obs.DNSObs{{Host: host}}}}
		}}
	}
	var handed obs.Observations
	b := r.start([]Check{saw("a"), saw("b")}, func(seen obs.Observations) { handed = seen })
	r.wait()
	if len(handed.DNS) != 2 || handed.DNS[0].Host != "a" || handed.DNS[1].Host != "b" {
		t.Fatalf("follow-up was handed %+v, want a then b", handed.DNS)
	}
	all := r.seen(b, b)
	all.DNS[0].Host = "changed"
	if again := r.seen(b); again.DNS[0].Host != "a" || len(all.DNS) != 4 {
		t.Errorf("seen shares its values: %+v, %d entries", again.DNS, len(all.DNS))
	}
}
