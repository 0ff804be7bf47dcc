package finding

import (
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
)

// Fill is what a rule knows about one finding, for its fix template
// (Entry.Fix): the values of the template's fields.
//
// A field named in capitals ({{.VPC_ID}}, {{.REGION}}) is a placeholder:
// left out of the Fill, or empty, it renders as its own name, which is the
// form "ssm-probe catalog" and "ssm-probe explain" print. A field in lower
// case ({{.regionFlag}}, {{if .snap}}) is a value or a condition: left out,
// it is empty, so the catalog form takes the branch a rule takes when it
// knows nothing special.
type Fill map[string]any

// fixTemplate is a parsed fix template: one fix per output line, blank
// lines dropped.
type fixTemplate struct {
	t      *template.Template
	fields []string // every field the template names
}

// parseFix parses the fix template of id. A template that does not parse
// is a programming error: the catalog test finds it before release.
func parseFix(id ID, text string) *fixTemplate {
	if text == "" {
		return nil
	}
	t, err := template.New(string(id)).Option("missingkey=error").Parse(text)
	if err != nil {
		panic(fmt.Sprintf("finding catalog: %s: fix template: %v", id, err))
	}
	seen := map[string]bool{}
	var fields []string
	walkFields(t.Tree.Root, func(name string) {
		if !seen[name] {
			seen[name] = true
			fields = append(fields, name)
		}
	})
	return &fixTemplate{t: t, fields: fields}
}

// render fills the template. A failing execution is a programming error
// (a field used as the wrong type), so it panics like a bad template.
func (f *fixTemplate) render(fills ...Fill) []string {
	if f == nil {
		return nil
	}
	data := make(map[string]any, len(f.fields))
	for _, name := range f.fields {
		if isPlaceholder(name) {
			data[name] = name
		} else {
			data[name] = ""
		}
	}
	for _, fill := range fills {
		for k, v := range fill {
			if s, ok := v.(string); ok && s == "" && isPlaceholder(k) {
				continue // an unknown name stays a placeholder
			}
			if s, ok := v.(string); ok {
				v = strings.ReplaceAll(s, "\n", " ") // a value never adds a fix line
			}
			data[k] = v
		}
	}
	var b strings.Builder
	if err := f.t.Execute(&b, data); err != nil {
		panic(fmt.Sprintf("finding catalog: fix template %s: %v", f.t.Name(), err))
	}
	var out []string
	for _, line := range strings.Split(b.String(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// isPlaceholder reports whether a field name is a placeholder: capitals,
// digits and underscores only.
func isPlaceholder(name string) bool {
	for _, r := range name {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return name != ""
}

// walkFields calls fn with the first name of every field (.NAME) in n.
func walkFields(n parse.Node, fn func(string)) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			walkFields(c, fn)
		}
	case *parse.ActionNode:
		walkFields(x.Pipe, fn)
	case *parse.IfNode:
		walkBranch(&x.BranchNode, fn)
	case *parse.RangeNode:
		walkBranch(&x.BranchNode, fn)
	case *parse.WithNode:
		walkBranch(&x.BranchNode, fn)
	case *parse.PipeNode:
		if x == nil {
			return
		}
		for _, c := range x.Cmds {
			walkFields(c, fn)
		}
	case *parse.CommandNode:
		for _, a := range x.Args {
			walkFields(a, fn)
		}
	case *parse.FieldNode:
		fn(x.Ident[0])
	case *parse.ChainNode:
		walkFields(x.Node, fn)
	}
}

func walkBranch(b *parse.BranchNode, fn func(string)) {
	walkFields(b.Pipe, fn)
	walkFields(b.List, fn)
	walkFields(b.ElseList, fn)
}

// FixLines joins fix template lines, one fix each.
func FixLines(lines ...string) string { return strings.Join(lines, "\n") }

// TestPlaceholders is the fill that names each placeholder of e's fix as
// itself: rendered with it, the fix is its placeholder form. It exists for
// the catalog's tests.
func (e Entry) TestPlaceholders() Fill {
	names := Fill{}
	if e.fix == nil {
		return names
	}
	for _, f := range e.fix.fields {
		if isPlaceholder(f) {
			names[f] = f
		}
	}
	return names
}
