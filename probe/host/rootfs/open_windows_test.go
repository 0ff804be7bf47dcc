package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLiveWindows(t *testing.T) {
	for root, live := range map[string]bool{"": true, "/": true, `\`: true, "//": true, `C:\mnt\vol`: false, "testdata": false, `D:\`: false} {
		if got := (FS{Root: root}).IsLive(); got != live {
			t.Errorf("IsLive(%q) = %v, want %v", root, got, live)
		}
	}
	joins := map[string]string{
		`C:\ProgramData\Amazon\SSM\Logs\amazon-ssm-agent.log`: `C:\ProgramData\Amazon\SSM\Logs\amazon-ssm-agent.log`,
		`C:/ProgramData/Amazon/SSM/Logs/errors.log`:           `C:\ProgramData\Amazon\SSM\Logs\errors.log`,
		`C:\Windows\..\ProgramData\x`:                         `C:\ProgramData\x`,
		"/etc/hosts":                                          `\etc\hosts`,
		`\Windows\System32`:                                   `\Windows\System32`,
		"/etc/../Windows/hosts":                               `\Windows\hosts`,
	}
	for p, want := range joins {
		for _, root := range []string{"", "/", `\`} {
			if got := (FS{Root: root}).Join(p); got != want {
				t.Errorf("FS{%q}.Join(%q) = %q, want %q", root, p, got, want)
			}
		}
		if got, err := (FS{}).Resolve(p); got != want || err != nil {
			t.Errorf("Resolve(%q) = %q, %v, want %q", p, got, err, want)
		}
	}
}

// TestRescueRefusedWindows: every read under a root other than the live
// system's fails with ErrRescueUnsupported and reads nothing.
func TestRescueRefusedWindows(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "hosts"), []byte("127.0.0.1 x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := FS{Root: root}
	if b, err := f.ReadFile("/etc/hosts", 100); len(b) != 0 || !errors.Is(err, ErrRescueUnsupported) {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	if _, _, err := f.ReadTail("/etc/hosts", 100); !errors.Is(err, ErrRescueUnsupported) {
		t.Errorf("ReadTail: %v", err)
	}
	if _, err := f.Stat("/etc/hosts"); !errors.Is(err, ErrRescueUnsupported) {
		t.Errorf("Stat: %v", err)
	}
	if _, err := f.Lstat("/etc/hosts"); !errors.Is(err, ErrRescueUnsupported) {
		t.Errorf("Lstat: %v", err)
	}
	if _, err := f.ReadDir("/etc"); !errors.Is(err, ErrRescueUnsupported) {
		t.Errorf("ReadDir: %v", err)
	}
	if _, err := f.OpenDir("/etc"); !errors.Is(err, ErrRescueUnsupported) {
		t.Errorf("OpenDir: %v", err)
	}
	if _, err := f.Resolve("/etc/hosts"); !errors.Is(err, ErrRescueUnsupported) {
		t.Errorf("Resolve: %v", err)
	}
}

// TestOpenRegularDeviceWindows: the NUL device is refused without being
// read (a read of it would return nothing, not an error).
func TestOpenRegularDeviceWindows(t *testing.T) {
	if _, _, err := OpenRegular("NUL"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("OpenRegular(NUL) = %v, want ErrNotRegular", err)
	}
	if _, err := (FS{}).ReadFile(`C:\Windows\..\NUL`, 10); err == nil {
		t.Errorf("ReadFile of a NUL path succeeded")
	}
}
