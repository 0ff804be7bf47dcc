package observe

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// Check is one unit of probing work. Checks are listed explicitly (see
// plan.go), never registered through init.
type Check struct {
	Name     obs.CheckName
	Target   string // what it looked at, e.g. "ssm.us-east-1.amazonaws.com via 10.0.0.2"
	Required bool   // the verdict is unknown, not ok, when this check could not run
	Run      func(ctx context.Context) Outcome
}

// Outcome is what a check returns: its status, the error class when it
// failed or could not look, a human reason, and what it observed.
type Outcome struct {
	Status obs.Status
	Class  errclass.Class
	Reason string

	// seen is what the check observed, as a value: only the one field it
	// looked at is set. It is the only copy: the runner keeps it for a
	// check that returned before the deadline (a late check's is dropped),
	// shows it as the check record's detail (detailOf) and hands it on
	// (runner.seen); nothing writes into another phase's observations.
	seen obs.Observations
}

// detailOf is the check record's detail for what a check observed: the one
// field it set, as a pointer into s itself (a list's first element), so
// the record shows the very value the runner keeps and a change made there
// (runner.update) reaches both. It is nil when the check observed nothing.
func detailOf(s *obs.Observations) any {
	switch {
	case s.Resolv != nil:
		return s.Resolv
	case s.IMDS != nil:
		return s.IMDS
	case s.Agent != nil:
		return s.Agent
	case s.Windows != nil: // before Host: the Windows host check fills both
		return s.Windows
	case s.Host != nil:
		return s.Host
	case s.Logs != nil:
		return s.Logs
	case s.Prefs != nil:
		return s.Prefs
	case s.Users != nil:
		return s.Users
	case s.Inotify != nil:
		return s.Inotify
	case s.Routes != nil:
		return s.Routes
	case len(s.DNS) > 0:
		return &s.DNS[0]
	case len(s.AgentDNS) > 0:
		return &s.AgentDNS[0]
	case len(s.Net) > 0:
		return &s.Net[0]
	case len(s.Proxy) > 0:
		return &s.Proxy[0]
	}
	return nil
}

// runChecks runs checks concurrently, at most cfg.MaxConcurrent at once,
// and returns one record per check in the order given. It returns when
// every check has returned or ctx is done, whichever comes first: a check
// still running then (one that ignored its context) is recorded as a
// timeout and left to finish on its own; its late result is dropped. A
// panicking check is recorded as an error with the panic value; it never
// takes the run down.
func runChecks(ctx context.Context, cfg *Config, checks []Check) ([]obs.CheckRecord, obs.Observations) {
	r := newRunner(ctx, cfg)
	b := r.start(checks, nil)
	r.wait()
	return b.records(), r.seen(b)
}

// runner runs checks that may start further checks when they finish, so
// that no stage waits for an unrelated one: an endpoint's TCP check starts
// when its name has its answers, not when every name has. All checks share
// one concurrency limit and one deadline (the runner's context). Each
// check's observations are kept as a value beside its record, and only for
// a check that returned before the deadline; a follow-up is handed its
// batch's observations, and the run assembles the final Observations once
// from the batches' values (runner.seen).
type runner struct {
	ctx context.Context
	cfg *Config
	sem chan struct{}

	mu      sync.Mutex // guards the fields below and every batch
	closed  bool       // the deadline passed or every check returned: nothing more is saved
	waiting bool       // wait was called: pending reaching zero ends the run
	pending int        // checks running or queued, plus batches whose follow-up has not run
	idle    chan struct{}
	batches []*batch
}

// batch is the checks of one start call, with their records and what
// each observed, in order.
type batch struct {
	recs    []obs.CheckRecord
	seen    []obs.Observations
	started []time.Time
	done    []bool
	left    int
	then    func(obs.Observations)
}

func newRunner(ctx context.Context, cfg *Config) *runner {
	limit := cfg.MaxConcurrent
	if limit <= 0 {
		limit = 1
	}
	return &runner{ctx: ctx, cfg: cfg, sem: make(chan struct{}, limit), idle: make(chan struct{})}
}

// start runs checks; then, when set, runs once every one of them has
// returned (before the deadline), is handed what they observed, and may
// start more. It never blocks.
func (r *runner) start(checks []Check, then func(obs.Observations)) *batch {
	b := &batch{recs: make([]obs.CheckRecord, len(checks)), seen: make([]obs.Observations, len(checks)),
		started: make([]time.Time, len(checks)), done: make([]bool, len(checks)), left: len(checks), then: then}
	for i, c := range checks {
		b.recs[i] = obs.CheckRecord{Name: c.Name, Target: c.Target, Required: c.Required}
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		b.timeoutRest(r.cfg.Now())
		return b
	}
	r.batches = append(r.batches, b)
	r.pending += len(checks)
	if then != nil {
		r.pending++
	}
	r.mu.Unlock()
	if len(checks) == 0 && then != nil {
		go r.follow(b)
	}
	for i, c := range checks {
		go r.runCheck(b, i, c)
	}
	return b
}

// runCheck waits for a slot, runs c and records its outcome.
func (r *runner) runCheck(b *batch, i int, c Check) {
	select {
	case r.sem <- struct{}{}:
	case <-r.ctx.Done():
		r.finish(b, i, Outcome{Status: obs.StatusTimeout, Class: errclass.Timeout,
			Reason: "not started: the run deadline came first"}, 0)
		return
	}
	t0 := r.cfg.Now()
	r.mu.Lock()
	b.started[i] = t0
	r.mu.Unlock()
	out := runOne(r.ctx, r.cfg, c)
	<-r.sem
	r.finish(b, i, out, r.cfg.Now().Sub(t0))
}

// finish records one outcome and keeps its observations, unless the
// runner has closed; the last check of a batch runs its follow-up.
func (r *runner) finish(b *batch, i int, out Outcome, dur time.Duration) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	rec := &b.recs[i]
	b.done[i] = true
	rec.Status, rec.Class, rec.Reason = out.Status, out.Class, out.Reason
	rec.DurationMS = dur.Milliseconds()
	b.seen[i] = out.seen
	rec.Detail = detailOf(&b.seen[i])
	b.left--
	last := b.left == 0
	r.mu.Unlock()
	if last && b.then != nil {
		r.follow(b)
	}
	r.release(1)
}

// follow runs a batch's follow-up with what the batch observed, then
// counts it done.
func (r *runner) follow(b *batch) {
	b.then(r.seen(b))
	r.release(1)
}

func (r *runner) release(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending -= n
	if r.pending == 0 && r.waiting && !r.closed {
		r.closed = true
		close(r.idle)
	}
}

// seen returns what the returned checks of bs observed, merged in batch
// and check order into a new value.
func (r *runner) seen(bs ...*batch) obs.Observations {
	r.mu.Lock()
	defer r.mu.Unlock()
	var o obs.Observations
	for _, b := range bs {
		if b == nil {
			continue
		}
		for i, s := range b.seen {
			if b.done[i] {
				o.Add(s)
			}
		}
	}
	return o
}

// update calls f on what each returned check of bs observed, in place:
// the check's record shows the same value (detailOf), so one change
// reaches the record and every later seen alike; the lists seen handed
// out before are copies and stay as they were. Call it after wait.
func (r *runner) update(f func(*obs.Observations), bs ...*batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range bs {
		if b == nil {
			continue
		}
		for i := range b.seen {
			if b.done[i] {
				f(&b.seen[i])
			}
		}
	}
}

// wait returns when every check started so far (and every check their
// follow-ups started) has returned, or when the runner's context is done:
// checks still out are then recorded as timeouts.
func (r *runner) wait() {
	r.mu.Lock()
	r.waiting = true
	if r.pending == 0 && !r.closed {
		r.closed = true
		close(r.idle)
	}
	r.mu.Unlock()
	select {
	case <-r.idle:
		return
	case <-r.ctx.Done():
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return // every check returned just as the deadline came
	}
	r.closed = true
	t := r.cfg.Now()
	for _, b := range r.batches {
		b.timeoutRest(t)
	}
}

// timeoutRest records every check of b that has not returned as a timeout.
func (b *batch) timeoutRest(t time.Time) {
	for i := range b.recs {
		if b.done[i] {
			continue
		}
		rec := &b.recs[i]
		rec.Status, rec.Class = obs.StatusTimeout, errclass.Timeout
		if b.started[i].IsZero() {
			rec.Reason = "not started: the run deadline came first"
		} else {
			rec.Reason = "did not finish before the run deadline"
			rec.DurationMS = t.Sub(b.started[i]).Milliseconds()
		}
	}
}

// records returns the batch's records. Call it after wait.
func (b *batch) records() []obs.CheckRecord {
	if b == nil {
		return nil
	}
	return b.recs
}

// runOne runs c, turning a panic into an error outcome and filling in a
// status the check forgot to set.
func runOne(ctx context.Context, cfg *Config, c Check) (out Outcome) {
	defer func() {
		if p := recover(); p != nil {
			out = Outcome{Status: obs.StatusError, Class: errclass.Other,
				Reason: fmt.Sprintf("internal error: check panicked: %v", p)}
			cfg.Log.Error().Str("check", string(c.Name)).Str("target", c.Target).
				Str("stack", string(debug.Stack())).Msgf("check panicked: %v", p)
		}
	}()
	cfg.Log.Debug().Str("check", string(c.Name)).Str("target", c.Target).Msg("check start")
	out = c.Run(ctx)
	cfg.Log.Debug().Str("check", string(c.Name)).Str("target", c.Target).Str("status", string(out.Status)).
		Str("class", string(out.Class)).Msg("check done")
	if out.Status == "" {
		out.Status = obs.StatusError
		out.Reason = "internal error: check returned no status"
	}
	return out
}
