package agent

import (
	"bytes"
	"strconv"
	"strings"
)

// hidepid values (proc(5), "Mount options"): a proc mounted hidepid=1
// (noaccess) lets a user list other users' /proc/<pid> directories but not
// read them; hidepid=2 (invisible) hides them; hidepid=4 (ptraceable, Linux
// 5.8) shows only the processes the user may ptrace. hidepid=0 (off) is the
// default. subset=pid only hides what is not a process, so it changes
// nothing here.
const (
	HidePIDNoAccess   = "noaccess"
	HidePIDInvisible  = "invisible"
	HidePIDPtraceable = "ptraceable"
)

// procMount is what hidepid depends on in one proc mount.
type procMount struct {
	Point   string `json:"point"`   // where it is mounted, unescaped
	HidePID string `json:"hidepid"` // "", HidePIDNoAccess, HidePIDInvisible, HidePIDPtraceable, or the value as written when unknown
	GID     int    `json:"gid"`     // the gid= option, -1 when absent: its members see everything despite hidepid
}

// procMountOf returns the mount that holds dir, from the text of a
// /proc/<pid>/mountinfo file (proc(5)): the one with the longest mount point
// that is dir or a parent of it, the last one listed among equals (a later
// mount on the same point hides the earlier). ok is false when no line
// covers dir or when that mount is not a proc file system, which hides
// nothing. dir must be absolute and clean.
func procMountOf(mountinfo []byte, dir string) (procMount, bool) {
	var best procMount
	var bestProc, found bool
	for _, line := range bytes.Split(mountinfo, []byte{'\n'}) {
		// id parent major:minor root mount-point mount-options [optional…] - fstype source super-options
		pre, post, ok := bytes.Cut(line, []byte(" - "))
		if !ok {
			continue
		}
		f := strings.Fields(string(pre))
		g := strings.Fields(string(post))
		if len(f) < 6 || len(g) < 2 {
			continue
		}
		point := unescapeMount(f[4])
		if !under(dir, point) || (found && len(point) < len(best.Point)) {
			continue
		}
		opts := f[5]
		if len(g) > 2 {
			opts += "," + g[2]
		}
		best, bestProc, found = procMount{Point: point, GID: -1}, g[0] == "proc", true
		for _, o := range strings.Split(opts, ",") {
			k, v, _ := strings.Cut(o, "=")
			switch k {
			case "hidepid":
				best.HidePID = hidepidValue(v)
			case "gid":
				if n, err := strconv.Atoi(v); err == nil && n >= 0 {
					best.GID = n
				}
			}
		}
	}
	return best, found && bestProc
}

// hidepidValue names a hidepid= value; "" for one that hides nothing.
// An unknown value is kept as written: the probe cannot vouch that it hides
// nothing.
func hidepidValue(v string) string {
	switch v {
	case "0", "off":
		return ""
	case "1", HidePIDNoAccess:
		return HidePIDNoAccess
	case "2", HidePIDInvisible:
		return HidePIDInvisible
	case "4", HidePIDPtraceable:
		return HidePIDPtraceable
	}
	return v
}

// under reports whether dir is point or lies below it.
func under(dir, point string) bool {
	if point == "/" || dir == point {
		return true
	}
	return strings.HasPrefix(dir, point+"/")
}

// unescapeMount undoes the octal escapes mountinfo writes for a blank, a
// tab, a newline and a backslash in a path (\040, \011, \012, \134).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// hiddenFrom says whether m hides root's processes from a process with
// effective uid euid and groups: never from root, nor from a member of the
// gid= group, nor when hidepid is off.
func (m procMount) hiddenFrom(euid int, groups []int) bool {
	if m.HidePID == "" || euid == 0 {
		return false
	}
	for _, g := range groups {
		if m.GID >= 0 && g == m.GID {
			return false
		}
	}
	return true
}
