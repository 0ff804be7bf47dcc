//go:build linux

package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/agent/agenttest"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// plantedSecret marks every credential value the tests plant; none may
// come out of a parser or of Inspect.
const plantedSecret = "EXAMPLESECRET"

// TestCredentialParsersKeepNoValue runs the credential parsers on their
// testdata inputs, which hold planted keys, and checks that no value
// reaches a result.
func TestCredentialParsersKeepNoValue(t *testing.T) {
	ps := parsers()
	n := 0
	for _, dir := range []string{"sharedcreds", "credvars", "profile", "dropin"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "parse", dir, "*.in"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(ps[dir](b))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(plantedSecret)) {
				n++
			}
			if bytes.Contains(out, []byte(plantedSecret)) || bytes.Contains(out, []byte("AKIA")) {
				t.Errorf("%s: a planted value reached the result: %s", f, out)
			}
		}
	}
	if n < 4 {
		t.Fatalf("only %d inputs hold a planted secret; the test would be vacuous", n)
	}
}

// TestInspectCredentials plants root's AWS files, a drop-in, an expired
// identity_config.json and an agent whose environment holds keys, and
// checks what Inspect records: names, paths and times, never a value.
func TestInspectCredentials(t *testing.T) {
	root := t.TempDir()
	write := func(p, body string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(RootCredentialsPath, "[default]\naws_access_key_id = AKIA"+plantedSecret+"01\naws_secret_access_key = wJalr"+plantedSecret+"\n")
	write(RootConfigPath, "[default]\nregion = eu-west-1\n")
	write("/etc/systemd/system/amazon-ssm-agent.service.d/aws.conf", "[Service]\nEnvironment=AWS_PROFILE=ops-"+plantedSecret+"\n")
	write("/etc/systemd/system/amazon-ssm-agent.service.d/proxy.conf", "[Service]\nEnvironment=HTTPS_PROXY=http://p:3128\n")
	write(IdentityPath, `{"CredentialSource":"EC2","ShareFile":"/var/lib/amazon/ssm/credentials","CredentialsExpiresAt":"2024-06-01T11:00:00Z","CredentialsRetrievedAt":"2024-06-01T05:00:00Z"}`)
	write("/var/lib/amazon/ssm/credentials", "[default]\naws_access_key_id = AKIA"+plantedSecret+"02\n")
	write(BinaryPath, "")
	procDir := filepath.Join(root, "proc")
	agenttest.Write(t, procDir, agenttest.Agent(812, "PATH=/usr/bin", "AWS_ACCESS_KEY_ID=AKIA"+plantedSecret+"03", "AWS_SECRET_ACCESS_KEY=x"+plantedSecret))
	f := Inspect(context.Background(), Options{Root: root, ProcDir: procDir, Location: time.UTC})
	want(t, "running", f.Running, true)
	want(t, "shared credentials", f.SharedCredentials, &SharedCredentials{
		RetrievedAt: time.Date(2024, 6, 1, 5, 0, 0, 0, time.UTC), ExpiresAt: time.Date(2024, 6, 1, 11, 0, 0, 0, time.UTC),
		ShareFile: "/var/lib/amazon/ssm/credentials"})
	want(t, "files", f.CredentialFiles, []CredentialFile{{Path: RootCredentialsPath, Profile: "default", Names: []string{"aws_access_key_id", "aws_secret_access_key"}}})
	want(t, "drop-ins", f.CredentialDropIns, []CredentialFile{{Path: "/etc/systemd/system/amazon-ssm-agent.service.d/aws.conf", Names: []string{"AWS_PROFILE"}}})
	want(t, "environ", f.CredentialVars, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"})
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), plantedSecret) {
		t.Errorf("a planted value reached the facts: %s", b)
	}
}

// TestCredentialFileLinkOut: under a rescue root, root's credentials file
// that is an absolute link out of the volume resolves inside it (rootfs),
// so the rescue host's own file is never read.
func TestCredentialFileLinkOut(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(outside, []byte("[default]\naws_access_key_id = AKIA"+plantedSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "root", ".aws"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, RootCredentialsPath)); err != nil {
		t.Fatal(err)
	}
	f := Inspect(context.Background(), Options{Root: root})
	if len(f.CredentialFiles) != 0 {
		t.Errorf("a link out of the volume was followed: %+v", f.CredentialFiles)
	}
}

// TestCredentialReadFailed: an absent file says nothing, one the probe may
// not read (root's 0700 home, for a probe that is not root) is a note that
// it was not checked, never a Problem that would hold back the agent
// check, and any other failure is a Problem.
func TestCredentialReadFailed(t *testing.T) {
	in := &inspector{f: &Facts{}}
	in.credentialReadFailed(RootCredentialsPath, &fs.PathError{Op: "open", Path: RootCredentialsPath, Err: syscall.ENOENT})
	want(t, "absent", len(in.f.Notes)+len(in.f.Problems), 0)
	in.credentialReadFailed(RootCredentialsPath, &fs.PathError{Op: "open", Path: RootCredentialsPath, Err: syscall.EACCES})
	want(t, "notes", in.f.Notes, []string{"not checked for credentials that take precedence over the instance role: needs root to read " + RootCredentialsPath})
	want(t, "problems", len(in.f.Problems), 0)
	in.credentialReadFailed(RootConfigPath, &fs.PathError{Op: "read", Path: RootConfigPath, Err: rootfs.ErrTooLarge})
	want(t, "too large", len(in.f.Problems), 1)
}
