package journal

import (
	"bytes"
	"net"
	"regexp"
	"strings"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/redact"
)

// The field extractors run only on entries that matched a pattern, so they
// may use regular expressions freely.
var (
	// reURL matches the URLs Go's net/http and the AWS SDK print: `Post
	// "https://ssm.…/"`, `Post https://ssm.…/:` (SDK v1 without quotes).
	reURL = regexp.MustCompile("(?:https?|wss)://[^\\s\"'`,;<>]+")
	// reDial matches `dial tcp 172.30.4.52:443:` and `dial tcp [fd00::1]:443:`.
	reDial = regexp.MustCompile(`dial (?:tcp|udp)[46]? (\[[0-9A-Fa-f:.]+\]|[0-9.]+):(\d+)`)
	// reLookup matches `lookup ssm.us-east-1.amazonaws.com on 10.0.0.2:53:`
	// (Go's net.DNSError text) and `lookup ssm.… : no such host`.
	reLookup = regexp.MustCompile(`lookup ([A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9])(?: on (\S+?:\d+))?[: ]`)
	// reWebsocketPeer matches `Successfully opened websocket connection to: <addr>`.
	reWebsocketPeer = regexp.MustCompile(`websocket connection to: ?(\S+)`)
	// reS3URI matches s3://bucket/key.
	reS3URI = regexp.MustCompile(`s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])`)
	// reLogGroup matches `logGroupName: x`, `log group: x`, `LogGroupName="x"`.
	reLogGroup = regexp.MustCompile(`(?i)log ?group(?: ?name)?\s*[=:]\s*"?([A-Za-z0-9_./#-]+)`)
	// reAPIPerform matches IAM's `is not authorized to perform: ssm:UpdateInstanceInformation`.
	reAPIPerform = regexp.MustCompile(`perform: ([a-z0-9-]+:[A-Za-z0-9*]+)`)
	// reAPIOperation matches the SDK's `… when calling the X operation` and
	// `operation X`.
	reAPIOperation = regexp.MustCompile(`calling the (\w+) operation|operation (\w+)`)
)

// extract pulls the fields selected by which out of an entry's text.
// Values it does not find stay empty; it never fails.
func extract(text []byte, which Field) Fields {
	var f Fields
	if which&(FieldURL|FieldHost|FieldBucket) != 0 && has(text, "://") {
		// Redacted before matching: a password may hold a blank or a
		// quote, which would end the match inside it.
		for _, u := range findURLs([]byte(redact.Text(string(text))), 8) {
			us := strings.TrimRight(string(u), ".:)]\"'")
			host := urlHost(us)
			if which&FieldURL != 0 {
				f.URLs = appendDistinct(f.URLs, us)
			}
			if which&FieldHost != 0 && host != "" && net.ParseIP(strings.Trim(host, "[]")) == nil {
				f.Hosts = appendDistinct(f.Hosts, host)
			}
			if which&FieldBucket != 0 {
				if i := strings.Index(host, ".s3."); i > 0 {
					f.Buckets = appendDistinct(f.Buckets, host[:i])
				} else if i := strings.Index(host, ".s3-"); i > 0 {
					f.Buckets = appendDistinct(f.Buckets, host[:i])
				}
			}
		}
	}
	if which&FieldHost != 0 && has(text, "lookup ") {
		for _, m := range reLookup.FindAllSubmatch(text, 8) {
			f.Hosts = appendDistinct(f.Hosts, strings.ToLower(string(m[1])))
			if which&FieldAddress != 0 && len(m[2]) > 0 {
				f.Addresses = appendDistinct(f.Addresses, string(m[2]))
			}
		}
	}
	if which&FieldAddress != 0 {
		for _, m := range reDial.FindAllSubmatch(text, 8) {
			if !has(text, "dial ") {
				break
			}
			f.Addresses = appendDistinct(f.Addresses, net.JoinHostPort(strings.Trim(string(m[1]), "[]"), string(m[2])))
		}
		if m := websocketPeer(text); m != nil {
			peer := strings.TrimRight(string(m[1]), ".,")
			if h, p, err := net.SplitHostPort(peer); err == nil && net.ParseIP(h) != nil {
				f.Addresses = appendDistinct(f.Addresses, net.JoinHostPort(h, p))
			}
		}
	}
	if which&FieldBucket != 0 && has(text, "s3://") {
		for _, m := range reS3URI.FindAllSubmatch(text, 8) {
			f.Buckets = appendDistinct(f.Buckets, string(m[1]))
		}
	}
	if which&FieldLogGroup != 0 && (has(text, "og group") || has(text, "ogGroup") || has(text, "og Group")) {
		for _, m := range reLogGroup.FindAllSubmatch(text, 4) {
			f.LogGroups = appendDistinct(f.LogGroups, string(m[1]))
		}
	}
	if which&FieldAPI != 0 {
		for _, m := range gated(reAPIPerform, text, "perform: ") {
			f.APIs = appendDistinct(f.APIs, string(m[1]))
		}
		for _, m := range gated(reAPIOperation, text, "operation") {
			f.APIs = appendDistinct(f.APIs, string(m[1])+string(m[2]))
		}
	}
	return f
}

// urlHost returns the lower-case host of a URL without userinfo and port,
// or "" when there is none.
func urlHost(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return ""
	}
	h := u[i+3:]
	if j := strings.IndexAny(h, "/?#"); j >= 0 {
		h = h[:j]
	}
	if j := strings.LastIndexByte(h, '@'); j >= 0 {
		h = h[j+1:]
	}
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	return strings.ToLower(h)
}

// classify derives an error class from the error text Go's net, tls and
// x509 packages print. The order matters: a TLS failure through a proxy is
// reported by the proxy pattern but classified by its cause.
func classify(text []byte) errclass.Class {
	switch {
	case bytes.Contains(text, []byte("no such host")):
		return errclass.NXDomain
	case bytes.Contains(text, []byte("x509: ")), bytes.Contains(text, []byte("tls: failed to verify certificate")):
		return errclass.TLSUntrusted
	case bytes.Contains(text, []byte("first record does not look like a TLS handshake")),
		bytes.Contains(text, []byte("tls: handshake failure")):
		return errclass.TLSFailed
	case bytes.Contains(text, []byte("connection refused")):
		return errclass.Refused
	case bytes.Contains(text, []byte("no route to host")), bytes.Contains(text, []byte("network is unreachable")):
		return errclass.Unreachable
	case bytes.Contains(text, []byte("i/o timeout")), bytes.Contains(text, []byte("timed out")),
		bytes.Contains(text, []byte("Timeout exceeded")), bytes.Contains(text, []byte("deadline exceeded")),
		bytes.Contains(text, []byte("I/O timeout")):
		return errclass.Timeout
	case bytes.Contains(text, []byte("EC2RoleRequestError")), bytes.Contains(text, []byte("NoCredentialProviders")),
		bytes.Contains(text, []byte("does not exist")):
		return errclass.NotFound
	case bytes.Contains(text, []byte("AccessDenied")), bytes.Contains(text, []byte("Unauthorized")),
		bytes.Contains(text, []byte("ThrottlingException")), bytes.Contains(text, []byte("status code: 4")),
		bytes.Contains(text, []byte("status code: 5")):
		return errclass.HTTPStatus
	}
	return errclass.Other
}

// has reports whether text contains lit. The extractors check a literal
// before running their expression: most expressions have no literal prefix
// that Go's regexp could use, and would otherwise be tried at every offset.
func has(text []byte, lit string) bool { return bytes.Contains(text, []byte(lit)) }

// gated runs re only when text contains lit.
func gated(re *regexp.Regexp, text []byte, lit string) [][][]byte {
	if !has(text, lit) {
		return nil
	}
	return re.FindAllSubmatch(text, 4)
}

func websocketPeer(text []byte) [][]byte {
	if !has(text, "websocket connection to") {
		return nil
	}
	return reWebsocketPeer.FindSubmatch(text)
}
