//go:build linux

package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/imds/imdstest"
	"github.com/ssm-probe/ssm-probe/resolv/resolvtest"
)

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

func parseReport(t *testing.T, out string) reportParts {
	t.Helper()
	var r reportParts
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	return r
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

// reportParts is what a replay must reproduce: the verdict, the context,
// the findings and the checks of the JSON report.
type reportParts struct {
	Status   string          `json:"status"`
	Context  json.RawMessage `json:"context"`
	Findings json.RawMessage `json:"findings"`
	Checks   json.RawMessage `json:"checks"`
}
