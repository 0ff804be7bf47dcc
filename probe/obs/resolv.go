package obs

import (
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/resolv"
)

// SystemResolvers returns systemAddrs as strings.
func (f *ResolvFacts) SystemResolvers() []string {
	var out []string
	for _, a := range f.SystemAddrs() {
		out = append(out, a.String())
	}
	return out
}

// DescribeProblems renders resolv.conf problems as evidence lines.
func DescribeProblems(c *resolv.Conf) []string {
	var ev []string
	for _, p := range c.Problems {
		s := c.Path
		if p.Line > 0 {
			s += fmt.Sprintf(":%d", p.Line)
		}
		s += ": " + p.Msg
		if t := strings.TrimSpace(p.Text); t != "" && !strings.Contains(p.Msg, t) {
			s += fmt.Sprintf(" (%q)", t)
		}
		ev = append(ev, s)
	}
	return ev
}
