// Package host gathers facts about the host that are not the agent's: whether
// it is an EC2 instance (from DMI and hypervisor files, without IMDS), free
// space and inodes where the agent writes, and the local clock.
//
// Files are read under a root directory (the probe's --root) through package
// rootfs, so a volume mounted from a broken instance can be inspected.
package host

import (
	"context"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/host/changes"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// DefaultDiskPaths are the paths whose file systems must not fill up: the
// root file system and the agent's state directory (docs/FINDINGS.md,
// host.disk-full).
func DefaultDiskPaths() []string { return []string{"/", "/var/lib/amazon/ssm"} }

// Options says where to look.
type Options struct {
	Root  string           // the probed host's "/"; "" means "/"
	Paths []string         // host paths to measure; nil means DefaultDiskPaths()
	Now   func() time.Time // the clock; nil means time.Now
}

// Facts is everything Inspect learned about the host.
type Facts struct {
	Root     string           `json:"root"`
	EC2      EC2Identity      `json:"ec2"`
	Disks    []Disk           `json:"disks"`
	Clock    Clock            `json:"clock"`
	Changes  *changes.Facts   `json:"changes,omitempty"` // file times, package records, boot and clock sync
	OS       *OSRelease       `json:"os,omitempty"`      // os-release(5); nil when there is none
	Problems []rootfs.Problem `json:"problems,omitempty"`
}

// Inspect gathers the host facts. It never returns nil and never panics on
// bad input; unreadable files become Problems or "not checked" reasons.
func Inspect(ctx context.Context, opt Options) *Facts {
	fsys := rootfs.FS{Root: opt.Root}
	f := &Facts{Root: fsys.Join("/")}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	paths := opt.Paths
	if paths == nil {
		paths = DefaultDiskPaths()
	}
	f.EC2 = DetectEC2(fsys)
	var osProblems []rootfs.Problem
	f.OS, osProblems = ReadOSRelease(fsys)
	f.Problems = append(f.Problems, osProblems...)
	for _, p := range paths {
		if ctx.Err() != nil {
			f.Problems = append(f.Problems, rootfs.ProblemOf(p, ctx.Err()))
			break
		}
		f.Disks = append(f.Disks, measure(fsys, p))
	}
	f.Clock = readClock(fsys, now())
	f.Changes = changes.Read(fsys, changes.Options{Location: Zone(fsys)})
	return f
}
