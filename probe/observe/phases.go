// Package observe is the observing layer: the configuration, the plan, the
// checks, the runner and its deadlines, the live re-checks, and the phases
// that assemble one run's obs.Observations. It diagnoses nothing.
package observe

import (
	"context"
	"sync"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// offlineReason is the skip reason of every live check under an offline --root.
const offlineReason = "not checked: needs the live instance (--root reads another machine's files); run the probe on the instance, or add --live from a host in the same subnet"

// factChecks lists the first phase: what the host's files and IMDS say.
// Checks are listed here explicitly, never registered from init.
func factChecks(cfg *Config) []Check {
	if cfg.Windows != nil {
		return windowsFactChecks(cfg)
	}
	cs := []Check{resolvCheck(cfg), agentCheck(cfg), hostCheck(cfg), usersCheck(cfg)}
	cs = append(cs, inotifyCheck(cfg), routesCheck(cfg))
	if cfg.Live {
		cs = append(cs, imdsCheck(cfg))
	} else {
		cs = append(cs, skipped(obs.CheckIMDS, cfg.IMDSEndpoint, offlineReason))
	}
	return cs
}

// planProblemCheck is the required check that says why no name was asked.
func planProblemCheck(p *obs.Plan) Check {
	return Check{Name: obs.CheckPlan, Target: "endpoint names", Required: true, Run: func(context.Context) Outcome {
		return Outcome{Status: obs.StatusSkip, Reason: "not checked: " + p.Problem}
	}}
}

// Observe probes the host described by cfg and returns what it observed.
// It returns within cfg.Deadline of its start, less the time kept back for
// diagnosis and rendering, even when a check blocks forever: checks still
// running at the deadline are recorded as timeouts.
//
// The agent's logs are read beside everything else, within their own
// budget (logBudget), so they never hold back a live check. The host's files
// and IMDS come first (the plan needs them); then every name is asked of
// every resolver, and each answer's addresses are dialled as soon as it
// arrives (see live).
func Observe(ctx context.Context, cfg Config) *obs.Observations {
	cfg.normalize()
	began := time.Now() // deadlines are real time; cfg.Now stamps the report
	head := obs.Observations{StartedAt: cfg.Now(), Root: cfg.Root, Live: cfg.Live, Offline: cfg.Offline, Region: cfg.Region}
	if cfg.Windows != nil {
		head.OS = obs.OSWindows
	}
	runCtx, cancel := context.WithDeadline(ctx, began.Add(cfg.Deadline-renderReserve))
	defer cancel()

	r := newRunner(runCtx, &cfg)
	logs := r.start([]Check{logsCheck(&cfg, cfg.logBudget())}, nil)
	var (
		liveMu sync.Mutex // the live part starts once: after the facts, or at the deadline
		net    *live
	)
	// planned is phase 1's observations with the plan made from them: the
	// value the live phase is handed.
	planned := func(seen obs.Observations) obs.Observations {
		o := head
		o.Add(seen)
		o.Plan = BuildPlan(&cfg, &o)
		return o
	}
	facts := r.start(factChecks(&cfg), func(seen obs.Observations) {
		liveMu.Lock()
		defer liveMu.Unlock()
		net = startLive(r, &cfg, planned(seen))
	})
	r.wait()
	liveMu.Lock()
	if net == nil {
		// The deadline came before the facts were in: plan from what there
		// is, and list the live checks as not started.
		net = startLive(r, &cfg, planned(r.seen(facts)))
	}
	liveMu.Unlock()
	netRecs, netSeen := net.finish()
	o := net.facts // the facts and the plan
	o.Add(r.seen(logs))
	o.Add(netSeen)
	o.Checks = append(append(facts.records(), logs.records()...), netRecs...)
	return &o
}

// ObserveLogs reads the agent's logs only (ssm-probe logs): no network, no
// other checks.
func ObserveLogs(ctx context.Context, cfg Config) *obs.Observations {
	cfg.normalize()
	cfg.Live = false
	began := time.Now()
	o := obs.Observations{StartedAt: cfg.Now(), Root: cfg.Root, Offline: cfg.Offline}
	if cfg.Windows != nil {
		o.OS = obs.OSWindows
	}
	runCtx, cancel := context.WithDeadline(ctx, began.Add(cfg.Deadline-renderReserve))
	defer cancel()
	recs, seen := runChecks(runCtx, &cfg, []Check{logsCheck(&cfg, cfg.Deadline)})
	o.Add(seen)
	o.Checks = recs
	return &o
}
