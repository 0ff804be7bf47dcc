package imds

import (
	"testing"

	"github.com/ssm-probe/ssm-probe/errclass"
)

// TestClassify covers the failure rules on hand-made observations, without
// a network.
func TestClassify(t *testing.T) {
	ok := GetResult{Path: "x", Status: 200}
	okV2 := GetResult{Path: "x", Status: 200, TokenSent: true}
	cases := []struct {
		name   string
		id     Identity
		want   Failure
		access Access
	}{
		{"unreachable", Identity{}, FailUnreachable, AccessNone},
		{"hop limit", Identity{Reachable: true,
			Token:        TokenResult{Class: errclass.Timeout, TCPOpened: true},
			TokenlessGET: &GetResult{Status: 401, Class: errclass.HTTPStatus},
		}, FailTokenTimeout, AccessNone},
		{"hop limit, v1 works", Identity{Reachable: true,
			Token:        TokenResult{Class: errclass.Timeout, TCPOpened: true},
			TokenlessGET: &GetResult{Status: 200},
			Fields:       map[string]GetResult{"x": ok},
		}, FailTokenTimeout, AccessV1},
		{"PUT timeout without TCP is not the hop limit", Identity{Reachable: true,
			Token:        TokenResult{Class: errclass.Timeout},
			TokenlessGET: &GetResult{Status: 200},
			Fields:       map[string]GetResult{"x": ok},
		}, FailNone, AccessV1},
		{"disabled on PUT", Identity{Reachable: true,
			Token: TokenResult{Status: 403, Class: errclass.HTTPStatus, TCPOpened: true}, TokenlessGET: &GetResult{Status: 200},
		}, FailDisabled, AccessNone},
		{"disabled on GET", Identity{Reachable: true,
			Token: TokenResult{Status: 200, Obtained: true}, TokenlessGET: &GetResult{Status: 401},
			Fields: map[string]GetResult{"x": {Status: 403, Class: errclass.HTTPStatus}},
		}, FailDisabled, AccessNone},
		{"no answer", Identity{Reachable: true,
			Token: TokenResult{Class: errclass.Timeout, TCPOpened: true}, TokenlessGET: &GetResult{Class: errclass.Timeout},
		}, FailNoAnswer, AccessNone},
		{"401 on GETs", Identity{Reachable: true,
			Token: TokenResult{Status: 200, Obtained: true}, TokenlessGET: &GetResult{Status: 401},
			Fields: map[string]GetResult{"x": {Status: 401, Class: errclass.HTTPStatus, TokenSent: true}, "y": okV2},
		}, FailUnauthorized, AccessV2},
		{"tokenless 401 alone is IMDSv2 required, not a failure", Identity{Reachable: true,
			Token: TokenResult{Status: 200, Obtained: true}, TokenlessGET: &GetResult{Status: 401},
			Fields: map[string]GetResult{"y": okV2},
		}, FailNone, AccessV2},
		{"bad PUT and nothing read", Identity{Reachable: true,
			Token: TokenResult{Status: 400, Class: errclass.HTTPStatus}, TokenlessGET: &GetResult{Status: 401},
			Fields: map[string]GetResult{"x": {Class: errclass.Other}},
		}, FailOther, AccessNone},
	}
	for _, c := range cases {
		if got := classify(&c.id); got != c.want {
			t.Errorf("%s: classify = %q, want %q", c.name, got, c.want)
		}
		if got := accessOf(&c.id); got != c.access {
			t.Errorf("%s: accessOf = %q, want %q", c.name, got, c.access)
		}
	}
}
