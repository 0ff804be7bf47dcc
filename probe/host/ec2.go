package host

import (
	"errors"
	"io/fs"
	"regexp"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/host/rootfs"
)

// Verdicts of EC2 detection.
const (
	EC2Yes     = "yes"
	EC2No      = "no"
	EC2Unknown = "unknown" // no identity file could be read
)

// EC2Evidence is one identity file and what it held.
type EC2Evidence struct {
	Path    string `json:"path"`
	Value   string `json:"value,omitempty"` // trimmed, at most maxEvidenceValue bytes
	Matches bool   `json:"matches"`         // the value marks an EC2 instance
	Error   string `json:"error,omitempty"` // why it could not be read
	Rule    string `json:"rule,omitempty"`  // what was tested
}

// EC2Identity says whether the host is an EC2 instance and which file decided.
// "On EC2" decides whether an unreachable IMDS is a failure (docs/FINDINGS.md,
// imds.unreachable), so it must not come from IMDS itself.
type EC2Identity struct {
	Verdict    string        `json:"verdict"`               // EC2Yes, EC2No or EC2Unknown
	DecidedBy  string        `json:"decided_by,omitempty"`  // the file whose value decided "yes"
	InstanceID string        `json:"instance_id,omitempty"` // from board_asset_tag on Nitro
	Evidence   []EC2Evidence `json:"evidence"`              // every file tried, in order
	Reason     string        `json:"reason,omitempty"`      // why the verdict is unknown
}

// maxEvidenceValue caps what is read from one DMI or hypervisor file; they
// hold one short line.
const maxEvidenceValue = 256

// instanceIDRE is the shape of an EC2 instance ID.
var instanceIDRE = regexp.MustCompile(`^i-([0-9a-f]{8}|[0-9a-f]{17})$`)

// ec2Rule is one identity file and its test.
type ec2Rule struct {
	path string
	rule string
	test func(v string) bool
}

// hasEC2Prefix tests for "ec2" at the start, without regard to case.
func hasEC2Prefix(v string) bool { return len(v) >= 3 && strings.EqualFold(v[:3], "ec2") }

// ec2Rules lists the identity files, from the AWS guide "Detect whether a
// host is an EC2 instance" (docs.aws.amazon.com/AWSEC2/latest/UserGuide/
// identify_ec2_instances.html): the hypervisor UUID (Xen) and the DMI
// product UUID start with "ec2"; on Nitro the board asset tag is the
// instance ID and the system vendor is "Amazon EC2". Both DMI directories
// are tried; /sys/class/dmi/id is a link to /sys/devices/virtual/dmi/id on a
// live system, but only one of them may be present in a copied tree.
func ec2Rules() []ec2Rule {
	assetTag := func(v string) bool { return instanceIDRE.MatchString(v) || hasEC2Prefix(v) }
	vendor := func(v string) bool { return v == "Amazon EC2" }
	var rules []ec2Rule
	rules = append(rules, ec2Rule{"/sys/hypervisor/uuid", `starts with "ec2" (case-insensitive)`, hasEC2Prefix})
	for _, d := range []string{"/sys/class/dmi/id", "/sys/devices/virtual/dmi/id"} {
		rules = append(rules,
			ec2Rule{d + "/board_asset_tag", `an instance ID (i-…) or starts with "ec2"`, assetTag},
			ec2Rule{d + "/sys_vendor", `equals "Amazon EC2"`, vendor},
			ec2Rule{d + "/bios_vendor", `equals "Amazon EC2"`, vendor},
			ec2Rule{d + "/product_uuid", `starts with "ec2" (case-insensitive)`, hasEC2Prefix},
		)
	}
	return rules
}

// DetectEC2 reads the identity files under fsys. The first file whose value
// matches decides "yes". When files were read and none matched it is "no";
// when no file could be read at all (a tree without /sys, such as a volume
// mounted offline) it is "unknown". product_uuid is readable by root only.
func DetectEC2(fsys rootfs.FS) EC2Identity {
	id := EC2Identity{Verdict: EC2Unknown}
	read := 0
	seen := map[string]bool{} // machine paths read; the two DMI directories are usually one
	for _, r := range ec2Rules() {
		if rp, err := fsys.Resolve(r.path); err == nil {
			if seen[rp] {
				continue
			}
			seen[rp] = true
		}
		b, err := fsys.ReadFile(r.path, maxEvidenceValue)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		ev := EC2Evidence{Path: r.path, Rule: r.rule}
		if err != nil && !errors.Is(err, rootfs.ErrTooLarge) {
			ev.Error = string(rootfs.Class(err)) + ": " + err.Error()
			id.Evidence = append(id.Evidence, ev)
			continue
		}
		read++
		ev.Value = strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
		ev.Matches = r.test(ev.Value)
		id.Evidence = append(id.Evidence, ev)
		if ev.Matches && id.Verdict != EC2Yes {
			id.Verdict, id.DecidedBy = EC2Yes, r.path
		}
		if strings.HasSuffix(r.path, "/board_asset_tag") && instanceIDRE.MatchString(ev.Value) && id.InstanceID == "" {
			id.InstanceID = ev.Value
		}
	}
	switch {
	case id.Verdict == EC2Yes:
	case read > 0:
		id.Verdict = EC2No
	case len(id.Evidence) > 0:
		id.Reason = "no identity file was readable"
	default:
		id.Reason = "no DMI or hypervisor identity file under the root"
	}
	return id
}
