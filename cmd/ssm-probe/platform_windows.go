package main

import (
	"fmt"

	"golang.org/x/sys/windows"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// checkRoot refuses --root on Windows: ssm-probe.exe reads only the
// Windows instance it runs on (package rootfs reads no volume there). A
// root naming the live system ("/", "\\", "") is returned as "/", so the
// run is a live one.
func checkRoot(root string) (string, error) {
	if (rootfs.FS{Root: root}).IsLive() {
		return "/", nil
	}
	return "", fmt.Errorf("--root %s: reading a mounted volume is not supported on Windows; ssm-probe.exe reads the Windows instance it runs on. To read a Linux instance's volume, attach it to a Linux instance and run the Linux ssm-probe there", root)
}

// elevationNote says, when the probe runs without an elevated token, that
// some of what it reads (the agent's service configuration, its logs under
// %ProgramData%, LocalSystem's proxy settings) may be refused; "" when the
// token is elevated. A token that cannot be queried is said so too.
func elevationNote() string {
	if windows.GetCurrentProcessToken().IsElevated() {
		return ""
	}
	return "not running elevated: reads that need an administrator (the agent's logs and service settings, LocalSystem's proxy) may be refused and reported as not checked; run ssm-probe.exe from an elevated PowerShell (Run as administrator)"
}
