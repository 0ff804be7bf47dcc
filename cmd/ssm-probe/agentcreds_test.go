//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ssm-probe/ssm-probe/probe/agent/agenttest"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs/rootfstest"
)

// agentCredsSecrets are the values planted in root's AWS files, a drop-in
// of the agent's unit, the agent's cached credentials and its environment;
// none may reach any output.
var agentCredsSecrets = []string{
	"AKIAPLANTEDKEYID0001", "plantedSecretAccessKey0001",
	"AKIAPLANTEDKEYID0002", "plantedSessionToken0002",
	"AKIAPLANTEDKEYID0003", "plantedSecretAccessKey0003",
	"planted-profile-0004",
}

// agentCredsRoot is an EC2 host tree with a running deb agent whose cached
// credentials expired, a [default] profile with keys in root's credentials
// file, a drop-in setting AWS_PROFILE and keys in the agent's environment.
func agentCredsRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	rootfstest.CopyTree(t, filepath.Join("..", "..", "probe", "host", "testdata", "roots", "ec2-xen"), root)
	rootfstest.CopyTree(t, filepath.Join("..", "..", "probe", "agent", "testdata", "roots", "deb"), root)
	write := func(p, body string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := agentCredsSecrets
	write("/root/.aws/credentials", "[default]\naws_access_key_id = "+s[0]+"\naws_secret_access_key = "+s[1]+"\n")
	write("/var/lib/amazon/ssm/credentials", "[default]\naws_access_key_id = "+s[2]+"\naws_session_token = "+s[3]+"\n")
	write("/var/lib/amazon/ssm/runtimeconfig/identity_config.json",
		`{"InstanceId":"i-0123456789abcdef0","IdentityType":"EC2","ShareFile":"/var/lib/amazon/ssm/credentials","ShareProfile":"","CredentialsExpiresAt":"2024-06-01T11:00:00Z","CredentialsRetrievedAt":"2024-06-01T05:00:00Z","CredentialSource":"EC2"}`)
	write("/etc/systemd/system/amazon-ssm-agent.service.d/aws.conf", "[Service]\nEnvironment=AWS_PROFILE="+s[6]+"\n")
	agenttest.Write(t, filepath.Join(root, "proc"), agenttest.Agent(4242, "PATH=/usr/bin:/bin",
		"AWS_ACCESS_KEY_ID="+s[4], "AWS_SECRET_ACCESS_KEY="+s[5]))
	return root
}

// TestAgentCredentialsNoLeak runs the CLI over agentCredsRoot in every
// format with the debug log on and the observations saved: the expired
// cache and each shadowing place are named, and no planted value appears
// in stdout, stderr or the saved observations.
func TestAgentCredentialsNoLeak(t *testing.T) {
	root := agentCredsRoot(t)
	for _, format := range []string{"text", "json", "prom"} {
		var stdout, stderr redactBuffer
		saved := filepath.Join(t.TempDir(), "observations.json")
		code := run([]string{"run", "--save-observations", saved, "--root", root,
			"--proc-dir", filepath.Join(root, "proc"), "--imds-endpoint", "http://127.0.0.1:1",
			"--timeout", "300ms", "--deadline", "5s", "--since", "0",
			"--format", format, "--log-level", "debug", "--no-color"}, &stdout, &stderr)
		out := stdout.String()
		if code != 2 {
			t.Errorf("%s: exit %d, want %d (fail)\n%s\n%s", format, code, 2, out, stderr.String())
		}
		names := []string{"agent.credentials-expired", "agent.credentials-shadowed"}
		if format != "prom" {
			names = append(names, "/root/.aws/credentials", "AWS_ACCESS_KEY_ID", "AWS_PROFILE",
				"2024-06-01T11:00:00Z", "/etc/systemd/system/amazon-ssm-agent.service.d/aws.conf")
		}
		for _, n := range names {
			if !strings.Contains(out, n) {
				t.Errorf("%s: output does not name %q:\n%s", format, n, out)
			}
		}
		for _, sec := range agentCredsSecrets {
			if strings.Contains(out, sec) || strings.Contains(stderr.String(), sec) {
				t.Errorf("%s: planted value %q in the output", format, sec)
			}
		}
		noSecretSaved(t, saved, agentCredsSecrets)
	}
}
