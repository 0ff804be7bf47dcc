package host

import (
	"fmt"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// Disk is free space and inodes of the file system holding one path.
type Disk struct {
	Path    string `json:"path"`             // host path asked for
	Checked bool   `json:"checked"`          // false: see Reason
	Reason  string `json:"reason,omitempty"` // why it was not checked
	// Absent says the path does not exist under the root, which is not a
	// gap (/var/lib/amazon/ssm is absent until the agent first runs). It
	// is read on the run that measured it, and is not part of the schema.
	Absent     bool   `json:"-"`
	FSID       string `json:"fsid,omitempty"`        // f_fsid, to tell whether two paths share a file system
	TotalBytes uint64 `json:"total_bytes,omitempty"` // f_blocks × f_frsize
	FreeBytes  uint64 `json:"free_bytes,omitempty"`  // f_bfree × f_frsize: free to root, which the agent runs as
	AvailBytes uint64 `json:"avail_bytes,omitempty"` // f_bavail × f_frsize: free to unprivileged users
	// FreePercent is FreeBytes as a percentage of TotalBytes.
	FreePercent float64 `json:"free_percent"`
	// AvailPercent is AvailBytes as a percentage of TotalBytes; df(1) shows
	// 100 minus roughly this as Use%.
	AvailPercent float64 `json:"avail_percent"`
	InodesKnown  bool    `json:"inodes_known"` // false when the file system reports no inode count (e.g. btrfs)
	TotalInodes  uint64  `json:"total_inodes,omitempty"`
	FreeInodes   uint64  `json:"free_inodes,omitempty"`
	// FreeInodesPercent is FreeInodes as a percentage of TotalInodes.
	FreeInodesPercent float64 `json:"free_inodes_percent"`
}

// statfsResult holds the statfs(2) fields Disk needs, so that the
// arithmetic is tested apart from the system call.
type statfsResult struct {
	Blocks, Bfree, Bavail, Files, Ffree uint64
	Frsize                              uint64 // fragment size, the unit of the block counts (statvfs(3))
	Fsid                                [2]int32
}

// diskFrom fills a Disk from a statfs result.
func diskFrom(p string, s statfsResult) Disk {
	d := Disk{Path: p, Checked: true, FSID: fmt.Sprintf("%08x%08x", uint32(s.Fsid[0]), uint32(s.Fsid[1]))}
	d.TotalBytes, d.FreeBytes, d.AvailBytes = s.Blocks*s.Frsize, s.Bfree*s.Frsize, s.Bavail*s.Frsize
	if s.Blocks > 0 {
		d.FreePercent = percent(s.Bfree, s.Blocks)
		d.AvailPercent = percent(s.Bavail, s.Blocks)
	}
	if s.Files > 0 {
		d.InodesKnown, d.TotalInodes, d.FreeInodes = true, s.Files, s.Ffree
		d.FreeInodesPercent = percent(s.Ffree, s.Files)
	}
	return d
}

func percent(part, whole uint64) float64 { return float64(part) * 100 / float64(whole) }

// measure statfs-es the host path p under fsys. A missing path is skipped
// with its reason, since /var/lib/amazon/ssm is absent without the agent.
func measure(fsys rootfs.FS, p string) Disk {
	rp, err := fsys.Resolve(p)
	if err == nil {
		_, err = fsys.Stat(p)
	}
	if err != nil {
		c := rootfs.Class(err)
		return Disk{Path: p, Reason: fmt.Sprintf("not checked: %s: %s", c, err), Absent: c == errclass.NotFound}
	}
	s, err := statfs(rp)
	if err != nil {
		return Disk{Path: p, Reason: fmt.Sprintf("not checked: statfs: %s: %s", rootfs.Class(err), err)}
	}
	return diskFrom(p, s)
}
