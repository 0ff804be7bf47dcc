// This file is not part of ssm-probe: `make test-windows` adds it to the
// standard library's internal/syscall/windows package, through go test's
// -overlay, when it builds the Windows test binaries that run under wine.
//
// Go's os.Remove and os.RemoveAll on Windows first delete with
// NtSetInformationFile(FileDispositionInformationEx), POSIX semantics, and
// fall back to FileDispositionInformation only on the statuses a Windows
// older than 10 (1607) returns. Wine 8.0 answers STATUS_NOT_IMPLEMENTED
// ("Invalid function"), which Go does not take for that, so every
// t.TempDir cleanup of a directory holding a file fails under wine. Setting
// the package's own switch for its fallback (TestDeleteatFallback) makes
// every delete take the path Go itself uses on older Windows.

package windows

func init() { TestDeleteatFallback = true }
