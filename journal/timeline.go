package journal

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The lines the timeline dates by, as the agent writes them (public source,
// github.com/aws/amazon-ssm-agent; line numbers at the commit named):
//
//   - `HealthCheck reporting agent health.` (INFO) before every health ping:
//     aws/amazon-ssm-agent agent/health/healthcheck.go:100 (7a15400e,
//     HealthCheck.updateHealth). A failed ping is followed by `error when
//     calling AWS APIs` from sdkutil.HandleAwsError; an answered one logs
//     nothing at INFO.
//   - `UpdateInstanceInformation Response` (DEBUG) after a ping the ssm
//     endpoint answered: aws/amazon-ssm-agent agent/ssm/service.go
//     (sdkService.UpdateInstanceInformation, UpdateEmptyInstanceInformation).
//   - `Set up control channel successfully` (INFO): aws/amazon-ssm-agent
//     agent/messageservice/interactor/mgsinteractor/mgsinteractor.go;
//     `Successfully opened websocket connection to: <addr>`:
//     agent/session/communicator/websocketchannel.go. ssmmessages works.
//   - `Credentials ready` (INFO, context [CredentialRefresher]):
//     aws/amazon-ssm-agent core/app/credentialrefresher/credentialrefresher.go:183
//     (02a23568, sendCredentialsReadyMessage). It is also logged at start-up
//     from credentials cached on disk, so it ends a run of credential errors
//     but is not proof that an endpoint answered.
//   - `Successfully registered the instance with AWS SSM using Managed
//     instance-id: %s` (INFO): aws/amazon-ssm-agent agent/agent_parser.go
//     (processRegistration).
//   - `EC2 registration was successful.` (INFO): aws/amazon-ssm-agent
//     common/identity/availableidentities/ec2/ec2_identity.go:225
//     (Identity.Register): ssm answered RegisterManagedInstance.
//   - `Successfully connected with instance profile role credentials`,
//     `Successfully connected with Systems Manager role credentials` (INFO):
//     aws/amazon-ssm-agent common/identity/credentialproviders/ec2roleprovider/ec2_role_provider.go:116,
//     :126 (02a23568, RemoteRetrieve): ssm answered the role's
//     UpdateInstanceInformation, or Default Host Management's token request.
//   - `amazon-ssm-agent - v<version>`, logged once by every start of the core
//     agent (`Starting Core Agent: amazon-ssm-agent - v3.0.161.0`).
//   - hibernate.log: `Agent is in hibernate mode. …` and `Health ping failed
//     with error - %v`: aws/amazon-ssm-agent agent/hibernation/hibernation.go:77
//     and :104 (26e1622b): the pings to ssm fail.

// MaxStarts is how many agent starts a Timeline lists (the latest).
const MaxStarts = 16

// maxRunTimes caps the distinct failure seconds one source keeps for one
// run, so that a run that began in one source can be cut at a success found
// in another. Beyond the cap the run's start is an upper bound (Run.Approx).
const maxRunTimes = 256

// startDedupe is how close two start lines of one version must be to be one
// start: the core agent's start line reaches both its log file and the
// journal.
const startDedupe = 2 * time.Second

// Timeline dates what the agent's logs show: the last time the agent
// reached the service, when the current run of each kind of failure began,
// and when the agent started and with which version. Times are read in
// Zone; entries older than Options.Since are not looked at, so "no success"
// means none in the logs read.
type Timeline struct {
	Zone           string          `json:"zone"`                      // the zone the agent's zone-less timestamps were read in
	LastSuccess    *Mark           `json:"last_success,omitempty"`    // the latest line showing that an endpoint answered; nil: the logs read hold none
	Successes      []Mark          `json:"successes"`                 // the latest line of each kind of success, oldest first
	Failing        []Run           `json:"failing"`                   // the current run of each failure kind and endpoint, earliest first
	Since          time.Time       `json:"since,omitzero"`            // when the earliest current run began; zero when nothing fails
	Starts         []Start         `json:"starts"`                    // agent starts, oldest first, the latest MaxStarts
	VersionChanges []VersionChange `json:"version_changes,omitempty"` // starts whose version differs from the start before
	Kills          []Kill          `json:"kills,omitempty"`           // when the kernel or systemd killed the agent (KillLog.Kills), oldest first
}

// Mark is one dated success.
type Mark struct {
	Kind     Kind      `json:"kind"`               // health-ping-ok, control-channel-up, registered, credentials-ready
	Endpoint string    `json:"endpoint,omitempty"` // the service it proves (ssm, ssmmessages); "" for credentials
	Time     time.Time `json:"time"`
	Source   string    `json:"source"`             // file:line or journal cursor
	Inferred bool      `json:"inferred,omitempty"` // a health ping followed by the next one with no error between (INFO logs carry no success line)
}

// Run is the current run of one kind of failure to one endpoint: the
// failures after the last success that would have ended it.
type Run struct {
	Kind     Kind      `json:"kind"`
	Endpoint string    `json:"endpoint,omitempty"` // ssm, ssmmessages, ec2messages, s3, logs, kms; "" when the lines name none
	Since    time.Time `json:"since"`              // the first failure of the run
	Last     time.Time `json:"last"`               // the latest failure
	Count    int       `json:"count"`              // failures in the run
	After    time.Time `json:"after,omitzero"`     // the success the run follows; zero when the logs read hold none
	Source   string    `json:"source,omitempty"`   // where the first failure is, when known
	Approx   bool      `json:"approx,omitempty"`   // Since is an upper bound: the run began at or before it
}

// Start is one start of the agent.
type Start struct {
	Time    time.Time `json:"time"`
	Version string    `json:"version"`
	Source  string    `json:"source"`
}

// VersionChange is a start whose version differs from the previous start's.
type VersionChange struct {
	Time time.Time `json:"time"`
	From string    `json:"from"`
	To   string    `json:"to"`
}

// serviceSuccess reports the service a success kind proves, and whether the
// kind is a success at all. CredentialsReady proves no endpoint ("").
func serviceSuccess(k Kind) (string, bool) {
	switch k {
	case KindHealthPingOK, KindRegistered, KindCredentialSource:
		return "ssm", true
	case KindControlChannelUp:
		return "ssmmessages", true
	case KindCredentialsReady:
		return "", true
	}
	return "", false
}

// isFailure reports whether events of k are failures a run is made of.
func isFailure(k Kind) bool {
	return !informative(k) && k != KindS3Fallback && k != KindHealthPing
}

// ends reports whether a success of kind s ends a run of key. A success on
// an endpoint ends that endpoint's runs and the runs that name no endpoint;
// credential errors end at any success, since a ping that was answered had
// credentials; Credentials ready ends credential errors only.
func ends(s Kind, key runKey) bool {
	ep, _ := serviceSuccess(s)
	credential := key.kind == KindCredentialsError || key.kind == KindDHMCNotConfigured
	switch {
	case credential:
		return true
	case s == KindCredentialsReady:
		return false
	case key.endpoint == "":
		return true
	}
	return key.endpoint == ep
}

// endpoints names the services a failure event is about: from the hosts it
// names, else from what its kind implies.
func endpoints(ev Event) []string {
	var out []string
	for _, h := range ev.Fields.Hosts {
		if s := ServiceOf(h); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > 0 {
		return out
	}
	switch ev.Kind {
	case KindControlChannelError:
		return []string{"ssmmessages"}
	case KindMDSError:
		return []string{"ec2messages"}
	case KindHibernating:
		return []string{"ssm"} // the hibernation ping is UpdateInstanceInformation
	}
	return []string{""}
}

// ServiceOf returns the AWS service a host name belongs to
// (<service>.<region>.<domain>, or <bucket>.s3.<region>.<domain>): ssm,
// ssmmessages, ec2messages, s3, logs or kms; "" for any other name.
func ServiceOf(host string) string {
	labels := strings.Split(strings.ToLower(host), ".")
	switch labels[0] {
	case "ssm", "ssmmessages", "ec2messages", "s3", "logs", "kms":
		return labels[0]
	}
	if slices.Contains(labels[1:], "s3") {
		return "s3"
	}
	return ""
}

type runKey struct {
	kind     Kind
	endpoint string
}

// pos is where an entry is in its source: its line (files) or cursor
// (journal). The Source strings are built from it only for what the
// timeline keeps, so that the frequent health-ping lines allocate nothing.
type pos struct {
	line   int
	cursor string
}

// trail is one source's failures of one key since its last success that
// ended them.
type trail struct {
	key         runKey
	first, last time.Time
	count       int
	where       pos
	secs        []int64 // distinct failure seconds, in arrival order, at most maxRunTimes
	full        bool    // secs hit the cap
}

// timelineAcc gathers one source's timeline. Its memory is bounded: one
// Mark per success kind, one trail per key, the latest starts.
type timelineAcc struct {
	name    func(pos) string // names a position of this source
	success []markAt         // the latest of each success kind, one per kind (a handful)
	trails  []*trail         // one per key (a few dozen at most); a slice is cheaper than a map at every ping
	starts  []startAt
	ping    markAt // a health ping not yet known to have worked
	pingBad bool   // an ssm failure followed it
}

type markAt struct {
	m  Mark
	at pos
}

type startAt struct {
	s  Start
	at pos
}

// newTimelineAcc returns the accumulator of one source; name formats its
// positions.
func newTimelineAcc(name func(pos) string) *timelineAcc {
	return &timelineAcc{name: name}
}

// add records one event of an entry at t, found at at.
func (a *timelineAcc) add(ev Event, t time.Time, at pos) {
	if t.IsZero() {
		return
	}
	if ev.Kind == KindHealthPing {
		// The previous ping worked when no ssm failure came before this one.
		if !a.ping.m.Time.IsZero() && !a.pingBad {
			a.succeed(a.ping)
		}
		a.ping, a.pingBad = markAt{Mark{Kind: KindHealthPingOK, Endpoint: "ssm", Time: t, Inferred: true}, at}, false
		return
	}
	if ep, ok := serviceSuccess(ev.Kind); ok {
		a.succeed(markAt{Mark{Kind: ev.Kind, Endpoint: ep, Time: t}, at})
		return
	}
	if ev.Kind == KindAgentVersion {
		v := ""
		if len(ev.Fields.Values) > 0 {
			v = ev.Fields.Values[0]
		}
		a.starts = append(a.starts, startAt{Start{Time: t, Version: v}, at})
		if len(a.starts) > 4*MaxStarts {
			a.starts = slices.Delete(a.starts, 0, len(a.starts)-MaxStarts)
		}
		return
	}
	if !isFailure(ev.Kind) {
		return
	}
	for _, ep := range endpoints(ev) {
		if ep == "ssm" || ep == "" {
			a.pingBad = true
		}
		k := runKey{ev.Kind, ep}
		var tr *trail
		for _, x := range a.trails {
			if x.key == k {
				tr = x
				break
			}
		}
		switch {
		case tr == nil:
			tr = &trail{key: k, first: t, where: at}
			a.trails = append(a.trails, tr)
		case a.endedSince(k, tr.last):
			*tr = trail{key: k, first: t, where: at} // a success ended the old run
		}
		tr.count++
		tr.first = minTime(tr.first, t)
		tr.last = maxTime(tr.last, t)
		sec := t.Unix()
		if n := len(tr.secs); n == 0 || tr.secs[n-1] != sec {
			if n < maxRunTimes {
				tr.secs = append(tr.secs, sec)
			} else {
				tr.full = true
			}
		}
	}
}

// succeed records a success. The trails it ends are reset lazily, at their
// next failure (endedSince), or left behind by buildTimeline, so that the
// frequent pings cost a few comparisons.
func (a *timelineAcc) succeed(ma markAt) {
	m := ma.m
	found := false
	for i := range a.success {
		if a.success[i].m.Kind == m.Kind {
			if !m.Time.Before(a.success[i].m.Time) {
				a.success[i] = ma
			}
			found = true
		}
	}
	if !found {
		a.success = append(a.success, ma)
	}
}

// endedSince reports whether a success of this source that ends runs of k
// came at or after last.
func (a *timelineAcc) endedSince(k runKey, last time.Time) bool {
	for _, s := range a.success {
		if !last.After(s.m.Time) && ends(s.m.Kind, k) {
			return true
		}
	}
	return false
}

// after returns the trail's first failure after s, how many failures
// follow s, and whether the first is only an upper bound.
func (tr *trail) after(s time.Time) (first time.Time, count int, approx bool, ok bool) {
	if !tr.last.After(s) {
		return time.Time{}, 0, false, false
	}
	if s.IsZero() || tr.first.After(s) {
		return tr.first, tr.count, false, true
	}
	for i, sec := range tr.secs {
		if time.Unix(sec, 0).After(s) {
			// Counted in distinct seconds: a lower bound of the lines.
			return time.Unix(sec, 0), len(tr.secs) - i, false, true
		}
	}
	return tr.last, 1, true, true
}

// buildTimeline merges the sources' timelines (in reading order) into one.
func buildTimeline(accs []*timelineAcc, loc *time.Location) *Timeline {
	tl := &Timeline{Zone: zoneName(loc), Successes: []Mark{}, Failing: []Run{}, Starts: []Start{}}
	best := map[Kind]Mark{}
	for _, a := range accs {
		for _, ma := range a.success {
			k := ma.m.Kind
			if old, ok := best[k]; !ok || ma.m.Time.After(old.Time) {
				m := ma.m
				m.Source = a.name(ma.at)
				best[k] = m
			}
		}
	}
	for _, m := range best {
		tl.Successes = append(tl.Successes, m)
	}
	slices.SortFunc(tl.Successes, func(x, y Mark) int { return cmp.Or(x.Time.Compare(y.Time), cmp.Compare(x.Kind, y.Kind)) })
	for i := range tl.Successes {
		if m := tl.Successes[i]; m.Endpoint != "" {
			tl.LastSuccess = &tl.Successes[i]
		}
	}
	if tl.LastSuccess != nil {
		m := *tl.LastSuccess
		tl.LastSuccess = &m
	}

	runs := map[runKey]*Run{}
	for _, a := range accs {
		for _, tr := range a.trails {
			k := tr.key
			var s time.Time
			for sk, m := range best {
				if ends(sk, k) && m.Time.After(s) {
					s = m.Time
				}
			}
			first, n, approx, ok := tr.after(s)
			if !ok {
				continue
			}
			where := ""
			if first.Equal(tr.first) {
				where = a.name(tr.where)
			}
			r := runs[k]
			if r == nil {
				r = &Run{Kind: k.kind, Endpoint: k.endpoint, Since: first, After: s, Approx: approx, Source: where}
				runs[k] = r
			} else if first.Before(r.Since) {
				r.Since, r.Approx, r.Source = first, approx, where
			}
			r.Last = maxTime(r.Last, tr.last)
			r.Count += n
		}
	}
	for _, r := range runs {
		tl.Failing = append(tl.Failing, *r)
	}
	slices.SortFunc(tl.Failing, func(x, y Run) int {
		return cmp.Or(x.Since.Compare(y.Since), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Endpoint, y.Endpoint))
	})
	if len(tl.Failing) > 0 {
		tl.Since = tl.Failing[0].Since
	}

	var starts []Start
	for _, a := range accs {
		for _, sa := range a.starts {
			st := sa.s
			st.Source = a.name(sa.at)
			starts = append(starts, st)
		}
	}
	slices.SortStableFunc(starts, func(x, y Start) int { return x.Time.Compare(y.Time) })
	for _, st := range starts {
		if n := len(tl.Starts); n > 0 {
			prev := tl.Starts[n-1]
			if prev.Version == st.Version && st.Time.Sub(prev.Time) <= startDedupe {
				continue
			}
			if prev.Version != st.Version && prev.Version != "" && st.Version != "" {
				tl.VersionChanges = append(tl.VersionChanges, VersionChange{Time: st.Time, From: prev.Version, To: st.Version})
			}
		}
		tl.Starts = append(tl.Starts, st)
	}
	if n := len(tl.Starts); n > MaxStarts {
		tl.Starts = slices.Clone(tl.Starts[n-MaxStarts:])
	}
	return tl
}

// zoneName names loc for a reader: its name and its offset now.
func zoneName(loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	_, off := time.Now().In(loc).Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("%s (UTC%s%02d:%02d)", loc.String(), sign, off/3600, off%3600/60)
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
