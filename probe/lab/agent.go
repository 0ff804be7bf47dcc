//go:build linux

package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// FakeAgentName is the base name under which ssm-probe-lab plays the agent.
// The runner copies ssm-probe-lab to the instance's /usr/bin/amazon-ssm-agent,
// so that a running fake agent is what a packaged agent is to the probe: a
// process whose /proc/<pid>/exe is an agent binary at the package's install
// path, named amazon-ssm-agent in comm and cmdline. A script would show its
// interpreter as exe, and `exec -a` the renamed program: both are impostors.
const FakeAgentName = "amazon-ssm-agent"

// fakeAgentLife bounds a fake agent's run. The instance's PID namespace,
// whose end kills it, ends far sooner.
const fakeAgentLife = 10 * time.Minute

// FakeAgent plays the agent binary. With -version it prints the line the
// real binary prints and exits 0; with no argument it runs, doing nothing,
// until ctx ends or fakeAgentLife passes; anything else is an error.
func FakeAgent(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && (args[0] == "-version" || args[0] == "--version"):
		fmt.Fprintln(stdout, "SSM Agent version: "+AgentVersion)
		return 0
	case len(args) == 0:
		t := time.NewTimer(fakeAgentLife)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return 0
	}
	fmt.Fprintln(stderr, "amazon-ssm-agent: ssm-probe lab stand-in")
	return 1
}

// installFakeAgent copies the lab's own binary (self) to dst, executable.
func installFakeAgent(self, dst string) error {
	src, err := os.Open(self)
	if err != nil {
		return fmt.Errorf("fake agent: %w", err)
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return fmt.Errorf("fake agent: %w", err)
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return fmt.Errorf("fake agent: %w", err)
	}
	return out.Close()
}

// UnitPath is where AgentSpec.Unit installs the agent's unit; its content
// is the packaged unit's core (aws/amazon-ssm-agent
// packaging/linux/amazon-ssm-agent.service:8).
const UnitPath = "/etc/systemd/system/amazon-ssm-agent.service"

const unitText = `[Unit]
Description=amazon-ssm-agent (ssm-probe lab)

[Service]
Type=simple
ExecStart=/usr/bin/amazon-ssm-agent
Restart=on-failure

[Install]
WantedBy=multi-user.target
`

// installUnit writes the enabled agent unit into the overlay upper
// directory up.
func installUnit(up string) error {
	dst := filepath.Join(up, UnitPath)
	wants := filepath.Join(up, "/etc/systemd/system/multi-user.target.wants", filepath.Base(UnitPath))
	if err := os.MkdirAll(filepath.Dir(wants), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, []byte(unitText), 0o644); err != nil {
		return err
	}
	return os.Symlink(UnitPath, wants)
}
