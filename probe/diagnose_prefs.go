package probe

import (
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/prefs"
)

// regionWide is said by every preferences finding: one person's setting
// stalls everyone's sessions (seed 002).
const regionWide = "The Session Manager preferences are account- and region-wide: whoever set them, they apply to every session to every instance in %s."

// diagnosePrefs implements the prefs.* findings from the preferences check
// (issue 10, seed 002): a deleted S3 bucket or log group, an endpoint the
// preferences need that cannot be reached, and preferences that could not
// be checked (info, with the reason; folded into the root cause when
// another finding explains it). A signature rejected for its time is
// net.clock-skew evidence.
func diagnosePrefs(cat *Catalog, o *Observations) []Finding {
	po := o.Prefs
	if po == nil {
		return nil
	}
	wide := fmt.Sprintf(regionWide, po.Region)
	var out, unreadable []Finding
	cannot := func(summary string, ev ...string) {
		unreadable = append(unreadable, cat.New(PrefsUnreadable, summary+" "+wide, ev))
	}
	d := po.Document
	switch {
	case po.Skipped != "":
		cannot("The session preferences were not read: "+strings.TrimPrefix(po.Skipped, "not checked: ")+".", po.Skipped)
	case d == nil || d.Call == nil:
	case !d.Call.Answered():
		cannot("The session preferences could not be read: ssm:GetDocument got no answer.", d.Call.Summary())
	case d.Call.Fault == prefs.FaultClockSkew:
		ev := []string{d.Call.Summary()}
		if d.Call.SkewSeconds != nil {
			ev = append(ev, fmt.Sprintf("local clock minus the ssm endpoint's Date: %+d s", *d.Call.SkewSeconds))
		}
		if len(clockSkew(cat, o)) == 0 {
			// The Date headers did not show it; the rejected signature does.
			out = append(out, cat.New(NetClockSkew,
				"ssm rejected the probe's SigV4 signature for its time: the local clock is more than 5 minutes off, and the agent's calls fail the same way.", ev))
		}
		cannot("The session preferences could not be read: ssm rejected the signature for its time.", ev...)
	case d.Call.Fault == prefs.FaultDenied:
		cannot(fmt.Sprintf("The session preferences could not be read: the instance role %s may not call ssm:GetDocument (%s). AmazonSSMManagedInstanceCore allows it; the agent's logs are used instead.", po.Role, d.Call.ErrorType),
			d.Call.Summary())
	case d.Missing:
		// No preferences document: the defaults, no session logging.
	case d.Call.Status != 200:
		cannot(fmt.Sprintf("The session preferences could not be read: ssm:GetDocument answered HTTP %d %s.", d.Call.Status, d.Call.ErrorType), d.Call.Summary())
	case d.Problem != "":
		cannot("The session preferences document was read but cannot be understood: "+d.Problem+".", d.Call.Summary())
	default:
		out = append(out, prefsFindings(cat, o, po, wide, cannot)...)
	}
	return append(out, unreadable...)
}

// prefsFindings judges preferences that were read.
func prefsFindings(cat *Catalog, o *Observations, po *PrefsObs, wide string, cannot func(string, ...string)) []Finding {
	pr := po.Prefs()
	if pr == nil {
		return nil
	}
	var out []Finding
	if b := po.Bucket; b != nil && pr.UsesS3() {
		switch b.State {
		case prefs.BucketMissing:
			out = append(out, cat.New(PrefsS3BucketMissing,
				fmt.Sprintf("The session preferences stream session logs to S3 bucket %s, and S3 answers that it does not exist (deleted, or never created). The agent retries the upload before it gives up, so every session's screen stays blank for minutes before the prompt appears (seed 002). %s", b.Bucket, wide),
				[]string{fmt.Sprintf("%s: s3BucketName %q (document version %s)", prefs.DocumentName, b.Bucket, docVersion(po)), b.Call.Summary()},
				fmt.Sprintf("Point S3 logging at an existing bucket, or turn it off: in prefs.json set inputs.s3BucketName to an existing bucket or \"\" (now %q); or recreate it: aws s3api create-bucket --bucket %s --region %s --create-bucket-configuration LocationConstraint=%s", b.Bucket, b.Bucket, po.Region, po.Region)))
		case prefs.BucketForbidden:
			cannot(fmt.Sprintf("Whether S3 bucket %s of the session preferences exists is unknown: HeadBucket answered 403, which is inconclusive (the role may lack s3:ListBucket on it, or the bucket belongs to another account).", b.Bucket), b.Call.Summary())
		}
	}
	if g := po.LogGroup; g != nil && pr.UsesLogs() {
		switch g.State {
		case prefs.LogGroupMissing:
			out = append(out, cat.New(PrefsLogGroupMissing,
				fmt.Sprintf("The session preferences stream session logs to CloudWatch log group %s, and no log group of that name exists (deleted, or never created). Sessions stall or fail while the agent looks for it. %s", g.LogGroup, wide),
				[]string{fmt.Sprintf("%s: cloudWatchLogGroupName %q (document version %s)", prefs.DocumentName, g.LogGroup, docVersion(po)), g.Call.Summary()},
				fmt.Sprintf("Recreate the log group (aws logs create-log-group --log-group-name %s --region %s), or in prefs.json set inputs.cloudWatchLogGroupName to an existing group or \"\" to turn CloudWatch logging off.", g.LogGroup, po.Region)))
		case prefs.LogGroupDenied:
			cannot(fmt.Sprintf("Whether log group %s of the session preferences exists is unknown: the role %s may not call logs:DescribeLogGroups.", g.LogGroup, po.Role), g.Call.Summary())
		}
	}
	if ev, hosts := prefsEndpointFaults(o, pr, po); len(ev) > 0 {
		f := cat.New(PrefsLoggingEndpointUnreach,
			"The session preferences turn on session logging or encryption, and the endpoint that needs cannot be reached from this host: the endpoint is optional for Session Manager, but required once the preferences use it. Every session's screen stays blank for minutes before the prompt appears, or the session fails. "+wide,
			ev)
		f.about(hosts...)
		out = append(out, f)
	}
	return out
}

// prefsEndpointFaults lists the endpoints the preferences make required
// and that cannot be reached the way the agent connects.
func prefsEndpointFaults(o *Observations, pr *prefs.Preferences, po *PrefsObs) (ev, hosts []string) {
	uses := map[string]string{}
	if pr.UsesS3() {
		uses["s3"] = fmt.Sprintf("s3BucketName %q", pr.S3BucketName)
	}
	if pr.UsesLogs() {
		uses["logs"] = fmt.Sprintf("cloudWatchLogGroupName %q", pr.CloudWatchLogGroupName)
	}
	if pr.UsesKMS() {
		var why []string
		if pr.KMSKeyID != "" {
			why = append(why, fmt.Sprintf("kmsKeyId %q", pr.KMSKeyID))
		}
		if pr.S3EncryptionEnabled {
			why = append(why, "s3EncryptionEnabled")
		}
		if pr.CloudWatchEncryptionEnabled {
			why = append(why, "cloudWatchEncryptionEnabled")
		}
		uses["kms"] = strings.Join(why, ", ")
	}
	for _, v := range views(o) {
		why, used := uses[v.e.Service]
		if !used || v.proxy != nil {
			continue // the proxy path is judged by diagnoseProxy
		}
		addrs, _ := v.agentAddrs()
		switch {
		case len(addrs) == 0 && (v.agent != nil || len(v.sys) > 0):
			ev = append(ev, fmt.Sprintf("%s (required by %s): no address from the agent's resolver", v.e.Host, why))
		case len(addrs) > 0 && v.tried(addrs) && !v.reached(addrs) && !v.fromHosts():
			ev = append(ev, fmt.Sprintf("%s (required by %s): %s", v.e.Host, why, netSummary(&v, addrs)))
		default:
			continue
		}
		hosts = append(hosts, v.e.Host)
		if v.e.Service == "s3" && po.Bucket != nil && !po.Bucket.Call.Answered() {
			ev = append(ev, "signed "+po.Bucket.Call.Summary())
		}
		if v.e.Service == "logs" && po.LogGroup != nil && !po.LogGroup.Call.Answered() {
			ev = append(ev, "signed "+po.LogGroup.Call.Summary())
		}
	}
	return ev, hosts
}

func docVersion(po *PrefsObs) string {
	if po.Document != nil && po.Document.Document != nil && po.Document.Document.Version != "" {
		return po.Document.Document.Version
	}
	return "unknown"
}
