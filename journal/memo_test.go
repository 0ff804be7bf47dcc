package journal

import (
	"reflect"
	"testing"
)

func TestTimestampLen(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"2024-03-01 00:00:00 ERROR x", 20},
		{"2024-03-01 00:00:00.0070 ERROR x", 25},
		{"2024-03-01 00:00:00", 0}, // nothing after it: too short to strip
		{"2024-03-01T00:00:00 ERROR", 0},
		{"ERROR [x] 2024-03-01 00:00:00 y", 0},
		{"20a4-03-01 00:00:00 ERROR", 0},
		{"", 0},
	} {
		if got := timestampLen([]byte(tc.in)); got != tc.want {
			t.Errorf("timestampLen(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestMatchMemo checks that an entry body seen before gives the same
// events as a fresh Matcher computes, whatever its timestamp, and that
// the memo stays bounded.
func TestMatchMemo(t *testing.T) {
	texts := []string{
		"2024-03-01 00:00:00.0070 ERROR [ssm-agent-worker] [HealthCheck] error when calling AWS APIs. error details - RequestError: send request failed\ncaused by: Post \"https://ssm.us-east-1.amazonaws.com/\": dial tcp 10.0.1.5:443: i/o timeout",
		"2024-03-02 11:12:13.9999 ERROR [ssm-agent-worker] [HealthCheck] error when calling AWS APIs. error details - RequestError: send request failed\ncaused by: Post \"https://ssm.us-east-1.amazonaws.com/\": dial tcp 10.0.1.5:443: i/o timeout",
		"2024-03-02 11:12:14 ERROR [ssm-agent-worker] [MessageService] [MGSInteractor] Failed to get controlchannel token, error: dial tcp: lookup ssmmessages.us-east-1.amazonaws.com on 10.0.0.2:53: no such host",
	}
	m := DefaultCatalog().NewMatcher()
	for round := 0; round < 2; round++ {
		for _, tx := range texts {
			got := m.Match([]byte(tx))
			want := DefaultCatalog().NewMatcher().Match([]byte(tx))
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, %.40q: memo gave %+v, fresh %+v", round, tx, got, want)
			}
		}
	}
	for i := 0; i < 3*memoSize; i++ {
		m.Match([]byte("2024-03-01 00:00:00 ERROR dial tcp 10.0.1." + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676)) + ":443: i/o timeout lookup x.example on 10.0.0.2:53: no such host"))
		if len(m.memo) > memoSize {
			t.Fatalf("memo holds %d bodies, cap %d", len(m.memo), memoSize)
		}
	}
}
