package probe

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/errclass"
)

// Status is the outcome of one check. It is tri-state at heart: a check
// passed, failed, or could not look (skip, timeout, error); "could not look"
// is never counted as healthy.
type Status string

// The check statuses of the report contract (docs/INTERFACE.md).
const (
	StatusPass    Status = "pass"
	StatusWarn    Status = "warn"
	StatusFail    Status = "fail"
	StatusSkip    Status = "skip"    // not run, with a reason (offline root, needs root, not applicable)
	StatusTimeout Status = "timeout" // did not finish inside the run deadline
	StatusError   Status = "error"   // the check itself broke (panic, internal error)
)

// Checked reports whether s is a real answer (pass, warn or fail) rather
// than a check that could not look.
func (s Status) Checked() bool {
	return s == StatusPass || s == StatusWarn || s == StatusFail
}

// Check is one unit of probing work. Checks are listed explicitly (see
// plan.go), never registered through init.
type Check struct {
	Name     string // family, e.g. "dns", "tcp", "imds", "resolv.conf"
	Target   string // what it looked at, e.g. "ssm.us-east-1.amazonaws.com via 10.0.0.2"
	Required bool   // the verdict is unknown, not ok, when this check could not run
	Run      func(ctx context.Context) Outcome
}

// Outcome is what a check returns: its status, the error class when it
// failed or could not look, a human reason, and its typed observation.
type Outcome struct {
	Status Status
	Class  errclass.Class
	Reason string
	Detail any // a typed observation; must be JSON-serialisable

	// save stores the typed observation into the run's Observations. The
	// runner calls it from its own goroutine, and only for a check that
	// returned before the deadline, so a late check can never race with
	// diagnosis.
	save func(*Observations)
}

// CheckRecord is the report's record of one check (the JSON "checks" array).
type CheckRecord struct {
	Name       string         `json:"name"`
	Target     string         `json:"target"`
	Status     Status         `json:"status"`
	Required   bool           `json:"required,omitempty"`
	Class      errclass.Class `json:"class,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	DurationMS int64          `json:"duration_ms"`
	Detail     any            `json:"detail"`
}

// runChecks runs checks concurrently, at most limit at once, and returns one
// record per check in the order given. It returns when every check has
// returned or ctx is done, whichever comes first: a check still running
// then (one that ignored its context) is recorded as a timeout and left to
// finish on its own; its late result is dropped. A panicking check is
// recorded as an error with the panic value; it never takes the run down.
func runChecks(ctx context.Context, cfg *Config, obs *Observations, checks []Check) []CheckRecord {
	now, limit := cfg.Now, cfg.MaxConcurrent
	type result struct {
		i   int
		out Outcome
		dur time.Duration
	}
	recs := make([]CheckRecord, len(checks))
	for i, c := range checks {
		recs[i] = CheckRecord{Name: c.Name, Target: c.Target, Required: c.Required}
	}
	if limit <= 0 {
		limit = 1
	}
	// Buffered for every check, so a late check never blocks on send after
	// the runner has stopped listening.
	results := make(chan result, len(checks))
	sem := make(chan struct{}, limit)
	started := make([]time.Time, len(checks))
	var startMu sync.Mutex
	for i, c := range checks {
		go func(i int, c Check) {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results <- result{i: i, out: Outcome{Status: StatusTimeout, Class: errclass.Timeout,
					Reason: "not started: the run deadline came first"}}
				return
			}
			defer func() { <-sem }()
			t0 := now()
			startMu.Lock()
			started[i] = t0
			startMu.Unlock()
			out := runOne(ctx, cfg, c)
			results <- result{i: i, out: out, dur: now().Sub(t0)}
		}(i, c)
	}
	done := make([]bool, len(checks))
	for pending := len(checks); pending > 0; pending-- {
		select {
		case r := <-results:
			done[r.i] = true
			recs[r.i].Status = r.out.Status
			recs[r.i].Class = r.out.Class
			recs[r.i].Reason = r.out.Reason
			recs[r.i].Detail = r.out.Detail
			recs[r.i].DurationMS = r.dur.Milliseconds()
			if r.out.save != nil && obs != nil {
				r.out.save(obs)
			}
		case <-ctx.Done():
			t := now()
			startMu.Lock()
			defer startMu.Unlock()
			for i := range recs {
				if done[i] {
					continue
				}
				recs[i].Status = StatusTimeout
				recs[i].Class = errclass.Timeout
				if started[i].IsZero() {
					recs[i].Reason = "not started: the run deadline came first"
				} else {
					recs[i].Reason = "did not finish before the run deadline"
					recs[i].DurationMS = t.Sub(started[i]).Milliseconds()
				}
			}
			return recs
		}
	}
	return recs
}

// runOne runs c, turning a panic into an error outcome and filling in a
// status the check forgot to set.
func runOne(ctx context.Context, cfg *Config, c Check) (out Outcome) {
	defer func() {
		if p := recover(); p != nil {
			out = Outcome{Status: StatusError, Class: errclass.Other,
				Reason: fmt.Sprintf("internal error: check panicked: %v", p)}
			cfg.Log.Error().Str("check", c.Name).Str("target", c.Target).
				Str("stack", string(debug.Stack())).Msgf("check panicked: %v", p)
		}
	}()
	cfg.Log.Debug().Str("check", c.Name).Str("target", c.Target).Msg("check start")
	out = c.Run(ctx)
	cfg.Log.Debug().Str("check", c.Name).Str("target", c.Target).Str("status", string(out.Status)).
		Str("class", string(out.Class)).Msg("check done")
	if out.Status == "" {
		out.Status = StatusError
		out.Reason = "internal error: check returned no status"
	}
	return out
}
