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
	"io"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
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

// Caps. /etc/passwd is streamed, never held: the names it lists are
// counted, the first MaxUsers kept, and the names the rules ask about
// (ssm-user, and any given to Inspect) looked up over the whole file, so a
// large file is answered exactly. MaxPasswdBytes (about a million users)
// bounds the work; a file cut there answers "found" exactly and "absent"
// not at all.
const (
	MaxPasswdBytes   = 64 << 20
	MaxNSSwitchBytes = 64 << 10
	MaxUsers         = 8192
	maxPasswdLine    = 64 << 10 // a longer line is read in pieces; its name must lie in the first
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

// Lookup is whether /etc/passwd names one user, looked up over the whole
// file.
type Lookup struct {
	Name  string `json:"name"`
	Found bool   `json:"found"`
}

// Facts is what Inspect read.
type Facts struct {
	Root           string           `json:"root"`
	PasswdRead     bool             `json:"passwd_read"`               // /etc/passwd was opened and read, maybe not to its end (PasswdCut)
	PasswdCut      bool             `json:"passwd_cut,omitempty"`      // it was not read to its end (over MaxPasswdBytes, a read error, the deadline): a name not found is unknown
	Users          []string         `json:"users,omitempty"`           // user names of /etc/passwd, in file order, at most MaxUsers
	UsersTruncated bool             `json:"users_truncated,omitempty"` // Users holds only the first MaxUsers names
	UsersCount     int              `json:"users_count,omitempty"`     // the user names in what was read
	Lookups        []Lookup         `json:"lookups,omitempty"`         // the names looked up over the whole file: ssm-user and those given to Inspect
	Sources        []string         `json:"passwd_sources,omitempty"`  // the passwd: line of nsswitch.conf; nil when absent (glibc: files)
	Passwd         Writable         `json:"passwd_writable"`
	Useradd        string           `json:"useradd,omitempty"` // the host path found; "" when none
	SudoersDir     bool             `json:"sudoers_dir"`
	Problems       []rootfs.Problem `json:"problems,omitempty"`
}

// Lookup reports whether /etc/passwd names user, and whether that answer
// is known. A name found is known; a name not found is known only when
// the file was read to its end and either the name was looked up or
// Users lists every name. Nothing is known when /etc/passwd was not read.
func (f *Facts) Lookup(user string) (found, known bool) {
	if f == nil || !f.PasswdRead {
		return false, false
	}
	for _, l := range f.Lookups {
		if l.Name == user {
			return l.Found, l.Found || !f.PasswdCut
		}
	}
	for _, u := range f.Users {
		if u == user {
			return true, true
		}
	}
	return false, !f.PasswdCut && !f.UsersTruncated
}

// PasswdAbsent reports whether there is no /etc/passwd at all: a root
// without a user database (a test tree, a volume not fully mounted), which
// the users check reports; it is not a file the probe failed to read.
func (f *Facts) PasswdAbsent() bool {
	if f == nil || f.PasswdRead {
		return false
	}
	for _, p := range f.Problems {
		if p.Path == PasswdPath && p.Class == errclass.NotFound {
			return true
		}
	}
	return false
}

// NotCheckedWhy says why a name not found cannot be called absent: the
// file was not read, not read to its end, or too long for the list; ""
// when the answer is known.
func (f *Facts) NotCheckedWhy(user string) string {
	switch found, known := f.Lookup(user); {
	case found || known:
		return ""
	case f == nil:
		return "the local users were not read"
	case !f.PasswdRead:
		why := PasswdPath + " could not be read"
		for _, p := range f.Problems {
			if p.Path == PasswdPath {
				why += " (" + p.Detail + ")"
				break
			}
		}
		return why
	case f.PasswdCut:
		return fmt.Sprintf("%s was not read to its end (%d users read; it is read up to %d MiB)", PasswdPath, f.UsersCount, MaxPasswdBytes>>20)
	}
	return fmt.Sprintf("%s lists %d users and only the first %d are kept, without %s among them", PasswdPath, f.UsersCount, MaxUsers, user)
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

// Inspect reads the user facts under root ("" or "/" for this machine),
// and looks up ssm-user and names over the whole of /etc/passwd. It never
// fails: what could not be read is a Problem or a reason.
func Inspect(ctx context.Context, root string, names ...string) *Facts {
	fsys := rootfs.FS{Root: root}
	f := &Facts{Root: fsys.Join("/")}
	if fh, err := fsys.OpenRegular(PasswdPath); err != nil {
		f.Problems = append(f.Problems, rootfs.ProblemOf(PasswdPath, err))
	} else {
		r := ScanPasswd(ctx, fh, MaxPasswdBytes, append([]string{DefaultUser}, names...))
		fh.Close()
		f.PasswdRead = true
		f.Users, f.UsersTruncated, f.UsersCount, f.Lookups, f.PasswdCut = r.Users, r.Truncated, r.Count, r.Lookups, !r.Complete
		if r.Err != nil {
			f.Problems = append(f.Problems, rootfs.ProblemOf(PasswdPath, r.Err))
		}
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
	r := ScanPasswd(context.Background(), bytes.NewReader(b), int64(len(b)), nil)
	return r.Users, r.Truncated
}

// PasswdScan is what ScanPasswd read.
type PasswdScan struct {
	Users     []string // the first MaxUsers names, in file order
	Truncated bool     // more than MaxUsers names
	Count     int      // every name read
	Lookups   []Lookup // the names asked for, in the order asked, once each
	Complete  bool     // read to the end
	Err       error    // why not, when it is not the byte bound
}

// ScanPasswd streams a passwd file, at most max bytes of it, with one
// buffer whatever its size. Comment, blank, NIS (+/-) and malformed lines
// (no name, fewer than seven fields) are skipped, as useradd and getent do;
// a line longer than the buffer is read in pieces and still counted. names
// are looked up over everything read.
func ScanPasswd(ctx context.Context, r io.Reader, max int64, names []string) PasswdScan {
	var s PasswdScan
	want := map[string]int{}
	for _, n := range names {
		if _, dup := want[n]; !dup {
			want[n] = len(s.Lookups)
			s.Lookups = append(s.Lookups, Lookup{Name: n})
		}
	}
	br := bufio.NewReaderSize(r, maxPasswdLine)
	var read int64
	for lines := 0; ; lines++ {
		if lines%1024 == 0 && ctx.Err() != nil {
			s.Err = ctx.Err()
			return s
		}
		name, ok, n, err := passwdLine(br)
		read += n
		if read > max {
			s.Err = fmt.Errorf("%w of %d bytes", rootfs.ErrTooLarge, max)
			return s // the last line may be cut: not counted
		}
		if ok {
			s.Count++
			if len(s.Users) < MaxUsers {
				s.Users = append(s.Users, name)
			} else {
				s.Truncated = true
			}
			if i, asked := want[name]; asked {
				s.Lookups[i].Found = true
			}
		}
		switch err {
		case nil:
		case io.EOF:
			s.Complete = true
			return s
		default:
			s.Err = err
			return s
		}
	}
}

// passwdLine reads one line of a passwd file and returns its user name
// when it is a user's line, and how many bytes it read. err is io.EOF at
// the end of the file.
func passwdLine(br *bufio.Reader) (name string, ok bool, n int64, err error) {
	piece, err := br.ReadSlice('\n')
	n = int64(len(piece))
	head := bytes.TrimLeft(piece, " \t")
	colons := bytes.Count(head, []byte(":"))
	before, _, hasName := bytes.Cut(head, []byte(":"))
	if hasName {
		name = string(before)
	}
	skip := len(head) == 0 || head[0] == '#' || head[0] == '+' || head[0] == '-' || head[0] == '\n' || head[0] == '\r'
	for err == bufio.ErrBufferFull { // the rest of a long line
		piece, err = br.ReadSlice('\n')
		n += int64(len(piece))
		colons += bytes.Count(piece, []byte(":"))
	}
	if err == io.EOF && n == 0 {
		return "", false, 0, io.EOF
	}
	return name, !skip && hasName && name != "" && colons >= 6, n, err
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
