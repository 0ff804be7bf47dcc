package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// SharedCredentials is what identity_config.json says of the credentials
// the agent shares with its workers (docs/AGENT-FACTS.md): when they were
// retrieved, when they expire, and the file that holds them. The file's
// contents are never read.
type SharedCredentials struct {
	RetrievedAt time.Time `json:"retrieved_at,omitzero"` // CredentialsRetrievedAt; zero when absent
	ExpiresAt   time.Time `json:"expires_at,omitzero"`   // CredentialsExpiresAt; zero when absent
	ShareFile   string    `json:"share_file,omitempty"`  // ShareFile: the path of the credentials file
}

// errIdentityTime is the error of a timestamp of identity_config.json that
// is not RFC 3339; its text never repeats the value.
var errIdentityTime = errors.New("CredentialsExpiresAt or CredentialsRetrievedAt is not an RFC 3339 time")

// ParseSharedCredentials returns the credential timestamps and share file
// of identity_config.json; nil when it names none of them. The agent
// writes the times as Go's time.Time marshals them (RFC 3339), and the zero
// time ("0001-01-01T00:00:00Z") for a time it never set, which is kept as
// absent.
func ParseSharedCredentials(b []byte) (*SharedCredentials, error) {
	var raw struct {
		CredentialsExpiresAt   *string
		CredentialsRetrievedAt *string
		ShareFile              string
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	c := &SharedCredentials{ShareFile: strings.TrimSpace(raw.ShareFile)}
	for _, f := range []struct {
		s   *string
		dst *time.Time
	}{{raw.CredentialsExpiresAt, &c.ExpiresAt}, {raw.CredentialsRetrievedAt, &c.RetrievedAt}} {
		if f.s == nil || strings.TrimSpace(*f.s) == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(*f.s))
		if err != nil {
			return nil, errIdentityTime
		}
		if !t.IsZero() {
			*f.dst = t.UTC()
		}
	}
	if c.ExpiresAt.IsZero() && c.RetrievedAt.IsZero() && c.ShareFile == "" {
		return nil, nil
	}
	return c, nil
}

// credentialVarNames are the environment variables through which the AWS
// SDKs and CLI take credentials, or the profile and files to take them
// from, before the instance role (docs/AGENT-FACTS.md, "Credentials").
var credentialVarNames = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
	"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
}

// CredentialVarsFromEnviron returns the names of the credential variables
// set (non-empty) in the NUL-separated contents of /proc/<pid>/environ, in
// credentialVarNames order. Only names are returned: no value is kept.
func CredentialVarsFromEnviron(b []byte) []string {
	set := map[string]bool{}
	for _, kv := range bytes.Split(b, []byte{0}) {
		name, value, ok := bytes.Cut(kv, []byte("="))
		if ok && len(bytes.TrimSpace(value)) > 0 {
			set[string(name)] = true
		}
	}
	var out []string
	for _, n := range credentialVarNames {
		if set[n] {
			out = append(out, n)
		}
	}
	return out
}

// CredentialFile is a place outside the instance role that gives the
// agent's AWS SDK credentials: root's shared credentials or config file
// with a default profile that carries them, or a drop-in of the agent's
// unit that sets a credential variable. Names only: no value is kept.
type CredentialFile struct {
	Path    string   `json:"path"`
	Profile string   `json:"profile,omitempty"` // the profile's section, e.g. "default" or "profile default"
	Names   []string `json:"names"`             // the keys or variables set, never their values
}

// Root's shared AWS files (the agent runs as root, HOME=/root).
const (
	RootCredentialsPath = "/root/.aws/credentials"
	RootConfigPath      = "/root/.aws/config"
)

// profileCredentialKeys are the keys of a profile that give credentials
// (an access key, a role to assume, a process, SSO or a web identity);
// region or output alone do not.
var profileCredentialKeys = []string{
	"aws_access_key_id", "aws_secret_access_key", "aws_session_token",
	"role_arn", "credential_process", "credential_source", "source_profile",
	"sso_session", "sso_start_url", "sso_account_id", "web_identity_token_file",
}

// DefaultProfileKeys returns the section of the default profile of a
// shared credentials file (config false: "[default]") or config file
// (config true: "[default]" or "[profile default]") and the credential keys
// it sets, in profileCredentialKeys order; "" and nil when it sets none.
// Values are never kept. The files are INI: `#` and `;` start comments,
// keys are case-insensitive, a line indented under a key continues it.
func DefaultProfileKeys(b []byte, config bool) (string, []string) {
	section, in := "", false
	set := map[string]bool{}
	var found string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				in = false
				continue
			}
			section = strings.Join(strings.Fields(line[1:end]), " ")
			in = section == "default" || (config && section == "profile default")
			if in && found == "" {
				found = section
			}
			continue
		}
		if !in || raw[0] == ' ' || raw[0] == '\t' {
			continue // outside the default profile, or a continuation
		}
		key, value, ok := strings.Cut(line, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if ok && strings.TrimSpace(value) != "" && slices.Contains(profileCredentialKeys, key) {
			set[key] = true
		}
	}
	var names []string
	for _, k := range profileCredentialKeys {
		if set[k] {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	return found, names
}

// credentialFiles records root's shared credentials and config files whose
// default profile gives credentials.
func (in *inspector) credentialFiles() {
	for _, f := range []struct {
		path   string
		config bool
	}{{RootCredentialsPath, false}, {RootConfigPath, true}} {
		b, err := in.fs.ReadFile(f.path, MaxSmallFileBytes)
		if err != nil {
			in.credentialReadFailed(f.path, err)
			continue
		}
		if prof, names := DefaultProfileKeys(b, f.config); len(names) > 0 {
			in.f.CredentialFiles = append(in.f.CredentialFiles, CredentialFile{Path: f.path, Profile: prof, Names: names})
		}
	}
}

// credentialReadFailed records a credential file or drop-in directory that
// could not be read: nothing when it is absent; a note when the probe may
// not read it (root's home is 0700), so that what only a warning could come
// from does not hold back the agent check's answer, and says it was not
// checked; a Problem otherwise (too large, not a regular file, a loop).
func (in *inspector) credentialReadFailed(p string, err error) {
	switch {
	case isNotExist(err):
	case errors.Is(err, fs.ErrPermission):
		in.f.Notes = append(in.f.Notes, "not checked for credentials that take precedence over the instance role: needs root to read "+p)
	default:
		in.problem(p, err)
	}
}

// DropInCredentialVars returns the credential variables a unit drop-in
// sets with Environment= (systemd.exec(5): space-separated assignments,
// each optionally quoted), in credentialVarNames order. Values are never
// kept.
func DropInCredentialVars(b []byte) []string {
	set := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if strings.TrimSpace(key) == "Environment" {
			for _, w := range strings.Fields(value) {
				w = strings.Trim(w, `"'`)
				if n, v, ok := strings.Cut(w, "="); ok && v != "" && slices.Contains(credentialVarNames, n) {
					set[n] = true
				}
			}
		}
	}
	var names []string
	for _, n := range credentialVarNames {
		if set[n] {
			names = append(names, n)
		}
	}
	return names
}

// dropInDirs are the directories of drop-ins for unit name, most specific
// first (systemd.unit(5), "drop-in").
func dropInDirs(name string) []string {
	var out []string
	for _, d := range append([]string{"/run/systemd/system"}, unitDirs()...) {
		out = append(out, path.Join(d, name+".d"))
	}
	return out
}

// credentialDropIns records drop-ins of the agent's units that set a
// credential variable.
func (in *inspector) credentialDropIns() {
	for _, name := range unitNames() {
		for _, dir := range dropInDirs(name) {
			entries, err := in.fs.ReadDir(dir)
			if err != nil {
				in.credentialReadFailed(dir, err)
				continue
			}
			for _, e := range entries {
				if !strings.HasSuffix(e.Name(), ".conf") {
					continue
				}
				p := path.Join(dir, e.Name())
				b, err := in.fs.ReadFile(p, MaxSmallFileBytes)
				if err != nil {
					in.credentialReadFailed(p, err)
					continue
				}
				if names := DropInCredentialVars(b); len(names) > 0 {
					in.f.CredentialDropIns = append(in.f.CredentialDropIns, CredentialFile{Path: p, Names: names})
				}
			}
		}
	}
}
