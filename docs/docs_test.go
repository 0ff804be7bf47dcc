package docs

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mdRef matches a cited Markdown file name, with its path when it has one.
var mdRef = regexp.MustCompile(`[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b`)

// urlRE matches URLs, whose .md pages are not files of the repository.
var urlRE = regexp.MustCompile(`[a-z]+://[^\s"'<>)\]]+`)

// repoRoot is the repository: the parent of this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// trackedFiles lists the repository's files, slash-separated and relative
// to root: git's index when git and the repository are there, else every
// file under root but .git, bin and dist.
func trackedFiles(t *testing.T, root string) []string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, ".git")); err == nil {
		if out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output(); err == nil {
			var files []string
			for _, f := range strings.Split(string(out), "\x00") {
				if f != "" {
					files = append(files, f)
				}
			}
			return files
		}
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			switch rel {
			case ".git", "bin", "dist":
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// installedDocs maps the absolute paths the packages install documents at
// to their source in the repository, from packaging/nfpm.yaml's src/dst
// pairs, so that /usr/share/doc/ssm-probe/README.md counts as held.
func installedDocs(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	b, err := os.ReadFile(filepath.Join(root, "packaging", "nfpm.yaml"))
	if err != nil {
		return m
	}
	src := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "- "))
		switch {
		case strings.HasPrefix(line, "src:"):
			src = strings.TrimSpace(strings.TrimPrefix(line, "src:"))
		case strings.HasPrefix(line, "dst:") && src != "":
			m[strings.TrimSpace(strings.TrimPrefix(line, "dst:"))] = src
			src = ""
		}
	}
	return m
}

// TestCitedMarkdownExists fails when a tracked file cites a .md file the
// repository does not hold: every document a comment, message or document
// points at must ship with the code. A relative citation is looked up
// beside the citing file, at the repository root and under docs/; an
// absolute one must be where the packages install a repository document.
func TestCitedMarkdownExists(t *testing.T) {
	root := repoRoot(t)
	files := trackedFiles(t, root)
	held := map[string]bool{}
	for _, f := range files {
		held[f] = true
	}
	if !held["docs/FINDINGS.md"] || !held["README.md"] {
		t.Fatalf("the file list from %s lacks README.md or docs/FINDINGS.md; %d files", root, len(files))
	}
	installed := installedDocs(t, root)
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil || len(b) > 4<<20 || bytes.IndexByte(b, 0) >= 0 {
			continue // unreadable (a removed file still in the index), large, or binary
		}
		for n, line := range strings.Split(string(b), "\n") {
			line = urlRE.ReplaceAllString(line, "")
			for _, ref := range mdRef.FindAllString(line, -1) {
				checked++
				if !citedHeld(ref, f, held, installed) {
					t.Errorf("%s:%d cites %s, which the repository does not hold", f, n+1, ref)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no .md citation found at all; the scan is broken")
	}
}

func citedHeld(ref, from string, held map[string]bool, installed map[string]string) bool {
	// A package's file list names installed paths relative to its root.
	if strings.HasPrefix(ref, "./usr/") {
		ref = ref[1:]
	}
	if strings.HasPrefix(ref, "/") {
		src, ok := installed[ref]
		return ok && held[src]
	}
	for _, base := range []string{path.Dir(from), ".", "docs"} {
		if held[path.Clean(path.Join(base, ref))] {
			return true
		}
	}
	return false
}

// TestCitedMarkdownCheckRejects makes sure the check can fail: a citation
// of a document that is not there, or that is outside the repository, is
// not held.
func TestCitedMarkdownCheckRejects(t *testing.T) {
	const md = ".md"
	held := map[string]bool{"docs/FINDINGS.md": true, "packaging/README.md": true, "README.md": true}
	installed := map[string]string{"/usr/share/doc/ssm-probe/README.md": "packaging/README.md"}
	for _, c := range []struct {
		ref, from string
		want      bool
	}{
		{"FINDINGS.md", "probe/ids.go", true},
		{"docs/FINDINGS.md", "probe/ids.go", true},
		{"FINDINGS.md", "docs/INTERFACE.md", true},
		{"packaging/README.md", "Makefile", true},
		{"/usr/share/doc/ssm-probe/README.md", "packaging/systemd/ssm-probe.service", true},
		{"./usr/share/doc/ssm-probe/README.md", "packaging/test.sh", true},
		// Built from parts, so that this table is not itself a citation.
		{"/usr/share/doc/ssm-probe/OTHER" + md, "packaging/test.sh", false},
		{"FINDINGS-EXTRA" + md, "probe/ids.go", false},
		{"research/AGENT-FACTS" + md, "probe/agent/agent.go", false},
		{"../shared/research/AGENT-FACTS" + md, "probe/agent/agent.go", false},
		{"/work/shared/research/AGENT-FACTS" + md, "journal/doc.go", false},
	} {
		if got := citedHeld(c.ref, c.from, held, installed); got != c.want {
			t.Errorf("%s cited from %s: held %v, want %v", c.ref, c.from, got, c.want)
		}
	}
}
