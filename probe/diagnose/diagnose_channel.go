package diagnose

import (
	"fmt"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The finding about the agent's control channel to ssmmessages.
const (
	AgentControlChannelDown finding.ID = "agent.control-channel-down"
)

// minWebsocketHeartbeat is the first agent whose control channel pings its
// websocket, which notices a dropped connection sooner (docs/AGENT-FACTS.md).
const minWebsocketHeartbeat = "3.3.987.0"

// channelFamily pairs agent.control-channel-down with its rule.
func channelFamily() family {
	restart := "{{if .windows}}" + winRestart + "{{else if .snap}}sudo snap restart amazon-ssm-agent{{else}}sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}{{end}}"
	return family{rules: []rule{controlChannelDown}, entries: []finding.Entry{
		{ID: AgentControlChannelDown, Severity: finding.SevFail,
			Title: "The agent's control channel to ssmmessages dropped and never came back",
			Fix: "Restart the agent, which opens a new control channel at start (" + restart + "), and check that " + winOr(winAgentLog, "/var/log/amazon/ssm/amazon-ssm-agent.log") + " then says Set up control channel successfully." +
				"{{if .oldAgent}} Then update the agent (AWS-UpdateSSMAgent, or the package manager): {{.VERSION}} predates " + minWebsocketHeartbeat + ", whose websocket heartbeat notices a dropped connection sooner.{{end}}",
			Docs: []string{finding.DocAgentStatus, finding.DocTroubleshoot},
			DependsOn: []finding.ID{NetEndpointBlocked, NetNoRoute, NetTLSFailed, NetProxyFailed, DNSEndpointResolvesPub,
				DNSResolverBypassesVPC, DNSHostsStale, DNSEndpointNoAddress, DNSSearchListHijack, DNSResolverError,
				NetClockSkew, IAMNoInstanceProfile, IAMCredsUnavailable, IAMSSMAccessDenied, AgentCredentialsExpired, ProbeUnexplained}},
	}}
}

// controlChannelDown builds agent.control-channel-down: the agent's logs
// hold a control channel success (`Set up control channel successfully`,
// `Successfully opened websocket connection to:`), then control channel
// failures (`failed to reconnect to the control channel …`, `Error setting
// up control channel …`, `Failed to get controlchannel token …`) or
// `SSM Connection channel status is set to ec2messages`, and no success
// after them. When the live path to ssmmessages reaches HTTPS nothing on
// the network explains it: it is the root cause, a fail. When that path is
// broken the live finding is the cause and this one (a warn) folds into it;
// without a live path to judge by it is a warn.
func controlChannelDown(in *input) []finding.Finding {
	o := in.o
	if o.Logs == nil || (o.Agent != nil && o.Agent.RunningChecked && !o.Agent.Running) {
		return nil
	}
	up := logSummary(o, journal.KindControlChannelUp)
	if up == nil || up.Last.IsZero() {
		return nil // it never connected in the logs read: not a drop
	}
	// The failures after the success, each with whether it is provably
	// the first of its kind after it: every line of the kind was kept, or
	// it is the kind's first line.
	var failures []journal.Sample
	var firsts []bool
	collect := func(s *journal.Summary, keep func(string) bool) {
		complete := s.Count <= len(s.Samples)
		for i, sm := range samplesAfter(s, up.Last) {
			if keep(sm.Text) {
				failures = append(failures, sm)
				firsts = append(firsts, complete || (i == 0 && sm.Time.Equal(s.First)))
			}
		}
	}
	if s := logSummary(o, journal.KindControlChannelError); s != nil && s.Last.After(up.Last) {
		collect(s, controlChannelLine)
	}
	if s := logSummary(o, journal.KindChannelInUse); s != nil {
		collect(s, func(text string) bool { return strings.HasSuffix(strings.TrimSpace(text), "set to ec2messages") })
	}
	if len(failures) == 0 {
		return nil
	}
	since, exact, dated := up.Last, false, false // untimed failures: after the success, no earlier
	var lastFailure time.Time
	for i, sm := range failures {
		if sm.Time.After(up.Last) && (!dated || sm.Time.Before(since)) {
			since, exact, dated = sm.Time, firsts[i], true
		}
		if sm.Time.After(lastFailure) {
			lastFailure = sm.Time
		}
	}
	if start := lastStart(o.Logs); !start.IsZero() && start.After(lastFailure) {
		return nil // the agent restarted after it: its new channel's outcome is not in the logs yet
	}
	upAt := up.Last.UTC().Format("2006-01-02 15:04:05")
	sinceAt := since.UTC().Format("2006-01-02 15:04:05")
	ev := []string{}
	if n := len(up.Samples); n > 0 {
		sm := up.Samples[n-1]
		ev = append(ev, fmt.Sprintf("last success: %s: %s", sm.Source, sm.Text))
	}
	for _, sm := range failures {
		ev = append(ev, fmt.Sprintf("after it: %s: %s", sm.Source, sm.Text))
	}
	first := "the first failure after it at " + sinceAt + " UTC"
	if !exact {
		first = "failures after it by " + sinceAt + " UTC (the earliest line kept)"
	}
	summary := fmt.Sprintf("The agent's control channel to ssmmessages dropped: its last success was at %s UTC, %s, and no line since shows it reconnected. Session Manager reaches a node only through this channel, so sessions fail (TargetNotConnected) even while Run Command may still work.",
		upAt, first)
	sev := finding.SevWarn
	p := ssmmessagesPath(in)
	switch {
	case p != nil && p.OK():
		sev = finding.SevFail
		summary += fmt.Sprintf(" %s answers over HTTPS now, so nothing on the network path explains it: the agent stopped reconnecting, and a restart opens a new channel.", p.Host)
		ev = append(ev, fmt.Sprintf("live check: the agent's path to %s reaches HTTPS now (%s)", p.Host, pathAddr(p)))
	case p != nil && p.State == agentpath.PathBroken:
		summary += fmt.Sprintf(" %s does not answer now either: the live finding about it is the cause.", p.Host)
		ev = append(ev, fmt.Sprintf("live check: the agent's path to %s breaks at %s (%s)", p.Host, p.Failed, p.Class))
	case o.Live:
		ev = append(ev, "live check: the agent's path to ssmmessages could not be followed")
	default:
		summary += " Without live checks nothing shows whether ssmmessages answers now."
	}
	fill := finding.Fill{}
	if o.Agent != nil {
		fill = agentFill(o)
		if v, err := o.Agent.ParsedVersion(); err == nil && !v.AtLeast(minWebsocketHeartbeat) {
			fill["oldAgent"] = true
			fill["VERSION"] = "agent " + o.Agent.Version
			ev = append(ev, fmt.Sprintf("agent %s predates %s: no websocket heartbeat on its control channel", o.Agent.Version, minWebsocketHeartbeat))
		}
	}
	f := in.cat.NewAt(AgentControlChannelDown, sev, summary, ev, fill)
	if p != nil {
		f.About(p.Host)
	}
	return []finding.Finding{f}
}

// controlChannelLines are the control channel's own failures, as the
// agent's core worker logs them (docs/AGENT-FACTS.md, "The control
// channel"): a websocket dial failure may be a session's data channel.
var controlChannelLines = []string{"failed to reconnect to the control channel", "failed to reconnect to the controlchannel",
	"Error setting up control channel", "Failed to get controlchannel token"}

// controlChannelLine reports whether text is one of controlChannelLines,
// not from a session worker.
func controlChannelLine(text string) bool {
	if strings.Contains(text, "[ssm-session-worker]") {
		return false
	}
	for _, l := range controlChannelLines {
		if strings.Contains(text, l) {
			return true
		}
	}
	return false
}

// lastStart is when the core agent last started (its `amazon-ssm-agent -
// v…` line); zero when the logs show none.
func lastStart(l *journal.Result) time.Time {
	for _, s := range l.Events {
		if s.Kind == journal.KindAgentVersion {
			return s.Last
		}
	}
	return time.Time{}
}

// samplesAfter returns s's samples dated after t.
func samplesAfter(s *journal.Summary, t time.Time) []journal.Sample {
	var out []journal.Sample
	for _, sm := range s.Samples {
		if sm.Time.After(t) {
			out = append(out, sm)
		}
	}
	if len(out) == 0 && s.Last.After(t) && s.First.After(t) && len(s.Samples) > 0 {
		// Untimed samples of a summary whose every line is after t.
		out = append(out, s.Samples...)
	}
	return out
}

// ssmmessagesPath is the agent's path to the planned ssmmessages endpoint;
// nil without one.
func ssmmessagesPath(in *input) *agentpath.AgentPath {
	for i := range in.paths {
		if in.paths[i].Service == obs.ServiceSSMMessages {
			return &in.paths[i]
		}
	}
	return nil
}

// pathAddr names the address a path dialled.
func pathAddr(p *agentpath.AgentPath) string {
	if p.Dialed.IsValid() {
		return "via " + p.Dialed.String()
	}
	return "via " + p.Via
}
