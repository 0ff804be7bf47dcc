// Package changes records what changed on a host and when, from the files'
// own times only: the modification times of the resolver and agent
// configuration, the package manager's record of agent installs and
// upgrades, the boot time and the clock-sync state. Nothing is sent
// anywhere, and every file is read under the probed root through package
// rootfs, so a volume mounted from a broken instance gives that instance's
// history.
//
// A change is evidence for a finding, never a finding by itself: the probe
// shows the changes that came just before the agent's failures began.
package changes

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// Options says how to read the root.
type Options struct {
	Location *time.Location // zone of the package logs' zone-less times (the host's /etc/localtime); nil: time.Local
}

// File is one watched file's times.
type File struct {
	Path     string    `json:"path"`                // the host path
	Role     string    `json:"role"`                // resolver, hosts, nsswitch, agent-config, agent-unit, agent-binary
	ModTime  time.Time `json:"mtime"`               // the content's last change (the link target's, for a link)
	Target   string    `json:"target,omitempty"`    // for a symbolic link: its target, as written
	LinkTime time.Time `json:"link_mtime,omitzero"` // for a symbolic link: when the link itself was made
}

// Package is one record of the agent's package being installed, upgraded
// or removed.
type Package struct {
	Time    time.Time `json:"time"`
	Action  string    `json:"action"`            // install, upgrade, remove
	Version string    `json:"version,omitempty"` // the version installed (the old one for a remove)
	Source  string    `json:"source"`            // file:line
}

// Boot is when the host last booted.
type Boot struct {
	Time   time.Time `json:"time"`
	Source string    `json:"source"` // /proc/stat (btime) or /var/log/wtmp (BOOT_TIME record)
}

// ClockSync is what the time-sync daemons left on disk.
type ClockSync struct {
	Synchronized *bool     `json:"synchronized,omitempty"` // systemd-timesyncd's flag file (live root only); nil: unknown
	LastSync     time.Time `json:"last_sync,omitzero"`     // the latest sync the files show
	Source       string    `json:"source,omitempty"`
}

// Facts is what Read found.
type Facts struct {
	Files     []File           `json:"files"`
	Packages  []Package        `json:"packages"`
	Boot      *Boot            `json:"boot,omitempty"`
	ClockSync *ClockSync       `json:"clock_sync,omitempty"`
	Problems  []rootfs.Problem `json:"problems,omitempty"` // files there but unreadable
}

// Change is one dated event on the host.
type Change struct {
	Time time.Time `json:"time"`
	What string    `json:"what"` // e.g. "/etc/resolv.conf modified", "amazon-ssm-agent upgraded to 3.3.1142.0", "host booted"
	Path string    `json:"path"` // the file that dates it
}

// watched are the files whose times matter for Session Manager
// (the agent's config files and units, docs/AGENT-FACTS.md
// locations; systemd.unit(5) for drop-in directories).
var watched = []struct{ path, role string }{
	{"/etc/resolv.conf", "resolver"},
	{"/run/systemd/resolve/resolv.conf", "resolver"},
	{"/etc/systemd/resolved.conf", "resolver"},
	{"/etc/hosts", "hosts"},
	{"/etc/nsswitch.conf", "nsswitch"},
	{"/etc/amazon/ssm/amazon-ssm-agent.json", "agent-config"},
	{"/etc/amazon/ssm/seelog.xml", "agent-config"},
	{"/var/lib/amazon/ssm/registration", "agent-config"},
	{"/etc/systemd/system/amazon-ssm-agent.service", "agent-unit"},
	{"/lib/systemd/system/amazon-ssm-agent.service", "agent-unit"},
	{"/usr/lib/systemd/system/amazon-ssm-agent.service", "agent-unit"},
	{"/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service", "agent-unit"},
	{"/usr/bin/amazon-ssm-agent", "agent-binary"},
	{"/snap/amazon-ssm-agent/current", "agent-binary"}, // snapd repoints it at each refresh
}

// dropInDirs hold the drop-ins `systemctl edit` writes (systemd.unit(5)).
var dropInDirs = []string{
	"/etc/systemd/system/amazon-ssm-agent.service.d",
	"/run/systemd/system/amazon-ssm-agent.service.d",
	"/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service.d",
	"/etc/systemd/resolved.conf.d",
}

// maxDropIns caps the drop-ins read per directory.
const maxDropIns = 32

// Read gathers the host's change facts under fsys. It never fails: a file
// that is absent is left out, one that cannot be read is a Problem.
func Read(fsys rootfs.FS, opt Options) *Facts {
	loc := opt.Location
	if loc == nil {
		loc = time.Local
	}
	f := &Facts{Files: []File{}, Packages: []Package{}}
	for _, w := range watched {
		f.file(fsys, w.path, w.role)
	}
	for _, d := range dropInDirs {
		ents, err := fsys.ReadDir(d)
		if err != nil {
			f.problem(d, err)
			continue
		}
		for i, e := range ents {
			if i == maxDropIns {
				break
			}
			if strings.HasSuffix(e.Name(), ".conf") {
				role := "agent-unit"
				if strings.HasPrefix(d, "/etc/systemd/resolved") {
					role = "resolver"
				}
				f.file(fsys, path.Join(d, e.Name()), role)
			}
		}
	}
	f.packages(fsys, loc)
	f.Boot = bootTime(fsys)
	f.ClockSync = clockSync(fsys)
	return f
}

// file records the times of p, and of its target when p is a link.
func (f *Facts) file(fsys rootfs.FS, p, role string) {
	li, err := fsys.Lstat(p)
	if err != nil {
		f.problem(p, err)
		return
	}
	fl := File{Path: p, Role: role, ModTime: li.ModTime()}
	if li.Mode()&fs.ModeSymlink != 0 {
		fl.Target, _ = fsys.Readlink(p)
		fl.LinkTime = li.ModTime()
		fi, err := fsys.Stat(p)
		if err != nil {
			f.problem(p, err)
			fl.ModTime = time.Time{}
		} else {
			fl.ModTime = fi.ModTime()
		}
	}
	f.Files = append(f.Files, fl)
}

func (f *Facts) problem(p string, err error) {
	if !errors.Is(err, fs.ErrNotExist) {
		f.Problems = append(f.Problems, rootfs.ProblemOf(p, err))
	}
}

// Changes returns every dated event of f, oldest first.
func (f *Facts) Changes() []Change {
	var out []Change
	for _, fl := range f.Files {
		if !fl.ModTime.IsZero() {
			what := fl.Path + " modified"
			if fl.Target != "" {
				what = fl.Path + " (-> " + fl.Target + ") modified"
			}
			out = append(out, Change{Time: fl.ModTime, What: what, Path: fl.Path})
		}
		if !fl.LinkTime.IsZero() && !fl.LinkTime.Equal(fl.ModTime) {
			out = append(out, Change{Time: fl.LinkTime, What: fl.Path + " relinked to " + fl.Target, Path: fl.Path})
		}
	}
	for _, p := range f.Packages {
		what := "amazon-ssm-agent " + map[string]string{"install": "installed", "upgrade": "upgraded", "remove": "removed"}[p.Action]
		if p.Version != "" {
			what += " (" + p.Version + ")"
		}
		out = append(out, Change{Time: p.Time, What: what, Path: p.Source})
	}
	if f.Boot != nil {
		out = append(out, Change{Time: f.Boot.Time, What: "host booted", Path: f.Boot.Source})
	}
	slices.SortStableFunc(out, func(a, b Change) int { return a.Time.Compare(b.Time) })
	return out
}

// maxPackageLog is how much of the tail of a package log is read.
const maxPackageLog = 1 << 20

// maxPackages keeps the latest agent package records.
const maxPackages = 16

// packages reads the agent's install and upgrade records from dpkg.log
// (dpkg(1): `YYYY-MM-DD HH:MM:SS <action> <pkg>:<arch> <old> <new>`, local
// time), yum.log (`Mon DD HH:MM:SS Installed: <nevra>`, local time, no year)
// and dnf.rpm.log (`YYYY-MM-DDTHH:MM:SS+ZZZZ SUBDEBUG Upgrade: <nevra>`). The
// dnf history database and snapd's state are not plain logs and are not
// read; a snap refresh shows as /snap/amazon-ssm-agent/current relinked.
func (f *Facts) packages(fsys rootfs.FS, loc *time.Location) {
	for _, src := range []struct {
		path  string
		parse func(line string, loc *time.Location, year int) (Package, bool)
	}{
		{"/var/log/dpkg.log.1", parseDpkg},
		{"/var/log/dpkg.log", parseDpkg},
		{"/var/log/yum.log", parseYum},
		{"/var/log/dnf.rpm.log", parseDnf},
	} {
		b, _, err := fsys.ReadTail(src.path, maxPackageLog)
		if err != nil {
			f.problem(src.path, err)
			continue
		}
		year := time.Now().In(loc).Year()
		if fi, err := fsys.Stat(src.path); err == nil {
			year = fi.ModTime().In(loc).Year()
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 0, 4096), 64<<10)
		n := 0
		for sc.Scan() {
			n++
			line := sc.Text()
			if !strings.Contains(line, "amazon-ssm-agent") {
				continue
			}
			if p, ok := src.parse(line, loc, year); ok {
				p.Time = p.Time.UTC()
				p.Source = src.path + ":" + strconv.Itoa(n)
				f.Packages = append(f.Packages, p)
			}
		}
	}
	slices.SortStableFunc(f.Packages, func(a, b Package) int { return a.Time.Compare(b.Time) })
	if n := len(f.Packages); n > maxPackages {
		f.Packages = slices.Clone(f.Packages[n-maxPackages:])
	}
}

// parseDpkg reads `2024-03-01 18:00:00 upgrade amazon-ssm-agent:amd64 3.3.987.0-1 3.3.1142.0-1`.
func parseDpkg(line string, loc *time.Location, _ int) (Package, bool) {
	fl := strings.Fields(line)
	if len(fl) < 6 || (fl[3] != "amazon-ssm-agent" && !strings.HasPrefix(fl[3], "amazon-ssm-agent:")) {
		return Package{}, false
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", fl[0]+" "+fl[1], loc)
	if err != nil {
		return Package{}, false
	}
	switch fl[2] {
	case "install":
		return Package{Time: t, Action: "install", Version: fl[5]}, true
	case "upgrade":
		return Package{Time: t, Action: "upgrade", Version: fl[5]}, true
	case "remove", "purge":
		return Package{Time: t, Action: "remove", Version: fl[4]}, true
	}
	return Package{}, false
}

// parseYum reads `Mar 01 18:00:00 Updated: amazon-ssm-agent-3.3.1142.0-1.x86_64`;
// the year is the file's (the log has none).
func parseYum(line string, loc *time.Location, year int) (Package, bool) {
	if len(line) < 16 {
		return Package{}, false
	}
	t, err := time.ParseInLocation("Jan 02 15:04:05 2006", line[:15]+" "+strconv.Itoa(year), loc)
	if err != nil {
		return Package{}, false
	}
	verb, rest, ok := strings.Cut(strings.TrimSpace(line[15:]), ": ")
	if !ok {
		return Package{}, false
	}
	action := map[string]string{"Installed": "install", "Updated": "upgrade", "Erased": "remove"}[verb]
	v, ok := rpmVersion(rest)
	if action == "" || !ok {
		return Package{}, false
	}
	return Package{Time: t, Action: action, Version: v}, true
}

// parseDnf reads `2024-03-01T18:00:00+0000 SUBDEBUG Upgrade: amazon-ssm-agent-3.3.1142.0-1.x86_64`.
func parseDnf(line string, _ *time.Location, _ int) (Package, bool) {
	fl := strings.Fields(line)
	if len(fl) < 4 {
		return Package{}, false
	}
	t, err := time.Parse("2006-01-02T15:04:05-0700", fl[0])
	if err != nil {
		return Package{}, false
	}
	action := map[string]string{"Installed:": "install", "Install:": "install", "Upgrade:": "upgrade", "Erase:": "remove"}[fl[2]]
	v, ok := rpmVersion(fl[3])
	if action == "" || !ok {
		return Package{}, false
	}
	return Package{Time: t, Action: action, Version: v}, true
}

// rpmVersion returns the version of an `amazon-ssm-agent-<version>-<release>.<arch>`
// package name, with an optional epoch before the name or the version.
func rpmVersion(nevra string) (string, bool) {
	s := strings.TrimSpace(nevra)
	if e, r, ok := strings.Cut(s, ":"); ok && strings.Trim(e, "0123456789") == "" {
		s = r // yum writes a non-zero epoch first: 1:name-version-release.arch
	}
	rest, ok := strings.CutPrefix(s, "amazon-ssm-agent-")
	if !ok {
		return "", false
	}
	if e, r, ok := strings.Cut(rest, ":"); ok && strings.Trim(e, "0123456789") == "" {
		rest = r
	}
	v, _, _ := strings.Cut(rest, "-")
	return v, v != "" && v[0] >= '0' && v[0] <= '9'
}
