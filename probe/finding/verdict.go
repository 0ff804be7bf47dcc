package finding

// Verdict is the overall status of a run (docs/INTERFACE.md, exit codes).
type Verdict string

// The verdicts and the exit codes they map to.
const (
	VerdictOK      Verdict = "ok"      // exit 0: no fail and no warn findings
	VerdictWarn    Verdict = "warn"    // exit 1: at least one warn, no fail
	VerdictFail    Verdict = "fail"    // exit 2: at least one fail finding
	VerdictUnknown Verdict = "unknown" // exit 3: no verdict could be reached
)

// ExitCode returns the Nagios-convention exit code of v.
func (v Verdict) ExitCode() int {
	switch v {
	case VerdictOK:
		return 0
	case VerdictWarn:
		return 1
	case VerdictFail:
		return 2
	default:
		return 3
	}
}
