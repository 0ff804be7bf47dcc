//go:build cgo && linux

package journal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/coreos/go-systemd/v22/sdjournal"
	"github.com/ssm-probe/ssm-probe/errclass"
)

// haveSDJournal reports whether this build reads the journal through
// libsystemd (sdjournal). It needs cgo; the static build uses journalctl.
const haveSDJournal = true

// sdDataThreshold caps how much of one field libsystemd returns
// (sd_journal_set_data_threshold(3)); MESSAGE beyond it is cut.
const sdDataThreshold = MaxLineBytes

// rOK is access(2)'s R_OK.
const rOK = 4

// sdjournal reads the journal through libsystemd. libsystemd silently skips
// files it cannot open, so a non-root caller gets zero entries and no error;
// check read permission on the journal files first and report a skip.
func (j *journalReader) sdjournal(ctx context.Context, t *journalTarget) {
	defer j.finish()
	if reason, denied := journalPermission(t); denied {
		j.src.Status, j.src.Class, j.src.Reason = StatusSkipped, errclass.Permission, reason
		return
	}
	var (
		jr  *sdjournal.Journal
		err error
	)
	switch {
	case t.file != "":
		jr, err = sdjournal.NewJournalFromFiles(t.file)
	case t.dir != "":
		jr, err = sdjournal.NewJournalFromDir(t.dir)
	default:
		jr, err = sdjournal.NewJournal()
	}
	if err != nil {
		j.src.Status, j.src.Class, j.src.Reason = StatusError, errclass.Other, "sdjournal: "+err.Error()
		return
	}
	defer jr.Close()
	if err := jr.SetDataThreshold(sdDataThreshold); err != nil {
		j.src.Status, j.src.Class, j.src.Reason = StatusError, errclass.Other, "sdjournal: "+err.Error()
		return
	}
	for i, u := range agentUnits {
		if i > 0 {
			if err := jr.AddDisjunction(); err != nil {
				j.src.Status, j.src.Class, j.src.Reason = StatusError, errclass.Other, "sdjournal: "+err.Error()
				return
			}
		}
		if err := jr.AddMatch(sdjournal.SD_JOURNAL_FIELD_SYSTEMD_UNIT + "=" + u); err != nil {
			j.src.Status, j.src.Class, j.src.Reason = StatusError, errclass.Other, "sdjournal: "+err.Error()
			return
		}
	}
	if !j.s.opt.Since.IsZero() && j.s.opt.Since.UnixMicro() > 0 {
		if err := jr.SeekRealtimeUsec(uint64(j.s.opt.Since.UnixMicro())); err != nil {
			j.src.Status, j.src.Class, j.src.Reason = StatusError, errclass.Other, "sdjournal: "+err.Error()
			return
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			j.src.Status, j.src.Class, j.src.Reason = StatusPartial, errclass.Of(err), "stopped: "+err.Error()
			return
		}
		n, err := jr.Next()
		if err != nil {
			j.src.Status, j.src.Class, j.src.Reason = StatusPartial, errclass.Other, "sdjournal: "+err.Error()
			return
		}
		if n == 0 {
			break
		}
		msg, err := jr.GetDataValueBytes("MESSAGE")
		if err != nil {
			j.src.Malformed++
			continue
		}
		cursor, _ := jr.GetCursor()
		usec, _ := jr.GetRealtimeUsec()
		if !j.message(msg, cursor, usec) {
			return
		}
	}
	j.src.Status = StatusRead
}

// journalPermission reports whether a non-root caller cannot read any of
// the journal files the target names. Root is never denied.
func journalPermission(t *journalTarget) (string, bool) {
	if os.Geteuid() == 0 {
		return "", false
	}
	var files []string
	switch {
	case t.file != "":
		files = []string{t.file}
	default:
		dirs := []string{t.dir}
		if t.dir == "" {
			dirs = []string{"/var/log/journal", "/run/log/journal"}
		}
		for _, d := range dirs {
			for _, pat := range []string{"*.journal", "*/*.journal"} {
				m, _ := filepath.Glob(filepath.Join(d, pat))
				files = append(files, m...)
			}
		}
	}
	// The agent's unit logs to the system journal; a user who can read
	// only their own user-*.journal files sees none of it.
	var denied []string
	system := false
	for _, f := range files {
		if syscall.Access(f, rOK) != nil {
			denied = append(denied, f)
			system = system || strings.HasPrefix(filepath.Base(f), "system")
		}
	}
	if len(files) > 0 && (len(denied) == len(files) || system) {
		return "no permission to read the journal files (" + strings.Join(denied[:min(3, len(denied))], ", ") + "); run as root or in group systemd-journal", true
	}
	return "", false
}
