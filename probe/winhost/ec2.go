package winhost

import (
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/host"
)

// KeyBIOS holds the SMBIOS strings Windows copies at boot.
const KeyBIOS = `HKLM\HARDWARE\DESCRIPTION\System\BIOS`

// ReadEC2 tells an EC2 instance from the SMBIOS strings in the registry:
// on Nitro the system manufacturer and the BIOS vendor are "Amazon EC2"
// (AWS guide "Detect whether a host is an EC2 instance",
// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/identify_ec2_instances.html).
// A Xen instance is told by its SMBIOS UUID, which the registry does not
// hold: when neither value names Amazon EC2 the verdict is unknown, never
// "no".
func ReadEC2(src Source) host.EC2Identity {
	id := host.EC2Identity{Verdict: host.EC2Unknown}
	k, err := src.Key(KeyBIOS)
	if err != nil {
		id.Reason = "the BIOS key could not be read: " + err.Error()
		return id
	}
	for _, name := range []string{"SystemManufacturer", "BIOSVendor"} {
		path := KeyBIOS + `\` + name
		v, ok := k.Value(name)
		if !ok {
			continue
		}
		ev := host.EC2Evidence{Path: path, Rule: `equals "Amazon EC2"`, Value: strings.TrimSpace(v.String)}
		if len(ev.Value) > 256 {
			ev.Value = ev.Value[:256]
		}
		ev.Matches = ev.Value == "Amazon EC2"
		id.Evidence = append(id.Evidence, ev)
		if ev.Matches && id.Verdict != host.EC2Yes {
			id.Verdict, id.DecidedBy = host.EC2Yes, path
		}
	}
	if id.Verdict != host.EC2Yes {
		id.Reason = `the registry's SMBIOS strings do not name Amazon EC2 (a Xen instance is told only by its SMBIOS UUID, not read here)`
	}
	return id
}
