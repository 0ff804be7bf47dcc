package agent

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"time"
)

// unitDirs are the systemd unit directories searched for the agent's unit,
// most specific first (systemd.unit(5), "Unit File Load Path").
func unitDirs() []string {
	return []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}
}

// unitNames are the agent's unit names: packages, then the snap
// (docs/AGENT-FACTS.md).
func unitNames() []string {
	return []string{"amazon-ssm-agent.service", "snap.amazon-ssm-agent.amazon-ssm-agent.service"}
}

// rpmDBPaths are where rpm keeps its database: the classic location (sqlite
// since rpm 4.16, BerkeleyDB "Packages" before) and /usr/lib/sysimage/rpm,
// used by Fedora 36+ and openSUSE.
func rpmDBPaths() []string {
	return []string{
		"/var/lib/rpm/rpmdb.sqlite", "/var/lib/rpm/Packages",
		"/usr/lib/sysimage/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/Packages",
	}
}

// rpmBinaryPaths are where the rpm command lives.
func rpmBinaryPaths() []string { return []string{"/usr/bin/rpm", "/bin/rpm"} }

// install looks for the binary, the snap, units and package databases.
func (in *inspector) install() {
	for _, p := range in.opt.BinaryPaths {
		fi, err := in.fs.Stat(p)
		switch {
		case err == nil && fi.Mode().IsRegular():
			in.f.Install = append(in.f.Install, InstallEvidence{Kind: KindBinary, Path: p})
		case err == nil:
			in.f.Notes = append(in.f.Notes, fmt.Sprintf("%s exists but is not a regular file (%s)", p, fi.Mode().Type()))
		case !errors.Is(err, fs.ErrNotExist):
			in.problem(p, err)
		}
	}
	in.snap()
	in.units()
	in.dpkg()
	in.rpm()
}

// snap records the snap install. /snap/amazon-ssm-agent/current is a link
// to the active revision; on a volume mounted offline the revision
// directory is an empty mount point, so the link itself is the evidence.
func (in *inspector) snap() {
	const current = "/snap/amazon-ssm-agent/current"
	if target, err := in.fs.Readlink(current); err == nil {
		in.f.Install = append(in.f.Install, InstallEvidence{Kind: KindSnap, Path: current, Detail: "revision " + target})
	} else if _, err := in.fs.Lstat(current); err == nil {
		in.f.Install = append(in.f.Install, InstallEvidence{Kind: KindSnap, Path: current})
	}
}

func (in *inspector) units() {
	for _, name := range unitNames() {
		for _, dir := range unitDirs() {
			p := path.Join(dir, name)
			if _, err := in.fs.Lstat(p); err != nil {
				continue
			}
			u := Unit{Path: p}
			if t, err := in.fs.Readlink(p); err == nil && t == "/dev/null" {
				u.Masked = true // systemctl mask, systemctl(1)
			}
			if _, err := in.fs.Lstat(path.Join("/etc/systemd/system/multi-user.target.wants", name)); err == nil {
				u.Enabled = true
			}
			in.f.Units = append(in.f.Units, u)
			if !u.Masked {
				in.f.Install = append(in.f.Install, InstallEvidence{Kind: KindUnit, Path: p})
			}
			break // the first directory found wins, as in systemd's load path
		}
	}
}

// dpkg reads the dpkg status database (dpkg(1), deb-control(5): stanzas of
// "Field: value" lines separated by blank lines).
func (in *inspector) dpkg() {
	fh, err := in.fs.OpenRegular(DpkgStatusPath)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			in.problem(DpkgStatusPath, err)
		}
		return
	}
	defer fh.Close()
	in.f.PackageDBs = append(in.f.PackageDBs, "dpkg:"+DpkgStatusPath)
	st, err := parseDpkgStatus(io.LimitReader(fh, MaxDpkgStatusBytes), PackageName)
	if err != nil {
		in.problem(DpkgStatusPath, err)
	}
	if st == nil {
		return
	}
	if st.Installed() {
		in.f.Install = append(in.f.Install, InstallEvidence{Kind: KindDpkg, Path: DpkgStatusPath, Detail: "Status: " + st.Status})
		if st.Version != "" {
			in.f.Versions = append(in.f.Versions, VersionEvidence{Source: SourceDpkg, Version: st.Version, Path: DpkgStatusPath})
		}
		return
	}
	in.f.Notes = append(in.f.Notes, fmt.Sprintf("%s lists %s with Status %q: not installed", DpkgStatusPath, PackageName, st.Status))
}

// DpkgPackage is one stanza of the dpkg status database.
type DpkgPackage struct {
	Package string `json:"package"`
	Status  string `json:"status"`
	Version string `json:"version"`
}

// Installed reports whether the Status field's last word is "installed"
// (dpkg-query(1): want, error flag, status; "deinstall ok config-files"
// means removed with its configuration kept).
func (p *DpkgPackage) Installed() bool {
	f := strings.Fields(p.Status)
	return len(f) == 3 && f[2] == "installed"
}

// parseDpkgStatus returns the stanza for pkg, or nil when it is absent.
// Continuation lines (starting with a space) are skipped. A line longer than
// the scanner's buffer is an error; what was found before it is returned.
func parseDpkgStatus(r io.Reader, pkg string) (*DpkgPackage, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var cur DpkgPackage
	flush := func() *DpkgPackage {
		if cur.Package == pkg {
			p := cur
			return &p
		}
		cur = DpkgPackage{}
		return nil
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if p := flush(); p != nil {
				return p, nil
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Package":
			cur.Package = v
		case "Status":
			cur.Status = v
		case "Version":
			cur.Version = v
		}
	}
	p := flush()
	if err := sc.Err(); err != nil {
		return p, fmt.Errorf("reading dpkg status: %w", err)
	}
	return p, nil
}

// rpm records rpm databases and, on the live root with Exec set, asks rpm.
// The rpmdb itself is binary (sqlite or BerkeleyDB), so offline it is only
// detected.
func (in *inspector) rpm() {
	for _, p := range rpmDBPaths() {
		if fi, err := in.fs.Stat(p); err == nil && fi.Mode().IsRegular() {
			in.f.PackageDBs = append(in.f.PackageDBs, "rpm:"+p)
		}
	}
	hasDB := false
	for _, db := range in.f.PackageDBs {
		hasDB = hasDB || strings.HasPrefix(db, "rpm:")
	}
	if !hasDB {
		return
	}
	bin := ""
	for _, p := range rpmBinaryPaths() {
		if fi, err := in.fs.Stat(p); err == nil && fi.Mode().IsRegular() {
			bin = p
			break
		}
	}
	switch {
	case !in.live():
		in.f.Notes = append(in.f.Notes, "rpm database present; not queried: offline root")
		return
	case !in.opt.Exec:
		in.f.Notes = append(in.f.Notes, "rpm database present; not queried: running commands is disabled")
		return
	case bin == "":
		in.f.Notes = append(in.f.Notes, "rpm database present; not queried: no rpm binary")
		return
	}
	ctx, cancel := context.WithTimeout(in.ctx, in.opt.Timeout)
	defer cancel()
	out, err := in.opt.Run(ctx, bin, "-q", "--qf", "%{VERSION}", PackageName)
	v, installed := parseRPMQuery(out, err)
	if installed {
		in.f.Install = append(in.f.Install, InstallEvidence{Kind: KindRPM, Path: bin, Detail: "rpm -q " + PackageName})
		in.f.Versions = append(in.f.Versions, VersionEvidence{Source: SourceRPM, Version: v, Path: bin})
		return
	}
	if err != nil && ctx.Err() != nil {
		in.problem(bin, fmt.Errorf("rpm -q %s: %w", PackageName, ctx.Err()))
		return
	}
	in.f.Notes = append(in.f.Notes, fmt.Sprintf("rpm -q %s: not installed", PackageName))
}

// parseRPMQuery reads the output of `rpm -q --qf %{VERSION} pkg`. rpm exits
// 1 and prints "package … is not installed" when the package is absent.
func parseRPMQuery(out []byte, err error) (version string, installed bool) {
	s := strings.TrimSpace(string(out))
	if err != nil || s == "" || strings.Contains(s, "not installed") {
		return "", false
	}
	if _, perr := ParseVersion(s); perr != nil {
		return "", false
	}
	return s, true
}

// versionFlagRE matches the output of `amazon-ssm-agent -version`.
var versionFlagRE = regexp.MustCompile(`SSM Agent version:\s*(\S+)`)

// startupLineRE matches the agent's startup log line, "amazon-ssm-agent - v<version>".
var startupLineRE = regexp.MustCompile(`amazon-ssm-agent - v(\d[\w.\-~+]*)`)

// versions asks each source in turn and picks the preferred answer.
func (in *inspector) versions() {
	if in.live() && in.opt.Exec {
		in.execVersion()
	}
	in.snapVersion()
	in.logVersion()
	order := []string{SourceExec, SourceDpkg, SourceRPM, SourceSnap, SourceLog}
	for _, src := range order {
		for _, ev := range in.f.Versions {
			if ev.Source != src {
				continue
			}
			v, err := ParseVersion(ev.Version)
			if err != nil {
				continue
			}
			in.f.Version, in.f.VersionSource = v.String(), src
			return
		}
	}
}

// execVersion runs the first existing agent binary with -version (the flag
// exists since MinVersionFlag; older binaries reject it and exit).
func (in *inspector) execVersion() {
	for _, ev := range in.f.Install {
		if ev.Kind != KindBinary {
			continue
		}
		ctx, cancel := context.WithTimeout(in.ctx, in.opt.Timeout)
		v, err := runVersion(ctx, in.opt.Run, ev.Path)
		cancel()
		if err != nil {
			in.problem(ev.Path, err)
			continue
		}
		in.f.Versions = append(in.f.Versions, VersionEvidence{Source: SourceExec, Version: v, Path: ev.Path})
		return
	}
}

// runVersion runs `bin -version` and extracts the version it prints.
func runVersion(ctx context.Context, run Runner, bin string) (string, error) {
	out, err := run(ctx, bin, "-version")
	if ctx.Err() != nil {
		return "", fmt.Errorf("%s -version: %w", bin, ctx.Err())
	}
	if m := versionFlagRE.FindSubmatch(out); m != nil {
		return string(m[1]), nil
	}
	if err != nil {
		return "", fmt.Errorf("%s -version: %w", bin, err)
	}
	return "", fmt.Errorf("%s -version: %w: no %q in its output", bin, ErrNotVersion, "SSM Agent version:")
}

// snapVersion reads "version:" from the current snap's meta/snap.yaml
// (snapcraft.yaml reference, "version"). Only a top-level key counts.
func (in *inspector) snapVersion() {
	b, err := in.fs.ReadFile(SnapMetaPath, MaxSmallFileBytes)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			in.problem(SnapMetaPath, err)
		}
		return
	}
	if v := snapYAMLVersion(b); v != "" {
		in.f.Versions = append(in.f.Versions, VersionEvidence{Source: SourceSnap, Version: v, Path: SnapMetaPath})
	}
}

func snapYAMLVersion(b []byte) string {
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("version:")); ok {
			return strings.Trim(strings.TrimSpace(string(v)), `"'`)
		}
	}
	return ""
}

// logVersion finds the last startup line in the tail of the agent log.
func (in *inspector) logVersion() {
	b, _, err := in.fs.ReadTail(AgentLogPath, MaxLogTailBytes)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			in.problem(AgentLogPath, err)
		}
		return
	}
	if ev, ok := lastStartupLine(b); ok {
		ev.Path = AgentLogPath
		in.f.Versions = append(in.f.Versions, ev)
	}
}

// lastStartupLine returns the version and time of the last startup line.
func lastStartupLine(b []byte) (VersionEvidence, bool) {
	var ev VersionEvidence
	found := false
	for _, line := range bytes.Split(b, []byte("\n")) {
		m := startupLineRE.FindSubmatch(line)
		if m == nil {
			continue
		}
		ev = VersionEvidence{Source: SourceLog, Version: string(m[1])}
		if ts, ok := logTimestamp(string(line)); ok {
			ev.Detail = "logged at " + ts
		}
		found = true
	}
	return ev, found
}

// logTimestamp returns the leading "2006-01-02 15:04:05[.0000]" of a log
// line, without the fraction.
func logTimestamp(line string) (string, bool) {
	const layout = "2006-01-02 15:04:05"
	if len(line) < len(layout) {
		return "", false
	}
	if _, err := time.Parse(layout, line[:len(layout)]); err != nil {
		return "", false
	}
	return line[:len(layout)], true
}

// execRunner runs a command with os/exec, capping its output. WaitDelay
// bounds the wait for pipes held open by a child that outlived the kill.
func execRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out cappedBuffer
	out.max = MaxCommandOutputBytes
	cmd.Stdout = &out
	cmd.Stderr = &out // old agents print usage on stderr; kept for the error text
	cmd.WaitDelay = commandWaitDelay
	err := cmd.Run()
	return out.buf.Bytes(), err
}

// commandWaitDelay is how long a killed command's pipes may stay open; a
// child the command forked could otherwise hold Wait indefinitely.
const commandWaitDelay = 500 * time.Millisecond

// cappedBuffer keeps at most max bytes and silently drops the rest.
type cappedBuffer struct {
	buf bytes.Buffer
	max int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		if len(p) > room {
			c.buf.Write(p[:room])
		} else {
			c.buf.Write(p)
		}
	}
	return len(p), nil
}

// VersionFromLog returns the version and time of the last startup line in
// an agent log ("amazon-ssm-agent - v<version>"), for readers of another
// system's log files (the Windows agent writes the same line).
func VersionFromLog(b []byte) (VersionEvidence, bool) { return lastStartupLine(b) }

// VersionFromOutput returns the version `amazon-ssm-agent -version`
// printed ("SSM Agent version: <version>").
func VersionFromOutput(out []byte) (string, bool) {
	if m := versionFlagRE.FindSubmatch(out); m != nil {
		return string(m[1]), true
	}
	return "", false
}
