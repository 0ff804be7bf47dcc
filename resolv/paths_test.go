package resolv

import (
	"path/filepath"
	"strings"
)

// nativePaths returns problems with the slash-separated path in their
// messages written as the platform writes path (testdata\conf\x on
// Windows), so that the tables of expected problems hold one spelling.
func nativePaths(problems []Problem, path string) []Problem {
	if problems == nil {
		return nil
	}
	out := make([]Problem, len(problems))
	for i, p := range problems {
		p.Msg = strings.ReplaceAll(p.Msg, filepath.ToSlash(path), path)
		out[i] = p
	}
	return out
}
