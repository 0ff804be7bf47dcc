//go:build linux

package observe

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
)

// TestSavedObservationsHoldNoSecret runs the engine against loopback fakes
// whose IMDS serves role credentials and whose agent goes through a proxy
// with a password, then encodes the observations as --save-observations
// does: neither the credentials, the IMDS token, the proxy password nor
// the Proxy-Authorization value may be in them, while the run did use the
// proxy and fetch the role's credentials status.
func TestSavedObservationsHoldNoSecret(t *testing.T) {
	const user, password = "proxyuser", "pr0xy-pa55w0rd"
	l := proxyLab(t, false)
	l.fakeAgentProc("PATH=/usr/bin", "https_proxy=http://"+user+":"+password+"@127.0.0.9:"+strconv.Itoa(l.port),
		"no_proxy=localhost,169.254.169.254")
	res, _ := l.run()
	if res.Observations == nil {
		t.Fatal("the result carries no observations")
	}
	b, err := json.Marshal(res.Observations)
	if err != nil {
		t.Fatal(err)
	}
	saved := string(b)
	if !strings.Contains(saved, `"proxy":"http://127.0.0.9:`) || !strings.Contains(saved, imdstest.DefaultConfig(imdstest.V2Required).Role) {
		t.Fatalf("the run did not go through the proxy and the role; the test would prove nothing:\n%s", saved)
	}
	for _, s := range []string{password, base64.StdEncoding.EncodeToString([]byte(user + ":" + password)),
		imdstest.FakeAccessKeyID, imdstest.FakeSecretAccessKey, imdstest.FakeToken, imdstest.FakeIMDSToken} {
		if strings.Contains(saved, s) {
			t.Errorf("the saved observations hold secret %q", s)
		}
	}
}
