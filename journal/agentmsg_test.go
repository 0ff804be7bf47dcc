package journal

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestScanDebugAndHibernateLog checks that the scan matches DEBUG lines
// (the EC2 role provider logs its failures at DEBUG) and reads hibernate.log,
// where a hibernating agent writes most of what it says.
func TestScanDebugAndHibernateLog(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, AgentLogDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		MainLog: "2024-06-01 11:50:01.2210 INFO [amazon-ssm-agent] Agent will take identity from EC2\n" +
			"2024-06-01 11:52:09.8870 DEBUG [amazon-ssm-agent] [CredentialRefresher] failed to connect to Systems Manager with instance profile role credentials. Err: retrieved credentials failed to report to ssm. Error: EC2RoleRequestError: no EC2 instance role found\n",
		HibernateLog: "2024-06-01 11:55:00 INFO Backing off health check to every 600 seconds for 1800 seconds.\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := Scan(context.Background(), Options{Root: root, Location: time.UTC})
	got := map[Kind]Summary{}
	for _, s := range res.Events {
		got[s.Kind] = s
	}
	if s, ok := got[KindCredentialsError]; !ok || s.Count != 1 {
		t.Errorf("the DEBUG credential line was not matched: %+v", res.Events)
	}
	if s, ok := got[KindHibernating]; !ok || s.Samples[0].Source != filepath.Join(dir, HibernateLog)+":1" {
		t.Errorf("hibernate.log was not matched: %+v", res.Events)
	}
	if s := got[KindIdentitySelected]; len(s.Values) != 1 || s.Values[0] != "EC2" {
		t.Errorf("identity: %+v", s)
	}
}
