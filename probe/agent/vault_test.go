package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectVault reads a Vault planted under a root: the IDs of both
// registration keys come back, the fingerprint file is named, an
// unparsable entry is a problem, and nothing of the key material reaches
// the facts' JSON.
func TestInspectVault(t *testing.T) {
	root := t.TempDir()
	secret := "FIXTURE-NOT-A-KEY-c2VjcmV0"
	files := map[string]string{
		VaultManifestPath:                             `{"RegistrationKey":"/var/lib/amazon/ssm/Vault/Store/RegistrationKey"}`,
		VaultStoreDir + "/" + VaultRegistrationKey:    `{"instanceID":"mi-0a1b2c3d4e5f60718","region":"eu-west-1","privateKey":"` + secret + `"}`,
		VaultStoreDir + "/" + VaultEC2RegistrationKey: `{"instanceID":"` + secret + `","privateKey":"` + secret + `"}`,
		VaultStoreDir + "/" + VaultFingerprintKey:     `{"fingerprint":"` + secret + `"}`,
	}
	for p, body := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := Inspect(context.Background(), Options{Root: root})
	v := f.Vault
	if v == nil || !v.Manifest || len(v.Entries) != 2 || v.Fingerprint != VaultStoreDir+"/"+VaultFingerprintKey {
		t.Fatalf("vault = %+v", v)
	}
	if e := v.Entries[0]; e.Key != VaultRegistrationKey || e.InstanceID != "mi-0a1b2c3d4e5f60718" || e.Region != "eu-west-1" || e.Problem != "" {
		t.Errorf("RegistrationKey entry = %+v", e)
	}
	if e := v.Entries[1]; e.Key != VaultEC2RegistrationKey || e.InstanceID != "" || e.Problem == "" {
		t.Errorf("EC2RegistrationKey entry = %+v", e)
	}
	b, _ := json.Marshal(f)
	if strings.Contains(string(b), secret) {
		t.Errorf("key material in the facts: %s", b)
	}
}

// TestInspectNoVault leaves Vault nil when the agent has none.
func TestInspectNoVault(t *testing.T) {
	if f := Inspect(context.Background(), Options{Root: t.TempDir()}); f.Vault != nil {
		t.Errorf("vault = %+v", f.Vault)
	}
}
