package diagnose

import (
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The KMS key that encrypts sessions.
const (
	SessionKMSAccessDenied finding.ID = "session.kms-access-denied"
)

// kmsFamily pairs the findings about session encryption with the rules that raise them.
func kmsFamily() family {
	return family{rules: []rule{diagnoseKMS}, entries: []finding.Entry{
		{ID: SessionKMSAccessDenied, Severity: finding.SevFail,
			Title: "Sessions are encrypted with a KMS key the instance may not use",
			Fix: finding.FixLines(
				"Let the instance role use the key: aws iam put-role-policy --role-name {{.ROLE_NAME}} --policy-name SessionManagerKMS --policy-document '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"kms:Decrypt\",\"Resource\":\"{{.KEY_ARN}}\"}]}'",
				"And let the key policy allow it: aws kms get-key-policy --key-id {{.KEY_ARN}} --policy-name default --output text > key-policy.json; add a statement allowing kms:Decrypt to the role's ARN (or to the account root, so that IAM policies decide) and remove any Deny that matches it; then aws kms put-key-policy --key-id {{.KEY_ARN}} --policy-name default --policy file://key-policy.json",
				"The person starting the session needs kms:GenerateDataKey on the same key (their IAM policy, and the key policy).",
				"Or stop encrypting sessions (account- and region-wide): Systems Manager > Session Manager > Preferences > Edit > clear \"Enable KMS encryption\", or "+prefsFixCLI+" (set inputs.kmsKeyId to \"\")."),
			Docs:      []string{finding.DocSessionKMS, finding.DocKMSKeyPolicy, finding.DocPrefsConsole},
			DependsOn: []finding.ID{PrefsLoggingEndpointUnreach, NetOptionalEndpointUnreach}},
	}}
}

// diagnoseKMS reports session.kms-access-denied: the session worker logged
// "Fetching data key failed" (aws/amazon-ssm-agent
// agent/session/datachannel/datachannel.go), so it could not decrypt the
// session's data key with the instance role. The finding names the key and
// the denied action from the line, and gives the role-policy and key-policy
// fixes. It is fail when the last line is recent and the preferences still
// name the key, warn when the preferences could not be read or the lines
// are older, and nothing when the preferences no longer encrypt sessions.
func diagnoseKMS(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	s := logSummary(o, journal.KindKMSDataKeyFailed)
	if s == nil {
		return nil
	}
	p := o.Prefs.Prefs()
	if p != nil && p.KMSKeyID == "" {
		return nil // the preferences no longer encrypt sessions: the lines are history
	}
	key := ""
	if len(s.Values) > 0 {
		key = s.Values[len(s.Values)-1]
	}
	var ev []string
	named := false
	if p != nil {
		named = key == "" || kmsKeyMatches(key, p.KMSKeyID)
		ev = append(ev, fmt.Sprintf("%s: kmsKeyId %s", prefsWhere(o), p.KMSKeyID))
		if key == "" {
			key = p.KMSKeyID
		} else if !named {
			ev = append(ev, "the logs name "+key+", which the preferences no longer name")
		}
	}
	ev = append(ev, summaryEvidence(s)...)
	actions := []string{}
	for _, a := range s.APIs {
		if strings.HasPrefix(a, "kms:") {
			actions = append(actions, a)
		}
	}
	denied := "kms:Decrypt"
	if len(actions) > 0 {
		denied = strings.Join(actions, ", ")
	}
	severity := finding.SevWarn
	if recentLog(o, s) && named {
		severity = finding.SevFail
	}
	keyRef := orPlaceholder(key, "KEY_ARN")
	role := orPlaceholder(instanceRole(o), "ROLE_NAME")
	summary := fmt.Sprintf("The account's Session Manager preferences encrypt sessions with KMS key %s, and the agent could not get the session's data key: KMS refused %s to this instance's role %s. Every session ends during its handshake.", keyRef, denied, role)
	return []finding.Finding{cat.NewAt(SessionKMSAccessDenied, severity, summary, ev, finding.Fill{"ROLE_NAME": role, "KEY_ARN": keyRef})}
}

// kmsKeyMatches reports whether the key ARN from a log line may be the key
// the preferences name: the same ARN, or its key ID. An alias cannot be
// resolved without calling KMS, so it is taken to match.
func kmsKeyMatches(arn, pref string) bool {
	return arn == pref || strings.HasSuffix(arn, "/"+pref) || strings.Contains(pref, "alias/")
}

// instanceRole returns the role IMDS lists, else the one the preferences
// check signed with.
func instanceRole(o *obs.Observations) string {
	if o.IMDS != nil && o.IMDS.Profile.Role != "" {
		return o.IMDS.Profile.Role
	}
	if o.Prefs != nil {
		return o.Prefs.Role
	}
	return ""
}
