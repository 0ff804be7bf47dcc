package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/diagnose"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

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
