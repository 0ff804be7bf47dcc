#!/usr/bin/env python3
"""Writes the observation fixtures of diagnose_identity_test.go.

Each case is a healthy EC2 instance (base) with one change, written to
identity/<case>.json as {"description", "want", "observations"}. "want" lists
every imds.*, iam.*, agent.* and host.* finding the case must give (id,
severity, and text that must appear in the finding). Run from this directory:
python3 mkidentity.py. The JSON files are the fixtures; this script documents
how they were made.
"""
import copy, json, os

INSTANCE = "i-0123456789abcdef0"
ROLE = "app-ssm-role"
PROFILE_ARN = "arn:aws:iam::123456789012:instance-profile/app-ssm"

def disk(path, free_pct=50.0, inode_pct=76.3, fsid="0000000100000002"):
    total = 8 << 30
    free = int(total * free_pct / 100)
    inodes = 524288
    return {"path": path, "checked": True, "fsid": fsid, "total_bytes": total, "free_bytes": free,
            "avail_bytes": free, "free_percent": free_pct, "avail_percent": free_pct,
            "inodes_known": True, "total_inodes": inodes, "free_inodes": int(inodes * inode_pct / 100),
            "free_inodes_percent": inode_pct}

BASE = {
    "started_at": "2024-06-01T12:00:00Z",
    "root": "/",
    "live": True,
    "offline": False,
    "imds": {
        "endpoint": "http://169.254.169.254",
        "reachable": True,
        "access": "v2",
        "token": {"status": 200, "tcp_opened": True, "obtained": True, "duration_ms": 2},
        "tokenless_get": {"path": "/latest/meta-data/", "status": 401, "class": "http-status",
                          "detail": "HTTP 401", "token_sent": False, "duration_ms": 1},
        "region": "ap-northeast-1", "availability_zone": "ap-northeast-1a",
        "instance_id": INSTANCE, "domain": "amazonaws.com", "mac": "0e:00:00:00:00:01",
        "vpc_id": "vpc-0123456789abcdef0", "subnet_id": "subnet-0123456789abcdef0",
        "subnet_cidr": "10.0.5.0/24", "vpc_cidrs": ["10.0.0.0/16"], "has_ipv6": False,
        "profile": {"state": "present", "status": 200, "info_code": "Success", "arn": PROFILE_ARN,
                    "id": "AIPAEXAMPLEPROFILE01", "role": ROLE,
                    "credentials": {"status": 200, "code": "Success",
                                    "last_updated": "2024-06-01T11:00:00Z",
                                    "expiration": "2024-06-01T17:00:00Z", "expired": False}},
        "fields": {"instance-id": {"path": "instance-id", "status": 200, "token_sent": True, "duration_ms": 1}},
        "duration_ms": 12,
    },
    "agent": {
        "root": "/", "installed": True,
        "install": [{"kind": "binary", "path": "/usr/bin/amazon-ssm-agent"},
                    {"kind": "unit", "path": "/lib/systemd/system/amazon-ssm-agent.service"},
                    {"kind": "dpkg", "path": "/var/lib/dpkg/status", "detail": "Status: install ok installed"}],
        "units": [{"path": "/lib/systemd/system/amazon-ssm-agent.service", "enabled": True, "masked": False}],
        "package_dbs": ["dpkg:/var/lib/dpkg/status"],
        "version": "3.3.1142.0", "version_source": "dpkg",
        "versions": [{"source": "dpkg", "version": "3.3.1142.0-1", "path": "/var/lib/dpkg/status"}],
        "running_checked": True, "running": True, "pids": [812],
        "agents": [{"pid": 812, "name": "amazon-ssm-agent", "by": "cmdline"}],
        "proxy_checked": True,
        "credential_source": "EC2",
    },
    "host": {
        "root": "/",
        "ec2": {"verdict": "yes", "decided_by": "/sys/class/dmi/id/board_asset_tag", "instance_id": INSTANCE,
                "evidence": [{"path": "/sys/class/dmi/id/board_asset_tag", "value": INSTANCE, "matches": True,
                              "rule": "an instance ID (i-…) or starts with \"ec2\""}]},
        "disks": [disk("/"), disk("/var/lib/amazon/ssm")],
        "clock": {"now": "2024-06-01T12:00:00Z", "zone": "UTC", "offset_seconds": 0},
    },
}

NOT_EC2 = {"verdict": "no", "evidence": [
    {"path": "/sys/class/dmi/id/sys_vendor", "value": "QEMU", "matches": False, "rule": "equals \"Amazon EC2\""}]}
UNKNOWN_EC2 = {"verdict": "unknown", "evidence": None, "reason": "no DMI or hypervisor identity file under the root"}
REGISTRATION = {"path": "/var/lib/amazon/ssm/registration", "managed_instance_id": "mi-0123456789abcdef0", "region": "eu-west-1"}

def unreachable(im):
    im.update({"reachable": False, "class": "timeout", "detail": "dial tcp 169.254.169.254:80: i/o timeout",
               "failure": "unreachable", "access": "none",
               "token": {"class": "timeout", "detail": "i/o timeout", "tcp_opened": False, "obtained": False, "duration_ms": 2000},
               "tokenless_get": {"path": "/latest/meta-data/", "class": "timeout", "detail": "i/o timeout", "token_sent": False, "duration_ms": 2000},
               "profile": {"state": "unchecked"}, "fields": None})
    for k in ["region", "availability_zone", "instance_id", "domain", "mac", "vpc_id", "subnet_id", "subnet_cidr", "vpc_cidrs"]:
        im.pop(k, None)

def token_timeout(im, tokenless_status):
    im["failure"] = "token-timeout"
    im["token"] = {"class": "timeout", "detail": "context deadline exceeded", "tcp_opened": True, "obtained": False, "duration_ms": 2001}
    im["tokenless_get"] = {"path": "/latest/meta-data/", "status": tokenless_status, "token_sent": False, "duration_ms": 1}
    if tokenless_status == 200:
        im["access"] = "v1"
        im["fields"] = {"instance-id": {"path": "instance-id", "status": 200, "token_sent": False, "duration_ms": 1}}
    else:
        im["tokenless_get"].update({"class": "http-status", "detail": "HTTP 401"})
        im["access"] = "none"
        im["profile"] = {"state": "error", "class": "timeout", "detail": "token PUT timed out"}
        for k in ["region", "availability_zone", "instance_id", "domain", "mac", "vpc_id", "subnet_id", "subnet_cidr", "vpc_cidrs"]:
            im.pop(k, None)
        im["fields"] = None

def no_profile(im):
    im["profile"] = {"state": "absent", "status": 404}

CASES = {}

def case(name, description, want, mutate=None):
    o = copy.deepcopy(BASE)
    if mutate:
        mutate(o)
    CASES[name] = {"description": description, "want": want, "observations": o}

def W(id, sev, *text):
    return {"id": id, "severity": sev, "text": list(text)}

case("healthy-ec2", "A healthy EC2 instance: no imds, iam, agent or host finding.", [])

case("offline-no-imds", "An offline --root: IMDS not observed, process table not read, EC2 identity unknown. Nothing is diagnosed from facts that were not gathered.", [],
     lambda o: (o.pop("imds"), o["agent"].update({"running_checked": False, "running": False, "pids": None, "agents": None,
        "running_reason": "not checked: offline root", "proxy_checked": False, "proxy_reason": "not checked: offline root"}),
        o["host"].update({"ec2": UNKNOWN_EC2})))

case("imds-unreachable-ec2", "No TCP to IMDS on a host whose DMI says EC2: fail, and the instance ID comes from the board asset tag.",
     [W("imds.unreachable", "fail", "169.254.169.254", "/sys/class/dmi/id/board_asset_tag", "--instance-id " + INSTANCE)],
     lambda o: unreachable(o["imds"]))

case("imds-unreachable-hybrid", "No TCP to IMDS on a registered hybrid node outside EC2: info.",
     [W("imds.unreachable", "info", "mi-0123456789abcdef0", "QEMU")],
     lambda o: (unreachable(o["imds"]), o["host"].update({"ec2": NOT_EC2}), o["agent"].update({"registration": REGISTRATION, "credential_source": "None"})))

case("imds-unreachable-not-ec2", "No TCP to IMDS outside EC2 and no registration: info, with the activation as the fix.",
     [W("imds.unreachable", "info", "create-activation", "amazon-ssm-agent -register")],
     lambda o: (unreachable(o["imds"]), o["host"].update({"ec2": NOT_EC2})))

case("imds-unreachable-unknown-host", "No TCP to IMDS and the EC2 identity could not be read: not knowing is not taken as harmless: fail.",
     [W("imds.unreachable", "fail", "could not be read", "INSTANCE_ID")],
     lambda o: (unreachable(o["imds"]), o["host"].update({"ec2": UNKNOWN_EC2})))

def no_answer(o):
    im = o["imds"]
    unreachable(im)
    im.update({"reachable": True, "failure": "no-answer", "class": None, "detail": None})
    im["token"]["tcp_opened"] = True
case("imds-no-answer", "TCP to IMDS opens but nothing is answered: imds.unreachable (fail on EC2).",
     [W("imds.unreachable", "fail", "neither the IMDSv2 token PUT nor a plain GET is answered")], no_answer)

def disabled(o):
    im = o["imds"]
    unreachable(im)
    im.update({"reachable": True, "failure": "disabled", "class": None, "detail": None,
               "token": {"status": 403, "class": "http-status", "detail": "token PUT answered HTTP 403", "tcp_opened": True, "obtained": False, "duration_ms": 1},
               "tokenless_get": {"path": "/latest/meta-data/", "status": 403, "class": "http-status", "detail": "HTTP 403", "token_sent": False, "duration_ms": 1}})
case("imds-disabled", "IMDS answers 403: imds.disabled, with the instance ID from DMI in the fix.",
     [W("imds.disabled", "fail", "PUT /latest/api/token: HTTP 403", "--http-endpoint enabled", INSTANCE)], disabled)

case("imds-token-timeout-v1-allowed", "Token PUT unanswered, IMDSv1 answers: imds.token-timeout only; the profile is fine via IMDSv1.",
     [W("imds.token-timeout", "fail", "--http-put-response-hop-limit 2", "--instance-id " + INSTANCE, "IMDSv1 is still allowed")],
     lambda o: token_timeout(o["imds"], 200))

case("imds-token-timeout-v2-required", "Token PUT unanswered and IMDSv2 required: imds.token-timeout, nothing else.",
     [W("imds.token-timeout", "fail", "IMDSv2 is required", "GET /latest/meta-data/ without a token: HTTP 401", "--instance-id " + INSTANCE)],
     lambda o: token_timeout(o["imds"], 401))

def unauthorized(o):
    im = o["imds"]
    im.update({"failure": "unauthorized", "access": "none",
               "fields": {"instance-id": {"path": "instance-id", "status": 401, "class": "http-status", "detail": "HTTP 401", "token_sent": True, "duration_ms": 1},
                          "iam/info": {"path": "iam/info", "status": 401, "class": "http-status", "detail": "HTTP 401", "token_sent": True, "duration_ms": 1}},
               "profile": {"state": "error", "status": 401, "class": "http-status", "detail": "HTTP 401"}})
    for k in ["region", "availability_zone", "instance_id", "domain", "mac", "vpc_id", "subnet_id", "subnet_cidr", "vpc_cidrs"]:
        im.pop(k, None)
case("imds-unauthorized", "A token is handed out but every GET with it gets 401: IMDS is unusable (imds.unusable, fail on EC2).",
     [W("imds.unusable", "fail", "401", "GET /latest/meta-data/iam/info with the IMDSv2 token: HTTP 401")], unauthorized)

case("imds-iam-info-error", "IMDS answers everything but meta-data/iam/info fails with 500: whether a profile is attached is unknown (imds.unusable).",
     [W("imds.unusable", "fail", "iam/info", "HTTP 500")],
     lambda o: o["imds"].update({"profile": {"state": "error", "status": 500, "class": "http-status", "detail": "500 Internal Server Error"}}))

case("iam-no-profile-dhmc-ready", "No instance profile, IMDSv2 works, agent is new, identity_config says SSM: warn.",
     [W("iam.no-instance-profile", "warn", "HTTP 404", "CredentialSource SSM", "update-service-setting", "already gets its credentials", INSTANCE)],
     lambda o: (no_profile(o["imds"]), o["agent"].update({"credential_source": "SSM"})))

case("iam-no-profile-old-agent", "No instance profile and agent 3.1: DHMC cannot serve: fail; agent.outdated warns and names the DHMC threshold.",
     [W("iam.no-instance-profile", "fail", "agent 3.1.1080.0 (from dpkg) is older than 3.2.582.0", "associate-iam-instance-profile --instance-id " + INSTANCE),
      W("agent.outdated", "warn", "Default Host Management Configuration", "3.2.582.0", "AWS-UpdateSSMAgent")],
     lambda o: (no_profile(o["imds"]), o["agent"].update({"version": "3.1.1080.0",
        "versions": [{"source": "dpkg", "version": "3.1.1080.0-1", "path": "/var/lib/dpkg/status"}]})))

def v1_only_no_profile(o):
    im = o["imds"]
    no_profile(im)
    im.update({"access": "v1", "token": {"status": 404, "class": "not-found", "detail": "token PUT answered HTTP 404", "tcp_opened": True, "obtained": False, "duration_ms": 1},
               "tokenless_get": {"path": "/latest/meta-data/", "status": 200, "token_sent": False, "duration_ms": 1},
               "fields": {"instance-id": {"path": "instance-id", "status": 200, "token_sent": False, "duration_ms": 1}}})
case("iam-no-profile-imdsv1-only", "No instance profile and no IMDSv2 (the token PUT is 404): DHMC cannot serve: fail, saying IMDSv2 is missing.",
     [W("iam.no-instance-profile", "fail", "IMDSv2 does not work", "PUT /latest/api/token: HTTP 404")], v1_only_no_profile)

case("iam-no-profile-version-unknown", "No instance profile and no agent version known: unknown counts as missing: fail.",
     [W("iam.no-instance-profile", "fail", "the agent version is unknown")],
     lambda o: (no_profile(o["imds"]), o["agent"].update({"version": None, "version_source": None, "versions": None})))

case("iam-no-profile-token-timeout", "No instance profile (read via IMDSv1) and the token PUT times out: both the hop limit and the profile, and DHMC cannot serve.",
     [W("imds.token-timeout", "fail", "--http-put-response-hop-limit 2"),
      W("iam.no-instance-profile", "fail", "IMDSv2 does not work", "hop limit")],
     lambda o: (token_timeout(o["imds"], 200), no_profile(o["imds"])))

case("iam-creds-failed", "The credentials document has Code AssumeRoleUnauthorizedAccess: fail, naming the role and the trust policy fix.",
     [W("iam.credentials-unavailable", "fail", "AssumeRoleUnauthorizedAccess", ROLE, "ec2.amazonaws.com", PROFILE_ARN)],
     lambda o: o["imds"]["profile"]["credentials"].update({"code": "AssumeRoleUnauthorizedAccess",
        "message": "EC2 cannot assume the role " + ROLE + ".", "expiration": None}))

case("iam-creds-expired", "The credentials document expired an hour before the run: fail, with the clock as the first suspect.",
     [W("iam.credentials-unavailable", "fail", "expired at 2024-06-01T11:00:00Z", "timedatectl", ROLE)],
     lambda o: o["imds"]["profile"]["credentials"].update({"last_updated": "2024-06-01T05:00:00Z",
        "expiration": "2024-06-01T11:00:00Z", "expired": True}))

case("iam-creds-unreadable", "The role is listed but its credentials document is 404 (role deleted): fail.",
     [W("iam.credentials-unavailable", "fail", "cannot be read", "HTTP 404", ROLE)],
     lambda o: o["imds"]["profile"].update({"credentials": {"status": 404, "class": "not-found", "detail": "HTTP 404"}}))

case("agent-not-installed", "No agent: a masked unit and a dpkg database that does not list it.",
     [W("agent.not-installed", "fail", "masked", "dpkg:/var/lib/dpkg/status", "snap install amazon-ssm-agent")],
     lambda o: o["agent"].update({"installed": False, "install": None, "version": None, "version_source": None, "versions": None,
        "units": [{"path": "/etc/systemd/system/amazon-ssm-agent.service", "enabled": False, "masked": True}],
        "running": False, "pids": None, "agents": None, "proxy_checked": False, "proxy_reason": "not checked: the agent is not running",
        "notes": ["/var/lib/dpkg/status lists amazon-ssm-agent with Status \"deinstall ok config-files\": not installed"]}))

case("agent-not-running", "Installed, enabled, not running: fail with systemctl as the fix.",
     [W("agent.not-running", "fail", "sudo systemctl enable --now amazon-ssm-agent", "3.3.1142.0")],
     lambda o: o["agent"].update({"running": False, "pids": None, "agents": None, "proxy_checked": False,
        "proxy_reason": "not checked: the agent is not running"}))

case("agent-snap-not-running", "The snap is installed and not running: the fix is snap start.",
     [W("agent.not-running", "fail", "sudo snap start --enable amazon-ssm-agent")],
     lambda o: o["agent"].update({"running": False, "pids": None, "agents": None,
        "install": [{"kind": "binary", "path": "/snap/amazon-ssm-agent/current/amazon-ssm-agent"},
                    {"kind": "snap", "path": "/snap/amazon-ssm-agent/current", "detail": "revision 7993"}],
        "units": [{"path": "/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service", "enabled": True, "masked": False}],
        "version": "3.2.1705.0", "version_source": "snap"}))

case("agent-running-unchecked", "The process table could not be read (needs root): no agent.not-running finding.", [],
     lambda o: o["agent"].update({"running_checked": False, "running": False, "pids": None, "agents": None,
        "running_reason": "not checked: permission denied", "proxy_checked": False}))

case("agent-too-old", "Agent 2.3.50.0 is below the Session Manager minimum: fail, listing the features it lacks.",
     [W("agent.outdated", "fail", "2.3.68.0", "Session Manager", "lacks port forwarding and SSH through sessions (needs 3.0.222.0)")],
     lambda o: o["agent"].update({"version": "2.3.50.0", "version_source": "log"}))

case("agent-old-with-profile", "Agent 3.1 with an instance profile: DHMC is not needed, so no finding.", [],
     lambda o: o["agent"].update({"version": "3.1.1080.0"}))

case("agent-hibernating", "hibernate.log shows back-off: warn with restart advice.",
     [W("agent.hibernating", "warn", "/var/log/amazon/ssm/hibernate.log", "1200 s", "sudo systemctl restart amazon-ssm-agent", "1h25m0s old")],
     lambda o: o["agent"].update({"hibernation": {"path": "/var/log/amazon/ssm/hibernate.log", "hibernating": True, "lines": 4,
        "first": "2024-06-01 10:00:00", "last": "2024-06-01 10:35:00", "last_time": "2024-06-01T10:35:00Z",
        "last_message": "Backing off health check to every 1200 seconds for 3600 seconds.", "backoff_seconds": 1200}}))

case("agent-hibernation-log-quiet", "hibernate.log exists without hibernation lines: no finding.", [],
     lambda o: o["agent"].update({"hibernation": {"path": "/var/log/amazon/ssm/hibernate.log", "hibernating": False, "lines": 0}}))

case("agent-overrides", "The agent config overrides region and endpoints: info listing each.",
     [W("agent.endpoint-override", "info", "/etc/amazon/ssm/amazon-ssm-agent.json", "Ssm.Endpoint = https://vpce-0abc-ssm.ap-northeast-1.vpce.amazonaws.com", "Agent.Region = ap-northeast-1")],
     lambda o: o["agent"].update({"config": {"path": "/etc/amazon/ssm/amazon-ssm-agent.json", "region": "ap-northeast-1",
        "ssm_endpoint": "https://vpce-0abc-ssm.ap-northeast-1.vpce.amazonaws.com",
        "mgs_endpoint": "https://vpce-0abc-ssmmessages.ap-northeast-1.vpce.amazonaws.com"}}))

case("agent-config-empty", "The agent config exists and overrides nothing: no finding.", [],
     lambda o: o["agent"].update({"config": {"path": "/etc/amazon/ssm/amazon-ssm-agent.json"}}))

case("host-disk-nearly-full", "Root file system (shared with the agent's state directory) at 3% free: warn, both paths named once.",
     [W("host.disk-full", "warn", "/ and /var/lib/amazon/ssm: 3.0% free", "df -h")],
     lambda o: o["host"].update({"disks": [disk("/", 3.0), disk("/var/lib/amazon/ssm", 3.0)]}))

case("host-inodes-full", "The agent's state directory on its own file system is out of inodes: fail.",
     [W("host.disk-full", "fail", "/var/lib/amazon/ssm", "inodes 0.5% free", "df -i")],
     lambda o: o["host"].update({"disks": [disk("/"), disk("/var/lib/amazon/ssm", 40.0, 0.5, fsid="0000000300000004")]}))

case("host-disk-edge", "Exactly 5% free is not below 5%: no finding.", [],
     lambda o: o["host"].update({"disks": [disk("/", 5.0, 5.0), disk("/var/lib/amazon/ssm", 5.0, 5.0)]}))

case("host-disk-unchecked", "Disks that could not be measured give no finding (the host check record says why).", [],
     lambda o: o["host"].update({"disks": [{"path": "/", "checked": False, "reason": "not checked: statfs: permission: permission denied",
        "free_percent": 0, "avail_percent": 0, "inodes_known": False, "free_inodes_percent": 0},
        {"path": "/var/lib/amazon/ssm", "checked": False, "reason": "not checked: not-found: no such file",
        "free_percent": 0, "avail_percent": 0, "inodes_known": False, "free_inodes_percent": 0}]}))

case("agent-zombie", "The only amazon-ssm-agent is a zombie (state Z, not reaped): not running, named as such; its environ is not read, so the verdict is not unknown.",
     [W("agent.not-running", "fail", "pid 4101 (amazon-ssm-agent) has exited (state Z, a zombie)", "its parent, pid 4100,", "sudo systemctl enable --now amazon-ssm-agent")],
     lambda o: o["agent"].update({"running": False, "pids": None, "agents": None, "proxy_checked": False,
        "proxy_reason": "not checked: the agent is not running",
        "excluded": [{"pid": 4101, "name": "amazon-ssm-agent", "by": "comm", "state": "Z", "ppid": 4100, "excluded": "exited"}]}))

case("agent-impostor-and-container", "Only an impostor (exec -a amazon-ssm-agent sleep) and a container's agent run: neither is this host's agent.",
     [W("agent.not-running", "fail", "calls itself amazon-ssm-agent but runs /usr/bin/sleep", "another PID namespace (pid:[4026532512])", "not taken as the agent's proxy settings")],
     lambda o: o["agent"].update({"running": False, "pids": None, "agents": None, "proxy_checked": False,
        "proxy_reason": "not checked: the agent is not running",
        "excluded": [{"pid": 600, "name": "amazon-ssm-agent", "by": "cmdline", "exe": "/usr/bin/sleep", "state": "S", "ppid": 1, "excluded": "not-agent-binary"},
                     {"pid": 1500, "name": "amazon-ssm-agent", "by": "cmdline", "exe": "/usr/bin/amazon-ssm-agent", "state": "S", "ppid": 1499,
                      "excluded": "other-pid-namespace", "pid_namespace": "pid:[4026532512]"}]}))

def strip_none(v):
    if isinstance(v, dict):
        return {k: strip_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [strip_none(x) for x in v]
    return v

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "identity")
os.makedirs(out, exist_ok=True)
for name, c in CASES.items():
    with open(os.path.join(out, name + ".json"), "w") as fh:
        json.dump(strip_none(c), fh, indent=2, ensure_ascii=False)
        fh.write("\n")
print(len(CASES), "cases")
