package obs

// The ECR services a Bottlerocket host pulls its control container from
// (docs/AGENT-FACTS.md, "Bottlerocket"): named as their VPC interface
// endpoints are (com.amazonaws.REGION.ecr.api, …ecr.dkr).
const (
	ServiceECRAPI Service = "ecr.api"
	ServiceECRDKR Service = "ecr.dkr"
)

// BottlerocketECRAccount is the account of the ECR registry Bottlerocket's
// host containers (the control container among them) come from in most
// regions: 328549459982.dkr.ecr.REGION.amazonaws.com/bottlerocket-control.
const BottlerocketECRAccount = "328549459982"

// BottlerocketEndpoints are the endpoints the control container, which runs
// the agent on Bottlerocket, is pulled from: the ECR API and the registry.
// Its image layers come from S3, which the plan holds already. They are
// optional: the container runs once pulled, and a pull happens at boot and
// when the container is updated.
func BottlerocketEndpoints(region, domain string) []Endpoint {
	return []Endpoint{
		{Service: ServiceECRAPI, Host: "api.ecr." + region + "." + domain,
			Why: "Bottlerocket: the control container, which runs the agent, is pulled from ECR at boot and on update"},
		{Service: ServiceECRDKR, Host: BottlerocketECRAccount + ".dkr.ecr." + region + "." + domain,
			Why: "Bottlerocket: the registry of the control container (the default source in most regions)"},
	}
}
