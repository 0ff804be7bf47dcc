package diagnose

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/host"
	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
	"github.com/ssm-probe/ssm-probe/probe/inotify"
	"github.com/ssm-probe/ssm-probe/probe/obs"
	"github.com/ssm-probe/ssm-probe/probe/prefs"
	"github.com/ssm-probe/ssm-probe/probe/routes"
	"github.com/ssm-probe/ssm-probe/probe/users"
)

const operatorFixtures = "testdata/obs/operators"

// TestDiagnoseOperators table-tests the rules for the failures operators
// report most from the fixtures in testdata/obs/operators. Each
// case is the healthy EC2 instance of testdata/obs/identity with one change.
func TestDiagnoseOperators(t *testing.T) {
	fixtureDir(t, operatorFixtures, operatorScenarios(t))
}

// healthyEC2 loads the healthy EC2 observations of the identity fixtures.
func healthyEC2(t *testing.T) *obs.Observations {
	t.Helper()
	return identityObs(t, "healthy-ec2")
}

// identityObs loads the observations of one identity fixture.
func identityObs(t *testing.T, name string) *obs.Observations {
	t.Helper()
	b, err := os.ReadFile("testdata/obs/identity/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Observations obs.Observations }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return &f.Observations
}

// opEvent is a log summary of kind k whose last line is ago before the
// identity fixtures' run time.
func opEvent(o *obs.Observations, k journal.Kind, ago time.Duration, text string, values ...string) journal.Summary {
	last := o.StartedAt.Add(-ago)
	var apis []string
	if k == journal.KindKMSDataKeyFailed {
		apis = []string{"kms:Decrypt"}
	}
	return journal.Summary{APIs: apis, Kind: k, Count: 3, First: last.Add(-10 * time.Minute), Last: last, Values: values,
		Samples: []journal.Sample{{Source: agent.AgentLogPath + ":120", Time: last, Text: text}}}
}

func withEvents(o *obs.Observations, evs ...journal.Summary) *obs.Observations {
	o.Logs = &journal.Result{Sources: []journal.Source{{Name: agent.AgentLogPath, Kind: journal.SourceFile, Status: journal.StatusRead}}, Events: evs}
	return o
}

func opFx(comment string, o *obs.Observations, want ...wantFinding) fixture {
	return fixture{Comment: comment, Want: want, Observations: *o}
}

// withUsers gives o a local user database: root, ec2-user and the names
// given, a writable /etc/passwd, useradd and /etc/sudoers.d.
func withUsers(o *obs.Observations, names ...string) *obs.Observations {
	o.Users = &users.Facts{Root: "/", PasswdRead: true, Users: append([]string{"root", "ec2-user"}, names...), Sources: []string{"files"},
		Passwd: users.Writable{Checked: true, Mode: "-rw-r--r--", OwnerWritable: true}, Useradd: "/usr/sbin/useradd", SudoersDir: true}
	return o
}

// usersCut marks o's user list as cut at users.MaxUsers: the names it
// holds stand for the first 8,192 of 9,500.
func usersCut(o *obs.Observations) *obs.Observations {
	o.Users.UsersTruncated = true
	return o
}

// passwdUnread makes o's /etc/passwd unreadable for want of permission.
func passwdUnread(o *obs.Observations) *obs.Observations {
	o.Users.PasswdRead, o.Users.Users = false, nil
	o.Users.Problems = []rootfs.Problem{{Path: users.PasswdPath, Class: errclass.Permission, Detail: "open /etc/passwd: permission denied"}}
	return o
}

// passwdAbsent removes o's /etc/passwd.
func passwdAbsent(o *obs.Observations) *obs.Observations {
	o.Users.PasswdRead, o.Users.Users = false, nil
	o.Users.Problems = []rootfs.Problem{{Path: users.PasswdPath, Class: errclass.NotFound, Detail: "lstat /etc/passwd: no such file or directory"}}
	return o
}

// withPrefsDoc gives o the preferences document p, read with a 200.
func withPrefsDoc(o *obs.Observations, p prefs.Preferences) *obs.Observations {
	o.Prefs = &obs.PrefsObs{Region: "ap-northeast-1", Role: "app-ssm-role", Document: &prefs.DocumentResult{
		Call:     &prefs.Call{API: "ssm:GetDocument", Host: "ssm.ap-northeast-1.amazonaws.com", Status: 200},
		Document: &prefs.Document{Name: prefs.DocumentName, Version: "3", Format: "JSON", Status: "Active", Prefs: &p}}}
	return o
}

// withInotify gives o inotify facts: root holds instances of max 128.
func withInotify(o *obs.Observations, instances int, filesAllocated int64) *obs.Observations {
	o.Inotify = &inotify.Facts{Checked: true, MaxUserInstances: 128, MaxUserWatches: 65536, FilesAllocated: filesAllocated, FilesMax: 100000,
		RootInstances: instances, RootWatches: 3 * instances, Procs: 140,
		Holders: []inotify.Holder{{PID: 4242, Comm: "node", UID: 0, Instances: instances - 4, Watches: 3 * (instances - 4)}, {PID: 812, Comm: "amazon-ssm-agen", UID: 0, Instances: 4, Watches: 12}}}
	return o
}

// withRoutes gives o routing facts and a plan whose three required
// endpoints end with domain (".amazonaws.com" or ".api.aws"). No DNS was
// observed for the plan, so probe.incomplete (info) names the agent paths
// that could not be looked at.
func withRoutes(o *obs.Observations, ipv6Only bool, domain string) *obs.Observations {
	o.Routes = &routes.Facts{Checked: true, IPv6Default: "ens5", IPv6Addrs: []string{"2600:1f18::a11"}}
	if !ipv6Only {
		o.Routes.IPv4Default, o.Routes.IPv4Addrs = "ens5", []string{"10.0.5.17"}
	}
	o.Plan = &obs.Plan{Region: "ap-northeast-1", RegionSource: "imds", Domain: "amazonaws.com", DomainSource: "imds"}
	for _, svc := range []obs.Service{obs.ServiceSSM, obs.ServiceSSMMessages, obs.ServiceEC2Messages} {
		o.Plan.Endpoints = append(o.Plan.Endpoints, obs.Endpoint{Service: svc, Host: string(svc) + ".ap-northeast-1" + domain, Required: true, Why: "the agent's channel"})
	}
	o.Plan.Endpoints = append(o.Plan.Endpoints, obs.Endpoint{Service: "s3", Host: "s3.ap-northeast-1.amazonaws.com", Why: "optional"})
	return o
}

func operatorScenarios(t *testing.T) map[string]fixture {
	fwLine := "2024-06-01 11:59:41.0070 ERROR [ssm-session-worker] [alice-0123456789abcdef0] filewatcher listener encountered error when start watcher: too many open files"
	runAs := prefs.Preferences{SessionType: "Standard_Stream", RunAsEnabled: true, RunAsDefaultUser: "appuser"}
	runAsOff := prefs.Preferences{SessionType: "Standard_Stream"}
	kmsKey := "arn:aws:kms:ap-northeast-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	kmsPrefs := prefs.Preferences{SessionType: "Standard_Stream", KMSKeyID: kmsKey}
	kmsLine := "2024-06-01 11:58:30.1180 ERROR [ssm-session-worker] [alice-0123456789abcdef0] [DataBackend] Fetching data key failed: Unable to retrieve data key, AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/app-ssm-role/i-0123456789abcdef0 is not authorized to perform: kms:Decrypt on resource: " + kmsKey
	ptyLine := "2024-06-01 11:58:02.4400 ERROR [ssm-session-worker] [alice-0123456789abcdef0] [DataBackend] [pluginName=Standard_Stream] Unable to start command: failed to start pty since RunAs user appuser does not exist"
	readOnly := func(o *obs.Observations) *obs.Observations {
		o.Users.Passwd.ReadOnlyMount = true
		o.Users.Useradd = ""
		return o
	}
	hybridReg := func(o *obs.Observations) *obs.Observations {
		o.Agent.Registration = &agent.Registration{Path: agent.RegistrationPath, ManagedInstanceID: "mi-0a1b2c3d4e5f60718", Region: "eu-west-1"}
		return o
	}
	vault := func(o *obs.Observations, entries ...agent.VaultEntry) *obs.Observations {
		o.Agent.Vault = &agent.Vault{Manifest: true, Entries: entries, Fingerprint: agent.VaultStoreDir + "/" + agent.VaultFingerprintKey}
		return o
	}
	regKey := agent.VaultEntry{Key: agent.VaultRegistrationKey, Path: agent.VaultStoreDir + "/" + agent.VaultRegistrationKey, InstanceID: "mi-0a1b2c3d4e5f60718", Region: "eu-west-1"}
	otherEC2 := agent.VaultEntry{Key: agent.VaultEC2RegistrationKey, Path: agent.VaultStoreDir + "/" + agent.VaultEC2RegistrationKey, InstanceID: "i-0fedcba9876543210", Region: "ap-northeast-1"}
	ownEC2 := otherEC2
	ownEC2.InstanceID = "i-0123456789abcdef0"
	offline := func(o *obs.Observations) *obs.Observations {
		o.Live, o.Offline, o.IMDS = false, true, nil
		o.Host.EC2 = host.EC2Identity{Verdict: host.EC2Unknown, Reason: "no DMI or hypervisor identity file under the root"}
		return o
	}
	return map[string]fixture{
		"registration-cloned-hybrid": opFx("An AMI baked from a hybrid node: the registration file and the Vault hold mi-…, the logs show the OnPrem identity taken.",
			withEvents(vault(hybridReg(healthyEC2(t)), regKey), opEvent(healthyEC2(t), journal.KindIdentitySelected, time.Hour,
				"2024-06-01 11:00:00.0000 INFO [amazon-ssm-agent] Agent will take identity from OnPrem", "OnPrem")),
			w(AgentForeignRegistration, finding.SevFail)),
		"registration-other-instance": opFx("The Vault's EC2RegistrationKey names another instance (a cloned root volume).",
			vault(healthyEC2(t), otherEC2), w(AgentForeignRegistration, finding.SevFail)),
		"registration-own-instance": opFx("The Vault's EC2RegistrationKey names this instance: healthy.",
			vault(healthyEC2(t), ownEC2)),
		"registration-hybrid-server": opFx("A real hybrid server (not EC2, no IMDS): its registration is its own.",
			func() *obs.Observations {
				o := hybridReg(healthyEC2(t))
				o.IMDS = nil
				o.Host.EC2 = host.EC2Identity{Verdict: host.EC2No}
				return o
			}()),
		"registration-offline-unknown": opFx("--root on a volume whose EC2 identity cannot be read, holding a hybrid registration: warn.",
			offline(vault(healthyEC2(t), regKey)), w(AgentForeignRegistration, finding.SevWarn)),
		"registration-offline-dmi": opFx("--root where the DMI identity says EC2 and the registration file holds mi-…: fail.",
			func() *obs.Observations {
				o := hybridReg(offline(healthyEC2(t)))
				o.Host.EC2 = healthyEC2(t).Host.EC2
				return o
			}(), w(AgentForeignRegistration, finding.SevFail)),

		"runas-user-missing": opFx("Run As on with appuser, which /etc/passwd does not hold: every session fails.",
			withPrefsDoc(withUsers(healthyEC2(t), "ssm-user"), runAs), w(SessionRunAsUserMissing, finding.SevFail)),
		"runas-user-present": opFx("Run As on with appuser, which exists: healthy.",
			withPrefsDoc(withUsers(healthyEC2(t), "appuser"), runAs)),
		"runas-user-sssd": opFx("Run As user not in /etc/passwd, but nsswitch asks sss: warn, the directory may serve it.",
			func() *obs.Observations {
				o := withPrefsDoc(withUsers(healthyEC2(t)), runAs)
				o.Users.Sources = []string{"files", "sss"}
				return o
			}(), w(SessionRunAsUserMissing, finding.SevWarn)),
		"runas-user-sssd-logs": opFx("Run As user not in /etc/passwd, nsswitch asks sss, and the agent says the user does not exist, a minute ago: fail.",
			func() *obs.Observations {
				o := withPrefsDoc(withUsers(healthyEC2(t)), runAs)
				o.Users.Sources = []string{"files", "sss"}
				return withEvents(o, opEvent(o, journal.KindRunAsUserMissing, time.Minute, ptyLine, "appuser"))
			}(), w(SessionRunAsUserMissing, finding.SevFail)),
		"runas-logs-only": opFx("Preferences unreadable; the agent's logs show the pty error a minute ago: fail, named from the logs.",
			withEvents(withUsers(healthyEC2(t)), opEvent(healthyEC2(t), journal.KindRunAsUserMissing, time.Minute, ptyLine, "appuser")),
			w(SessionRunAsUserMissing, finding.SevFail)),
		"runas-logs-stale-prefs-off": opFx("The pty error is in the logs, but Run As is now off and ssm-user exists: the lines are history.",
			withPrefsDoc(withEvents(withUsers(healthyEC2(t), "ssm-user"), opEvent(healthyEC2(t), journal.KindRunAsUserMissing, time.Minute, ptyLine, "appuser")), runAsOff)),
		"runas-no-default-user": opFx("Run As on with no default user.",
			withPrefsDoc(withUsers(healthyEC2(t)), prefs.Preferences{SessionType: "Standard_Stream", RunAsEnabled: true}), w(SessionRunAsUserMissing, finding.SevFail)),
		"ssm-user-uncreatable": opFx("Run As off, no ssm-user, /etc read-only and no useradd: the agent cannot create it.",
			withPrefsDoc(readOnly(withUsers(healthyEC2(t))), runAsOff), w(SessionSSMUserUncreatable, finding.SevFail)),
		"ssm-user-uncreatable-prefs-unknown": opFx("Same host, preferences unreadable: warn, since Run As may be on.",
			readOnly(withUsers(healthyEC2(t))), w(SessionSSMUserUncreatable, finding.SevWarn)),
		"ssm-user-creatable": opFx("Run As off, no ssm-user yet, but the agent can create it: healthy.",
			withPrefsDoc(withUsers(healthyEC2(t)), runAsOff)),
		"ssm-user-create-failed-logs": opFx("Run As off; the agent logged a minute ago that it failed to create ssm-user: fail.",
			withPrefsDoc(withEvents(withUsers(healthyEC2(t)), opEvent(healthyEC2(t), journal.KindSSMUserCreateFailed, time.Minute,
				"2024-06-01 11:58:01.9930 ERROR [ssm-session-worker] [alice-0123456789abcdef0] Failed to create ssm-user: exit status 1")), runAsOff),
			w(SessionSSMUserUncreatable, finding.SevFail)),
		"runas-user-unchecked-passwd-unread": opFx("Run As on with appuser, and /etc/passwd could not be read (permission): whether appuser exists is not checked, a warn, never silent.",
			withPrefsDoc(passwdUnread(withUsers(healthyEC2(t))), runAs),
			wt(SessionUserUnchecked, finding.SevWarn, "appuser", "/etc/passwd could not be read (open /etc/passwd: permission denied)", "getent passwd appuser")),
		"runas-user-unchecked-passwd-cut": opFx("Run As on with appuser, /etc/passwd over the read bound: appuser was not among what was read, so it is not checked, never missing.",
			func() *obs.Observations {
				o := withPrefsDoc(withUsers(healthyEC2(t), "ssm-user"), runAs)
				o.Users.PasswdCut, o.Users.UsersCount = true, 1048576
				o.Users.Lookups = []users.Lookup{{Name: users.DefaultUser, Found: true}}
				o.Users.Problems = []rootfs.Problem{{Path: users.PasswdPath, Class: errclass.Malformed, Detail: "read /etc/passwd: file too large of 67108864 bytes"}}
				return o
			}(), wt(SessionUserUnchecked, finding.SevWarn, "was not read to its end (1048576 users read")),
		"runas-user-beyond-list": opFx("Run As on with appuser, /etc/passwd lists more than 8,192 users and appuser is not among the first kept (the list stands for those 8,192): not checked, never missing.",
			withPrefsDoc(usersCut(withUsers(healthyEC2(t), "ssm-user")), runAs),
			wt(SessionUserUnchecked, finding.SevWarn, "only the first 8192 are kept, without appuser")),
		"runas-user-in-cut-list": opFx("Near miss: the list is cut, but appuser is among the names kept: it exists, healthy.",
			withPrefsDoc(usersCut(withUsers(healthyEC2(t), "appuser")), runAs)),
		"runas-user-beyond-list-logs": opFx("The list is cut without appuser, and the agent logged a minute ago that appuser does not exist: the agent's own report, fail.",
			withEvents(withPrefsDoc(usersCut(withUsers(healthyEC2(t))), runAs), opEvent(healthyEC2(t), journal.KindRunAsUserMissing, time.Minute, ptyLine, "appuser")),
			wt(SessionRunAsUserMissing, finding.SevFail, "so the probe could not confirm it")),
		"ssm-user-unchecked-list-cut": opFx("Run As off, /etc read-only, no useradd, and a passwd list cut without ssm-user and no lookup of it (an older probe's observations): not checked, never uncreatable.",
			withPrefsDoc(usersCut(readOnly(withUsers(healthyEC2(t)))), runAsOff),
			wt(SessionUserUnchecked, finding.SevWarn, "whether it exists could not be checked", "/etc is on a read-only mount")),
		"ssm-user-found-beyond-list": opFx("Run As off, /etc read-only, no useradd; ssm-user is on line 9,002, beyond the list, and the lookup over the whole file found it: healthy.",
			func() *obs.Observations {
				o := withPrefsDoc(usersCut(readOnly(withUsers(healthyEC2(t)))), runAsOff)
				o.Users.Lookups = []users.Lookup{{Name: users.DefaultUser, Found: true}}
				return o
			}()),
		"ssm-user-absent-looked-up": opFx("Near miss: the list is cut, but the lookup over the whole file did not find ssm-user and /etc is read-only: uncreatable, fail.",
			func() *obs.Observations {
				o := withPrefsDoc(usersCut(readOnly(withUsers(healthyEC2(t)))), runAsOff)
				o.Users.Lookups = []users.Lookup{{Name: users.DefaultUser}}
				return o
			}(), w(SessionSSMUserUncreatable, finding.SevFail)),
		"ssm-user-unchecked-passwd-unread": opFx("Run As off, /etc read-only, no useradd, and /etc/passwd unreadable: whether ssm-user exists is not checked, a warn.",
			withPrefsDoc(passwdUnread(readOnly(withUsers(healthyEC2(t)))), runAsOff),
			wt(SessionUserUnchecked, finding.SevWarn, "useradd is not installed", "could not be read")),
		"runas-user-passwd-absent": opFx("Near miss: a root with no /etc/passwd at all (a test tree, a volume not fully mounted) is not a passwd the probe failed to read: the users check warns, no finding.",
			withPrefsDoc(passwdAbsent(withUsers(healthyEC2(t))), runAs)),
		"ssm-user-passwd-absent": opFx("Near miss: no /etc/passwd at all, Run As off, no useradd: the users check warns, no finding.",
			withPrefsDoc(passwdAbsent(readOnly(withUsers(healthyEC2(t)))), runAsOff)),
		"ssm-user-unread-creatable": opFx("Near miss: /etc/passwd unreadable, Run As off, but the agent can create ssm-user if it is missing: nothing to say.",
			withPrefsDoc(passwdUnread(withUsers(healthyEC2(t))), runAsOff)),

		"kms-denied": opFx("Sessions encrypted with a key the role may not decrypt with, a minute ago, and the preferences still name it: fail.",
			withPrefsDoc(withEvents(healthyEC2(t), opEvent(healthyEC2(t), journal.KindKMSDataKeyFailed, time.Minute, kmsLine, kmsKey)), kmsPrefs),
			w(SessionKMSAccessDenied, finding.SevFail)),
		"kms-denied-key-id": opFx("The preferences name the key by its ID: still the same key, fail.",
			withPrefsDoc(withEvents(healthyEC2(t), opEvent(healthyEC2(t), journal.KindKMSDataKeyFailed, time.Minute, kmsLine, kmsKey)),
				prefs.Preferences{SessionType: "Standard_Stream", KMSKeyID: "1234abcd-12ab-34cd-56ef-1234567890ab"}),
			w(SessionKMSAccessDenied, finding.SevFail)),
		"kms-denied-old": opFx("The same lines, three hours old: warn.",
			withPrefsDoc(withEvents(healthyEC2(t), opEvent(healthyEC2(t), journal.KindKMSDataKeyFailed, 3*time.Hour, kmsLine, kmsKey)), kmsPrefs),
			w(SessionKMSAccessDenied, finding.SevWarn)),
		"kms-denied-other-key": opFx("The lines name a key the preferences no longer use: warn.",
			withPrefsDoc(withEvents(healthyEC2(t), opEvent(healthyEC2(t), journal.KindKMSDataKeyFailed, time.Minute, kmsLine, kmsKey)),
				prefs.Preferences{SessionType: "Standard_Stream", KMSKeyID: "arn:aws:kms:ap-northeast-1:123456789012:key/99999999-0000-1111-2222-333333333333"}),
			w(SessionKMSAccessDenied, finding.SevWarn)),
		"kms-prefs-unknown": opFx("Recent lines, preferences unreadable: warn.",
			withEvents(healthyEC2(t), opEvent(healthyEC2(t), journal.KindKMSDataKeyFailed, time.Minute, kmsLine, kmsKey)),
			w(SessionKMSAccessDenied, finding.SevWarn)),
		"kms-prefs-off": opFx("Recent lines, but the preferences no longer encrypt sessions: nothing to fix.",
			withPrefsDoc(withEvents(healthyEC2(t), opEvent(healthyEC2(t), journal.KindKMSDataKeyFailed, time.Minute, kmsLine, kmsKey)), runAsOff)),

		"inotify-exhausted-logs": opFx("Root holds all 128 inotify instances and the workers logged the filewatcher error a minute ago: fail.",
			withEvents(withInotify(healthyEC2(t), 128, 2000), opEvent(healthyEC2(t), journal.KindFilewatcherError, time.Minute, fwLine, "too many open files")),
			w(HostInotifyExhausted, finding.SevFail)),
		"inotify-logs-only": opFx("The filewatcher error a minute ago, no live counts (not root): fail, with the sysctl chosen from the error.",
			withEvents(healthyEC2(t), opEvent(healthyEC2(t), journal.KindFilewatcherError, time.Minute, fwLine, "too many open files")),
			w(HostInotifyExhausted, finding.SevFail)),
		"inotify-logs-old": opFx("The filewatcher error three hours ago, plenty of instances now: warn.",
			withEvents(withInotify(healthyEC2(t), 12, 2000), opEvent(healthyEC2(t), journal.KindFilewatcherError, 3*time.Hour, fwLine, "too many open files")),
			w(HostInotifyExhausted, finding.SevWarn)),
		"inotify-near-limit": opFx("Root holds 120 of 128 inotify instances, no error yet: warn.",
			withInotify(healthyEC2(t), 120, 2000), w(HostInotifyExhausted, finding.SevWarn)),
		"inotify-files-near-limit": opFx("95% of the system's file handles are in use: warn.",
			withInotify(healthyEC2(t), 12, 95000), w(HostInotifyExhausted, finding.SevWarn)),
		"inotify-logs-offline": opFx("ssm-probe logs on the filewatcher error a minute old: warn, since nothing live confirms it.",
			func() *obs.Observations {
				o := withEvents(healthyEC2(t), opEvent(healthyEC2(t), journal.KindFilewatcherError, time.Minute, fwLine, "too many open files"))
				o.Live, o.IMDS, o.Agent, o.Host = false, nil, nil, nil
				return o
			}(), w(HostInotifyExhausted, finding.SevWarn)),
		"runas-logs-offline": opFx("ssm-probe logs on the pty error a minute old: warn, since nothing live confirms it.",
			func() *obs.Observations {
				o := withEvents(healthyEC2(t), opEvent(healthyEC2(t), journal.KindRunAsUserMissing, time.Minute, ptyLine, "appuser"))
				o.Live, o.IMDS, o.Agent, o.Host, o.Users = false, nil, nil, nil, nil
				return o
			}(), w(SessionRunAsUserMissing, finding.SevWarn)),
		"inotify-healthy": opFx("12 of 128 instances, 2% of file handles: healthy.",
			withInotify(healthyEC2(t), 12, 2000)),
		"inotify-watches-lower-bound-near": opFx("The scan stopped at its bounds after counting 180,000 of 192,540 watches: a lower bound already at 93%, warn, and it says \"at least\".",
			func() *obs.Observations {
				o := withInotify(healthyEC2(t), 12, 2000)
				o.Inotify.MaxUserWatches, o.Inotify.RootWatches, o.Inotify.Truncated = 192540, 180000, true
				return o
			}(), wt(HostInotifyExhausted, finding.SevWarn, "at least 180000 of fs.inotify.max_user_watches 192540", "the counts are lower bounds", "at least this close", "fs.inotify.max_user_watches=524288")),
		"inotify-instances-lower-bound-unreadable": opFx("Not root: 116 of 128 instances counted, other processes' descriptors unreadable: warn on the lower bound.",
			func() *obs.Observations {
				o := withInotify(healthyEC2(t), 116, 2000)
				o.Inotify.Unreadable = 40
				return o
			}(), wt(HostInotifyExhausted, finding.SevWarn, "at least 116 of fs.inotify.max_user_instances 128", "could not be read (needs root)")),
		"inotify-watches-cut-below": opFx("Some instances' fdinfo could not be read to the end and the count stays at 8,492 of 192,540: no finding (a lower bound far from the limit proves nothing; the inotify check warns that it is one).",
			func() *obs.Observations {
				o := withInotify(healthyEC2(t), 12, 2000)
				o.Inotify.MaxUserWatches, o.Inotify.RootWatches, o.Inotify.WatchesCut = 192540, 8492, 1
				return o
			}()),
		"inotify-watches-near-miss": opFx("Exact counts just under 90%: 173,285 of 192,540 watches (89.99%): healthy.",
			func() *obs.Observations {
				o := withInotify(healthyEC2(t), 12, 2000)
				o.Inotify.MaxUserWatches, o.Inotify.RootWatches = 192540, 173285
				return o
			}()),

		"ipv6-only-standard-names": opFx("IPv6-only host (no IPv4 route or address) whose agent uses the IPv4-only standard names: fail with the config change.",
			withRoutes(healthyEC2(t), true, ".amazonaws.com"), w(NetIPv6OnlyEndpoints, finding.SevFail), w(ProbeIncomplete, finding.SevInfo)),
		"ipv6-only-dual-stack-names": opFx("IPv6-only host whose agent config names the dual-stack endpoints: nothing to fix.",
			withRoutes(healthyEC2(t), true, ".api.aws"), w(ProbeIncomplete, finding.SevInfo)),
		"dual-stack-host": opFx("A host with both families and the standard names: not IPv6-only.",
			withRoutes(healthyEC2(t), false, ".amazonaws.com"), w(ProbeIncomplete, finding.SevInfo)),
		"ipv6-only-imds-unreachable": opFx("IPv6-only host where IMDS at 169.254.169.254 cannot be reached: imds.unreachable folds into net.ipv6-only-endpoints, which carries the IMDS IPv6 fix.",
			withRoutes(identityObs(t, "imds-unreachable-ec2"), true, ".amazonaws.com"), w(NetIPv6OnlyEndpoints, finding.SevFail), w(ProbeIncomplete, finding.SevInfo)),
	}
}
