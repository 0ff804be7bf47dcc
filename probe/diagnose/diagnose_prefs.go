package diagnose

import (
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/agentpath"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/prefs"
)

// The findings of the account's Session Manager preferences, and of the
// ssm call that reads them.
const (
	PrefsS3BucketMissing        finding.ID = "prefs.s3-bucket-missing"
	PrefsLogGroupMissing        finding.ID = "prefs.log-group-missing"
	PrefsLoggingEndpointUnreach finding.ID = "prefs.logging-endpoint-unreachable"
	PrefsUnreadable             finding.ID = "prefs.unreadable"
	IAMSSMAccessDenied          finding.ID = "iam.ssm-access-denied"
)

// prefsFamily pairs the findings about the account's Session Manager preferences with the rules that raise them.
func prefsFamily() family {
	return family{rules: []rule{diagnosePrefs}, entries: []finding.Entry{
		{ID: PrefsS3BucketMissing, Severity: finding.SevFail,
			Title: "Session logs go to an S3 bucket that does not exist",
			Fix: finding.FixLines(
				"Point S3 logging at an existing bucket, or turn it off: in prefs.json set inputs.s3BucketName to an existing bucket or \"\" (now {{printf \"%q\" .BUCKET}}); or recreate it: aws s3api create-bucket --bucket {{.BUCKET}} --region {{.REGION}} --create-bucket-configuration LocationConstraint={{.REGION}}",
				"Systems Manager > Session Manager > Preferences > Edit: under S3 logging, choose an existing bucket or turn S3 logging off (account- and region-wide).",
				"Or from the CLI: "+prefsFixCLI+" (set inputs.s3BucketName to an existing bucket, or to \"\" to turn S3 logging off)."),
			Docs: []string{finding.DocSessionLogging, finding.DocPrefsConsole, finding.DocPrefsCLI}},
		{ID: PrefsLogGroupMissing, Severity: finding.SevFail,
			Title: "Session logs go to a CloudWatch log group that does not exist",
			Fix: finding.FixLines(
				"Recreate the log group (aws logs create-log-group --log-group-name {{.LOG_GROUP}} --region {{.REGION}}), or in prefs.json set inputs.cloudWatchLogGroupName to an existing group or \"\" to turn CloudWatch logging off.",
				"Systems Manager > Session Manager > Preferences > Edit: under CloudWatch logging, choose an existing log group or turn CloudWatch logging off (account- and region-wide); or recreate the group: aws logs create-log-group --log-group-name LOG_GROUP",
				"Or from the CLI: "+prefsFixCLI+" (set inputs.cloudWatchLogGroupName to an existing group, or to \"\" to turn CloudWatch logging off)."),
			Docs: []string{finding.DocSessionLogging, finding.DocPrefsConsole, finding.DocPrefsCLI}},
		{ID: PrefsLoggingEndpointUnreach, Severity: finding.SevFail,
			Title: "Session preferences need an endpoint this host cannot reach",
			Fix: finding.FixLines(
				"Give the subnet the endpoint the preferences use: an S3 gateway endpoint (aws ec2 create-vpc-endpoint --vpc-id VPC_ID --service-name com.amazonaws.REGION.s3 --route-table-ids RTB_ID), interface endpoints for logs and kms, or a NAT path.",
				"Or turn the logging or encryption off: Systems Manager > Session Manager > Preferences > Edit (account- and region-wide), or "+prefsFixCLI+" (set inputs.s3BucketName / inputs.cloudWatchLogGroupName to \"\", inputs.kmsKeyId to \"\" and the encryption flags to false)."),
			Docs: []string{finding.DocSessionLogging, finding.DocVPCEndpoints, finding.DocPrefsCLI}},
		{ID: PrefsUnreadable, Severity: finding.SevInfo,
			Title: "The session preferences could not be checked",
			Fix:   "To let the probe read them, grant the instance role ssm:GetDocument on document/SSM-SessionManagerRunShell (AmazonSSMManagedInstanceCore has it), and s3:ListBucket / logs:DescribeLogGroups for the destinations; or read them yourself: Systems Manager > Session Manager > Preferences, or aws ssm get-document --name SSM-SessionManagerRunShell --query Content --output text",
			Docs:  []string{finding.DocPrefsConsole, finding.DocPrefsCLI},
			DependsOn: []finding.ID{NetLocalRoute, NetSharedEndpointBlocked, NetClockSkew, IMDSUnreachable, IMDSTokenTimeout, IMDSDisabled, IMDSUnusable,
				IAMNoInstanceProfile, IAMCredsUnavailable, NetEndpointBlocked, NetNoRoute, NetConnectionRefused,
				NetTLSFailed, NetProxyFailed, DNSEndpointResolvesPub, DNSResolverBypassesVPC, DNSEndpointNoAddress,
				DNSHostsStale, DNSVPCResolverSilent, DNSResolverError, DNSSearchListHijack, HostResolvConf,
				DNSNameserverUnresponsive, IAMSSMAccessDenied, ProbeUnexplained}},
		{ID: IAMSSMAccessDenied, Severity: finding.SevWarn,
			Title: "The instance role may not call the Systems Manager API",
			Fix: finding.FixLines(
				denialFix+"{{else}}Managed policy missing: aws iam list-attached-role-policies --role-name {{.ROLE}}; attach it: aws iam attach-role-policy --role-name {{.ROLE}} --policy-arn arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
				"Service control policy: in the Organizations management account, aws organizations list-policies-for-target --target-id ACCOUNT_ID --filter SERVICE_CONTROL_POLICY, and look for a Deny on ssm:*, ssmmessages:* or ec2messages:*; narrow it or exempt the role.",
				"Permissions boundary: aws iam get-role --role-name {{.ROLE}} --query Role.PermissionsBoundary; if one is set, it must allow ssm:*, ssmmessages:* and ec2messages:* calls the managed policy grants (or remove it: aws iam delete-role-permissions-boundary --role-name {{.ROLE}}).",
				"VPC endpoint policy: aws ec2 describe-vpc-endpoints --filters Name=service-name,Values=com.amazonaws.REGION.ssm --query 'VpcEndpoints[].PolicyDocument'; a custom policy must allow the role's ssm calls (or reset it to full access: aws ec2 modify-vpc-endpoint --vpc-endpoint-id VPCE_ID --reset-policy).{{end}}"),
			Docs: []string{finding.DocInstanceRole, finding.DocSCP, finding.DocBoundary, finding.DocEndpointPolicy, finding.DocAccessDenied}},
	}}
}

// regionWide is said by every preferences finding: one person's setting
// stalls everyone's sessions.
const regionWide = "The Session Manager preferences are account- and region-wide: whoever set them, they apply to every session to every instance in %s."

// diagnosePrefs implements the prefs.* findings from the preferences check
// (observe, checks_prefs.go): a deleted S3 bucket or log group, an endpoint the
// preferences need that cannot be reached, and preferences that could not
// be checked (info, with the reason; folded into the root cause when
// another finding explains it). A signature rejected for its time is
// net.clock-skew evidence.
func diagnosePrefs(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	po := o.Prefs
	if po == nil {
		return nil
	}
	wide := fmt.Sprintf(regionWide, po.Region)
	var out, unreadable []finding.Finding
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
		if len(clockSkew(in)) == 0 {
			// The Date headers did not show it; the rejected signature does.
			out = append(out, cat.New(NetClockSkew,
				"ssm rejected the probe's SigV4 signature for its time: the local clock is more than 5 minutes off, and the agent's calls fail the same way.", ev))
		}
		cannot("The session preferences could not be read: ssm rejected the signature for its time.", ev...)
	case d.Call.Fault == prefs.FaultDenied:
		out = append(out, ssmDenied(in, po, d.Call))
	case d.Missing:
		// No preferences document: the defaults, no session logging.
	case d.Call.Status != 200:
		cannot(fmt.Sprintf("The session preferences could not be read: ssm:GetDocument answered HTTP %d %s.", d.Call.Status, d.Call.ErrorType), d.Call.Summary())
	case d.Problem != "":
		cannot("The session preferences document was read but cannot be understood: "+d.Problem+".", d.Call.Summary())
	default:
		out = append(out, prefsFindings(in, po, wide, cannot)...)
	}
	return append(out, unreadable...)
}

// prefsFindings judges preferences that were read.
func prefsFindings(in *input, po *obs.PrefsObs, wide string, cannot func(string, ...string)) []finding.Finding {
	cat := in.cat
	pr := po.Prefs()
	if pr == nil {
		return nil
	}
	var out []finding.Finding
	if b := po.Bucket; b != nil && pr.UsesS3() {
		switch b.State {
		case prefs.BucketMissing:
			out = append(out, cat.New(PrefsS3BucketMissing,
				fmt.Sprintf("The session preferences stream session logs to S3 bucket %s, and S3 answers that it does not exist (deleted, or never created). The agent retries the upload before it gives up, so every session's screen stays blank for minutes before the prompt appears. %s", b.Bucket, wide),
				[]string{fmt.Sprintf("%s: s3BucketName %q (document version %s)", prefs.DocumentName, b.Bucket, docVersion(po)), b.Call.Summary()},
				finding.Fill{"BUCKET": b.Bucket, "REGION": po.Region}))
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
				finding.Fill{"LOG_GROUP": g.LogGroup, "REGION": po.Region}))
		case prefs.LogGroupDenied:
			cannot(fmt.Sprintf("Whether log group %s of the session preferences exists is unknown: the role %s may not call logs:DescribeLogGroups.", g.LogGroup, po.Role), g.Call.Summary())
		}
	}
	if ev, hosts := prefsEndpointFaults(in, pr, po); len(ev) > 0 {
		f := cat.New(PrefsLoggingEndpointUnreach,
			"The session preferences turn on session logging or encryption, and the endpoint that needs cannot be reached from this host: the endpoint is optional for Session Manager, but required once the preferences use it. Every session's screen stays blank for minutes before the prompt appears, or the session fails. "+wide,
			ev)
		f.About(hosts...)
		out = append(out, f)
	}
	return out
}

// prefsEndpointFaults lists the endpoints the preferences make required
// and that cannot be reached the way the agent connects.
func prefsEndpointFaults(in *input, pr *prefs.Preferences, po *obs.PrefsObs) (ev, hosts []string) {
	uses := map[obs.Service]string{}
	if pr.UsesS3() {
		uses[obs.ServiceS3] = fmt.Sprintf("s3BucketName %q", pr.S3BucketName)
	}
	if pr.UsesLogs() {
		uses[obs.ServiceLogs] = fmt.Sprintf("cloudWatchLogGroupName %q", pr.CloudWatchLogGroupName)
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
		uses[obs.ServiceKMS] = strings.Join(why, ", ")
	}
	for i := range in.views {
		v := &in.views[i]
		why, used := uses[v.Endpoint.Service]
		if !used || v.Proxy != nil {
			continue // the proxy path is judged by diagnoseProxy
		}
		addrs, _ := v.AgentAddrs()
		switch {
		case len(addrs) == 0 && (v.Agent != nil || len(v.System) > 0):
			ev = append(ev, fmt.Sprintf("%s (required by %s): no address from the agent's resolver", v.Endpoint.Host, why))
		case len(addrs) > 0 && in.byHost[v.Endpoint.Host] != nil && in.byHost[v.Endpoint.Host].State == agentpath.PathBroken && !v.FromHosts():
			ev = append(ev, fmt.Sprintf("%s (required by %s): %s", v.Endpoint.Host, why, netSummary(v, addrs)))
		default:
			continue
		}
		hosts = append(hosts, v.Endpoint.Host)
		if v.Endpoint.Service == obs.ServiceS3 && po.Bucket != nil && !po.Bucket.Call.Answered() {
			ev = append(ev, "signed "+po.Bucket.Call.Summary())
		}
		if v.Endpoint.Service == obs.ServiceLogs && po.LogGroup != nil && !po.LogGroup.Call.Answered() {
			ev = append(ev, "signed "+po.LogGroup.Call.Summary())
		}
	}
	return ev, hosts
}

func docVersion(po *obs.PrefsObs) string {
	if po.Document != nil && po.Document.Document != nil && po.Document.Document.Version != "" {
		return po.Document.Document.Version
	}
	return "unknown"
}

// ssmDenied is iam.ssm-access-denied: the instance role was refused
// ssm:GetDocument, which AmazonSSMManagedInstanceCore allows. What stops
// that call stops the agent's own calls too. When the answer's message
// names the policy type that refused (prefs.ParseDenial), that one is the
// cause and its fix the only fix; otherwise the managed policy, an SCP, a
// permissions boundary and the VPC endpoint's policy are all possible.
func ssmDenied(in *input, po *obs.PrefsObs, call *prefs.Call) finding.Finding {
	role := orPlaceholder(po.Role, "ROLE")
	ev := []string{call.Summary(), "role: " + role}
	fill := finding.Fill{"ROLE": role, "REGION": orPlaceholder(po.Region, "REGION")}
	summary := fmt.Sprintf("The instance role %s was refused ssm:GetDocument (%s), which AmazonSSMManagedInstanceCore allows.",
		role, orPlaceholder(call.ErrorType, "AccessDenied"))
	if d, ok := prefs.ParseDenial(call.Message); ok {
		if d.Action == "" {
			d.Action = "ssm:GetDocument"
		}
		summary += " " + denialWords(d)
		fillDenial(fill, d)
		if d.Policy == prefs.PolicyVPCEndpoint {
			fits, why := viaInterfaceEndpoint(in, call.Addr, call.Proxy)
			ev = append(ev, why)
			if !fits {
				summary += " That does not fit the address evidence: " + why + "; a VPC endpoint policy applies only to calls through an interface endpoint, so look for what carries this host's calls into one (a proxy, or a firewall that forwards them)."
			}
		}
	}
	summary += " Whatever refuses it most likely refuses the agent's own Systems Manager calls too, so the instance may not register or open sessions. The session preferences were not read."
	return in.cat.New(IAMSSMAccessDenied, summary, ev, fill)
}

// prefsFixCLI is the command pair that edits the account's Session Manager
// preferences for a region: fetch the document, edit prefs.json, write it
// back (AWS docs, "Update Session Manager preferences (command line)").
const prefsFixCLI = "aws ssm get-document --name SSM-SessionManagerRunShell --query Content --output text > prefs.json; edit prefs.json as described; then aws ssm update-document --name SSM-SessionManagerRunShell --content file://prefs.json --document-version '$LATEST'"
