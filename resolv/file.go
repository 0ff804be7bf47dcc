package resolv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// MaxFileSize caps every configuration file read by this package. Real
// resolv.conf, hosts and nsswitch.conf files are a few KiB at most; the cap
// keeps a link to /dev/zero or a huge file from exhausting memory.
const MaxFileSize = 64 << 10

// maxProblems caps the problems recorded for one file, so that a binary
// file of 64 KiB does not produce thousands of entries. The last recorded
// problem says how many were left out.
const maxProblems = 50

// Problem is one thing wrong with a configuration file. Line is 1-based,
// or 0 when the problem concerns the whole file.
type Problem struct {
	Line  int            `json:"line,omitempty"` // 1-based line number, 0 for the whole file
	Text  string         `json:"text,omitempty"` // the offending line or word, trimmed and capped
	Class errclass.Class `json:"class"`          // not-found, permission, malformed or other
	Msg   string         `json:"msg"`            // a human sentence
}

// maxProblemText caps Problem.Text so a binary line cannot bloat a report.
const maxProblemText = 120

// maxWord caps a keyword or value quoted from a line. A problem never quotes
// a whole line, only its first word: a resolv.conf that is really another
// file (a link to a password database, an environment) shows no more than
// the start of its first field.
const maxWord = 32

// word returns the first blank-separated field of s, capped at maxWord bytes
// and made printable like clip.
func word(s string) string {
	f := fields(s)
	if len(f) == 0 {
		return ""
	}
	w := f[0]
	if len(w) > maxWord {
		w = w[:maxWord] + "…"
	}
	return clip(w)
}

// problems accumulates Problems up to maxProblems.
type problems struct {
	list    []Problem
	dropped int
}

// add records a problem, or counts it once the cap is reached.
func (p *problems) add(line int, text string, class errclass.Class, format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.dropped++
		return
	}
	p.list = append(p.list, Problem{Line: line, Text: word(text), Class: class, Msg: fmt.Sprintf(format, args...)})
}

// done returns the recorded problems, with a final entry for those left out.
func (p *problems) done() []Problem {
	if p.dropped > 0 {
		p.list = append(p.list, Problem{Class: errclass.Malformed,
			Msg: fmt.Sprintf("%d more problems not recorded", p.dropped)})
	}
	return p.list
}

// clip trims s and caps it at maxProblemText bytes, replacing bytes that are
// not printable ASCII so that reports stay readable.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxProblemText {
		s = s[:maxProblemText] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r == '…' || (r >= 0x20 && r < 0x7f) || r == '\t' {
			return r
		}
		return '?'
	}, s)
}

// fileResult is what readCapped learned about a file.
type fileResult struct {
	data      []byte
	missing   bool // the file does not exist
	readable  bool // data holds the file (possibly truncated)
	truncated bool // the file is larger than MaxFileSize
}

// unreadable reports whether the file exists but could not be read.
func (r fileResult) unreadable() bool { return !r.readable && !r.missing }

// uncomment cuts line at its first '#': hosts(5) and nsswitch.conf(5) allow
// a comment anywhere on a line.
func uncomment(line string) string {
	if j := strings.IndexByte(line, '#'); j >= 0 {
		return line[:j]
	}
	return line
}

// errNotRegular reports a path that is a FIFO, device, socket or directory.
var errNotRegular = rootfs.ErrNotRegular

// readFile reads at most MaxFileSize bytes of the file open opens, named
// path in messages, without blocking on FIFOs (see openNoBlock and
// rootfs.FS.Open) and records problems for a missing, unreadable,
// non-regular or oversized file, or a link out of the --root volume.
func readFile(open func() (*os.File, error), path string, p *problems) fileResult {
	f, err := open()
	if err != nil {
		var r fileResult
		switch {
		case errors.Is(err, fs.ErrNotExist):
			r.missing = true
			p.add(0, "", errclass.NotFound, "%s does not exist", path)
		case errors.Is(err, errNotRegular):
			p.add(0, "", errclass.Malformed, "%s is %v; refusing to read it", path, err)
		case errors.As(err, new(*rootfs.OutsideError)):
			p.add(0, "", errclass.Other, "%v", err)
		default:
			p.add(0, "", rootfs.Class(err), "cannot open %s: %v", path, err)
		}
		return r
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		p.add(0, "", errclass.Of(err), "cannot read %s: %v", path, err)
		return fileResult{}
	}
	r := fileResult{data: data, readable: true}
	if len(data) > MaxFileSize {
		r.data, r.truncated = data[:MaxFileSize], true
		p.add(0, "", errclass.Malformed, "%s is larger than %d bytes; only the first %d bytes were read", path, MaxFileSize, MaxFileSize)
	}
	return r
}

// opener returns how readFile opens path: under the root of fsys, or, with
// a nil fsys, as a path of the running machine.
func opener(fsys *rootfs.FS, path string) func() (*os.File, error) {
	if fsys == nil {
		return func() (*os.File, error) { return openNoBlock(path) }
	}
	return func() (*os.File, error) { return fsys.OpenRegular(path) }
}

// splitLines splits data into lines, accepting LF, CRLF and a final line
// without a newline. A trailing CR is removed from each line.
func splitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// checkBinary records one problem when data holds NUL bytes, which no text
// configuration file contains.
func checkBinary(data []byte, path string, p *problems) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		line := 1 + bytes.Count(data[:i], []byte{'\n'})
		p.add(line, "", errclass.Malformed, "%s contains NUL bytes: it looks like a binary file", path)
	}
}

// fields splits a line on blanks (space, tab, CR) as resolv.conf(5) and
// hosts(5) do.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\f' || r == '\v' })
}
