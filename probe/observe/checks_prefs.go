package observe

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/imds"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/prefs"
)

// NoAPIReason is the skip reason of the preferences check under --no-api.
const NoAPIReason = "not checked: --no-api turns off every signed API call"

// prefsChecks lists the live check that reads the session preferences
// (the account's Session Manager document, and the S3 bucket and log group
// it names). It runs next to the endpoint checks, which test the s3, logs
// and kms paths themselves; it makes read-only signed calls only, and none
// under --no-api.
func prefsChecks(cfg *Config, o *obs.Observations) []Check {
	target := "ssm:GetDocument " + prefs.DocumentName
	if cfg.NoAPI {
		return []Check{skipped(obs.CheckPrefs, target, NoAPIReason)}
	}
	p := o.Plan
	if p == nil || p.Region == "" {
		return nil
	}
	// Capture now what the check reads, from the observations handed to
	// this phase.
	targets := map[obs.Service]prefs.Target{}
	region := p.Region
	var untrusted *signingPlan
	if cfg.TrustedForSigning() {
		for _, e := range p.Endpoints {
			targets[e.Service] = agentTarget(o, e.Host)
		}
	} else {
		untrusted = standardSigningPlan(cfg, o)
		region = untrusted.region
		for svc, h := range untrusted.hosts {
			targets[svc] = prefs.Target{Host: h}
		}
		if untrusted.problem != "" {
			return []Check{skipped(obs.CheckPrefs, target, untrusted.problem)}
		}
	}
	var sp *agentProxy
	if untrusted == nil {
		sp = signingProxy(cfg, o) // never the volume's proxy: see TrustedForSigning
	}
	var role, noCreds string
	switch id := o.IMDS; {
	case id == nil:
		noCreds = "not checked: the instance metadata service was not read, so there are no role credentials to sign with"
	case id.Failure != imds.FailNone && id.Failure != imds.FailUnauthorized:
		noCreds = fmt.Sprintf("not checked: IMDS failed (%s), so there are no role credentials to sign with", id.Failure)
	case id.Profile.State == imds.ProfileAbsent:
		noCreds = "not checked: no instance profile is attached, so there are no role credentials to sign with"
	default:
		role = id.Profile.Role
	}
	return []Check{{
		Name:   obs.CheckPrefs,
		Target: fmt.Sprintf("%s via %s", target, targets[obs.ServiceSSM].Host),
		Run: func(ctx context.Context) Outcome {
			po := &obs.PrefsObs{Region: region, Role: role}
			if untrusted != nil {
				po.NotFollowed = untrusted.notFollowed
			}
			if sp != nil {
				po.Proxy, po.NoProxy = sp.redacted, sp.noProxy
			}
			var out Outcome
			switch {
			case noCreds != "":
				po.Skipped = noCreds
				out = Outcome{Status: obs.StatusSkip, Reason: noCreds}
			case untrusted != nil:
				out = readPrefs(ctx, cfg, po, targets, untrusted.resolver(cfg), nil)
				out.Reason += "; " + untrusted.note()
			default:
				out = readPrefs(ctx, cfg, po, targets, nil, sp)
			}
			out.seen = obs.Observations{Prefs: po}
			return out
		},
	}}
}

// agentTarget is host as the agent's resolver answered it: its addresses,
// or why it gave none.
func agentTarget(o *obs.Observations, host string) prefs.Target {
	t := prefs.Target{Host: host}
	for _, a := range o.AgentDNS {
		if a.Host != host {
			continue
		}
		if a.Answer.Class == errclass.None {
			t.Addrs = append([]netip.Addr(nil), a.Answer.Addrs...)
		} else {
			t.Class, t.Detail = a.Answer.Class, a.Answer.Detail
		}
		return t
	}
	return t
}

// readPrefs fetches the role's credentials, reads the preferences and
// checks their destinations. The credentials live only in this call.
//
// With resolve set, each target's addresses are looked up just before its
// call, one lookup at a time (the sockets of a check stay within its share
// of MaxConcurrent), and only for the calls made.
//
// With sp set, the signed calls go through the agent's proxy as the
// agent's do; the credentials still come straight from IMDS, which the
// agent's proxy must not carry (net.proxy-imds-not-excluded says when it
// would).
func readPrefs(ctx context.Context, cfg *Config, po *obs.PrefsObs, targets map[obs.Service]prefs.Target,
	resolve func(context.Context, prefs.Target) prefs.Target, sp *agentProxy) Outcome {
	if resolve == nil {
		resolve = func(_ context.Context, t prefs.Target) prefs.Target { return t }
	}
	creds, err := imds.SigningCredentials(ctx, imds.Options{Endpoint: cfg.IMDSEndpoint, Timeout: cfg.Timeout,
		Now: cfg.Now, DialContext: cfg.Dialer.DialContext})
	if err != nil {
		po.Skipped = "not checked: no signing credentials: " + err.Error()
		return Outcome{Status: obs.StatusSkip, Class: errclass.Other, Reason: po.Skipped}
	}
	opt := prefs.Options{Region: po.Region, Port: cfg.EndpointPort, Dial: cfg.Dialer.DialContext,
		RootCAs: cfg.RootCAs, Timeout: cfg.Timeout, Now: cfg.Now}
	if sp != nil {
		opt.Proxy = sp
	}
	cl := prefs.New(opt, creds)
	po.Document = cl.GetDocument(ctx, resolve(ctx, targets[obs.ServiceSSM]))
	pr := po.Prefs()
	if pr.UsesS3() {
		targets[obs.ServiceS3] = resolve(ctx, targets[obs.ServiceS3])
	}
	if pr.UsesLogs() {
		targets[obs.ServiceLogs] = resolve(ctx, targets[obs.ServiceLogs])
	}
	var wg sync.WaitGroup
	if pr.UsesS3() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			po.Bucket = cl.HeadBucket(ctx, targets[obs.ServiceS3], pr.S3BucketName)
		}()
	}
	if pr.UsesLogs() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			po.LogGroup = cl.LogGroup(ctx, targets[obs.ServiceLogs], pr.CloudWatchLogGroupName)
		}()
	}
	wg.Wait()
	return prefsOutcome(po)
}

// prefsOutcome turns the observation into the check's status and reason.
// A 200 from the signed GetDocument is the probe's end-to-end proof that
// the ssm API works from this host with the role's credentials and its
// clock, and the reason says so.
func prefsOutcome(po *obs.PrefsObs) Outcome {
	out := Outcome{Status: obs.StatusPass}
	d := po.Document
	c := d.Call
	at := c.Addr
	if c.Proxy != "" {
		at = "through the agent's proxy " + c.Proxy + ", CONNECT, as the agent sends it"
	}
	proof := fmt.Sprintf("signed ssm:GetDocument answered by %s (%s): the ssm API works end to end from this host with role %s's credentials and this clock",
		c.Host, at, po.Role)
	switch {
	case !c.Answered():
		out.Status, out.Class, out.Reason = obs.StatusFail, c.Class, "no answer: "+c.Summary()
		if po.Proxy != "" && c.Proxy == "" {
			out.Reason += " (direct: the agent's no_proxy covers " + c.Host + ")"
		}
	case c.Fault == prefs.FaultDenied:
		out.Status, out.Class = obs.StatusSkip, errclass.HTTPStatus
		out.Reason = fmt.Sprintf("not checked: role %s may not call ssm:GetDocument (%s); the agent's logs are used instead", po.Role, c.ErrorType)
	case c.Fault == prefs.FaultClockSkew:
		out.Status, out.Class = obs.StatusFail, errclass.HTTPStatus
		out.Reason = "the signature was rejected for its time (" + c.ErrorType + "): the host clock is off"
	case d.Missing:
		out.Reason = proof + "; no preferences document: sessions use the defaults, no session logging"
	case c.Status != 200:
		out.Status, out.Class, out.Reason = obs.StatusFail, errclass.HTTPStatus, c.Summary()
	case d.Problem != "":
		out.Status, out.Class, out.Reason = obs.StatusWarn, errclass.Malformed, proof+"; but the preferences cannot be read: "+d.Problem
	default:
		notes := []string{proof}
		notes = append(notes, prefsNotes(po)...)
		out.Reason = strings.Join(notes, "; ")
		// A destination that got no usable answer was not looked at: the
		// check cannot pass on it.
		if (po.Bucket != nil && po.Bucket.State == prefs.BucketUnknown) ||
			(po.LogGroup != nil && po.LogGroup.State == prefs.LogGroupUnknown) {
			out.Status, out.Class = obs.StatusWarn, errclass.Other
			out.Reason += "; a destination could not be checked"
		}
	}
	return out
}

// prefsNotes says what the preferences use and what their destinations
// showed, for the check's reason.
func prefsNotes(po *obs.PrefsObs) []string {
	pr := po.Prefs()
	if pr == nil {
		return nil
	}
	var n []string
	if !pr.UsesS3() && !pr.UsesLogs() && !pr.UsesKMS() {
		n = append(n, "the preferences turn no session logging or encryption on")
	}
	if b := po.Bucket; b != nil {
		switch b.State {
		case prefs.BucketForbidden:
			n = append(n, fmt.Sprintf("S3 bucket %s: HeadBucket answered 403, which is inconclusive (the bucket may exist; the role may lack s3:ListBucket on it)", b.Bucket))
		case prefs.BucketOtherRegion:
			n = append(n, fmt.Sprintf("S3 bucket %s is in region %s, not %s: the agent uploads to that region's s3 endpoint", b.Bucket, b.Region, po.Region))
		default:
			n = append(n, fmt.Sprintf("S3 bucket %s: %s", b.Bucket, b.State))
		}
	}
	if g := po.LogGroup; g != nil {
		s := fmt.Sprintf("log group %s: %s", g.LogGroup, g.State)
		if pr.CloudWatchEncryptionEnabled && g.State == prefs.LogGroupExists && !g.Encrypted {
			s += " but not encrypted, while cloudWatchEncryptionEnabled requires it"
		}
		n = append(n, s)
	}
	return n
}
