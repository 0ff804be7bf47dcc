package wine

import (
	"runtime"
	"testing"
)

// TestRunningAgreesWithRegistry: the ntdll export and the registry key are
// independent signs of wine; they must agree, and off Windows neither is
// there.
func TestRunningAgreesWithRegistry(t *testing.T) {
	if Running() != registryKey() {
		t.Errorf("ntdll's wine_get_version says %v, HKLM\\Software\\Wine says %v", Running(), registryKey())
	}
	if runtime.GOOS != "windows" && Running() {
		t.Errorf("Running() on %s", runtime.GOOS)
	}
	t.Logf("%s, under wine: %v", runtime.GOOS, Running())
}

func TestSkip(t *testing.T) {
	skipped := true
	t.Run("inner", func(t *testing.T) {
		Skip(t, "a reason")
		skipped = false
	})
	if skipped != Running() {
		t.Errorf("skipped %v, under wine %v", skipped, Running())
	}
}
