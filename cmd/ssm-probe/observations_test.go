//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

// reportParts is what a replay must reproduce: the verdict, the context,
// the findings and the checks of the JSON report.
type reportParts struct {
	Status   string          `json:"status"`
	Context  json.RawMessage `json:"context"`
	Findings json.RawMessage `json:"findings"`
	Checks   json.RawMessage `json:"checks"`
}

func parseReport(t *testing.T, out string) reportParts {
	t.Helper()
	var r reportParts
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	return r
}

// TestSavedObservationsReplay runs the probe against loopback fakes with
// --save-observations, then re-diagnoses the file with --observations: the
// verdict, context, findings and checks are the same, and so is the exit
// code. Saving the replay again gives the same file.
func TestSavedObservationsReplay(t *testing.T) {
	root := redactRoot(t)
	dnsSrv := resolvtest.Start(t, resolvtest.Zone{"*": {Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}})
	srv := imdstest.New(imdstest.DefaultConfig(imdstest.V2Required))
	defer srv.Close()
	dir := t.TempDir()
	saved, again := filepath.Join(dir, "obs.json"), filepath.Join(dir, "again.json")
	code, out, stderr := runCLI(t, "run", "--save-observations", saved, "--format", "json",
		"--root", root, "--live", "--since", "0",
		"--imds-endpoint", srv.URL,
		"--vpc-dns", dnsSrv.Addr.Addr().String(),
		"--dns-port", strconv.Itoa(int(dnsSrv.Addr.Port())),
		"--endpoint-port", strconv.Itoa(closedLoopbackPort(t)),
		"--timeout", redactAttempt, "--deadline", "10s")
	if code == exitUsage || code == exitUnknown && stderr != "" {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	first := parseReport(t, out)
	if string(first.Findings) == "[]" {
		t.Fatalf("the run found nothing; the replay would prove little:\n%s", out)
	}
	code2, out2, stderr2 := runCLI(t, "run", "--observations", saved, "--save-observations", again, "--format", "json")
	if code2 != code {
		t.Errorf("replay exit %d, run exit %d; stderr %s", code2, code, stderr2)
	}
	replay := parseReport(t, out2)
	for _, p := range []struct {
		name      string
		got, want any
	}{
		{"status", replay.Status, first.Status},
		{"context", jsonValue(t, replay.Context), jsonValue(t, first.Context)},
		{"findings", jsonValue(t, replay.Findings), jsonValue(t, first.Findings)},
		{"checks", jsonValue(t, replay.Checks), jsonValue(t, first.Checks)},
	} {
		if !reflect.DeepEqual(p.got, p.want) {
			t.Errorf("replayed %s differ:\n got %v\nwant %v", p.name, p.got, p.want)
		}
	}
	a, b := readJSON(t, saved), readJSON(t, again)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("saving the replay changed the observations:\n%v\n%v", a, b)
	}
}

func jsonValue(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func readJSON(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return jsonValue(t, b)
}

// writeObservations saves o as an observations file and returns its path.
func writeObservations(t *testing.T, o *obs.Observations) string {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "obs.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplayRefusesWhatNoRunMakes: a file with thousands of planned
// endpoints (a run plans six) is refused before diagnosis, with the reason,
// and the verdict is unknown (unrefused, 16k endpoints took 108 s to
// diagnose).
func TestReplayRefusesWhatNoRunMakes(t *testing.T) {
	o := &obs.Observations{Live: true, Plan: &obs.Plan{Region: "eu-west-1", Domain: "amazonaws.com"}}
	for i := range 16000 {
		host := fmt.Sprintf("ssm%d.eu-west-1.amazonaws.com", i)
		o.Plan.Endpoints = append(o.Plan.Endpoints, obs.Endpoint{Service: "ssm", Host: host, Required: true})
		o.Net = append(o.Net, obs.NetObs{Service: "ssm", Host: host, Addr: netip.MustParseAddr("10.0.1.11"), Port: 443})
	}
	code, out, stderr := runCLI(t, "run", "--observations", writeObservations(t, o), "--format", "json")
	if code != exitUnknown || out != "" || !strings.Contains(stderr, "not observations a run could have saved: the plan lists 16000 endpoints; a run plans at most 8") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and the reason", code, out, stderr, exitUnknown)
	}
}

// TestReplayDeadline: a replay whose diagnosis does not finish within
// --deadline ends at the deadline with the reason. The
// diagnosis is replaced by one that blocks until the test ends, so the
// deadline is the only way out.
func TestReplayDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	finishReplay = func(o *obs.Observations, took time.Duration) *diagnose.Result {
		<-release
		return diagnose.Finish(o, took)
	}
	defer func() { finishReplay = diagnose.Finish }()
	path := writeObservations(t, &obs.Observations{})
	code, out, stderr := runCLI(t, "run", "--observations", path, "--deadline", "50ms")
	if code != exitUnknown || out != "" || !strings.Contains(stderr, "took longer than --deadline 50ms") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and the deadline", code, out, stderr, exitUnknown)
	}
}
