package obs

import (
	"github.com/ssm-probe/ssm-probe/probe/prefs"
)

// PrefsObs is what the preferences check observed: the signed GetDocument
// of SSM-SessionManagerRunShell and, when the preferences name them, the
// signed HeadBucket and DescribeLogGroups of their destinations. It holds
// no credential: the role is named, its keys never are.
type PrefsObs struct {
	Region   string                `json:"region"`
	Role     string                `json:"role,omitempty"`     // the instance role whose credentials signed
	Skipped  string                `json:"skipped,omitempty"`  // why no call was made (no credentials, no address)
	Proxy    string                `json:"proxy,omitempty"`    // the agent's HTTPS proxy the calls use, as the agent's own do (redacted); empty: direct
	NoProxy  string                `json:"no_proxy,omitempty"` // the agent's no_proxy, which sends the hosts it covers direct
	Document *prefs.DocumentResult `json:"document,omitempty"`
	Bucket   *prefs.BucketResult   `json:"bucket,omitempty"`
	LogGroup *prefs.LogGroupResult `json:"log_group,omitempty"`
	// NotFollowed lists, under --root X --live, the volume's settings that
	// were shown and used for the unsigned checks but not for signing.
	NotFollowed []string `json:"not_followed_for_signing,omitempty"`
}

// Prefs returns the preferences when they were read, else nil.
func (p *PrefsObs) Prefs() *prefs.Preferences {
	if p == nil || p.Document == nil || p.Document.Document == nil {
		return nil
	}
	return p.Document.Document.Prefs
}
