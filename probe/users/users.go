// Package users reads what decides whether a Session Manager session can
// start as its user: the local user database (/etc/passwd), the sources
// nsswitch.conf lists for it, and whether the agent could create ssm-user
// (a writable /etc/passwd on a read-write mount, useradd, /etc/sudoers.d).
//
// When Run As is off, the agent runs `useradd -m ssm-user` through sh and
// writes /etc/sudoers.d/ssm-agent-users (aws/amazon-ssm-agent
// agent/session/utility/utility_unix.go:76 and :32); it checks a user with
// `id`, which asks every nsswitch source (:43). The probe is a static binary
// and reads /etc/passwd only, so users served by sss, ldap and the like are
// invisible to it: it says so instead of calling them missing.
package users

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// Host paths.
const (
	PasswdPath   = "/etc/passwd"
	NSSwitchPath = "/etc/nsswitch.conf"
	SudoersDir   = "/etc/sudoers.d"
	// DefaultUser is the user sessions run as when Run As is off
	// (appconfig.DefaultRunAsUserName).
	DefaultUser = "ssm-user"
)

// UseraddPaths are where useradd is looked for, in order (the agent runs it
// through sh with the default PATH).
var UseraddPaths = []string{"/usr/sbin/useradd", "/sbin/useradd", "/usr/bin/useradd", "/bin/useradd"}

// Caps: /etc/passwd of a large server holds a few thousand lines.
const (
	MaxPasswdBytes   = 4 << 20
	MaxNSSwitchBytes = 64 << 10
	MaxUsers         = 8192
)

// Writable says whether the agent could write /etc/passwd.
type Writable struct {
	Checked       bool   `json:"checked"`
	Reason        string `json:"reason,omitempty"`          // why not checked
	Mode          string `json:"mode,omitempty"`            // the file's permission bits, e.g. -rw-r--r--
	OwnerWritable bool   `json:"owner_writable"`            // the owner (root) may write it
	ReadOnlyMount bool   `json:"read_only_mount,omitempty"` // /etc is on a read-only mount
	Immutable     bool   `json:"immutable,omitempty"`       // chattr +i: not even root may replace it
}

// Blocked reports whether root could not write /etc/passwd. The file mode
// does not count: root writes a 0444 file all the same (useradd replaces it
// with a new file), but not on a read-only mount or an immutable file.
func (w Writable) Blocked() bool { return w.ReadOnlyMount || w.Immutable }

// Facts is what Inspect read.
type Facts struct {
	Root           string           `json:"root"`
	PasswdRead     bool             `json:"passwd_read"`
	Users          []string         `json:"users,omitempty"` // user names of /etc/passwd, in file order, at most MaxUsers
	UsersTruncated bool             `json:"users_truncated,omitempty"`
	Sources        []string         `json:"passwd_sources,omitempty"` // the passwd: line of nsswitch.conf; nil when absent (glibc: files)
	Passwd         Writable         `json:"passwd_writable"`
	Useradd        string           `json:"useradd,omitempty"` // the host path found; "" when none
	SudoersDir     bool             `json:"sudoers_dir"`
	Problems       []rootfs.Problem `json:"problems,omitempty"`
}

// Has reports whether /etc/passwd names user.
func (f *Facts) Has(user string) bool {
	for _, u := range f.Users {
		if u == user {
			return true
		}
	}
	return false
}

// OtherSources returns the nsswitch passwd sources the probe cannot read
// and that can serve a login user: anything but files, compat and systemd
// (nss-systemd serves only systemd's dynamic service users), e.g. sss,
// ldap, nis, winbind.
func (f *Facts) OtherSources() []string {
	var out []string
	for _, s := range f.Sources {
		if s != "files" && s != "compat" && s != "systemd" {
			out = append(out, s)
		}
	}
	return out
}

// Inspect reads the user facts under root ("" or "/" for this machine).
// It never fails: what could not be read is a Problem or a reason.
func Inspect(ctx context.Context, root string) *Facts {
	fsys := rootfs.FS{Root: root}
	f := &Facts{Root: fsys.Join("/")}
	if b, err := fsys.ReadFile(PasswdPath, MaxPasswdBytes); err != nil {
		f.Problems = append(f.Problems, rootfs.ProblemOf(PasswdPath, err))
	} else {
		f.PasswdRead = true
		f.Users, f.UsersTruncated = ParsePasswd(b)
	}
	if b, err := fsys.ReadFile(NSSwitchPath, MaxNSSwitchBytes); err == nil {
		f.Sources = ParsePasswdSources(b)
	} else if fsys.Exists(NSSwitchPath) {
		f.Problems = append(f.Problems, rootfs.ProblemOf(NSSwitchPath, err))
	}
	f.Passwd = writable(fsys)
	for _, p := range UseraddPaths {
		if ctx.Err() != nil {
			break
		}
		if fi, err := fsys.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			f.Useradd = p
			break
		}
	}
	if fi, err := fsys.Stat(SudoersDir); err == nil && fi.IsDir() {
		f.SudoersDir = true
	}
	return f
}

// ParsePasswd returns the user names of a passwd file in file order, and
// whether MaxUsers cut the list. Comment, blank, NIS (+/-) and malformed
// lines are skipped.
func ParsePasswd(b []byte) ([]string, bool) {
	var users []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.Count(rest, ":") < 5 {
			continue
		}
		if len(users) == MaxUsers {
			return users, true
		}
		users = append(users, name)
	}
	return users, false
}

// ParsePasswdSources returns the sources of the last passwd: line of an
// nsswitch.conf, without [action] items; nil when there is none.
func ParsePasswdSources(b []byte) []string {
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		db, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || strings.TrimSpace(db) != "passwd" {
			continue
		}
		out = []string{}
		for _, w := range strings.Fields(rest) {
			if !strings.HasPrefix(w, "[") && !strings.HasSuffix(w, "]") {
				out = append(out, w)
			}
		}
	}
	return out
}

// writable checks whether /etc/passwd could be written by root: its mode,
// and, on the live machine, whether /etc is mounted read-only.
func writable(fsys rootfs.FS) Writable {
	fi, err := fsys.Stat(PasswdPath)
	if err != nil {
		return Writable{Reason: "not checked: " + err.Error()}
	}
	w := Writable{Checked: true, Mode: fi.Mode().Perm().String(), OwnerWritable: fi.Mode().Perm()&0o200 != 0}
	if fh, err := fsys.OpenRegular(PasswdPath); err == nil {
		w.Immutable, _ = immutable(fh) // file systems without the flags answer none
		fh.Close()
	}
	if !fsys.IsLive() {
		w.Reason = "mount not checked: under --root the mount is this machine's, not the instance's"
		return w
	}
	ro, err := readOnlyMount(fsys.Join("/etc"))
	if err != nil {
		w.Reason = fmt.Sprintf("mount not checked: %v", err)
		return w
	}
	w.ReadOnlyMount = ro
	return w
}
