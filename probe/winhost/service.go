package winhost

import (
	"errors"
	"strings"
)

// The agent's service and the registry key of every service.
const (
	ServiceName = "AmazonSSMAgent"
	KeyServices = `HKLM\SYSTEM\CurrentControlSet\Services`
)

// MaxEnvEntries caps the entries read from a service's Environment value.
const MaxEnvEntries = 256

// ReadService reads a service from the service control manager, and the
// names (never the values) of its registry Environment value. A service
// the manager does not know is checked and absent; one it would not show
// is not checked, with the reason.
func ReadService(src Source, name string) (*Service, []string) {
	s := &Service{Name: name}
	info, err := src.Service(name)
	switch {
	case errors.Is(err, ErrNotFound):
		s.Checked = true
		return s, nil
	case err != nil:
		s.Reason = "not checked: " + err.Error()
		return s, nil
	}
	s.Checked, s.Exists = true, true
	s.State, s.StartType, s.BinaryPath = info.State, info.StartType, info.BinaryPath
	s.ExitCode = info.Win32ExitCode
	var problems []string
	k, err := src.Key(KeyServices + `\` + name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		problems = append(problems, "service key not read: "+err.Error())
	}
	// The manager's delayed flag, or the key's DelayedAutostart value,
	// which is where the manager keeps it.
	if delayed, _ := k.Num("DelayedAutostart"); s.StartType == "auto" && (info.DelayedAutoStart || delayed != 0) {
		s.StartType = "delayed-auto"
	}
	env, _ := serviceEnvironment(k)
	for _, kv := range env {
		n, _, _ := strings.Cut(kv, "=")
		if n != "" {
			s.EnvNames = append(s.EnvNames, n)
		}
	}
	return s, problems
}

// serviceEnvironment returns the entries ("NAME=value") of a service
// key's Environment value (REG_MULTI_SZ), at most MaxEnvEntries; false when
// it has none.
func serviceEnvironment(k *Key) ([]string, bool) {
	v, ok := k.Value("Environment")
	if !ok || v.Type != RegMultiSZ {
		return nil, false
	}
	var out []string
	for _, s := range v.Strings {
		if len(out) >= MaxEnvEntries {
			break
		}
		if strings.Contains(s, "=") {
			out = append(out, s)
		}
	}
	return out, true
}
