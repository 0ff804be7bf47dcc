package probe

import (
	"context"
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/users"
)

// usersCheck reads the local user database and whether the agent could
// create ssm-user (package users), for the Run As rules. What could not be
// read makes it warn, so "not checked" never reads as healthy.
func usersCheck(cfg *Config) Check {
	return Check{
		Name:   "users",
		Target: users.PasswdPath,
		Run: func(ctx context.Context) Outcome {
			f := users.Inspect(ctx, cfg.Root)
			out := Outcome{Status: StatusPass, Detail: f, save: func(o *Observations) { o.Users = f }}
			var gaps []string
			for _, p := range f.Problems {
				gaps = append(gaps, fmt.Sprintf("%s: %s: %s", p.Path, p.Class, p.Detail))
			}
			if len(gaps) > 0 {
				out.Status, out.Reason = StatusWarn, strings.Join(gaps, "; ")
			}
			return out
		},
	}
}
