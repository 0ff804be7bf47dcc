//go:build linux

package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
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

// vaultChildEnv names the root a re-executed test binary inspects as an
// unprivileged user (TestInspectVaultUnreadable).
const vaultChildEnv = "SSM_PROBE_TEST_VAULT_ROOT"

// vaultSeen is what the child reports: the problems and the Vault.
type vaultSeen struct {
	Problems []rootfs.Problem `json:"problems"`
	Vault    *Vault           `json:"vault"`
}

// TestInspectVaultUnreadable inspects Vaults that a user other than root
// cannot search or read (the agent keeps them root's): each is a
// permission Problem naming the directory or file, as the other agent
// files are, so the agent check says it could not look. A readable Vault
// is the near miss: no problem. As root the test re-executes itself as
// nobody (uid 65534); as another user it reads the trees itself.
func TestInspectVaultUnreadable(t *testing.T) {
	if root := os.Getenv(vaultChildEnv); root != "" {
		f := Inspect(context.Background(), Options{Root: root})
		b, _ := json.Marshal(vaultSeen{Problems: f.Problems, Vault: f.Vault})
		fmt.Println(string(b))
		return
	}
	reg := `{"instanceID":"mi-0a1b2c3d4e5f60718","region":"eu-west-1","privateKey":"FIXTURE-NOT-A-KEY"}`
	cases := []struct {
		name                 string
		vaultMode, storeMode os.FileMode
		keyMode              os.FileMode
		unread               string // the path of the permission Problem; "" for none
	}{
		{"vault directory not searchable", 0o700, 0o700, 0o600, VaultDir},
		{"store directory not searchable", 0o755, 0o700, 0o600, VaultStoreDir},
		{"key file root's only", 0o755, 0o755, 0o600, VaultStoreDir + "/" + VaultRegistrationKey},
		{"readable (near miss)", 0o755, 0o755, 0o644, ""},
	}
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	asNobody := os.Geteuid() == 0
	bin := ""
	if asNobody {
		// The test binary's own directory may be root's only: copy it.
		self, err := os.ReadFile(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(base, "agent.test")
		if err := os.WriteFile(bin, self, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(base, fmt.Sprint(i))
			for p, body := range map[string]string{
				VaultManifestPath:                          `{}`,
				VaultStoreDir + "/" + VaultRegistrationKey: reg,
				VaultStoreDir + "/" + VaultFingerprintKey:  `{}`,
			} {
				full := filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, []byte(body), c.keyMode); err != nil {
					t.Fatal(err)
				}
			}
			for _, d := range []string{"/", "/var", "/var/lib", "/var/lib/amazon", "/var/lib/amazon/ssm"} {
				if err := os.Chmod(filepath.Join(root, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(filepath.Join(root, VaultStoreDir), c.storeMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(root, VaultDir), c.vaultMode); err != nil {
				t.Fatal(err)
			}
			var seen vaultSeen
			if asNobody {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, "-test.run", "^TestInspectVaultUnreadable$")
				cmd.Env = []string{vaultChildEnv + "=" + root, "PATH=/usr/bin:/bin"}
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("child: %v\n%s", err, out)
				}
				line, _, _ := strings.Cut(string(out), "\n")
				if err := json.Unmarshal([]byte(line), &seen); err != nil {
					t.Fatalf("child output %q: %v", out, err)
				}
			} else {
				f := Inspect(context.Background(), Options{Root: root})
				seen = vaultSeen{Problems: f.Problems, Vault: f.Vault}
			}
			var perm []string
			for _, p := range seen.Problems {
				if p.Class == errclass.Permission {
					perm = append(perm, p.Path)
				}
			}
			want := []string{}
			if c.unread != "" {
				want = []string{c.unread}
			}
			if perm == nil {
				perm = []string{}
			}
			if !reflect.DeepEqual(perm, want) {
				t.Errorf("permission problems %v, want %v (all: %+v)", perm, want, seen.Problems)
			}
			if c.unread == "" && (seen.Vault == nil || len(seen.Vault.Entries) != 1 || seen.Vault.Entries[0].InstanceID != "mi-0a1b2c3d4e5f60718") {
				t.Errorf("readable Vault: %+v", seen.Vault)
			}
		})
	}
}
