package agentpath

import (
	"net/netip"
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/internal/probetest"
)

// TestAgentPaths table-tests AgentPaths on the ssm endpoint of small
// worlds: how the agent's resolver answered, the dial order (Go moves to
// the next address only when TCP fails), the proxy, and what could not be
// checked.
func TestAgentPaths(t *testing.T) {
	none := errclass.None
	vpce := []string{"10.0.1.X"}
	two := []string{"10.0.1.X", "10.0.2.X"}
	base := func() *probetest.Scen {
		return probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Answer("10.0.0.2", none, vpce).Answer("169.254.169.253", none, vpce)
	}
	type want struct {
		state   PathState
		failed  PathStage
		reached PathStage
		class   errclass.Class
		source  string
		dialed  string
	}
	cases := []struct {
		name string
		s    *probetest.Scen
		want want
	}{
		{"healthy", base().Agent("10.0.0.2", none, vpce).Net("10.0.1.X", "ok"),
			want{PathOK, "", StageHTTPS, "", "dns", "10.0.1.11"}},
		{"first address black-holed, second answers", base().Agent("10.0.0.2", none, two).Net("10.0.1.X", "timeout").Net("10.0.2.X", "ok"),
			want{PathOK, "", StageHTTPS, "", "dns", "10.0.2.11"}},
		{"first address connects but TLS fails: the request ends there", base().Agent("10.0.0.2", none, two).Net("10.0.1.X", "untrusted").Net("10.0.2.X", "ok"),
			want{PathBroken, StageTLS, StageTCP, errclass.TLSUntrusted, "dns", "10.0.1.11"}},
		{"every address black-holed", base().Agent("10.0.0.2", none, two).Net("10.0.1.X", "timeout").Net("10.0.2.X", "timeout"),
			want{PathBroken, StageTCP, StageResolve, errclass.Timeout, "dns", ""}},
		{"resolver answers SERVFAIL", base().AgentFail("10.0.0.2", errclass.ServFail, "SERVFAIL"),
			want{PathBroken, StageResolve, "", errclass.ServFail, "", ""}},
		{"no agent view: the first system resolver stands in", base().Net("10.0.1.X", "ok"),
			want{PathOK, "", StageHTTPS, "", "dns", "10.0.1.11"}},
		{"no agent view and no answer: unknown", probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16"),
			want{PathUnknown, StageResolve, "", "", "", ""}},
		{"address never tried: unknown", base().Agent("10.0.0.2", none, vpce),
			want{PathUnknown, StageTCP, StageResolve, "", "dns", ""}},
		{"hosts pin", base().Agent("hosts", none, vpce).Net("10.0.1.X", "ok"),
			want{PathOK, "", StageHTTPS, "", "hosts", "10.0.1.11"}},
		{"through the proxy", probetest.Proxied(base().Agent("10.0.0.2", none, vpce), "169.254.169.254", "ok"),
			want{PathOK, "", StageHTTPS, "", "proxy", ""}},
		{"the proxy refuses CONNECT", probetest.Proxied(base().Agent("10.0.0.2", none, vpce), "169.254.169.254", "refused"),
			want{PathBroken, StageProxy, "", errclass.HTTPStatus, "proxy", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := AgentPaths(c.s.O, Views(c.s.O))
			if len(ps) != len(c.s.O.Plan.Endpoints) {
				t.Fatalf("%d paths for %d endpoints", len(ps), len(c.s.O.Plan.Endpoints))
			}
			p := ps[0]
			dialed := ""
			if p.Dialed.IsValid() {
				dialed = p.Dialed.String()
			}
			got := want{p.State, p.Failed, p.Reached, p.Class, p.Source, dialed}
			if got != c.want {
				t.Errorf("got  %+v\nwant %+v\n%s", got, c.want, p.Line())
			}
			if p.Line() == "" || p.Host != "ssm.ap-northeast-1.amazonaws.com" {
				t.Errorf("path %+v", p)
			}
		})
	}
}

// TestAgentPathsNeedLiveChecks: an offline run, or one without a plan, has
// no paths (the skipped checks say why).
func TestAgentPathsNeedLiveChecks(t *testing.T) {
	s := probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Agent("10.0.0.2", errclass.None, []string{"10.0.1.X"})
	s.O.Live = false
	if ps := AgentPaths(s.O, Views(s.O)); ps != nil {
		t.Errorf("offline paths %+v", ps)
	}
	s.O.Live, s.O.Plan.Problem = true, "the region is unknown"
	if ps := AgentPaths(s.O, Views(s.O)); ps != nil {
		t.Errorf("paths without a plan %+v", ps)
	}
}

// TestAgentPathSearchExpansion: an answer for a search-list candidate is
// marked expanded, and the line says which name answered.
func TestAgentPathSearchExpansion(t *testing.T) {
	s := probetest.NewScen([]string{"10.0.0.2"}, "10.0.0.0/16").Expanded("10.0.0.2", "corp.example", 5, []string{"10.0.50.7"}).Net("10.0.50.7", "timeout")
	p := AgentPaths(s.O, Views(s.O))[0]
	if !p.Expanded || p.FQDN != "ssm.ap-northeast-1.amazonaws.com.corp.example." || p.State != PathBroken {
		t.Errorf("path %+v", p)
	}
	if want := "ssm.ap-northeast-1.amazonaws.com -> dns 10.0.0.2 as ssm.ap-northeast-1.amazonaws.com.corp.example. -> 10.0.50.7 -> tcp failed (timeout)"; p.Line() != want {
		t.Errorf("line %q\nwant %q", p.Line(), want)
	}
	if p.Addrs[0].Addr != netip.MustParseAddr("10.0.50.7") {
		t.Errorf("addrs %+v", p.Addrs)
	}
}
