package host

import (
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// Clock is the probe's local time and the zone the probed host is set to.
// Skew against AWS is measured elsewhere, from HTTP Date headers.
type Clock struct {
	Now           time.Time `json:"now"`            // the probe's clock, in its local zone
	Zone          string    `json:"zone"`           // abbreviation of the probe's local zone, e.g. "JST"
	OffsetSeconds int       `json:"offset_seconds"` // east of UTC
	HostZone      *HostZone `json:"host_zone,omitempty"`
}

// HostZone is the time zone configured under the root, from /etc/localtime
// (localtime(5)). The agent's logs carry local time without a zone, so
// reading logs from another host needs that host's zone.
type HostZone struct {
	Name          string `json:"name,omitempty"`   // e.g. "Asia/Tokyo", from the link target or /etc/timezone
	Abbrev        string `json:"abbrev,omitempty"` // zone abbreviation at Clock.Now
	OffsetSeconds int    `json:"offset_seconds"`   // east of UTC at Clock.Now
	Source        string `json:"source"`           // the file that gave it
	Error         string `json:"error,omitempty"`  // why the zone data could not be loaded
}

// maxTZFile caps /etc/localtime; TZif files are a few KiB.
const maxTZFile = 64 << 10

// readClock returns the clock reading at now and the root's zone.
func readClock(fsys rootfs.FS, now time.Time) Clock {
	abbr, off := now.Zone()
	c := Clock{Now: now, Zone: abbr, OffsetSeconds: off}
	c.HostZone = hostZone(fsys, now)
	return c
}

// Zone returns the time zone configured under fsys (/etc/localtime as TZif
// data, localtime(5)), or nil when it is absent or malformed. The agent
// runs under systemd without TZ, so this is the zone of its zone-less log
// timestamps and of dpkg.log's.
func Zone(fsys rootfs.FS) *time.Location {
	b, err := fsys.ReadFile("/etc/localtime", maxTZFile)
	if err != nil {
		return nil
	}
	name := "localtime"
	if t, err := fsys.Readlink("/etc/localtime"); err == nil {
		if _, n, ok := strings.Cut(t, "zoneinfo/"); ok {
			name = n
		}
	}
	loc, err := time.LoadLocationFromTZData(name, b)
	if err != nil {
		return nil
	}
	return loc
}

// hostZone loads /etc/localtime under fsys as TZif data (tzfile(5)) and
// names it from its link target below a "zoneinfo/" directory, or from
// /etc/timezone (Debian). It returns nil when neither file exists.
func hostZone(fsys rootfs.FS, now time.Time) *HostZone {
	const localtime, timezone = "/etc/localtime", "/etc/timezone"
	var z HostZone
	if t, err := fsys.Readlink(localtime); err == nil {
		if _, name, ok := strings.Cut(t, "zoneinfo/"); ok {
			z.Name = name
		}
	}
	if z.Name == "" {
		if b, err := fsys.ReadFile(timezone, 256); err == nil {
			z.Name = strings.TrimSpace(string(b))
		}
	}
	b, err := fsys.ReadFile(localtime, maxTZFile)
	switch {
	case err == nil:
		z.Source = localtime
		loc, lerr := time.LoadLocationFromTZData(z.Name, b)
		if lerr != nil {
			z.Error = "malformed: " + lerr.Error()
			break
		}
		z.Abbrev, z.OffsetSeconds = now.In(loc).Zone()
	case z.Name != "":
		z.Source = timezone
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		z.Source = localtime
		z.Error = string(rootfs.Class(err)) + ": " + err.Error()
	}
	return &z
}
