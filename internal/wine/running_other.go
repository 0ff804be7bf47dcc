//go:build !windows

package wine

// Running is false off Windows: wine runs only Windows binaries.
func Running() bool { return false }

// registryKey is false off Windows, which has no registry.
func registryKey() bool { return false }
