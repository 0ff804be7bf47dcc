package imds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// SigningCredentials fetches the instance role's temporary credentials so
// that the caller can sign API requests (SigV4) with the same identity the
// SSM agent uses. It reads, with one attempt each bounded by opt.Timeout:
// the IMDSv2 token (PUT /latest/api/token; on 403/404/405 or no answer it
// falls back to tokenless GETs, as the agent's SDK does), the role list
// (iam/security-credentials/) and the role's credentials document.
//
// The credentials are returned to the caller only: they are never stored in
// an Identity, never logged, and no error text quotes any part of the
// credentials document (AWS docs, "Retrieve security credentials from
// instance metadata"). The caller keeps them in memory for the run and
// drops them.
//
// It returns an error when no role is listed, the document's Code is not
// Success, a field is missing, or the credentials have expired at opt.Now.
func SigningCredentials(ctx context.Context, opt Options) (aws.Credentials, error) {
	base, err := normaliseEndpoint(opt.Endpoint)
	if err != nil {
		return aws.Credentials{}, err
	}
	f := newFetcher(opt, base)
	defer f.close()

	hdr := http.Header{}
	put := f.raw(ctx, http.MethodPut, tokenPath,
		http.Header{http.CanonicalHeaderKey(tokenTTLHeader): {strconv.Itoa(tokenTTLSeconds)}})
	switch {
	case put.err == nil && put.status == http.StatusOK:
		tok, err := parseValue(put.body)
		if err != nil {
			return aws.Credentials{}, errors.New("IMDS token PUT answered 200 with an unusable token")
		}
		hdr.Set(tokenHeader, tok)
	case put.err == nil && put.status == http.StatusForbidden:
		return aws.Credentials{}, errors.New("IMDS answered the token PUT with 403: the metadata endpoint is turned off")
	case put.err != nil && !put.connected:
		return aws.Credentials{}, fmt.Errorf("IMDS cannot be reached: %s", clipErr(put.err))
	}
	// Otherwise (404/405, no answer): tokenless GETs, the IMDSv1 fallback.

	list := f.raw(ctx, http.MethodGet, metadataPath+pathCredList, hdr)
	if err := rawErr(list, "the role list"); err != nil {
		return aws.Credentials{}, err
	}
	role, err := parseRoleList(list.body)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("the role list: %v", err)
	}
	doc := f.raw(ctx, http.MethodGet, metadataPath+pathCredList+role, hdr)
	defer clear(doc.body)
	if err := rawErr(doc, "the credentials of role "+role); err != nil {
		return aws.Credentials{}, err
	}
	return parseSigningDoc(doc.body, role, f.now())
}

// rawErr describes a failed GET without quoting its body.
func rawErr(r rawResult, what string) error {
	switch {
	case r.err != nil:
		return fmt.Errorf("IMDS GET of %s failed: %s", what, clipErr(r.err))
	case r.status == http.StatusNotFound && strings.HasPrefix(what, "the role list"):
		return errors.New("IMDS lists no role: no instance profile is attached")
	case r.status != http.StatusOK:
		return fmt.Errorf("IMDS GET of %s answered HTTP %d", what, r.status)
	}
	return nil
}

// signingDoc is the credentials document with its secrets. It lives only
// inside parseSigningDoc and is never an observation: the observation types
// (Identity, CredStatus, credDoc) have no secret fields, and
// TestObservationTypesHoldNoSecrets keeps it so.
type signingDoc struct {
	Code            string `json:"Code"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

// parseSigningDoc decodes a credentials document into aws.Credentials.
// Errors name the missing or bad field, never its value.
func parseSigningDoc(b []byte, role string, now time.Time) (aws.Credentials, error) {
	var d signingDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return aws.Credentials{}, fmt.Errorf("the credentials document of role %s is not a JSON object (%d bytes)", role, len(b))
	}
	if d.Code != "Success" {
		return aws.Credentials{}, fmt.Errorf("the credentials document of role %s has Code %q, not Success", role, clip(d.Code))
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"AccessKeyId", d.AccessKeyID},
		{"SecretAccessKey", d.SecretAccessKey}, {"Token", d.Token}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return aws.Credentials{}, fmt.Errorf("the credentials document of role %s lacks %s", role, strings.Join(missing, ", "))
	}
	c := aws.Credentials{AccessKeyID: d.AccessKeyID, SecretAccessKey: d.SecretAccessKey, SessionToken: d.Token,
		Source: "IMDS role " + role}
	if d.Expiration != "" {
		t, err := time.Parse(time.RFC3339, d.Expiration)
		if err != nil {
			return aws.Credentials{}, fmt.Errorf("the credentials Expiration of role %s is not an RFC 3339 time", role)
		}
		if !t.After(now) {
			return aws.Credentials{}, fmt.Errorf("the credentials of role %s expired at %s", role, t.UTC().Format(time.RFC3339))
		}
		c.CanExpire, c.Expires = true, t
	}
	return c, nil
}
