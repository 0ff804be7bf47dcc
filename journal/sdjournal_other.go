//go:build !(cgo && linux)

package journal

import (
	"context"
	"runtime"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// haveSDJournal reports whether this build reads the journal through
// libsystemd (sdjournal). It needs cgo; the static build uses journalctl.
const haveSDJournal = false

// sdjournal is unsupported in this build.
func (j *journalReader) sdjournal(ctx context.Context, t *journalTarget) {
	j.src.Status, j.src.Class, j.src.Reason = StatusError, errclass.Other, "sdjournal unsupported on "+runtime.GOOS+" without cgo"
}
