package diagnose

import (
	"strings"
	"testing"
	"time"

	"github.com/ssm-probe/ssm-probe/journal"
	"github.com/ssm-probe/ssm-probe/probe/agent"
	"github.com/ssm-probe/ssm-probe/probe/finding"
)

const hybridFixtures = "testdata/obs/hybrid"

// TestDiagnoseHybrid table-tests the hybrid (on-premises) node: a genuine
// registration on a host with no EC2 identity and no IMDS raises nothing
// EC2-only, a deregistered node or a rejected activation fails naming the
// managed node, and a registration on a host that is EC2 stays foreign.
// The fixtures are written from hybridScenarios (go test -run
// TestDiagnoseHybrid ./probe/diagnose -update); every finding of the run is
// compared, not only the registration family's.
func TestDiagnoseHybrid(t *testing.T) {
	fixtureDir(t, hybridFixtures, hybridScenarios(t))
}

const (
	hyNode    = "mi-0a1b2c3d4e5f60718"
	hyOldNode = "mi-0fedcba9876543210"
	hyRegion  = "eu-west-1"
)

// hyEvent is a log summary of kind k, its last line ago before the
// identity fixtures' run (2024-06-01 12:00 UTC).
func hyEvent(k journal.Kind, ago time.Duration, text string, values ...string) journal.Summary {
	last := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC).Add(-ago)
	text = strings.Replace(text, "TIME", last.Format("2006-01-02 15:04:05.0000"), 1)
	return journal.Summary{Kind: k, Count: 2, First: last.Add(-30 * time.Minute), Last: last, Values: values,
		Samples: []journal.Sample{{Source: agent.AgentLogPath + ":42", Time: last, Text: text}}}
}

// The agent's lines of a hybrid node (docs/AGENT-FACTS.md, "Hybrid nodes").
func hyDeregisteredLine(id string) string {
	return "TIME INFO [ssm-agent-worker] Entering SSM Agent hibernate - error occurred in RequestManagedInstanceRoleToken: InvalidInstanceId: Not existing InstanceId " + id
}

func hyActivationLine(code string) string {
	return "TIME ERROR [amazon-ssm-agent] Registration failed due to error registering the instance with AWS SSM. " + code + ": activation rejected"
}

func hybridScenarios(t *testing.T) map[string]fixture {
	c := func(comment string, want []wantFinding, patches ...obj) fixture {
		return idCase(t, comment, want, patches...)
	}
	ws := func(w ...wantFinding) []wantFinding { return w }
	agentP := func(p obj) obj { return obj{"agent": p} }
	hostP := func(p obj) obj { return obj{"host": p} }
	registration := obj{"path": agent.RegistrationPath, "managed_instance_id": hyNode, "region": hyRegion}
	vault := obj{"manifest": true, "fingerprint": agent.VaultStoreDir + "/" + agent.VaultFingerprintKey,
		"entries": arr{obj{"key": agent.VaultRegistrationKey, "path": agent.VaultStoreDir + "/" + agent.VaultRegistrationKey,
			"instance_id": hyNode, "region": hyRegion}}}
	// An on-premises server: the agent holds its registration, IMDS
	// refuses TCP, and there is no DMI or hypervisor identity at all.
	onPrem := []obj{
		imdsRefused(),
		hostP(obj{"ec2": idUnknownEC2}),
		agentP(obj{"registration": registration, "vault": vault, "credential_source": "None"}),
	}
	with := func(base []obj, more ...obj) []obj { return append(append([]obj{}, base...), more...) }
	dereg := hyEvent(journal.KindNodeDeregistered, 20*time.Minute, hyDeregisteredLine(hyNode), hyNode)
	return map[string]fixture{
		"onprem-healthy": c("A healthy on-premises hybrid node: registered, IMDS refuses TCP, no DMI identity. Its registration is its own (no agent.foreign-registration), and IMDS is only info: nothing EC2-only is raised.",
			ws(wt(IMDSUnreachable, finding.SevInfo, hyNode, "on-premises hybrid node", "Nothing to fix for IMDS")),
			onPrem...),
		"onprem-healthy-qemu": c("A healthy hybrid node on a VM whose DMI names QEMU: the same.",
			ws(wt(IMDSUnreachable, finding.SevInfo, hyNode, "QEMU")),
			with(onPrem, hostP(obj{"ec2": idNotEC2}))...),
		"onprem-deregistered": c("A deregistered hybrid node: ssm answers InvalidInstanceId (Not existing InstanceId mi-…) and the agent hibernates: fail naming the node and the re-registration.",
			ws(wt(AgentHybridRegistrationInvalid, finding.SevFail, hyNode, "Not existing InstanceId", "amazon-ssm-agent -register -clear", "describe-instance-information", "--region "+hyRegion),
				wt(IMDSUnreachable, finding.SevInfo)),
			with(onPrem, logsPatch([]journal.Summary{dereg}))...),
		"onprem-deregistered-hibernating": c("The deregistered node's hibernate.log shows the back-off: the hibernation is a symptom, folded into the registration finding.",
			ws(wt(AgentHybridRegistrationInvalid, finding.SevFail, hyNode, "also explains"),
				wt(IMDSUnreachable, finding.SevInfo)),
			with(onPrem, logsPatch([]journal.Summary{dereg}),
				agentP(obj{"hibernation": obj{"path": "/var/log/amazon/ssm/hibernate.log", "hibernating": true, "lines": 3,
					"first": "2024-06-01 11:40:00", "last": "2024-06-01 11:45:00", "last_time": "2024-06-01T11:45:00Z",
					"last_message":    "Health ping failed with error - error occurred in RequestManagedInstanceRoleToken: InvalidInstanceId: Not existing InstanceId " + hyNode,
					"backoff_seconds": 300}}))...),
		"onprem-deregistered-snap": c("The same on a snap install: the commands name the snap's binary and unit.",
			ws(wt(AgentHybridRegistrationInvalid, finding.SevFail, hyNode, "/snap/amazon-ssm-agent/current/amazon-ssm-agent -register -clear", "snap.amazon-ssm-agent.amazon-ssm-agent"),
				wt(IMDSUnreachable, finding.SevInfo)),
			with(onPrem, logsPatch([]journal.Summary{dereg}),
				agentP(obj{"units": arr{obj{"path": "/etc/systemd/system/snap.amazon-ssm-agent.amazon-ssm-agent.service", "enabled": true, "masked": false}}}))...),
		"onprem-activation-expired": c("Registering a VM (DMI names QEMU, no IMDS) with an expired activation failed: no registration, fail naming the code and a new activation.",
			ws(wt(AgentHybridRegistrationInvalid, finding.SevFail, "ActivationExpired", "create-activation", "holds no hybrid registration"),
				wt(IMDSUnreachable, finding.SevInfo)),
			imdsRefused(), hostP(obj{"ec2": idNotEC2}), agentP(obj{"credential_source": "None"}),
			logsPatch([]journal.Summary{hyEvent(journal.KindActivationRejected, 5*time.Minute, hyActivationLine("ActivationExpired"), "ActivationExpired")})),
		"onprem-invalid-activation": c("Registering again with an activation whose code and ID do not match failed (InvalidActivation): fail naming the node the registration file still names.",
			ws(wt(AgentHybridRegistrationInvalid, finding.SevFail, "InvalidActivation", hyNode, "-register -y -code ACTIVATION_CODE -id ACTIVATION_ID"),
				wt(IMDSUnreachable, finding.SevInfo)),
			with(onPrem, logsPatch([]journal.Summary{hyEvent(journal.KindActivationRejected, 5*time.Minute, hyActivationLine("InvalidActivation"), "InvalidActivation")}))...),
		"onprem-invalid-activation-id": c("InvalidActivationId: the same.",
			ws(wt(AgentHybridRegistrationInvalid, finding.SevFail, "InvalidActivationId", hyNode),
				wt(IMDSUnreachable, finding.SevInfo)),
			with(onPrem, logsPatch([]journal.Summary{hyEvent(journal.KindActivationRejected, 5*time.Minute, hyActivationLine("InvalidActivationId"), "InvalidActivationId")}))...),
		"onprem-deregistered-other-node": c("Near miss: the refusal names another managed node than the registration now holds: the node was registered again since, history.",
			ws(wt(IMDSUnreachable, finding.SevInfo)),
			with(onPrem, logsPatch([]journal.Summary{hyEvent(journal.KindNodeDeregistered, 3*time.Hour, hyDeregisteredLine(hyOldNode), hyOldNode)}))...),
		"onprem-deregistered-then-connected": c("Near miss: after the refusal the agent registered again and opened its control channel: history.",
			ws(wt(IMDSUnreachable, finding.SevInfo)),
			with(onPrem, logsPatch([]journal.Summary{dereg,
				hyEvent(journal.KindRegistered, 10*time.Minute, "TIME INFO [amazon-ssm-agent] Successfully registered the instance with AWS SSM using Managed instance-id: "+hyNode, hyNode),
				hyEvent(journal.KindControlChannelUp, 9*time.Minute, "TIME INFO [ssm-agent-worker] [MessageService] [MGSInteractor] Set up control channel successfully")}))...),
		"onprem-activation-then-registered": c("Near miss: an activation was rejected, then a registration with a new one succeeded: history.",
			ws(wt(IMDSUnreachable, finding.SevInfo)),
			with(onPrem, logsPatch([]journal.Summary{hyEvent(journal.KindActivationRejected, 30*time.Minute, hyActivationLine("ActivationExpired"), "ActivationExpired"),
				hyEvent(journal.KindRegistered, 10*time.Minute, "TIME INFO [amazon-ssm-agent] Successfully registered the instance with AWS SSM using Managed instance-id: "+hyNode, hyNode)}))...),
		"ec2-dmi-registration-imds-refused": c("Near miss: IMDS refuses TCP, but DMI says EC2: the registration is foreign (fail), and IMDS unreachable is a fail on EC2.",
			ws(wt(AgentForeignRegistration, finding.SevFail, hyNode), wt(IMDSUnreachable, finding.SevFail)),
			with(onPrem, hostP(obj{"ec2": idBase()["host"].(obj)["ec2"]}))...),
		"ec2-imds-answers-registration": c("Near miss: no DMI identity, but IMDS answers with this instance's ID: the registration is foreign.",
			ws(wt(AgentForeignRegistration, finding.SevFail, hyNode, idInstance)),
			hostP(obj{"ec2": idUnknownEC2}), agentP(obj{"registration": registration, "vault": vault})),
		"unknown-imds-silent-registration": c("Near miss: no DMI identity, and TCP to IMDS opens but nothing answers: something is there, so the host is not proven on-premises: warn.",
			ws(wt(AgentForeignRegistration, finding.SevWarn, hyNode), wt(IMDSUnreachable, finding.SevInfo)),
			with(onPrem, imdsPatch(obj{"reachable": true, "failure": "no-answer", "class": nil, "detail": nil, "token": obj{"tcp_opened": true}}, false))...),
		"ec2-activation-rejected": c("Near miss: on an EC2 instance without a hybrid registration, someone tried to register with an expired activation: the agent keeps its EC2 identity, nothing to report.",
			nil, logsPatch([]journal.Summary{hyEvent(journal.KindActivationRejected, 5*time.Minute, hyActivationLine("ActivationExpired"), "ActivationExpired")})),
		"ec2-deregistered-old-log": c("Near miss: an EC2 instance without a hybrid registration whose log still shows a refused hybrid node (its registration was removed since): the agent takes its EC2 identity, history.",
			nil, logsPatch([]journal.Summary{dereg})),
		"offline-root-deregistered": c("--root on a volume whose EC2 identity cannot be read (IMDS not asked) with a registration and the refusal in its logs: the registration may be foreign (warn), and the refusal is a fail of its own, not folded into the weaker warn.",
			ws(wt(AgentForeignRegistration, finding.SevWarn, hyNode), wt(AgentHybridRegistrationInvalid, finding.SevFail, hyNode, "Not existing InstanceId")),
			obj{"live": false, "offline": true, "imds": nil}, hostP(obj{"ec2": idUnknownEC2}),
			agentP(obj{"registration": registration, "vault": vault, "running_checked": false, "running": false, "pids": nil, "agents": nil,
				"running_reason": "not checked: offline root", "proxy_checked": false, "proxy_reason": "not checked: offline root"}),
			logsPatch([]journal.Summary{dereg})),
		"ec2-cloned-deregistered": c("An EC2 instance cloned from a deregistered hybrid node: the foreign registration is the cause, the refusal folds into it.",
			ws(wt(AgentForeignRegistration, finding.SevFail, hyNode)),
			hostP(obj{"ec2": idBase()["host"].(obj)["ec2"]}), agentP(obj{"registration": registration, "vault": vault}),
			logsPatch([]journal.Summary{dereg})),
	}
}

// imdsRefused: IMDS refuses TCP, as on a host outside EC2 where nothing
// listens on 169.254.169.254.
func imdsRefused() obj {
	return compose(idUnreachable(), imdsPatch(obj{"class": "refused", "detail": "dial tcp 169.254.169.254:80: connect: connection refused",
		"token":         obj{"class": "refused", "detail": "connection refused", "duration_ms": 1},
		"tokenless_get": obj{"class": "refused", "detail": "connection refused", "duration_ms": 1}}, false)).(obj)
}
