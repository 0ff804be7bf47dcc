package probetest

import (
	"time"

	"github.com/ssm-probe/ssm-probe/probe/imds"
)

// IdentityFamilies are the finding families the identity rules own.
var IdentityFamilies = []string{"imds.", "iam.", "agent.", "host.disk-full"}

// IdentityHealthyIMDS is IMDS as a healthy EC2 instance with a profile answers it.
func IdentityHealthyIMDS(now time.Time) *imds.Identity {
	return &imds.Identity{
		Endpoint: "http://169.254.169.254", Reachable: true, Access: imds.AccessV2,
		Token:  imds.TokenResult{Status: 200, TCPOpened: true, Obtained: true},
		Region: "ap-northeast-1", InstanceID: "i-0123456789abcdef0", Domain: "amazonaws.com",
		Profile: imds.Profile{State: imds.ProfilePresent, Status: 200, InfoCode: "Success", Role: "app-ssm-role",
			Credentials: &imds.CredStatus{Status: 200, Code: "Success", Expiration: now.Add(6 * time.Hour)}},
	}
}
