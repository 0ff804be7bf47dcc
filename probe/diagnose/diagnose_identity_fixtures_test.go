package diagnose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

// The identity fixtures (testdata/obs/identity) are a healthy EC2 instance
// with one change each. Observations are built as JSON objects and changed
// with JSON merge patches (RFC 7386: an object merges, null deletes, any
// other value replaces), then decoded strictly into Observations, so a
// misspelt field fails the generator instead of silently weakening a case.

const (
	idInstance   = "i-0123456789abcdef0"
	idRole       = "app-ssm-role"
	idProfileARN = "arn:aws:iam::123456789012:instance-profile/app-ssm"
)

// obj is a JSON object under construction.
type obj = map[string]any

// arr is a JSON array.
type arr = []any

// idDisk is one measured file system: 8 GiB, free_pct free, inode_pct of
// 524288 inodes free.
func idDisk(path string, freePct, inodePct float64, fsid string) obj {
	const total = 8 << 30
	const inodes = 524288
	free := int64(total * freePct / 100)
	return obj{"path": path, "checked": true, "fsid": fsid, "total_bytes": total, "free_bytes": free,
		"avail_bytes": free, "free_percent": freePct, "avail_percent": freePct,
		"inodes_known": true, "total_inodes": inodes, "free_inodes": int64(inodes * inodePct / 100),
		"free_inodes_percent": inodePct}
}

// idBase is the healthy EC2 instance every identity case starts from.
func idBase() obj {
	return obj{
		"started_at": "2024-06-01T12:00:00Z",
		"root":       "/",
		"live":       true,
		"offline":    false,
		"imds": obj{
			"endpoint":  "http://169.254.169.254",
			"reachable": true,
			"access":    "v2",
			"token":     obj{"status": 200, "tcp_opened": true, "obtained": true, "duration_ms": 2},
			"tokenless_get": obj{"path": "/latest/meta-data/", "status": 401, "class": "http-status",
				"detail": "HTTP 401", "token_sent": false, "duration_ms": 1},
			"region": "ap-northeast-1", "availability_zone": "ap-northeast-1a",
			"instance_id": idInstance, "domain": "amazonaws.com", "mac": "0e:00:00:00:00:01",
			"vpc_id": "vpc-0123456789abcdef0", "subnet_id": "subnet-0123456789abcdef0",
			"subnet_cidr": "10.0.5.0/24", "vpc_cidrs": arr{"10.0.0.0/16"}, "has_ipv6": false,
			"profile": obj{"state": "present", "status": 200, "info_code": "Success", "arn": idProfileARN,
				"id": "AIPAEXAMPLEPROFILE01", "role": idRole,
				"credentials": obj{"status": 200, "code": "Success",
					"last_updated": "2024-06-01T11:00:00Z",
					"expiration":   "2024-06-01T17:00:00Z", "expired": false}},
			"fields":      obj{"instance-id": obj{"path": "instance-id", "status": 200, "token_sent": true, "duration_ms": 1}},
			"duration_ms": 12,
		},
		"agent": obj{
			"root": "/", "installed": true,
			"install": arr{obj{"kind": "binary", "path": "/usr/bin/amazon-ssm-agent"},
				obj{"kind": "unit", "path": "/lib/systemd/system/amazon-ssm-agent.service"},
				obj{"kind": "dpkg", "path": "/var/lib/dpkg/status", "detail": "Status: install ok installed"}},
			"units":           arr{obj{"path": "/lib/systemd/system/amazon-ssm-agent.service", "enabled": true, "masked": false}},
			"package_dbs":     arr{"dpkg:/var/lib/dpkg/status"},
			"version":         "3.3.1142.0",
			"version_source":  "dpkg",
			"versions":        arr{obj{"source": "dpkg", "version": "3.3.1142.0-1", "path": "/var/lib/dpkg/status"}},
			"running_checked": true, "running": true, "pids": arr{812},
			"agents":            arr{obj{"pid": 812, "name": "amazon-ssm-agent", "by": "cmdline"}},
			"proxy_checked":     true,
			"credential_source": "EC2",
		},
		"host": obj{
			"root": "/",
			"ec2": obj{"verdict": "yes", "decided_by": "/sys/class/dmi/id/board_asset_tag", "instance_id": idInstance,
				"evidence": arr{obj{"path": "/sys/class/dmi/id/board_asset_tag", "value": idInstance, "matches": true,
					"rule": "an instance ID (i-…) or starts with \"ec2\""}}},
			"disks": arr{idDisk("/", 50, 76.3, "0000000100000002"), idDisk("/var/lib/amazon/ssm", 50, 76.3, "0000000100000002")},
			"clock": obj{"now": "2024-06-01T12:00:00Z", "zone": "UTC", "offset_seconds": 0},
		},
	}
}

var (
	idNotEC2 = obj{"verdict": "no", "decided_by": nil, "instance_id": nil, "evidence": arr{
		obj{"path": "/sys/class/dmi/id/sys_vendor", "value": "QEMU", "matches": false, "rule": "equals \"Amazon EC2\""}}}
	idUnknownEC2    = obj{"verdict": "unknown", "decided_by": nil, "instance_id": nil, "evidence": nil, "reason": "no DMI or hypervisor identity file under the root"}
	idRegistration  = obj{"path": "/var/lib/amazon/ssm/registration", "managed_instance_id": "mi-0123456789abcdef0", "region": "eu-west-1"}
	idNoPlacement   = obj{"region": nil, "availability_zone": nil, "instance_id": nil, "domain": nil, "mac": nil, "vpc_id": nil, "subnet_id": nil, "subnet_cidr": nil, "vpc_cidrs": nil}
	idNoProfile     = obj{"imds": obj{"profile": obj{"state": "absent", "status": 404}}}
	idAgentStopped  = obj{"running": false, "pids": nil, "agents": nil}
	idNotRunningWhy = obj{"proxy_checked": false, "proxy_reason": "not checked: the agent is not running"}
)

// merge applies the merge patch p to dst and returns the result.
func merge(dst any, p any) any {
	po, ok := p.(obj)
	if !ok {
		return p
	}
	do, ok := dst.(obj)
	if !ok {
		do = obj{}
	}
	out := obj{}
	for k, v := range do {
		out[k] = v
	}
	for k, v := range po {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = merge(out[k], v)
	}
	return out
}

// compose returns the patch that does a, then b: unlike merge it keeps b's
// nulls, which delete when the composed patch is applied. (A key that a
// deletes or sets to a non-object and b then patches with an object would
// need a replace, which merge patches cannot say; no case does that.)
func compose(a, b any) any {
	ao, aok := a.(obj)
	bo, bok := b.(obj)
	if !aok || !bok {
		return b
	}
	out := obj{}
	for k, v := range ao {
		out[k] = v
	}
	for k, v := range bo {
		if av, ok := out[k]; ok {
			out[k] = compose(av, v)
		} else {
			out[k] = v
		}
	}
	return out
}

// imdsPatch wraps a patch of the IMDS object, with the placement fields
// removed too when noPlacement is set.
func imdsPatch(p obj, noPlacement bool) obj {
	if noPlacement {
		p = compose(idNoPlacement, p).(obj)
	}
	return obj{"imds": p}
}

// idUnreachable: no TCP to IMDS.
func idUnreachable() obj {
	return imdsPatch(obj{"reachable": false, "class": "timeout", "detail": "dial tcp 169.254.169.254:80: i/o timeout",
		"failure": "unreachable", "access": "none",
		"token": obj{"class": "timeout", "detail": "i/o timeout", "tcp_opened": false, "obtained": false, "duration_ms": 2000,
			"status": nil},
		"tokenless_get": obj{"path": "/latest/meta-data/", "class": "timeout", "detail": "i/o timeout", "token_sent": false,
			"duration_ms": 2000, "status": nil},
		"profile": obj{"state": "unchecked", "status": nil, "info_code": nil, "arn": nil, "id": nil, "role": nil, "credentials": nil},
		"fields":  nil}, true)
}

// idTokenTimeout: the token PUT is never answered; the tokenless GET gets
// tokenlessStatus.
func idTokenTimeout(tokenlessStatus int) obj {
	p := obj{"failure": "token-timeout",
		"token": obj{"class": "timeout", "detail": "context deadline exceeded", "tcp_opened": true, "obtained": false,
			"duration_ms": 2001, "status": nil},
		"tokenless_get": obj{"path": "/latest/meta-data/", "status": tokenlessStatus, "token_sent": false, "duration_ms": 1,
			"class": nil, "detail": nil}}
	if tokenlessStatus == 200 {
		p["access"] = "v1"
		p["fields"] = obj{"instance-id": obj{"path": "instance-id", "status": 200, "token_sent": false, "duration_ms": 1}}
		return imdsPatch(p, false)
	}
	p["tokenless_get"] = compose(p["tokenless_get"], obj{"class": "http-status", "detail": "HTTP 401"})
	p["access"] = "none"
	p["profile"] = obj{"state": "error", "class": "timeout", "detail": "token PUT timed out",
		"status": nil, "info_code": nil, "arn": nil, "id": nil, "role": nil, "credentials": nil}
	p["fields"] = nil
	return imdsPatch(p, true)
}

// idCase builds one fixture from the base and patches applied in order.
func idCase(t *testing.T, comment string, want []wantFinding, patches ...obj) fixture {
	t.Helper()
	var o any = idBase()
	for _, p := range patches {
		o = merge(o, p)
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f.Observations); err != nil {
		t.Fatalf("%s: %v", comment, err)
	}
	f.Comment, f.Want = comment, want
	if f.Want == nil {
		f.Want = []wantFinding{}
	}
	return f
}

// wt is a wanted finding that must mention each of text.
func wt(id finding.ID, sev finding.Severity, text ...string) wantFinding {
	return wantFinding{ID: id, Severity: sev, Text: text}
}

// identityScenarios are the imds.*, iam.*, agent.* and host.* cases.
func identityScenarios(t *testing.T) map[string]fixture {
	c := func(comment string, want []wantFinding, patches ...obj) fixture {
		return idCase(t, comment, want, patches...)
	}
	ws := func(w ...wantFinding) []wantFinding { return w }
	agent := func(p obj) obj { return obj{"agent": p} }
	hostP := func(p obj) obj { return obj{"host": p} }
	return map[string]fixture{
		"healthy-ec2": c("A healthy EC2 instance: no imds, iam, agent or host finding.", nil),
		"offline-no-imds": c("An offline --root: IMDS not observed, process table not read, EC2 identity unknown. Nothing is diagnosed from facts that were not gathered.", nil,
			obj{"imds": nil},
			agent(obj{"running_checked": false, "running": false, "pids": nil, "agents": nil,
				"running_reason": "not checked: offline root", "proxy_checked": false, "proxy_reason": "not checked: offline root"}),
			hostP(obj{"ec2": idUnknownEC2})),
		"imds-unreachable-ec2": c("No TCP to IMDS on a host whose DMI says EC2: fail, and the instance ID comes from the board asset tag.",
			ws(wt(IMDSUnreachable, finding.SevFail, "169.254.169.254", "/sys/class/dmi/id/board_asset_tag", "--instance-id "+idInstance)),
			idUnreachable()),
		"imds-unreachable-hybrid": c("No TCP to IMDS on a registered hybrid node outside EC2: info.",
			ws(wt(IMDSUnreachable, finding.SevInfo, "mi-0123456789abcdef0", "QEMU")),
			idUnreachable(), hostP(obj{"ec2": idNotEC2}), agent(obj{"registration": idRegistration, "credential_source": "None"})),
		"imds-unreachable-not-ec2": c("No TCP to IMDS outside EC2 and no registration: info, with the activation as the fix.",
			ws(wt(IMDSUnreachable, finding.SevInfo, "create-activation", "amazon-ssm-agent -register")),
			idUnreachable(), hostP(obj{"ec2": idNotEC2})),
		"imds-unreachable-unknown-host": c("No TCP to IMDS and the EC2 identity could not be read: not knowing is not taken as harmless: fail.",
			ws(wt(IMDSUnreachable, finding.SevFail, "could not be read", "INSTANCE_ID")),
			idUnreachable(), hostP(obj{"ec2": idUnknownEC2})),
		"imds-no-answer": c("TCP to IMDS opens but nothing is answered: imds.unreachable (fail on EC2).",
			ws(wt(IMDSUnreachable, finding.SevFail, "neither the IMDSv2 token PUT nor a plain GET is answered")),
			idUnreachable(), imdsPatch(obj{"reachable": true, "failure": "no-answer", "class": nil, "detail": nil,
				"token": obj{"tcp_opened": true}}, false)),
		"imds-disabled": c("IMDS answers 403: imds.disabled, with the instance ID from DMI in the fix.",
			ws(wt(IMDSDisabled, finding.SevFail, "PUT /latest/api/token: HTTP 403", "--http-endpoint enabled", idInstance)),
			idUnreachable(), imdsPatch(obj{"reachable": true, "failure": "disabled", "class": nil, "detail": nil,
				"token":         obj{"status": 403, "class": "http-status", "detail": "token PUT answered HTTP 403", "tcp_opened": true, "obtained": false, "duration_ms": 1},
				"tokenless_get": obj{"path": "/latest/meta-data/", "status": 403, "class": "http-status", "detail": "HTTP 403", "token_sent": false, "duration_ms": 1}}, false)),
		"imds-token-timeout-v1-allowed": c("Token PUT unanswered, IMDSv1 answers: imds.token-timeout only; the profile is fine via IMDSv1.",
			ws(wt(IMDSTokenTimeout, finding.SevFail, "--http-put-response-hop-limit 2", "--instance-id "+idInstance, "IMDSv1 is still allowed")),
			idTokenTimeout(200)),
		"imds-token-timeout-v2-required": c("Token PUT unanswered and IMDSv2 required: imds.token-timeout, nothing else.",
			ws(wt(IMDSTokenTimeout, finding.SevFail, "IMDSv2 is required", "GET /latest/meta-data/ without a token: HTTP 401", "--instance-id "+idInstance)),
			idTokenTimeout(401)),
		"imds-unauthorized": c("A token is handed out but every GET with it gets 401: IMDS is unusable (imds.unusable, fail on EC2).",
			ws(wt(IMDSUnusable, finding.SevFail, "401", "GET /latest/meta-data/iam/info with the IMDSv2 token: HTTP 401")),
			imdsPatch(obj{"failure": "unauthorized", "access": "none",
				"fields": obj{"instance-id": obj{"path": "instance-id", "status": 401, "class": "http-status", "detail": "HTTP 401", "token_sent": true, "duration_ms": 1},
					"iam/info": obj{"path": "iam/info", "status": 401, "class": "http-status", "detail": "HTTP 401", "token_sent": true, "duration_ms": 1}},
				"profile": obj{"state": "error", "status": 401, "class": "http-status", "detail": "HTTP 401",
					"info_code": nil, "arn": nil, "id": nil, "role": nil, "credentials": nil}}, true)),
		"imds-iam-info-error": c("IMDS answers everything but meta-data/iam/info fails with 500: whether a profile is attached is unknown (imds.unusable).",
			ws(wt(IMDSUnusable, finding.SevFail, "iam/info", "HTTP 500")),
			imdsPatch(obj{"profile": obj{"state": "error", "status": 500, "class": "http-status", "detail": "500 Internal Server Error",
				"info_code": nil, "arn": nil, "id": nil, "role": nil, "credentials": nil}}, false)),
		"iam-no-profile-dhmc-ready": c("No instance profile, IMDSv2 works, agent is new, identity_config says SSM: warn.",
			ws(wt(IAMNoInstanceProfile, finding.SevWarn, "HTTP 404", "CredentialSource SSM", "update-service-setting", "already gets its credentials", idInstance)),
			idNoProfileFull(), agent(obj{"credential_source": "SSM"})),
		"iam-no-profile-dhmc-failed-in-log": c("No instance profile; IMDSv2 and the agent would let Default Host Management stand in, but the agent's log (the real 3.3.1142.0 lines) shows the fallback failing: iam.no-instance-profile at fail, the log's credential errors folded into it.",
			ws(wt(IAMNoInstanceProfile, finding.SevFail, "did not stand in", "tried and failed", "Default Host Management Err:", "update-service-setting")),
			idNoProfileFull(), logsPatch(dhmcFailedLog(time.Date(2024, 6, 1, 11, 58, 0, 0, time.UTC)))),
		"iam-no-profile-dhmc-served-in-log": c("Near miss: no instance profile, and the agent's log shows Default Host Management serving after an instance profile failure: it stands in, so warn, saying so; no credentials finding.",
			ws(wt(IAMNoInstanceProfile, finding.SevWarn, "got them that way", "Successfully connected with Systems Manager role credentials")),
			idNoProfileFull(), logsPatch(dhmcServedLog(time.Date(2024, 6, 1, 11, 58, 0, 0, time.UTC)))),
		"iam-no-profile-dhmc-failed-then-served": c("Near miss: the fallback failed once, then served (Default Host Management was turned on): warn.",
			ws(wt(IAMNoInstanceProfile, finding.SevWarn, "got them that way")),
			idNoProfileFull(), logsPatch(append(dhmcFailedLog(time.Date(2024, 6, 1, 11, 30, 0, 0, time.UTC)), dhmcServedLog(time.Date(2024, 6, 1, 11, 58, 0, 0, time.UTC))[1]))),
		"iam-no-profile-dhmc-silent-in-log": c("No instance profile; Default Host Management could stand in, and the agent's log names no attempt of it, but its latest credentials line is the instance profile's error with nothing after it: the agent has no credentials, so iam.no-instance-profile is the one root cause at fail, the log's credentials error folded into it (TestOneCredentialsHeadline).",
			ws(wt(IAMNoInstanceProfile, finding.SevFail, "did not stand in", "is an error and no line after it shows credentials", "EC2RoleRequestError: no EC2 instance role found")),
			idNoProfileFull(), logsPatch(dhmcServedLog(time.Date(2024, 6, 1, 11, 58, 0, 0, time.UTC))[:1])),
		"iam-no-profile-dhmc-silent-then-ready": c("Near miss: after the instance profile's error the agent's log shows Credentials ready: it holds credentials, so warn, and no credentials finding.",
			ws(wt(IAMNoInstanceProfile, finding.SevWarn, "can stand in")),
			idNoProfileFull(), logsPatch(append(dhmcServedLog(time.Date(2024, 6, 1, 11, 58, 0, 0, time.UTC))[:1], credentialsReadyLog(time.Date(2024, 6, 1, 11, 59, 0, 0, time.UTC))))),
		"iam-no-profile-old-agent": c("No instance profile and agent 3.1: DHMC cannot serve: fail; agent.outdated warns and names the DHMC threshold.",
			ws(wt(IAMNoInstanceProfile, finding.SevFail, "agent 3.1.1080.0 (from dpkg) is older than 3.2.582.0", "associate-iam-instance-profile --instance-id "+idInstance),
				wt(AgentOutdated, finding.SevWarn, "Default Host Management Configuration", "3.2.582.0", "AWS-UpdateSSMAgent")),
			idNoProfileFull(), agent(obj{"version": "3.1.1080.0",
				"versions": arr{obj{"source": "dpkg", "version": "3.1.1080.0-1", "path": "/var/lib/dpkg/status"}}})),
		"iam-no-profile-imdsv1-only": c("No instance profile and no IMDSv2 (the token PUT is 404): DHMC cannot serve: fail, saying IMDSv2 is missing.",
			ws(wt(IAMNoInstanceProfile, finding.SevFail, "IMDSv2 does not work", "PUT /latest/api/token: HTTP 404")),
			idNoProfileFull(), imdsPatch(obj{"access": "v1",
				"token":         obj{"status": 404, "class": "not-found", "detail": "token PUT answered HTTP 404", "tcp_opened": true, "obtained": false, "duration_ms": 1},
				"tokenless_get": obj{"path": "/latest/meta-data/", "status": 200, "token_sent": false, "duration_ms": 1, "class": nil, "detail": nil},
				"fields":        obj{"instance-id": obj{"path": "instance-id", "status": 200, "token_sent": false, "duration_ms": 1}}}, false)),
		"iam-no-profile-version-unknown": c("No instance profile and no agent version known: unknown counts as missing: fail.",
			ws(wt(IAMNoInstanceProfile, finding.SevFail, "the agent version is unknown")),
			idNoProfileFull(), agent(obj{"version": nil, "version_source": nil, "versions": nil})),
		"iam-no-profile-token-timeout": c("No instance profile (read via IMDSv1) and the token PUT times out: both the hop limit and the profile, and DHMC cannot serve.",
			ws(wt(IMDSTokenTimeout, finding.SevFail, "--http-put-response-hop-limit 2"),
				wt(IAMNoInstanceProfile, finding.SevFail, "IMDSv2 does not work", "hop limit")),
			idTokenTimeout(200), idNoProfileFull()),
		"iam-creds-failed": c("The credentials document has Code AssumeRoleUnauthorizedAccess: fail, naming the role and the trust policy fix.",
			ws(wt(IAMCredsUnavailable, finding.SevFail, "AssumeRoleUnauthorizedAccess", idRole, "ec2.amazonaws.com", idProfileARN)),
			imdsPatch(obj{"profile": obj{"credentials": obj{"code": "AssumeRoleUnauthorizedAccess",
				"message": "EC2 cannot assume the role " + idRole + ".", "expiration": nil}}}, false)),
		"iam-creds-expired": c("The credentials document expired an hour before the run: fail, with the clock as the first suspect.",
			ws(wt(IAMCredsUnavailable, finding.SevFail, "expired at 2024-06-01T11:00:00Z", "timedatectl", idRole)),
			imdsPatch(obj{"profile": obj{"credentials": obj{"last_updated": "2024-06-01T05:00:00Z",
				"expiration": "2024-06-01T11:00:00Z", "expired": true}}}, false)),
		"iam-creds-unreadable": c("The role is listed but its credentials document is 404 (role deleted): fail.",
			ws(wt(IAMCredsUnavailable, finding.SevFail, "cannot be read", "HTTP 404", idRole)),
			imdsPatch(obj{"profile": obj{"credentials": obj{"status": 404, "class": "not-found", "detail": "HTTP 404",
				"code": nil, "last_updated": nil, "expiration": nil, "expired": nil}}}, false)),
		"agent-not-installed": c("No agent: a masked unit and a dpkg database that does not list it.",
			ws(wt(AgentNotInstalled, finding.SevFail, "masked", "dpkg:/var/lib/dpkg/status", "snap install amazon-ssm-agent")),
			agent(compose(compose(idAgentStopped, idNotRunningWhy), obj{"installed": false, "install": nil, "version": nil, "version_source": nil, "versions": nil,
				"units": arr{obj{"path": "/etc/systemd/system/amazon-ssm-agent.service", "enabled": false, "masked": true}},
				"notes": arr{"/var/lib/dpkg/status lists amazon-ssm-agent with Status \"deinstall ok config-files\": not installed"}}).(obj))),
		"agent-not-running": c("Installed, enabled, not running: fail with systemctl as the fix.",
			ws(wt(AgentNotRunning, finding.SevFail, "sudo systemctl enable --now amazon-ssm-agent", "3.3.1142.0")),
			agent(compose(idAgentStopped, idNotRunningWhy).(obj))),
		"agent-snap-not-running": c("The snap is installed and not running: the fix is snap start.",
			ws(wt(AgentNotRunning, finding.SevFail, "sudo snap start --enable amazon-ssm-agent")),
			agent(compose(idAgentStopped, obj{
				"install": arr{obj{"kind": "binary", "path": "/snap/amazon-ssm-agent/current/amazon-ssm-agent"},
					obj{"kind": "snap", "path": "/snap/amazon-ssm-agent/current", "detail": "revision 7993"}},
				"units":   arr{obj{"path": "/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service", "enabled": true, "masked": false}},
				"version": "3.2.1705.0", "version_source": "snap"}).(obj))),
		"agent-running-unchecked": c("The process table could not be read (needs root): no agent.not-running finding.", nil,
			agent(compose(idAgentStopped, obj{"running_checked": false, "running_reason": "not checked: permission denied", "proxy_checked": false}).(obj))),
		"agent-too-old": c("Agent 2.3.50.0 is below the Session Manager minimum: fail, listing the features it lacks.",
			ws(wt(AgentOutdated, finding.SevFail, "2.3.68.0", "Session Manager", "lacks port forwarding and SSH through sessions (needs 3.0.222.0)")),
			agent(obj{"version": "2.3.50.0", "version_source": "log"})),
		"agent-old-with-profile": c("Agent 3.1 with an instance profile: DHMC is not needed, so no finding.", nil,
			agent(obj{"version": "3.1.1080.0"})),
		"agent-hibernating": c("hibernate.log shows back-off: warn with restart advice.",
			ws(wt(AgentHibernating, finding.SevWarn, "/var/log/amazon/ssm/hibernate.log", "1200 s", "sudo systemctl restart amazon-ssm-agent", "1h25m0s old")),
			agent(obj{"hibernation": obj{"path": "/var/log/amazon/ssm/hibernate.log", "hibernating": true, "lines": 4,
				"first": "2024-06-01 10:00:00", "last": "2024-06-01 10:35:00", "last_time": "2024-06-01T10:35:00Z",
				"last_message": "Backing off health check to every 1200 seconds for 3600 seconds.", "backoff_seconds": 1200}})),
		"agent-hibernation-log-quiet": c("hibernate.log exists without hibernation lines: no finding.", nil,
			agent(obj{"hibernation": obj{"path": "/var/log/amazon/ssm/hibernate.log", "hibernating": false, "lines": 0}})),
		"agent-overrides": c("The agent config overrides region and endpoints: info listing each.",
			ws(wt(AgentEndpointOverride, finding.SevInfo, "/etc/amazon/ssm/amazon-ssm-agent.json", "Ssm.Endpoint = https://vpce-0abc-ssm.ap-northeast-1.vpce.amazonaws.com", "Agent.Region = ap-northeast-1")),
			agent(obj{"config": obj{"path": "/etc/amazon/ssm/amazon-ssm-agent.json", "region": "ap-northeast-1",
				"ssm_endpoint": "https://vpce-0abc-ssm.ap-northeast-1.vpce.amazonaws.com",
				"mgs_endpoint": "https://vpce-0abc-ssmmessages.ap-northeast-1.vpce.amazonaws.com"}})),
		"agent-config-empty": c("The agent config exists and overrides nothing: no finding.", nil,
			agent(obj{"config": obj{"path": "/etc/amazon/ssm/amazon-ssm-agent.json"}})),
		"host-disk-nearly-full": c("Root file system (shared with the agent's state directory) at 3% free: warn, both paths named once.",
			ws(wt(HostDiskFull, finding.SevWarn, "/ and /var/lib/amazon/ssm: 3.0% free", "df -h")),
			hostP(obj{"disks": arr{idDisk("/", 3.0, 76.3, "0000000100000002"), idDisk("/var/lib/amazon/ssm", 3.0, 76.3, "0000000100000002")}})),
		"host-inodes-full": c("The agent's state directory on its own file system is out of inodes: fail.",
			ws(wt(HostDiskFull, finding.SevFail, "/var/lib/amazon/ssm", "inodes 0.5% free", "df -i")),
			hostP(obj{"disks": arr{idDisk("/", 50, 76.3, "0000000100000002"), idDisk("/var/lib/amazon/ssm", 40.0, 0.5, "0000000300000004")}})),
		"host-disk-edge": c("Exactly 5% free is not below 5%: no finding.", nil,
			hostP(obj{"disks": arr{idDisk("/", 5.0, 5.0, "0000000100000002"), idDisk("/var/lib/amazon/ssm", 5.0, 5.0, "0000000100000002")}})),
		"host-disk-unchecked": c("Disks that could not be measured give no finding (the host check record says why).", nil,
			hostP(obj{"disks": arr{
				obj{"path": "/", "checked": false, "reason": "not checked: statfs: permission: permission denied",
					"free_percent": 0, "avail_percent": 0, "inodes_known": false, "free_inodes_percent": 0},
				obj{"path": "/var/lib/amazon/ssm", "checked": false, "reason": "not checked: not-found: no such file",
					"free_percent": 0, "avail_percent": 0, "inodes_known": false, "free_inodes_percent": 0}}})),
		"agent-zombie": c("The only amazon-ssm-agent is a zombie (state Z, not reaped): not running, named as such; its environ is not read, so the verdict is not unknown.",
			ws(wt(AgentNotRunning, finding.SevFail, "pid 4101 (amazon-ssm-agent) has exited (state Z, a zombie)", "its parent, pid 4100,", "sudo systemctl enable --now amazon-ssm-agent")),
			agent(compose(compose(idAgentStopped, idNotRunningWhy), obj{
				"excluded": arr{obj{"pid": 4101, "name": "amazon-ssm-agent", "by": "comm", "state": "Z", "ppid": 4100, "excluded": "exited"}}}).(obj))),
		"agent-impostor-and-container": c("Only an impostor (exec -a amazon-ssm-agent sleep) and a container's agent run: neither is this host's agent.",
			ws(wt(AgentNotRunning, finding.SevFail, "calls itself amazon-ssm-agent but runs /usr/bin/sleep", "another PID namespace (pid:[4026532512])", "not taken as the agent's proxy settings")),
			agent(compose(compose(idAgentStopped, idNotRunningWhy), obj{
				"excluded": arr{obj{"pid": 600, "name": "amazon-ssm-agent", "by": "cmdline", "exe": "/usr/bin/sleep", "state": "S", "ppid": 1, "excluded": "not-agent-binary"},
					obj{"pid": 1500, "name": "amazon-ssm-agent", "by": "cmdline", "exe": "/usr/bin/amazon-ssm-agent", "state": "S", "ppid": 1499,
						"excluded": "other-pid-namespace", "pid_namespace": "pid:[4026532512]"}}}).(obj))),
	}
}

// idNoProfileFull is idNoProfile with the present profile's fields removed.
func idNoProfileFull() obj {
	return compose(idNoProfile, obj{"imds": obj{"profile": obj{"info_code": nil, "arn": nil, "id": nil, "role": nil, "credentials": nil}}}).(obj)
}

// logsPatch sets the agent's logs to the summaries evs.
func logsPatch(evs []journal.Summary) obj {
	b, err := json.Marshal(journal.Result{Sources: []journal.Source{{Name: "/var/log/amazon/ssm/amazon-ssm-agent.log",
		Kind: journal.SourceFile, Status: journal.StatusRead}}, Events: evs})
	if err != nil {
		panic(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	return obj{"logs": v}
}

// dhmcFailedLog is what the real agent 3.3.1142.0 logged with no instance
// profile and no Default Host Management (journal/testdata/real/no-instance-profile,
// lines 23, 24 and 26), at t.
func dhmcFailedLog(t time.Time) []journal.Summary {
	line := func(n int, text string) journal.Sample {
		return journal.Sample{Source: fmt.Sprintf("/var/log/amazon/ssm/amazon-ssm-agent.log:%d", n), Time: t, Text: text}
	}
	return []journal.Summary{{Kind: journal.KindCredentialsError, Count: 3, First: t, Last: t,
		Values: []string{journal.CredSourceDHMC, journal.CredSourceInstanceProfile},
		Samples: []journal.Sample{
			line(23, "2026-12-06 23:30:29.2900 WARN EC2RoleProvider Failed to connect to Systems Manager with instance profile role credentials. Err: retrieved credentials failed to report to ssm. Error: EC2RoleRequestError: no EC2 instance role found"),
			line(24, "2026-12-06 23:30:29.2943 ERROR EC2RoleProvider Failed to connect to Systems Manager with SSM role credentials. error calling RequestManagedInstanceRoleToken: UnknownOperationException: \n\tstatus code: 400, request id: lab-request"),
			line(26, "2026-12-06 23:30:29.2943 ERROR [CredentialRefresher] Retrieve credentials produced error: no valid credentials could be retrieved for ec2 identity. Default Host Management Err: error calling RequestManagedInstanceRoleToken: UnknownOperationException: \n\tstatus code: 400, request id: lab-request"),
		}}}
}

// credentialsReadyLog: the core agent's credential refresher holds
// credentials (credentialrefresher.go), at t.
func credentialsReadyLog(t time.Time) journal.Summary {
	return journal.Summary{Kind: journal.KindCredentialsReady, Count: 1, First: t, Last: t,
		Samples: []journal.Sample{{Source: "/var/log/amazon/ssm/amazon-ssm-agent.log:50", Time: t, Text: t.Format("2006-01-02 15:04:05.0000") + " INFO [CredentialRefresher] Credentials ready"}}}
}

// dhmcServedLog: the instance profile fails, then Default Host Management
// serves (ec2_role_provider.go:110, :126), at t.
func dhmcServedLog(t time.Time) []journal.Summary {
	src := "/var/log/amazon/ssm/amazon-ssm-agent.log"
	return []journal.Summary{
		{Kind: journal.KindCredentialsError, Count: 1, First: t.Add(-time.Second), Last: t.Add(-time.Second), Values: []string{journal.CredSourceInstanceProfile},
			Samples: []journal.Sample{{Source: src + ":40", Time: t.Add(-time.Second), Text: "2024-06-01 11:57:59.0000 WARN EC2RoleProvider Failed to connect to Systems Manager with instance profile role credentials. Err: retrieved credentials failed to report to ssm. Error: EC2RoleRequestError: no EC2 instance role found"}}},
		{Kind: journal.KindCredentialSource, Count: 1, First: t, Last: t, Values: []string{"SSM"},
			Samples: []journal.Sample{{Source: src + ":41", Time: t, Text: "2024-06-01 11:58:00.0000 INFO EC2RoleProvider Successfully connected with Systems Manager role credentials"}}},
	}
}
