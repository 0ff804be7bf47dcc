package diagnose

import (
	"fmt"
	"strings"

	"github.com/ssm-probe/ssm-probe/probe/finding"
	"github.com/ssm-probe/ssm-probe/probe/obs"
)

// The findings of the agent's proxy.
const (
	NetProxyFailed          finding.ID = "net.proxy-failed"
	NetProxyIMDSNotExcluded finding.ID = "net.proxy-imds-not-excluded"
)

// proxyFamily pairs the findings about the agent's proxy with the rules that raise them.
func proxyFamily() family {
	return family{rules: []rule{diagnoseProxy}, entries: []finding.Entry{
		{ID: NetProxyFailed, Severity: finding.SevFail,
			Title:     "The agent's proxy does not carry its connections",
			Fix:       "Fix the proxy, or correct the agent's proxy settings: " + winOr("the AmazonSSMAgent service's Environment registry value ("+winProxyEnv+"), or LocalSystem's Internet settings, or WinHTTP (netsh winhttp show proxy), which the agent reads in that order", "sudo systemctl edit {{or .unit \"amazon-ssm-agent\"}} (Environment=\"https_proxy=...\"), then sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}") + ". HTTPS proxies are not supported for Session Manager.",
			Docs:      []string{finding.DocAgentProxy, DocAgentProxyWindows},
			DependsOn: []finding.ID{NetLocalRoute}},
		{ID: NetProxyIMDSNotExcluded, Severity: finding.SevWarn,
			Title: "The agent's no_proxy does not cover the metadata service",
			Fix:   "Add 169.254.169.254 to no_proxy in the agent's environment: " + winOr("in the AmazonSSMAgent service's Environment registry value, no_proxy=169.254.169.254 (Get-ItemProperty HKLM:\\SYSTEM\\CurrentControlSet\\Services\\AmazonSSMAgent -Name Environment), or the WinHTTP bypass list (netsh winhttp set proxy proxy-server=\"PROXY_HOST:PORT\" bypass-list=\"169.254.169.254\"), then "+winRestart, "sudo systemctl edit {{or .unit \"amazon-ssm-agent\"}}, Environment=\"no_proxy=169.254.169.254\", then sudo systemctl restart {{or .unit \"amazon-ssm-agent\"}}"),
			Docs:  []string{finding.DocAgentProxy, DocAgentProxyWindows}},
	}}
}

// diagnoseProxy implements net.proxy-failed and net.proxy-imds-not-excluded
// from the agent's own proxy environment (/proc/<pid>/environ) and the
// CONNECT checks made through it.
func diagnoseProxy(in *input) []finding.Finding {
	cat, o := in.cat, in.o
	if o.Agent == nil || o.Agent.Proxy == nil {
		return nil
	}
	px := o.Agent.Proxy
	var out []finding.Finding
	var failed, failedHosts []string
	required := map[string]bool{}
	if o.Plan != nil {
		for _, e := range o.Plan.Endpoints {
			required[e.Host] = e.Required
		}
	}
	for _, p := range o.Proxy {
		if !required[p.Host] {
			continue // an optional endpoint is judged by diagnoseNet
		}
		if stage, class, detail := p.Failed(); stage != obs.ProxyNone {
			failed = append(failed, fmt.Sprintf("%s via %s: %s failed (%s): %s", p.Host, p.Proxy, stage, class, detail))
			failedHosts = append(failedHosts, p.Host)
		}
	}
	if len(failed) > 0 {
		f := cat.New(NetProxyFailed,
			fmt.Sprintf("The agent's environment sets https_proxy=%s, so the agent reaches the endpoints only through that proxy, and going through it fails.", px.HTTPSProxy),
			failed)
		f.About(failedHosts...)
		out = append(out, f)
	}
	if (px.HTTPSProxy != "" || px.HTTPProxy != "") && !obs.NoProxyMatch(px.NoProxy, obs.IMDSAddr.String()) {
		np := px.NoProxy
		if np == "" {
			np = "(unset)"
		}
		out = append(out, cat.New(NetProxyIMDSNotExcluded,
			"The agent uses a proxy, and its no_proxy does not cover the instance metadata service, so the agent's requests for its identity and credentials may be sent to the proxy, which cannot reach 169.254.169.254.",
			[]string{"no_proxy=" + np, "proxy variables: " + proxyVarNames(o)}))
	}
	return out
}

func proxyVarNames(o *obs.Observations) string {
	var s []string
	for _, v := range o.Agent.Proxy.Vars {
		s = append(s, v.Name)
	}
	return strings.Join(s, ", ")
}
