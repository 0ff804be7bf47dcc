package diagnose

import (
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/prefs"
	"github.com/ssm-probe/ssm-probe/probe/users"
)

// The findings of the user a session runs as.
const (
	SessionRunAsUserMissing   finding.ID = "session.runas-user-missing"
	SessionSSMUserUncreatable finding.ID = "session.ssm-user-uncreatable"
	SessionUserUnchecked      finding.ID = "session.user-unchecked"
)

// runAsFamily pairs the findings about the session user with the rules that raise them.
func runAsFamily() family {
	return family{rules: []rule{diagnoseRunAs}, entries: []finding.Entry{
		{ID: SessionRunAsUserMissing, Severity: finding.SevFail,
			Title: "Sessions run as a user that does not exist on this host",
			Fix: finding.FixLines(
				"{{if not .noUser}}Create the user on this host: sudo useradd -m {{.USER}} (or, for a directory user, make `getent passwd {{.USER}}` answer through sssd/LDAP).{{end}}",
				"Or change the preference (account- and region-wide): Systems Manager > Session Manager > Preferences > Edit > \"Enable Run As support for Linux and macOS managed nodes\": set the operating system user name to a user every instance has, or turn Run As off; from the CLI: "+prefsFixCLI+" (set inputs.runAsDefaultUser, or inputs.runAsEnabled to false). An IAM user or role tagged SSMSessionRunAs runs as the tag's user instead."),
			Docs: []string{finding.DocRunAs, finding.DocPrefsConsole, finding.DocPrefsCLI}},
		{ID: SessionSSMUserUncreatable, Severity: finding.SevFail,
			Title: "The agent cannot create ssm-user",
			Fix: finding.FixLines(
				"Create the user where /etc is writable (e.g. in the image): sudo useradd -m ssm-user && echo 'ssm-user ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/ssm-agent-users && sudo chmod 440 /etc/sudoers.d/ssm-agent-users",
				"{{if not .useradd}}Or install useradd (the passwd / shadow-utils package).{{end}}",
				"Or turn Run As on with a user that exists: Systems Manager > Session Manager > Preferences > Edit > \"Enable Run As support for Linux and macOS managed nodes\" with a user name, or "+prefsFixCLI+" (set inputs.runAsEnabled to true and inputs.runAsDefaultUser to the user)."),
			Docs: []string{finding.DocRunAs, finding.DocPrefsConsole}},
		{ID: SessionUserUnchecked, Severity: finding.SevWarn,
			Title: "Whether the user sessions start as exists could not be checked",
			Fix: finding.FixLines(
				"Check it on the host: getent passwd {{.USER}} (no output: the user does not exist, and {{if .ssmUser}}the agent cannot create it, so sessions fail{{else}}every session fails{{end}}).",
				"{{if .ssmUser}}If it is missing, create it where /etc is writable: sudo useradd -m ssm-user && echo 'ssm-user ALL=(ALL) NOPASSWD:ALL' | sudo tee /etc/sudoers.d/ssm-agent-users && sudo chmod 440 /etc/sudoers.d/ssm-agent-users{{else}}If it is missing, create it (sudo useradd -m {{.USER}}) or change the Run As preference: Systems Manager > Session Manager > Preferences > Edit.{{end}}",
				"Let the probe read /etc/passwd: run it as root, and make /etc/passwd a regular, readable file."),
			Docs: []string{finding.DocRunAs}},
	}}
}

// diagnoseRunAs checks the user sessions start as (FINDINGS.md):
//   - session.runas-user-missing: the preferences turn Run As on and name a
//     default user that /etc/passwd does not hold, or the agent's logs say
//     `failed to start pty since RunAs user … does not exist`;
//   - session.ssm-user-uncreatable: Run As is off, ssm-user does not exist,
//     and the agent cannot create it (read-only or immutable /etc/passwd,
//     no useradd), or its logs say it failed to;
//   - session.user-unchecked: either question matters and /etc/passwd could
//     not answer it (unreadable, not read to its end, or longer than the
//     list kept without the Run As user in it): a warn, never "missing"
//     and never silence. ssm-user is looked up over the whole file, so a
//     large file answers it exactly.
//
// A user missing from /etc/passwd while nsswitch also asks sss, ldap or the
// like is warn: the directory may serve it, and a static binary cannot ask.
// With the preferences unknown, a recent log line decides; without one
// nothing is said about Run As, and ssm-user is only warned about.
func diagnoseRunAs(in *input) []finding.Finding {
	if notLinux(in.o) {
		return nil // Linux facts: their absence on Windows says nothing (diagnose_winhost.go)
	}
	cat, o := in.cat, in.o
	p := o.Prefs.Prefs()
	missing := logSummary(o, journal.KindRunAsUserMissing)
	switch {
	case p != nil && p.RunAsEnabled:
		return runAsUserFinding(cat, o, p, missing)
	case p == nil && missing != nil:
		return runAsUserFinding(cat, o, nil, missing)
	}
	return ssmUserFinding(cat, o, p)
}

func runAsUserFinding(cat *finding.Catalog, o *obs.Observations, p *prefs.Preferences, logs *journal.Summary) []finding.Finding {
	u := o.Users
	var ev []string
	user := ""
	if p != nil {
		user = p.RunAsDefaultUser
		ev = append(ev, fmt.Sprintf("%s: runAsEnabled true, runAsDefaultUser %q", prefsWhere(o), user))
	} else if logs != nil && len(logs.Values) > 0 {
		user = logs.Values[len(logs.Values)-1]
		ev = append(ev, "the preferences could not be read; the agent's logs name the Run As user")
	}
	recent := recentLog(o, logs) && (p == nil || logNames(logs, user))
	if logs != nil {
		ev = append(ev, summaryEvidence(logs)...)
	}
	severity := finding.SevFail
	var summary string
	found, known := u.Lookup(user)
	switch {
	case p != nil && strings.TrimSpace(user) == "":
		summary = "The Session Manager preferences turn Run As on but name no default user: every session fails with \"please set the RunAs default user\", unless the IAM user or role starting it carries an SSMSessionRunAs tag."
	case found:
		return nil
	case !known && logs == nil:
		if u == nil || u.PasswdAbsent() {
			return nil // no user facts, or no user database: nothing read here (the users check says so), nothing in the logs
		}
		why := u.NotCheckedWhy(user)
		return []finding.Finding{userUnchecked(cat, user, false, append(ev, why),
			fmt.Sprintf("Session Manager starts every session on this host as %s (Run As), and whether that user exists could not be checked: %s. If it does not exist, every session fails with \"failed to start pty since RunAs user %s does not exist\".", user, why, user))}
	case !known:
		why := u.NotCheckedWhy(user)
		ev = append(ev, why)
		summary = fmt.Sprintf("The agent reports that the Run As user %s does not exist on this host, so sessions fail to start (%s, so the probe could not confirm it).", orUnknown(user), why)
		if !recent {
			severity = finding.SevWarn
		}
	default:
		ev = append(ev, fmt.Sprintf("%s (%d users) has no user %s", users.PasswdPath, max(u.UsersCount, len(u.Users)), user))
		summary = fmt.Sprintf("Session Manager starts every session on this host as %s (Run As), and that user does not exist here, so every session fails with \"failed to start pty since RunAs user %s does not exist\". The preference is account- and region-wide: hosts without the user cannot be reached.", user, user)
		if other := u.OtherSources(); len(other) > 0 {
			ev = append(ev, fmt.Sprintf("%s lists passwd: %s; the probe is a static binary and reads only /etc/passwd, so a user served by %s is invisible to it", users.NSSwitchPath, strings.Join(u.Sources, " "), strings.Join(other, ", ")))
			if !recent {
				severity = finding.SevWarn
				summary = fmt.Sprintf("Run As starts sessions as %s, which is not in /etc/passwd; nsswitch also asks %s, which may serve it. If `getent passwd %s` prints nothing, every session fails.", user, strings.Join(other, ", "), user)
			}
		}
	}
	return []finding.Finding{cat.NewAt(SessionRunAsUserMissing, severity, summary, ev, finding.Fill{"noUser": strings.TrimSpace(user) == "", "USER": user})}
}

// logNames reports whether the log summary names user (or names none).
func logNames(s *journal.Summary, user string) bool {
	if len(s.Values) == 0 {
		return true
	}
	for _, v := range s.Values {
		if v == user {
			return true
		}
	}
	return false
}

func ssmUserFinding(cat *finding.Catalog, o *obs.Observations, p *prefs.Preferences) []finding.Finding {
	u := o.Users
	failed := logSummary(o, journal.KindSSMUserCreateFailed)
	if u == nil {
		return nil
	}
	if found, _ := u.Lookup(users.DefaultUser); found {
		return nil
	}
	unchecked := u.NotCheckedWhy(users.DefaultUser)
	var blockers, ev []string
	if u.Passwd.ReadOnlyMount {
		blockers = append(blockers, "/etc is on a read-only mount")
	}
	if u.Passwd.Immutable {
		blockers = append(blockers, users.PasswdPath+" is immutable (chattr +i)")
	}
	if u.Useradd == "" {
		blockers = append(blockers, "useradd is not installed (looked in "+strings.Join(users.UseraddPaths, ", ")+")")
	}
	if !u.SudoersDir {
		ev = append(ev, users.SudoersDir+" does not exist: the agent cannot write its sudoers rule, so ssm-user would get no sudo")
	}
	if len(blockers) == 0 && !recentLog(o, failed) {
		return nil
	}
	where, severity := "", finding.SevFail
	if p != nil {
		where = "Run As is off in " + prefsWhere(o)
	} else {
		where = "the preferences could not be read; with Run As off (the default)"
		if !recentLog(o, failed) {
			severity = finding.SevWarn
		}
	}
	has := fmt.Sprintf("%s (%d users) has no %s", users.PasswdPath, max(u.UsersCount, len(u.Users)), users.DefaultUser)
	if unchecked != "" {
		has = "whether ssm-user exists could not be checked: " + unchecked
	}
	ev = append([]string{where + ", sessions start as ssm-user", has}, ev...)
	for _, b := range blockers {
		ev = append(ev, "the agent cannot run `useradd -m ssm-user`: "+b)
	}
	if u.Passwd.Checked {
		ev = append(ev, fmt.Sprintf("%s mode %s", users.PasswdPath, u.Passwd.Mode))
	}
	if u.Passwd.Reason != "" {
		ev = append(ev, u.Passwd.Reason)
	}
	if failed != nil {
		ev = append(ev, summaryEvidence(failed)...)
	}
	if unchecked != "" && u.PasswdAbsent() && !recentLog(o, failed) {
		return nil // no user database under this root: the users check says so
	}
	if unchecked != "" && !recentLog(o, failed) {
		// The agent could not create ssm-user, but it may exist: the
		// probe could not read that far.
		lead := "Sessions start as ssm-user"
		if p == nil {
			lead = "If Run As is off (the default), sessions start as ssm-user"
		}
		return []finding.Finding{userUnchecked(cat, users.DefaultUser, true, ev,
			lead+", and whether it exists could not be checked: "+unchecked+". If it does not, the agent cannot create it on this host ("+strings.Join(blockers, "; ")+"), so every session fails to start its shell.")}
	}
	summary := "Sessions start as ssm-user, which does not exist, and the agent cannot create it on this host, so every session fails to start its shell."
	if severity == finding.SevWarn {
		summary = "If Run As is off (the default), sessions start as ssm-user, which does not exist, and the agent cannot create it on this host."
	}
	if unchecked != "" {
		summary = "Sessions start as ssm-user, and the agent logged that it failed to create it; whether it exists could not be checked here (" + unchecked + ")."
	}
	return []finding.Finding{cat.NewAt(SessionSSMUserUncreatable, severity, summary, ev, finding.Fill{"useradd": u.Useradd})}
}

// userUnchecked is session.user-unchecked: the user sessions start as
// could not be looked up (/etc/passwd unread, or not read to its end, or
// longer than the list kept, without the user in it). It is a warn, never
// a "missing": the user may well exist.
func userUnchecked(cat *finding.Catalog, user string, ssmUser bool, ev []string, summary string) finding.Finding {
	return cat.NewAt(SessionUserUnchecked, finding.SevWarn, summary, ev, finding.Fill{"USER": user, "ssmUser": ssmUser})
}
