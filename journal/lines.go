package journal

import (
	"bufio"
	"errors"
	"io"
)

// MaxLineBytes is how much of one line is kept. Longer lines (a dumped
// document, binary garbage without newlines) are truncated and the rest of
// the line is skipped, so a line of any length costs constant memory.
const MaxLineBytes = 64 << 10

// readBufferBytes is the read buffer of ReadLines: large enough that lines
// up to it are handed out without copying, small enough to stay in L2.
const readBufferBytes = 256 << 10

// ReadLines splits r into lines and calls fn for each, without the trailing
// "\n" or "\r\n". A line longer than maxLine (MaxLineBytes when <= 0) is cut
// to maxLine bytes and reported with truncated set. The slice passed to fn is
// valid only during the call. ReadLines stops when fn returns false, at EOF,
// or at a read error, which it returns (io.EOF is not an error). It returns
// the number of lines seen.
func ReadLines(r io.Reader, maxLine int, fn func(line []byte, truncated bool) bool) (int, error) {
	if maxLine <= 0 {
		maxLine = MaxLineBytes
	}
	br := bufio.NewReaderSize(r, readBufferBytes)
	var long []byte // the kept head of a line longer than the buffer
	inLong := false
	n := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !inLong {
				long, inLong = long[:0], true
			}
			if len(long) < maxLine {
				long = append(long, chunk[:min(len(chunk), maxLine-len(long))]...)
			}
			continue
		}
		if len(chunk) == 0 && !inLong {
			if err == nil || err == io.EOF {
				return n, nil
			}
			return n, err
		}
		line, truncated := chunk, false
		if inLong {
			if len(long) < maxLine {
				long = append(long, chunk[:min(len(chunk), maxLine-len(long))]...)
			}
			line, truncated, inLong = long, true, false
		}
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) > maxLine {
			line, truncated = line[:maxLine], true
		}
		n++
		if !fn(line, truncated) {
			return n, nil
		}
		if err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
	}
}
