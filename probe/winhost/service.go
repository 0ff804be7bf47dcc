package winhost

import (
	"errors"
	"strings"
	"sync"
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
	return readService(src, name, func() (*Key, error) { return src.Key(KeyServices + `\` + name) })
}

// ReadAgentService reads the agent's service (ReadService) and the proxy
// it takes (ReadProxy), reading the service's registry key once for both:
// its DelayedAutostart and Environment values. The problems are the
// service's, then the proxy's.
func ReadAgentService(src Source) (*Service, *Proxy, []string) {
	key := sync.OnceValues(func() (*Key, error) { return src.Key(KeyServices + `\` + ServiceName) })
	s, problems := readService(src, ServiceName, key)
	p, pp := readProxy(src, key)
	return s, p, append(problems, pp...)
}

// readService is ReadService with the service's key read by key, which
// is asked only for an installed service.
func readService(src Source, name string, key func() (*Key, error)) (*Service, []string) {
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
	s.State, s.BinaryPath = info.State, info.BinaryPath
	s.ExitCode = info.Win32ExitCode
	var problems []string
	k, err := key()
	if err != nil && !errors.Is(err, ErrNotFound) {
		problems = append(problems, "service key not read: "+err.Error())
	}
	s.StartType = startType(info, k)
	env, _ := serviceEnvironment(k)
	for _, kv := range env {
		n, _, _ := strings.Cut(kv, "=")
		if n != "" {
			s.EnvNames = append(s.EnvNames, n)
		}
	}
	return s, problems
}

// startType is a service's start type, "delayed-auto" for an automatic
// start the manager delays: its delayed flag, or the DelayedAutostart value
// of the service's key k (nil when not read), which is where the manager
// keeps it.
func startType(info *ServiceInfo, k *Key) string {
	if info.StartType != "auto" {
		return info.StartType
	}
	if delayed, _ := k.Num("DelayedAutostart"); info.DelayedAutoStart || delayed != 0 {
		return "delayed-auto"
	}
	return info.StartType
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
