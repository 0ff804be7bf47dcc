#!/usr/bin/env python3
"""Builds the fixture trees under testdata/roots. Run from probe/agent:
python3 testdata/mkroots.py. The trees are committed; this script documents
how they were made (symbolic links and NUL-separated /proc files)."""
import os, shutil

R = os.path.join(os.path.dirname(os.path.abspath(__file__)), "roots")

def w(case, path, data, mode=0o644):
    p = os.path.join(R, case, path.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(p, mode)

def ln(case, path, target):
    p = os.path.join(R, case, path.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    os.symlink(target, p)

DPKG_OTHER = """Package: adduser
Status: install ok installed
Priority: important
Version: 3.134
Description: add and remove users and groups
 This package includes the 'adduser' and 'deluser' commands.

"""
LOG_OLD_NEW = """2024-03-01 09:00:00 INFO [amazon-ssm-agent] amazon-ssm-agent - v3.2.2303.0
2024-03-01 09:00:00 INFO [amazon-ssm-agent] OS: linux, Arch: amd64
2024-05-10 12:30:01.1234 INFO [amazon-ssm-agent] amazon-ssm-agent - v3.3.1142.0
2024-05-10 12:30:01.1240 INFO [ssm-agent-worker] ssm-agent-worker - v3.3.1142.0
"""
AGENT_BIN = "#!/bin/sh\necho 'fixture: not a real agent'\n"

shutil.rmtree(R, ignore_errors=True)

# deb: Ubuntu-style package install, enabled unit, identity from the instance profile.
c = "deb"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
w(c, "/lib/systemd/system/amazon-ssm-agent.service", "[Service]\nExecStart=/usr/bin/amazon-ssm-agent\nRestart=always\n")
ln(c, "/etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service", "/lib/systemd/system/amazon-ssm-agent.service")
w(c, "/var/lib/dpkg/status", DPKG_OTHER + """Package: amazon-ssm-agent
Status: install ok installed
Priority: optional
Installed-Size: 101234
Version: 3.3.1142.0-1
Description: Amazon SSM Agent
 Manage instances.
""")
w(c, "/var/log/amazon/ssm/amazon-ssm-agent.log", LOG_OLD_NEW)
w(c, "/var/lib/amazon/ssm/runtimeconfig/identity_config.json", '{"CredentialSource":"EC2"}\n')

# snap: Ubuntu snap install; /usr/bin has no agent, version from meta/snap.yaml.
c = "snap"
w(c, "/snap/amazon-ssm-agent/7993/amazon-ssm-agent", AGENT_BIN, 0o755)
w(c, "/snap/amazon-ssm-agent/7993/meta/snap.yaml", "name: amazon-ssm-agent\nversion: '3.2.1705.0'\nsummary: Amazon SSM Agent\napps:\n  amazon-ssm-agent:\n    version: nested-not-top-level\n")
ln(c, "/snap/amazon-ssm-agent/current", "7993")
w(c, "/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service", "[Service]\nExecStart=/usr/bin/snap run amazon-ssm-agent\n")
ln(c, "/etc/systemd/system/multi-user.target.wants/snap.amazon-ssm-agent.amazon-ssm-agent.service", "/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service")
w(c, "/var/lib/dpkg/status", DPKG_OTHER)

# not-installed: removed with its configuration kept; a masked unit is no evidence.
c = "not-installed"
w(c, "/var/lib/dpkg/status", DPKG_OTHER + "Package: amazon-ssm-agent\nStatus: deinstall ok config-files\nVersion: 3.0.1124.0-1\n")
ln(c, "/etc/systemd/system/amazon-ssm-agent.service", "/dev/null")
w(c, "/etc/amazon/ssm/amazon-ssm-agent.json.template", "{}\n")

# old: an rpm host (database only, offline) running agent 2.3.50.0, below the Session Manager minimum.
c = "old"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
w(c, "/etc/systemd/system/amazon-ssm-agent.service", "[Service]\nExecStart=/usr/bin/amazon-ssm-agent\n")
w(c, "/var/lib/rpm/Packages", b"\x00\x06\x15\x61" + b"\x00" * 60)
w(c, "/var/log/amazon/ssm/amazon-ssm-agent.log", "2019-01-02 03:04:05 INFO Starting Agent: amazon-ssm-agent - v2.3.50.0\n2019-01-02 03:04:06 INFO OS: linux, Arch: amd64\n")

# overrides: endpoint, region and domain overrides in the agent config, keys in mixed case.
c = "overrides"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
w(c, "/etc/amazon/ssm/amazon-ssm-agent.json", """{
  "Profile": {"ShareCreds": true},
  "Mds": {"Endpoint": "https://vpce-0abc-ec2messages.ap-northeast-1.vpce.amazonaws.com", "CommandWorkersLimit": 5},
  "Ssm": {"Endpoint": " https://vpce-0abc-ssm.ap-northeast-1.vpce.amazonaws.com ", "HealthFrequencyMinutes": 5},
  "Mgs": {"Region": "", "Endpoint": "https://vpce-0abc-ssmmessages.ap-northeast-1.vpce.amazonaws.com"},
  "Agent": {"Region": "ap-northeast-1", "serviceDomain": "amazonaws.com", "OrchestrationRootDir": ""},
  "S3": {"Endpoint": "", "Region": "", "LogBucket": ""},
  "Kms": {"Endpoint": "https://kms.ap-northeast-1.amazonaws.com"}
}
""")

# malformed: a config the agent cannot decode, an identity file that is not JSON, a registration with an EC2 ID.
c = "malformed"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
w(c, "/etc/amazon/ssm/amazon-ssm-agent.json", '{"Agent": {"Region": "us-east-1",}}\n')
w(c, "/var/lib/amazon/ssm/runtimeconfig/identity_config.json", "\x00\x01binary")
w(c, "/var/lib/amazon/ssm/registration", '{"ManagedInstanceID":"i-0123456789abcdef0","Region":"us-east-1"}')

# hibernating: hibernate.log shows the agent backing off.
c = "hibernating"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
w(c, "/var/log/amazon/ssm/hibernate.log", """2024-06-01 10:00:00 INFO Entering SSM Agent hibernate - AccessDeniedException: Systems Manager's instance management role is not configured for account: 111122223333
\tstatus code: 400, request id: 1b2c
2024-06-01 10:00:00 INFO Agent is in hibernate mode. Reducing logging. Logging will be reduced to one log per backoff period
2024-06-01 10:05:00 INFO Backing off health check to every 600 seconds for 1800 seconds.
2024-06-01 10:35:00 INFO Backing off health check to every 1200 seconds for 3600 seconds.
2024-06-01 11:35:00 DEBUG Health ping succeeded? no
""")

# proxy: a live-looking process table with the agent, two workers and a proxy environment.
c = "proxy"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
HOST_PID_NS = "pid:[4026531836]"
HOST_NS = {"pid": HOST_PID_NS, "mnt": "mnt:[4026531841]", "net": "net:[4026531840]"}
# A container's: its own PID, mount and network namespaces.
CONTAINER_NS = {"pid": "pid:[4026532512]", "mnt": "mnt:[4026532510]", "net": "net:[4026532515]"}
# A container run with --pid=host: the host's PID namespace, its own mount
# and network namespaces.
HOSTPID_NS = {"pid": HOST_PID_NS, "mnt": "mnt:[4026532610]", "net": "net:[4026532615]"}
def proc(pid, comm, argv, environ=None, exe=None, state="S", ppid=1, ns=HOST_NS, uid=0, cgroup=None):
    """One /proc/<pid> of case c: comm, cmdline, stat (proc(5): pid, (comm),
    state, ppid, then the process group and session), status (its Uid:
    line: real, effective, saved, file system), and when given the environ,
    the cgroup file, the exe link and the ns/pid, ns/mnt and ns/net links (a zombie has
    none)."""
    w(c, f"/proc/{pid}/comm", comm + "\n")
    w(c, f"/proc/{pid}/cmdline", "".join(a + "\0" for a in argv))
    w(c, f"/proc/{pid}/stat", f"{pid} ({comm}) {state} {ppid} {pid} {pid} 0 -1 4194560 120 0 0 0 3 1 0 0 20 0 1 0 1234\n")
    w(c, f"/proc/{pid}/status", f"Name:\t{comm}\nUmask:\t0022\nState:\t{state}\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t{ppid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{uid}\t{uid}\t{uid}\t{uid}\n")
    if environ is not None:
        w(c, f"/proc/{pid}/environ", "".join(e + "\0" for e in environ))
    if cgroup is not None:
        w(c, f"/proc/{pid}/cgroup", cgroup)
    if exe:
        ln(c, f"/proc/{pid}/exe", exe)
    for k, v in (ns or {}).items():
        ln(c, f"/proc/{pid}/ns/{k}", v)
proc(1, "systemd", ["/sbin/init", "splash"], ["HOME=/"], "/usr/lib/systemd/systemd")
proc(812, "amazon-ssm-agen", ["/usr/bin/amazon-ssm-agent"], [
    "LANG=C.UTF-8", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin",
    "https_proxy=http://proxyuser:s3cret@proxy.corp.example:3128", "HTTP_PROXY=http://proxy.corp.example:3128",
    "http_proxy=http://lower.corp.example:8080", "no_proxy=localhost,127.0.0.1,.corp.example"],
    "/usr/bin/amazon-ssm-agent")
proc(840, "ssm-agent-worke", ["/usr/bin/ssm-agent-worker"], None, "/usr/bin/ssm-agent-worker (deleted)")
proc(901, "ssm-session-wor", [])  # cmdline empty, exe unreadable: named by comm
proc(950, "bash", ["tail", "-f", "/var/log/amazon/ssm/amazon-ssm-agent.log"])
ln(c, "/proc/self", "950")
w(c, "/proc/uptime", "1234.5 2000.1\n")

# no-environ: the agent runs but its environ cannot be read (missing here).
c = "no-environ"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
proc(1, "systemd", ["/sbin/init"], ["HOME=/"], "/usr/lib/systemd/systemd", ppid=0)
proc(77, "amazon-ssm-agen", [], None, "/usr/bin/amazon-ssm-agent")

# unverified: what the process table shows of the agent is its name and
# uid, as it shows a non-root probe root's processes: its exe and namespace
# links cannot be read (missing here), so whether it runs is not known.
c = "unverified"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
proc(1, "systemd", ["/sbin/init"], ["HOME=/"], "/usr/lib/systemd/systemd", ppid=0)
proc(812, "amazon-ssm-agen", ["/usr/bin/amazon-ssm-agent"], None, None, ns=None)

# hybrid: an on-premises server registered with an activation.
c = "hybrid"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
w(c, "/etc/systemd/system/amazon-ssm-agent.service", "[Service]\nExecStart=/usr/bin/amazon-ssm-agent\n")
w(c, "/var/lib/amazon/ssm/registration", '{"ManagedInstanceID":"mi-0123456789abcdef0","Region":"eu-west-1"}')
w(c, "/var/lib/amazon/ssm/runtimeconfig/identity_config.json", '{"CredentialSource":"None"}')

# procs: beside the host's agent (812) and a snap's (900), each in its
# unit's control group, the table holds
# what is not counted: an impostor with the lowest pid and a proxy
# environment (600: argv[0] amazon-ssm-agent, exe /usr/bin/sleep), a user's
# copy of the agent binary with its own proxy (610, uid 1000), an agent of
# a container run with --pid=host (620: the host's PID namespace, its own
# mount and network namespaces), a zombie agent (700), and a container's
# agent and worker in another PID namespace (1500, 1501). The proxy
# settings are the host agent's.
c = "procs"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
proc(1, "systemd", ["/sbin/init"], ["HOME=/"], "/usr/lib/systemd/systemd", ppid=0)
proc(600, "sleep", ["amazon-ssm-agent"], ["https_proxy=http://impostor.example:3128"], "/usr/bin/sleep")
proc(610, "amazon-ssm-agen", ["/usr/bin/amazon-ssm-agent"], ["https_proxy=http://alice.example:3128"], "/usr/bin/amazon-ssm-agent", ppid=605, uid=1000)
proc(620, "amazon-ssm-agen", ["/usr/bin/amazon-ssm-agent"], ["https_proxy=http://hostpid-container.example:3128"], "/usr/bin/amazon-ssm-agent", ppid=615, ns=HOSTPID_NS)
proc(700, "amazon-ssm-agen", [], state="Z", ppid=699, ns=None)
proc(699, "sleep", ["sleep", "600"], None, "/usr/bin/sleep")
proc(812, "amazon-ssm-agen", ["/usr/bin/amazon-ssm-agent"], ["https_proxy=http://proxy.corp.example:3128"], "/usr/bin/amazon-ssm-agent",
     cgroup="0::/system.slice/amazon-ssm-agent.service\n")
proc(900, "amazon-ssm-agen", ["/snap/amazon-ssm-agent/7993/amazon-ssm-agent"], ["PATH=/usr/bin"], "/snap/amazon-ssm-agent/7993/amazon-ssm-agent",
     cgroup="0::/system.slice/snap.amazon-ssm-agent.amazon-ssm-agent.service\n")
proc(1500, "amazon-ssm-agen", ["/usr/bin/amazon-ssm-agent"], ["https_proxy=http://container.example:3128"], "/usr/bin/amazon-ssm-agent", ppid=1499, ns=CONTAINER_NS)
proc(1501, "ssm-agent-worke", ["/usr/bin/ssm-agent-worker"], None, "/usr/bin/ssm-agent-worker", ppid=1500, ns=CONTAINER_NS)
proc(950, "bash", ["bash"], None, "/usr/bin/bash")
ln(c, "/proc/self", "950")

# zombie: the agent was killed and its parent has not reaped it (state Z):
# nothing runs the agent, and there is no environment to read.
c = "zombie"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
w(c, "/etc/systemd/system/amazon-ssm-agent.service", "[Service]\nExecStart=/usr/bin/amazon-ssm-agent\n")
proc(1, "systemd", ["/sbin/init"], ["HOME=/"], "/usr/lib/systemd/systemd", ppid=0)
proc(4100, "bash", ["bash", "-c", "exec sleep 600"], None, "/usr/bin/sleep")
proc(4101, "amazon-ssm-agen", [], state="Z", ppid=4100, ns=None)
proc(950, "bash", ["bash"], None, "/usr/bin/bash")
ln(c, "/proc/self", "950")

# user-agent: the only amazon-ssm-agent is a copy of the agent binary that
# uid 1000 runs with its own proxy; root's agent is not running.
c = "user-agent"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
w(c, "/etc/systemd/system/amazon-ssm-agent.service", "[Service]\nExecStart=/usr/bin/amazon-ssm-agent\n")
proc(1, "systemd", ["/sbin/init"], ["HOME=/"], "/usr/lib/systemd/systemd", ppid=0)
proc(3100, "amazon-ssm-agen", ["/usr/bin/amazon-ssm-agent"], ["https_proxy=http://alice:s3cret@alice.example:3128"], "/usr/bin/amazon-ssm-agent", ppid=3000, uid=1000)
proc(950, "bash", ["bash"], None, "/usr/bin/bash")
ln(c, "/proc/self", "950")

# hostpid-container: the only amazon-ssm-agent runs in a container started
# with --pid=host: the host's PID namespace, its own mount and network
# namespaces, and its own proxy. This host's agent is not running.
c = "hostpid-container"
w(c, "/usr/bin/amazon-ssm-agent", AGENT_BIN, 0o755)
w(c, "/etc/systemd/system/amazon-ssm-agent.service", "[Service]\nExecStart=/usr/bin/amazon-ssm-agent\n")
proc(1, "systemd", ["/sbin/init"], ["HOME=/"], "/usr/lib/systemd/systemd", ppid=0)
proc(3200, "amazon-ssm-agen", ["/usr/bin/amazon-ssm-agent"], ["https_proxy=http://container.example:3128"], "/usr/bin/amazon-ssm-agent", ppid=3190, ns=HOSTPID_NS)
proc(950, "bash", ["bash"], None, "/usr/bin/bash")
ln(c, "/proc/self", "950")
