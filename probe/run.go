// Package probe runs the whole probe: it observes the host (observe) and
// diagnoses what it saw (diagnose). Only the observations (obs) cross
// between the two layers.
package probe

import (
	"context"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/observe"
)

// Run probes the host described by cfg and returns the diagnosed result. It
// returns within cfg.Deadline of its start even when a check blocks forever:
// checks still running at the deadline are recorded as timeouts (Observe).
func Run(ctx context.Context, cfg Config) *Result {
	began := time.Now()
	o := observe.Observe(ctx, cfg)
	return diagnose.Finish(o, time.Since(began))
}

// RunLogs analyses the agent's logs only (ssm-probe logs): no network, no
// other checks. Its findings are never fail, since nothing live confirms
// that a fault in the logs is still present.
func RunLogs(ctx context.Context, cfg Config) *Result {
	began := time.Now()
	o := observe.ObserveLogs(ctx, cfg)
	res := diagnose.Finish(o, time.Since(began))
	res.Context.Mode = "offline"
	return res
}

// Config is what a run probes and how (observe.Config).
type Config = observe.Config

// Result is a diagnosed run (diagnose.Result).
type Result = diagnose.Result
