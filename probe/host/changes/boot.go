package changes

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// The utmp record of glibc on 64-bit Linux (utmp(5); bits/utmp.h with
// __WORDSIZE_TIME64_COMPAT32): 384 bytes, ut_type an int32 at 0, ut_tv two
// int32 (seconds, microseconds) at 340. BOOT_TIME is type 2.
const (
	utmpSize     = 384
	utmpTVOffset = 340
	utBootTime   = 2
)

// maxWtmpTail is how much of the end of wtmp is searched for the last boot.
const maxWtmpTail = 256 * utmpSize

// bootTime returns the host's last boot: /proc/stat's btime on the live
// root (proc(5)), else the last BOOT_TIME record of the volume's wtmp.
func bootTime(fsys rootfs.FS) *Boot {
	if fsys.IsLive() {
		if b, err := fsys.ReadFile("/proc/stat", 1<<20); err == nil || len(b) > 0 {
			if t, ok := parseBtime(b); ok {
				return &Boot{Time: t, Source: "/proc/stat"}
			}
		}
	}
	fi, err := fsys.Stat("/var/log/wtmp")
	if err != nil || fi.Size() < utmpSize {
		return nil
	}
	// Read whole records from the end.
	want := min(fi.Size()/utmpSize*utmpSize, maxWtmpTail)
	fh, err := fsys.OpenRegular("/var/log/wtmp")
	if err != nil {
		return nil
	}
	defer fh.Close()
	size := fi.Size() / utmpSize * utmpSize
	b := make([]byte, want)
	n, _ := fh.ReadAt(b, size-want)
	if t, ok := lastBoot(b[:n/utmpSize*utmpSize]); ok {
		return &Boot{Time: t, Source: "/var/log/wtmp"}
	}
	return nil
}

// parseBtime reads the `btime <unix seconds>` line of /proc/stat.
func parseBtime(b []byte) (time.Time, bool) {
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("btime ")); ok {
			s, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
			if err == nil && s > 0 {
				return time.Unix(s, 0), true
			}
		}
	}
	return time.Time{}, false
}

// lastBoot returns the time of the last BOOT_TIME record in b, a run of
// whole utmp records.
func lastBoot(b []byte) (time.Time, bool) {
	for off := len(b) - utmpSize; off >= 0; off -= utmpSize {
		r := b[off : off+utmpSize]
		if int32(binary.LittleEndian.Uint32(r)) != utBootTime {
			continue
		}
		sec := int32(binary.LittleEndian.Uint32(r[utmpTVOffset:]))
		usec := int32(binary.LittleEndian.Uint32(r[utmpTVOffset+4:]))
		if sec > 0 && usec >= 0 && usec < 1e6 {
			return time.Unix(int64(sec), int64(usec)*1000), true
		}
	}
	return time.Time{}, false
}

// clockSync reads what the time daemons leave on disk, without asking them
// anything: systemd-timesyncd creates /run/systemd/timesync/synchronized
// when the clock is synchronized and touches /var/lib/systemd/timesync/clock
// at every sync (systemd-timesyncd.service(8)); chronyd rewrites its drift
// file (chrony.conf(5), driftfile) while it tracks a source.
func clockSync(fsys rootfs.FS) *ClockSync {
	var c ClockSync
	found := false
	if fsys.IsLive() {
		yes := fsys.Exists("/run/systemd/timesync/synchronized")
		if fi, err := fsys.Stat("/run/systemd/timesync/synchronized"); err == nil {
			c.LastSync, c.Source = fi.ModTime(), "/run/systemd/timesync/synchronized"
		}
		if yes || fsys.Exists("/run/systemd/timesync") {
			c.Synchronized, found = &yes, true
		}
	}
	for _, p := range []string{"/var/lib/systemd/timesync/clock", "/var/lib/chrony/drift", "/var/lib/chrony/chrony.drift"} {
		if fi, err := fsys.Stat(p); err == nil && fi.ModTime().After(c.LastSync) {
			c.LastSync, c.Source, found = fi.ModTime(), p, true
		}
	}
	if !found {
		return nil
	}
	return &c
}
