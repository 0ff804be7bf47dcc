package host

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"strconv"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// OSReleasePaths are where os-release(5) is read, in order: /etc/os-release,
// else /usr/lib/os-release.
var OSReleasePaths = []string{"/etc/os-release", "/usr/lib/os-release"}

// BottlerocketHostRoot is where a superpowered Bottlerocket host container
// (the admin container) sees the host's root file system, so that a probe
// run there reads the host's os-release too.
const BottlerocketHostRoot = "/.bottlerocket/rootfs"

// maxOSReleaseBytes caps os-release; real ones are under 1 KiB.
const maxOSReleaseBytes = 64 << 10

// OSRelease is what os-release(5) says about the operating system.
type OSRelease struct {
	Path      string `json:"path"`                 // the file read
	ID        string `json:"id,omitempty"`         // e.g. "amzn", "ubuntu", "bottlerocket"
	VersionID string `json:"version_id,omitempty"` // e.g. "2023", "1.29.0"
	Variant   string `json:"variant_id,omitempty"` // Bottlerocket: e.g. "aws-k8s-1.31"
	Pretty    string `json:"pretty_name,omitempty"`
	// Container is true when the file is the host's as a Bottlerocket
	// host container sees it (BottlerocketHostRoot): the probe runs in a
	// host container, not on the host.
	Container bool `json:"container,omitempty"`
}

// Bottlerocket reports whether the OS is Bottlerocket.
func (r *OSRelease) Bottlerocket() bool { return r != nil && r.ID == "bottlerocket" }

// ParseOSRelease reads os-release(5): KEY=value lines, values optionally
// quoted in shell style; comments and blank lines are skipped, and a line
// that is not an assignment is ignored. It keeps ID, VERSION_ID,
// VARIANT_ID and PRETTY_NAME.
func ParseOSRelease(b []byte) OSRelease {
	var r OSRelease
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), maxOSReleaseBytes)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsAny(k, " \t") {
			continue
		}
		v = unquote(v)
		switch k {
		case "ID":
			r.ID = strings.ToLower(v)
		case "VERSION_ID":
			r.VersionID = v
		case "VARIANT_ID":
			r.Variant = v
		case "PRETTY_NAME":
			r.Pretty = v
		}
	}
	return r
}

// unquote removes shell quotes from an os-release value.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		if v[0] == '"' {
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
		}
		return v[1 : len(v)-1]
	}
	return v
}

// ReadOSRelease reads os-release under the root: the host's as a
// Bottlerocket host container sees it when that exists, else
// /etc/os-release, else /usr/lib/os-release. It returns nil when none
// exists; a file that cannot be read is a Problem.
func ReadOSRelease(fsys rootfs.FS) (*OSRelease, []rootfs.Problem) {
	var problems []rootfs.Problem
	try := func(p string, container bool) *OSRelease {
		b, err := fsys.ReadFile(p, maxOSReleaseBytes)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				problems = append(problems, rootfs.ProblemOf(p, err))
			}
			return nil
		}
		r := ParseOSRelease(b)
		r.Path, r.Container = p, container
		return &r
	}
	for _, p := range OSReleasePaths {
		if r := try(BottlerocketHostRoot+p, true); r != nil && r.Bottlerocket() {
			return r, problems
		}
	}
	for _, p := range OSReleasePaths {
		if r := try(p, false); r != nil {
			return r, problems
		}
	}
	return nil, problems
}
