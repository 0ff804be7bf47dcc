package prefs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DocumentName is the document that holds a region's Session Manager
// preferences (AWS docs, "Create a Session Manager preferences document
// (command line)"): one per account and region.
const DocumentName = "SSM-SessionManagerRunShell"

// maxValue bounds a string preference copied into an observation. Bucket
// names are at most 63 bytes, log group names 512, KMS key ARNs about 100.
const maxValue = 512

// Preferences is what the preferences document says about session
// logging, encryption and run-as (the "inputs" of the document; AWS docs,
// "Session document schema"). Problems records inputs of the wrong type.
type Preferences struct {
	SessionType                 string   `json:"session_type,omitempty"`
	S3BucketName                string   `json:"s3_bucket_name,omitempty"`
	S3KeyPrefix                 string   `json:"s3_key_prefix,omitempty"`
	S3EncryptionEnabled         bool     `json:"s3_encryption_enabled"`
	CloudWatchLogGroupName      string   `json:"cloudwatch_log_group_name,omitempty"`
	CloudWatchEncryptionEnabled bool     `json:"cloudwatch_encryption_enabled"`
	CloudWatchStreamingEnabled  bool     `json:"cloudwatch_streaming_enabled"`
	KMSKeyID                    string   `json:"kms_key_id,omitempty"`
	RunAsEnabled                bool     `json:"run_as_enabled"`
	RunAsDefaultUser            string   `json:"run_as_default_user,omitempty"`
	IdleSessionTimeout          string   `json:"idle_session_timeout,omitempty"`
	MaxSessionDuration          string   `json:"max_session_duration,omitempty"`
	Problems                    []string `json:"problems,omitempty"`
}

// UsesS3 reports whether session logs go to an S3 bucket.
func (p *Preferences) UsesS3() bool { return p != nil && p.S3BucketName != "" }

// UsesLogs reports whether session logs go to a CloudWatch Logs group.
func (p *Preferences) UsesLogs() bool { return p != nil && p.CloudWatchLogGroupName != "" }

// UsesKMS reports whether the preferences involve encryption: a KMS key for
// session data (kmsKeyId), or encrypted-only S3 / CloudWatch destinations.
// All three need the kms endpoint's path (docs/FINDINGS.md,
// prefs.logging-endpoint-unreachable).
func (p *Preferences) UsesKMS() bool {
	return p != nil && (p.KMSKeyID != "" || p.S3EncryptionEnabled || p.CloudWatchEncryptionEnabled)
}

// Document is the parsed GetDocument answer.
type Document struct {
	Name    string       `json:"name"`
	Version string       `json:"version,omitempty"`
	Format  string       `json:"format,omitempty"` // DocumentFormat: JSON (asked for) or YAML
	Status  string       `json:"status,omitempty"` // Active, …
	Prefs   *Preferences `json:"preferences,omitempty"`
}

// getDocumentOutput is the part of the GetDocument answer the probe reads
// (SSM API reference, GetDocument, "Response Syntax").
type getDocumentOutput struct {
	Name            string `json:"Name"`
	Content         string `json:"Content"`
	DocumentFormat  string `json:"DocumentFormat"`
	DocumentVersion string `json:"DocumentVersion"`
	Status          string `json:"Status"`
}

// sessionDoc is the document content: a Session document's schema.
type sessionDoc struct {
	SchemaVersion string                     `json:"schemaVersion"`
	SessionType   string                     `json:"sessionType"`
	Inputs        map[string]json.RawMessage `json:"inputs"`
}

// ParseDocument parses a GetDocument answer body and the session document
// in its Content. It returns an error, quoting no more than a short
// excerpt, when either is not the JSON it should be; a wrongly typed input
// is recorded in Preferences.Problems and parsing carries on.
func ParseDocument(body []byte) (Document, error) {
	var out getDocumentOutput
	if err := json.Unmarshal(body, &out); err != nil {
		return Document{}, fmt.Errorf("the GetDocument answer is not a JSON object: %v", err)
	}
	d := Document{Name: clip(out.Name), Version: clip(out.DocumentVersion), Format: clip(out.DocumentFormat), Status: clip(out.Status)}
	if strings.TrimSpace(out.Content) == "" {
		return d, fmt.Errorf("the document %s has no Content", d.Name)
	}
	var sd sessionDoc
	dec := json.NewDecoder(strings.NewReader(out.Content))
	if err := dec.Decode(&sd); err != nil {
		what := "JSON"
		if d.Format != "" && d.Format != "JSON" {
			what = d.Format + ", not JSON"
		}
		return d, fmt.Errorf("the document content (%s) cannot be read: %v", what, err)
	}
	if sd.Inputs == nil {
		return d, fmt.Errorf("the document content has no \"inputs\" object (sessionType %q)", clip(sd.SessionType))
	}
	p := &Preferences{SessionType: clip(sd.SessionType)}
	in := inputs{raw: sd.Inputs, p: p}
	p.S3BucketName = in.str("s3BucketName")
	p.S3KeyPrefix = in.str("s3KeyPrefix")
	p.S3EncryptionEnabled = in.boolean("s3EncryptionEnabled")
	p.CloudWatchLogGroupName = in.str("cloudWatchLogGroupName")
	p.CloudWatchEncryptionEnabled = in.boolean("cloudWatchEncryptionEnabled")
	p.CloudWatchStreamingEnabled = in.boolean("cloudWatchStreamingEnabled")
	p.KMSKeyID = in.str("kmsKeyId")
	p.RunAsEnabled = in.boolean("runAsEnabled")
	p.RunAsDefaultUser = in.str("runAsDefaultUser")
	p.IdleSessionTimeout = in.scalar("idleSessionTimeout")
	p.MaxSessionDuration = in.scalar("maxSessionDuration")
	d.Prefs = p
	return d, nil
}

// inputs reads typed values out of the document's inputs.
type inputs struct {
	raw map[string]json.RawMessage
	p   *Preferences
}

// str returns a string input, trimmed; "" when absent or null. Another type
// is a problem.
func (in inputs) str(key string) string {
	raw, ok := in.raw[key]
	if !ok || isNull(raw) {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		in.problem(key, "a string", raw)
		return ""
	}
	return clip(strings.TrimSpace(s))
}

// boolean returns a boolean input. The console writes JSON booleans; hand
// written documents often hold "true"/"false" strings, which the agent
// accepts too, so they are read as booleans. Anything else is a problem.
func (in inputs) boolean(key string) bool {
	raw, ok := in.raw[key]
	if !ok || isNull(raw) {
		return false
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true
		case "false", "":
			return false
		}
	}
	in.problem(key, "a boolean", raw)
	return false
}

// scalar returns a string or number input as text.
func (in inputs) scalar(key string) string {
	raw, ok := in.raw[key]
	if !ok || isNull(raw) {
		return ""
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String()
	}
	return in.str(key)
}

func (in inputs) problem(key, want string, raw json.RawMessage) {
	in.p.Problems = append(in.p.Problems, fmt.Sprintf("input %s is %s, not %s", key, clip(string(raw)), want))
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// logGroupsOutput is the part of the DescribeLogGroups answer the probe
// reads (CloudWatch Logs API reference, DescribeLogGroups).
type logGroupsOutput struct {
	LogGroups []struct {
		LogGroupName string `json:"logGroupName"`
		KMSKeyID     string `json:"kmsKeyId"`
	} `json:"logGroups"`
	NextToken string `json:"nextToken"`
}

// LogGroupMatch is what a DescribeLogGroups page says about one name.
type LogGroupMatch struct {
	Found     bool `json:"found"`
	Encrypted bool `json:"encrypted"` // the group has a KMS key
	Listed    int  `json:"listed"`    // groups on the page (all share the prefix)
	More      bool `json:"more"`      // the page had a nextToken
}

// ParseLogGroups looks for the exact name in a DescribeLogGroups answer to
// logGroupNamePrefix=name. Groups are listed in name order, and name sorts
// before every longer name it prefixes, so if the group exists it is on
// the first page; a nextToken does not change the answer.
func ParseLogGroups(body []byte, name string) (LogGroupMatch, error) {
	var out logGroupsOutput
	if err := json.Unmarshal(body, &out); err != nil {
		return LogGroupMatch{}, fmt.Errorf("the DescribeLogGroups answer is not a JSON object: %v", err)
	}
	m := LogGroupMatch{Listed: len(out.LogGroups), More: out.NextToken != ""}
	for _, g := range out.LogGroups {
		if g.LogGroupName == name {
			m.Found, m.Encrypted = true, g.KMSKeyID != ""
		}
	}
	return m, nil
}

// awsError is an AWS error answer: a JSON protocol body ("__type" and
// "message"/"Message"; the type may carry a namespace before '#'), or an
// S3 XML body (<Code>, <Message>).
type awsError struct {
	Type    string
	Message string
}

// parseAWSError extracts the error type and message of an error answer;
// header is the X-Amzn-ErrorType header, which wins when present.
func parseAWSError(body []byte, header string) awsError {
	var e awsError
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '{' {
		var j struct {
			Type     string `json:"__type"`
			Message  string `json:"message"`
			Message2 string `json:"Message"`
		}
		if json.Unmarshal(body, &j) == nil {
			e.Type, e.Message = j.Type, j.Message
			if e.Message == "" {
				e.Message = j.Message2
			}
		}
	} else if len(body) > 0 && body[0] == '<' {
		e.Type, e.Message = xmlText(body, "Code"), xmlText(body, "Message")
	}
	if header != "" {
		e.Type, _, _ = strings.Cut(header, ":")
	}
	if i := strings.LastIndexByte(e.Type, '#'); i >= 0 {
		e.Type = e.Type[i+1:]
	}
	e.Type = clip(strings.TrimSpace(e.Type))
	return e
}

// xmlText returns the text of the first <tag>…</tag> in an S3 error body.
func xmlText(b []byte, tag string) string {
	s := string(b)
	i := strings.Index(s, "<"+tag+">")
	if i < 0 {
		return ""
	}
	s = s[i+len(tag)+2:]
	if j := strings.Index(s, "</"+tag+">"); j >= 0 {
		return s[:j]
	}
	return ""
}

// clip shortens s and makes it valid UTF-8, so a hostile peer cannot flood
// the report.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= maxValue {
		return s
	}
	s = s[:maxValue]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
