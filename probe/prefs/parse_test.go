package prefs

import (
	"path/filepath"
	"testing"

	"github.com/ssm-probe/ssm-probe/internal/golden"
)

type documentWant struct {
	Document Document `json:"document"`
	Err      string   `json:"err,omitempty"`
}

func TestParseDocument(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "document"), func(b []byte) any {
		d, err := ParseDocument(b)
		w := documentWant{Document: d}
		if err != nil {
			w.Err = err.Error()
		}
		return w
	})
}

type logGroupsWant struct {
	Match LogGroupMatch `json:"match"`
	Err   bool          `json:"err"`
}

func TestParseLogGroups(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "loggroups"), func(b []byte) any {
		m, err := ParseLogGroups(b, "/ssm/sessions")
		return logGroupsWant{Match: m, Err: err != nil}
	})
}

type awsErrorWant struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func TestParseAWSError(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "awserror"), func(b []byte) any {
		e := parseAWSError(b, "")
		return awsErrorWant(e)
	})
	// The X-Amzn-ErrorType header wins over the body, and loses its suffix.
	e := parseAWSError([]byte(`{"__type":"Other"}`), "AccessDeniedException:http://internal.amazon.com/coral/")
	if e.Type != "AccessDeniedException" {
		t.Errorf("header type %q", e.Type)
	}
}

func TestFaultOf(t *testing.T) {
	cases := []struct {
		status int
		e      awsError
		want   Fault
	}{
		{400, awsError{"InvalidSignatureException", "Signature expired: 20260301T115000Z is now earlier than 20260301T115500Z (20260301T120000Z - 5 min.)"}, FaultClockSkew},
		{400, awsError{"InvalidSignatureException", "Signature not yet current: 20260301T121000Z is still later than 20260301T120500Z (20260301T120000Z + 5 min.)"}, FaultClockSkew},
		{403, awsError{"RequestTimeTooSkewed", "The difference between the request time and the current time is too large."}, FaultClockSkew},
		{400, awsError{"InvalidSignatureException", "The request signature we calculated does not match"}, FaultSignature},
		{400, awsError{"UnrecognizedClientException", "The security token included in the request is invalid."}, FaultBadToken},
		{400, awsError{"ExpiredTokenException", ""}, FaultBadToken},
		{400, awsError{"AccessDeniedException", "User: x is not authorized"}, FaultDenied},
		{403, awsError{"AccessDenied", "Access Denied"}, FaultDenied},
		{400, awsError{"ThrottlingException", "Rate exceeded"}, FaultThrottled},
		{503, awsError{"", ""}, FaultServerError},
		{400, awsError{"InvalidDocument", ""}, FaultNone},
		{404, awsError{"", ""}, FaultNone},
	}
	for _, c := range cases {
		if got := faultOf(c.status, c.e); got != c.want {
			t.Errorf("faultOf(%d, %v) = %q, want %q", c.status, c.e, got, c.want)
		}
	}
}

func TestPreferencesUse(t *testing.T) {
	cases := []struct {
		p             *Preferences
		s3, logs, kms bool
	}{
		{nil, false, false, false},
		{&Preferences{}, false, false, false},
		{&Preferences{S3BucketName: "b"}, true, false, false},
		{&Preferences{CloudWatchLogGroupName: "g"}, false, true, false},
		{&Preferences{KMSKeyID: "k"}, false, false, true},
		{&Preferences{S3EncryptionEnabled: true}, false, false, true},
		{&Preferences{CloudWatchEncryptionEnabled: true}, false, false, true},
	}
	for i, c := range cases {
		if c.p.UsesS3() != c.s3 || c.p.UsesLogs() != c.logs || c.p.UsesKMS() != c.kms {
			t.Errorf("case %d: uses s3 %v logs %v kms %v", i, c.p.UsesS3(), c.p.UsesLogs(), c.p.UsesKMS())
		}
	}
}

type denialWant struct {
	Found  bool   `json:"found"`
	Denial Denial `json:"denial"`
}

// TestParseDenial reads the denial clauses of IAM's access-denied messages,
// as AWS answers and agent log lines carry them, and the near misses that
// name no policy type.
func TestParseDenial(t *testing.T) {
	golden.Cases(t, filepath.Join("testdata", "denial"), func(b []byte) any {
		d, ok := ParseDenial(string(b))
		return denialWant{Found: ok, Denial: d}
	})
}
