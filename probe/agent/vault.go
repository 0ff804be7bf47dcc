package agent

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// The agent's Vault, where it keeps its registrations (aws/amazon-ssm-agent
// agent/managedInstances/vault/fsvault/fsvault.go:30-32: the folder Vault
// under /var/lib/amazon/ssm, a Manifest file mapping keys to paths, and one
// file per key under Store). The files are readable by root only.
const (
	VaultDir          = "/var/lib/amazon/ssm/Vault"
	VaultManifestPath = VaultDir + "/Manifest"
	VaultStoreDir     = VaultDir + "/Store"
)

// The Vault keys the probe looks at. RegistrationKey holds the hybrid
// (OnPrem) registration and EC2RegistrationKey the EC2 identity's key
// registration, both as the agent's instanceInfo JSON (aws/amazon-ssm-agent
// agent/managedInstances/registration/instance_info.go:31-39 and the
// RegVaultKey / EC2RegistrationVaultKey constants). InstanceFingerprint
// holds the hardware fingerprint ssm checks the hybrid registration against
// (agent/managedInstances/fingerprint/fingerprint.go).
const (
	VaultRegistrationKey    = "RegistrationKey"
	VaultEC2RegistrationKey = "EC2RegistrationKey"
	VaultFingerprintKey     = "InstanceFingerprint"
)

// VaultEntry is what one Vault file says about identity. Only IDs are kept:
// the file also holds the registration's private key, which the probe
// never decodes, keeps or prints.
type VaultEntry struct {
	Key        string `json:"key"`
	Path       string `json:"path"`
	InstanceID string `json:"instance_id,omitempty"` // mi-… (hybrid) or i-… (EC2)
	Region     string `json:"region,omitempty"`
	Problem    string `json:"problem,omitempty"` // why the IDs could not be read
}

// Vault is the part of the agent's Vault that names an identity. Entries
// holds the registration keys present; Fingerprint says whether the
// fingerprint file exists (its content is not read).
type Vault struct {
	Manifest    bool         `json:"manifest"`
	Entries     []VaultEntry `json:"entries,omitempty"`
	Fingerprint string       `json:"fingerprint,omitempty"` // host path of InstanceFingerprint, when present
}

// instanceIDRE is the shape of an ID the Vault may hold: a managed instance
// (mi-) or EC2 instance (i-) ID of 8 or 17 hex digits.
var instanceIDRE = regexp.MustCompile(`^(?:mi|i)-(?:[0-9a-f]{8}|[0-9a-f]{17})$`)

// ParseVaultEntry reads the instance ID and region of one registration
// file. Only those two fields are decoded; every other field, the private
// key included, is skipped by the decoder. An ID that does not have the
// shape of an instance ID is an error, and is not returned, so that nothing
// else the file holds can reach a report.
func ParseVaultEntry(b []byte) (id, region string, err error) {
	var raw struct {
		InstanceID string `json:"instanceID"`
		Region     string `json:"region"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return "", "", fmt.Errorf("not the agent's registration JSON (%s)", jsonErrorKind(err))
	}
	id = strings.TrimSpace(raw.InstanceID)
	if !instanceIDRE.MatchString(id) {
		return "", "", fmt.Errorf("instanceID is not an instance ID (mi-… or i-…)")
	}
	region = strings.TrimSpace(raw.Region)
	if len(region) > 32 || strings.ContainsAny(region, " \t\r\n\"") {
		region = ""
	}
	return id, region, nil
}

// jsonErrorKind names a JSON error without quoting the input, which may be
// key material.
func jsonErrorKind(err error) string {
	switch err.(type) {
	case *json.SyntaxError:
		return "syntax error"
	case *json.UnmarshalTypeError:
		return "a field of the wrong type"
	}
	return "unreadable"
}

// vault reads the registration entries of the agent's Vault. The Vault is
// root's: what cannot be searched or read (EACCES as a user other than
// root) is a Problem like every other unreadable agent file, so the agent
// check says it could not look, never "no foreign registration". A
// directory that cannot be searched is one Problem, not one per file.
func (in *inspector) vault() {
	if _, err := in.fs.Stat(VaultDir); err != nil {
		if !isNotExist(err) {
			in.problem(VaultDir, err)
		}
		return
	}
	v := &Vault{}
	// Stat needs only search permission on the directories on the way, so
	// an error other than "absent" here is the directory's.
	if _, err := in.fs.Stat(VaultStoreDir); err != nil && !isNotExist(err) {
		in.problem(VaultDir, err)
		return
	}
	if _, err := in.fs.Stat(VaultManifestPath); err == nil {
		v.Manifest = true
	} else if !isNotExist(err) {
		in.problem(VaultManifestPath, err)
	}
	for _, key := range []string{VaultRegistrationKey, VaultEC2RegistrationKey, VaultFingerprintKey} {
		p := VaultStoreDir + "/" + key
		if _, err := in.fs.Stat(p); err != nil {
			if !isNotExist(err) {
				in.problem(VaultStoreDir, err) // Store cannot be searched
				break
			}
			continue
		}
		if key == VaultFingerprintKey {
			v.Fingerprint = p // its content is not read
			continue
		}
		b, err := in.fs.ReadFile(p, MaxSmallFileBytes)
		if err != nil {
			if isNotExist(err) {
				continue // removed meanwhile
			}
			in.problem(p, err)
			v.Entries = append(v.Entries, VaultEntry{Key: key, Path: p, Problem: "not read: " + err.Error()})
			continue
		}
		e := VaultEntry{Key: key, Path: p}
		if id, region, err := ParseVaultEntry(b); err != nil {
			e.Problem = err.Error()
		} else {
			e.InstanceID, e.Region = id, region
		}
		v.Entries = append(v.Entries, e)
	}
	if v.Manifest || len(v.Entries) > 0 || v.Fingerprint != "" {
		in.f.Vault = v
	}
}
