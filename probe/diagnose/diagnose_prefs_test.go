package diagnose

import (
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/observe"
	"github.com/ssm-probe/ssm-probe/probe/prefs"
)

const prefsFixtures = "testdata/obs/prefs"

// TestDiagnosePrefs table-tests the prefs.* rules from the observation
// fixtures in testdata/obs/prefs (regenerate: go test -run
// TestDiagnosePrefs ./probe/diagnose -update). The preferences check's observation
// travels in its check record, as it does in a saved run.
func TestDiagnosePrefs(t *testing.T) {
	fixtureDir(t, prefsFixtures, prefsScenarios())
}

// healthy is a VPC whose six endpoints all answer over HTTPS.
func healthy() *probetest.Scen {
	return probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").
		Answer("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
		Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
		Net("10.0.1.X", "ok")
}

// okCall is a signed call that answered status.
func okCall(api, svc string, status int, errType string, fault prefs.Fault) *prefs.Call {
	return &prefs.Call{API: api, Host: svc + ".ap-northeast-1.amazonaws.com", Addr: "10.0.1.11:443", Status: status,
		ErrorType: errType, Fault: fault, Date: "Sun, 22 Nov 2026 10:00:00 GMT"}
}

// withPrefs adds the preferences observation po and its check's record.
func withPrefs(s *probetest.Scen, status obs.Status, po *obs.PrefsObs) *probetest.Scen {
	s.O.Prefs = po
	po.Region = "ap-northeast-1"
	if po.Role == "" {
		po.Role = "app-role"
	}
	s.O.Checks = append(s.O.Checks, obs.CheckRecord{Name: obs.CheckPrefs, Target: "ssm:GetDocument " + prefs.DocumentName,
		Status: status, Detail: po})
	return s
}

// deniedBy is the start of the message of an AccessDeniedException to the
// probe's GetDocument (IAM User Guide, "Troubleshoot access denied error
// messages"); the denial clause follows.
const deniedBy = "User: arn:aws:sts::123456789012:assumed-role/app-role/i-0123456789abcdef0 is not authorized to perform: ssm:GetDocument on resource: arn:aws:ssm:ap-northeast-1::document/SSM-SessionManagerRunShell "

// denied is a GetDocument answered AccessDeniedException with message,
// from addr.
func denied(message, addr string) *prefs.DocumentResult {
	c := okCall(prefs.APIGetDocument, "ssm", 400, "AccessDeniedException", prefs.FaultDenied)
	c.Message, c.Addr = message, addr
	return &prefs.DocumentResult{Call: c}
}

// wtn is a wanted finding that must name text and must not name notText.
func wtn(id finding.ID, sev finding.Severity, text []string, notText ...string) wantFinding {
	return wantFinding{ID: id, Severity: sev, Text: text, NotText: notText}
}

// read is a GetDocument that returned p.
func read(p prefs.Preferences) *prefs.DocumentResult {
	return &prefs.DocumentResult{Call: okCall(prefs.APIGetDocument, "ssm", 200, "", prefs.FaultNone),
		Document: &prefs.Document{Name: prefs.DocumentName, Version: "4", Format: "JSON", Status: "Active", Prefs: &p}}
}

func bucket(name string, st prefs.BucketState, status int) *prefs.BucketResult {
	return &prefs.BucketResult{Bucket: name, State: st, Call: okCall(prefs.APIHeadBucket, "s3", status, "", prefs.FaultNone)}
}

func group(name string, st prefs.LogGroupState, fault prefs.Fault) *prefs.LogGroupResult {
	status, typ := 200, ""
	if fault == prefs.FaultDenied {
		status, typ = 400, "AccessDeniedException"
	}
	return &prefs.LogGroupResult{LogGroup: name, State: st, Call: okCall(prefs.APIDescribeLogGroups, "logs", status, typ, fault)}
}

func prefsScenarios() map[string]fixture {
	s3prefs := prefs.Preferences{SessionType: "Standard_Stream", S3BucketName: "corp-session-logs"}
	cwprefs := prefs.Preferences{SessionType: "Standard_Stream", CloudWatchLogGroupName: "/ssm/sessions"}
	kmsprefs := prefs.Preferences{SessionType: "Standard_Stream", KMSKeyID: "alias/ssm-sessions"}
	return map[string]fixture{
		"bucket-missing": fx("The preferences log to an S3 bucket that was deleted",
			withPrefs(healthy(), obs.StatusPass, &obs.PrefsObs{Document: read(s3prefs), Bucket: bucket("corp-session-logs", prefs.BucketMissing, 404)}),
			w(PrefsS3BucketMissing, finding.SevFail)),
		"bucket-exists": fx("the bucket exists and s3 answers: nothing to report",
			withPrefs(healthy(), obs.StatusPass, &obs.PrefsObs{Document: read(s3prefs), Bucket: bucket("corp-session-logs", prefs.BucketExists, 200)})),
		"bucket-other-region": fx("a bucket in another region is noted in the check, not a finding",
			withPrefs(healthy(), obs.StatusPass, &obs.PrefsObs{Document: read(s3prefs), Bucket: &prefs.BucketResult{Bucket: "corp-session-logs",
				State: prefs.BucketOtherRegion, Region: "eu-west-1", Call: okCall(prefs.APIHeadBucket, "s3", 301, "", prefs.FaultNone)}})),
		"bucket-forbidden": fx("HeadBucket 403 is inconclusive, and the finding says so",
			withPrefs(healthy(), obs.StatusPass, &obs.PrefsObs{Document: read(s3prefs), Bucket: bucket("corp-session-logs", prefs.BucketForbidden, 403)}),
			w(PrefsUnreadable, finding.SevInfo)),
		"log-group-missing": fx("the preferences stream to a CloudWatch log group that was deleted",
			withPrefs(healthy(), obs.StatusPass, &obs.PrefsObs{Document: read(cwprefs), LogGroup: group("/ssm/sessions", prefs.LogGroupMissing, "")}),
			w(PrefsLogGroupMissing, finding.SevFail)),
		"log-group-denied": fx("the role may not describe log groups: inconclusive",
			withPrefs(healthy(), obs.StatusPass, &obs.PrefsObs{Document: read(cwprefs), LogGroup: group("/ssm/sessions", prefs.LogGroupDenied, prefs.FaultDenied)}),
			w(PrefsUnreadable, finding.SevInfo)),
		"logs-endpoint-timeout": fx("CloudWatch logging is on and the logs endpoint times out: required now; net.optional-endpoint-unreachable folds in",
			withPrefs(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").
				Answer("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
				Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
				Net("10.0.1.X", "ok", "ssm", "ssmmessages", "ec2messages", "s3", "kms").
				Net("10.0.1.X", "timeout", "logs"),
				obs.StatusPass, &obs.PrefsObs{Document: read(cwprefs), LogGroup: &prefs.LogGroupResult{LogGroup: "/ssm/sessions", State: prefs.LogGroupUnknown,
					Call: &prefs.Call{API: prefs.APIDescribeLogGroups, Host: "logs.ap-northeast-1.amazonaws.com", Addr: "10.0.1.15:443", Stage: "tcp", Class: errclass.Timeout, Detail: "i/o timeout"}}}),
			w(PrefsLoggingEndpointUnreach, finding.SevFail)),
		"kms-no-address": fx("a KMS key is set and kms has no address from the agent's resolver",
			withPrefs(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").
				Answer("10.0.0.2", errclass.None, []string{"10.0.1.X"}, "ssm", "ssmmessages", "ec2messages", "s3", "logs").
				Answer("10.0.0.2", errclass.NXDomain, nil, "kms").
				Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"}, "ssm", "ssmmessages", "ec2messages", "s3", "logs").
				Agent("10.0.0.2", errclass.NXDomain, nil, "kms").
				Net("10.0.1.X", "ok", "ssm", "ssmmessages", "ec2messages", "s3", "logs"),
				obs.StatusPass, &obs.PrefsObs{Document: read(kmsprefs)}),
			w(PrefsLoggingEndpointUnreach, finding.SevFail)),
		"unused-endpoint-unreachable": fx("logs is unreachable but the preferences log to S3 only: the plain optional-endpoint warning stays",
			withPrefs(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").
				Answer("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
				Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
				Net("10.0.1.X", "ok", "ssm", "ssmmessages", "ec2messages", "s3", "kms").
				Net("10.0.1.X", "timeout", "logs"),
				obs.StatusPass, &obs.PrefsObs{Document: read(s3prefs), Bucket: bucket("corp-session-logs", prefs.BucketExists, 200)}),
			w(NetOptionalEndpointUnreach, finding.SevWarn)),
		"no-document": fx("no preferences document: the defaults, no logging; the check says so, no finding",
			withPrefs(healthy(), obs.StatusPass, &obs.PrefsObs{Document: &prefs.DocumentResult{Missing: true,
				Call: okCall(prefs.APIGetDocument, "ssm", 400, "InvalidDocument", prefs.FaultNone)}})),
		"access-denied": fx("the role may not call GetDocument: a warn naming the role and the four causes (policy, SCP, boundary, endpoint policy)",
			withPrefs(healthy(), obs.StatusSkip, &obs.PrefsObs{Document: &prefs.DocumentResult{
				Call: okCall(prefs.APIGetDocument, "ssm", 400, "AccessDeniedException", prefs.FaultDenied)}}),
			w(IAMSSMAccessDenied, finding.SevWarn)),
		"access-denied-vpce": fx("GetDocument denied because no VPC endpoint policy allows it, through an endpoint address in the VPC: the endpoint policy alone",
			withPrefs(healthy(), obs.StatusSkip, &obs.PrefsObs{Document: denied(deniedBy+"because no VPC endpoint policy allows the ssm:GetDocument action", "10.0.1.11:443")}),
			wtn(IAMSSMAccessDenied, finding.SevWarn, []string{"VPC endpoint policy", "describe-vpc-endpoints", "com.amazonaws.ap-northeast-1.ssm", "10.0.1.11"},
				"organizations", "Permissions boundary", "Managed policy missing", "does not fit")),
		"access-denied-vpce-public": fx("the message names a VPC endpoint policy but the call reached a public address: named, and said not to fit",
			withPrefs(healthy(), obs.StatusSkip, &obs.PrefsObs{Document: denied(deniedBy+"because no VPC endpoint policy allows the ssm:GetDocument action", "52.119.0.11:443")}),
			wtn(IAMSSMAccessDenied, finding.SevWarn, []string{"VPC endpoint policy", "does not fit", "52.119.0.11, a public address"}, "organizations")),
		"access-denied-scp": fx("GetDocument denied by an explicit deny in a service control policy: the SCP alone, not the endpoint policy",
			withPrefs(healthy(), obs.StatusSkip, &obs.PrefsObs{Document: denied(deniedBy+"with an explicit deny in a service control policy", "10.0.1.11:443")}),
			wtn(IAMSSMAccessDenied, finding.SevWarn, []string{"service control policy", "--filter SERVICE_CONTROL_POLICY", "denies ssm:GetDocument"},
				"describe-vpc-endpoints", "Permissions boundary", "attach-role-policy")),
		"access-denied-rcp": fx("GetDocument denied by an explicit deny in a resource control policy",
			withPrefs(healthy(), obs.StatusSkip, &obs.PrefsObs{Document: denied(deniedBy+"with an explicit deny in a resource control policy", "10.0.1.11:443")}),
			wtn(IAMSSMAccessDenied, finding.SevWarn, []string{"RESOURCE_CONTROL_POLICY"}, "SERVICE_CONTROL_POLICY", "describe-vpc-endpoints")),
		"access-denied-boundary": fx("GetDocument denied because no permissions boundary allows it",
			withPrefs(healthy(), obs.StatusSkip, &obs.PrefsObs{Document: denied(deniedBy+"because no permissions boundary allows the ssm:GetDocument action", "10.0.1.11:443")}),
			wtn(IAMSSMAccessDenied, finding.SevWarn, []string{"Role.PermissionsBoundary", "app-role"}, "organizations", "describe-vpc-endpoints")),
		"access-denied-session": fx("GetDocument denied because no session policy allows it",
			withPrefs(healthy(), obs.StatusSkip, &obs.PrefsObs{Document: denied(deniedBy+"because no session policy allows the ssm:GetDocument action", "10.0.1.11:443")}),
			wtn(IAMSSMAccessDenied, finding.SevWarn, []string{"Session policy"}, "organizations", "describe-vpc-endpoints")),
		"access-denied-identity": fx("GetDocument denied because no identity-based policy allows it: the managed policy, and nothing else",
			withPrefs(healthy(), obs.StatusSkip, &obs.PrefsObs{Document: denied(deniedBy+"because no identity-based policy allows the ssm:GetDocument action", "10.0.1.11:443")}),
			wtn(IAMSSMAccessDenied, finding.SevWarn, []string{"attach-role-policy --role-name app-role"}, "organizations", "describe-vpc-endpoints", "Permissions boundary")),
		"access-denied-no-clause": fx("an AccessDenied message that names no policy type: every possible cause is listed",
			withPrefs(healthy(), obs.StatusSkip, &obs.PrefsObs{Document: denied(deniedBy+"with an explicit deny", "10.0.1.11:443")}),
			wtn(IAMSSMAccessDenied, finding.SevWarn, []string{"Service control policy", "Permissions boundary", "VPC endpoint policy", "Managed policy missing"})),
		"signature-expired": fx("the signature was rejected for its time and no Date header showed skew: net.clock-skew from the signature",
			withPrefs(healthy(), obs.StatusFail, &obs.PrefsObs{Document: &prefs.DocumentResult{
				Call: okCall(prefs.APIGetDocument, "ssm", 400, "InvalidSignatureException", prefs.FaultClockSkew)}}),
			w(NetClockSkew, finding.SevFail)),
		"signature-expired-and-date-skew": fx("the Date headers show the skew too: one net.clock-skew finding",
			withPrefs(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").
				Answer("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
				Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
				Net("10.0.1.X", "skew:600"),
				obs.StatusFail, &obs.PrefsObs{Document: &prefs.DocumentResult{
					Call: okCall(prefs.APIGetDocument, "ssm", 400, "InvalidSignatureException", prefs.FaultClockSkew)}}),
			w(NetClockSkew, finding.SevFail)),
		"ssm-blocked": fx("GetDocument got no answer because the ssm endpoint is blocked: folded into net.endpoint-blocked",
			withPrefs(probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").
				Answer("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
				Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"}).
				Net("10.0.1.X", "timeout", "ssm").
				Net("10.0.1.X", "ok", "ssmmessages", "ec2messages", "s3", "logs", "kms"),
				obs.StatusFail, &obs.PrefsObs{Document: &prefs.DocumentResult{Call: &prefs.Call{API: prefs.APIGetDocument,
					Host: "ssm.ap-northeast-1.amazonaws.com", Addr: "10.0.1.11:443", Stage: "tcp", Class: errclass.Timeout, Detail: "i/o timeout"}}}),
			w(NetEndpointBlocked, finding.SevFail)),
		"no-credentials": fx("no signing credentials: not checked, with the reason",
			withPrefs(healthy(), obs.StatusSkip, &obs.PrefsObs{Skipped: "not checked: no signing credentials: IMDS GET of the credentials of role app-role answered HTTP 500"}),
			w(PrefsUnreadable, finding.SevInfo)),
		"unreadable-content": fx("the document came back in a form the probe cannot read",
			withPrefs(healthy(), obs.StatusWarn, &obs.PrefsObs{Document: &prefs.DocumentResult{Call: okCall(prefs.APIGetDocument, "ssm", 200, "", prefs.FaultNone),
				Problem: "the document content (YAML, not JSON) cannot be read"}}),
			w(PrefsUnreadable, finding.SevInfo)),
		"no-api": fx("--no-api: the check was skipped with no observation; nothing is concluded",
			func() *probetest.Scen {
				s := healthy()
				s.O.Checks = append(s.O.Checks, obs.CheckRecord{Name: obs.CheckPrefs, Status: obs.StatusSkip, Reason: observe.NoAPIReason})
				return s
			}()),
	}
}
