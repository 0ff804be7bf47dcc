// Package agenttest writes fake process tables for tests: /proc/<pid>
// directories that package agent reads (comm, cmdline, stat, status,
// environ, the exe link and the ns/pid, ns/mnt and ns/net links), and PID
// 1, whose namespaces are the host's.
package agenttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// NS are a process's namespace links, as readlink shows them.
type NS struct{ PID, Mnt, Net string }

// Host are the namespaces of PID 1 in the tables Write writes: this host's.
var Host = NS{PID: "pid:[4026531836]", Mnt: "mnt:[4026531841]", Net: "net:[4026531840]"}

// Proc is one process of a fake table.
type Proc struct {
	PID     int
	Comm    string   // "" means the first 15 bytes of the base name of Argv[0]
	Argv    []string // cmdline
	Exe     string   // target of the exe link; "" writes none
	Environ []string // nil writes no environ
	UID     int      // real, effective, saved and file-system uid
	NS      *NS      // nil means Host
}

// Agent is this host's running agent, pid, from /usr/bin/amazon-ssm-agent,
// run by root in the host's namespaces, with environment env.
func Agent(pid int, env ...string) Proc {
	return Proc{PID: pid, Argv: []string{"/usr/bin/amazon-ssm-agent"}, Exe: "/usr/bin/amazon-ssm-agent", Environ: env}
}

// Write writes procs under procDir, replacing what a previous Write wrote,
// and PID 1 (systemd, in the Host
// namespaces) when procs holds none. environ is written mode 0600, as the
// kernel shows it only to its owner and root; the rest 0644.
func Write(t testing.TB, procDir string, procs ...Proc) {
	t.Helper()
	init := true
	for _, p := range procs {
		init = init && p.PID != 1
	}
	if init {
		procs = append(procs, Proc{PID: 1, Argv: []string{"/sbin/init"}, Exe: "/usr/lib/systemd/systemd", Comm: "systemd"})
	}
	for _, p := range procs {
		dir := filepath.Join(procDir, fmt.Sprint(p.PID))
		comm := p.Comm
		if comm == "" && len(p.Argv) > 0 {
			comm = filepath.Base(p.Argv[0])
		}
		if len(comm) > 15 {
			comm = comm[:15]
		}
		file := func(name, body string, mode os.FileMode) {
			path := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
		}
		link := func(name, target string) {
			path := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}
		var argv strings.Builder
		for _, a := range p.Argv {
			argv.WriteString(a + "\x00")
		}
		file("comm", comm+"\n", 0o644)
		file("cmdline", argv.String(), 0o644)
		file("stat", fmt.Sprintf("%d (%s) S 1 %d %d 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 1 0 1234\n", p.PID, comm, p.PID, p.PID), 0o644)
		file("status", fmt.Sprintf("Name:\t%s\nState:\tS (sleeping)\nPid:\t%d\nPPid:\t1\nUid:\t%d\t%d\t%d\t%d\n", comm, p.PID, p.UID, p.UID, p.UID, p.UID), 0o644)
		if p.Environ != nil {
			var env strings.Builder
			for _, e := range p.Environ {
				env.WriteString(e + "\x00")
			}
			file("environ", env.String(), 0o600)
		}
		if p.Exe != "" {
			link("exe", p.Exe)
		}
		ns := Host
		if p.NS != nil {
			ns = *p.NS
		}
		link("ns/pid", ns.PID)
		link("ns/mnt", ns.Mnt)
		link("ns/net", ns.Net)
	}
}
