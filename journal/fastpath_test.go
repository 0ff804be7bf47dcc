package journal

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
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

// TestAggregatorLatestSamples checks that the samples are the first entry
// and the latest MaxSamples-1, rendered as sampleText would, however many
// entries came between and across a Merge.
func TestAggregatorLatestSamples(t *testing.T) {
	long := strings.Repeat("é", MaxSampleBytes) // two bytes a rune: the cut falls inside one
	var a, b Aggregator
	for i := 0; i < 10; i++ {
		i := i
		a.Add(Event{Kind: KindEndpointTimeout}, time.Unix(int64(i), 0), []byte(fmt.Sprintf("entry %d %s", i, long)), func() string { return fmt.Sprint("a:", i) })
	}
	for i := 10; i < 12; i++ {
		i := i
		b.Add(Event{Kind: KindEndpointTimeout}, time.Unix(int64(i), 0), []byte(fmt.Sprintf("entry %d", i)), func() string { return fmt.Sprint("b:", i) })
	}
	got := a.Summaries()[0].Samples
	want := []string{"a:0", "a:8", "a:9"}
	for i, s := range got {
		if s.Source != want[i] || !strings.HasPrefix(s.Text, fmt.Sprintf("entry %s ", want[i][2:])) {
			t.Errorf("sample %d: %s %.12q, want %s", i, s.Source, s.Text, want[i])
		}
		if len(s.Text) > MaxSampleBytes || !utf8.ValidString(s.Text) || strings.ContainsRune(s.Text, utf8.RuneError) {
			t.Errorf("sample %d: %d bytes, not cut on a rune boundary", i, len(s.Text))
		}
	}
	a.Add(Event{Kind: KindEndpointTimeout}, time.Unix(9, 5), []byte("entry 9b"), func() string { return "a:9b" })
	a.Merge(&b)
	var srcs []string
	for _, s := range a.Summaries()[0].Samples {
		srcs = append(srcs, s.Source)
	}
	if strings.Join(srcs, ",") != "a:0,b:10,b:11" {
		t.Errorf("after merge: %v, want a:0,b:10,b:11", srcs)
	}
}

// TestFindURLsIsReURL checks findURLs against the expression it stands for,
// on the catalog's fixtures' kind of text and on random text over the
// bytes that matter.
func TestFindURLsIsReURL(t *testing.T) {
	cases := []string{
		`Post "https://ssm.us-east-1.amazonaws.com/": dial tcp 10.0.1.5:443: i/o timeout`,
		`Post https://ssm.us-east-1.amazonaws.com/: EOF, then wss://ssmmessages.x/v1/control-channel/i-0 and http://proxy:3128`,
		`https://a/?u=http://b https:// http://x,y wss://z;w xhttps://q ://r hhttp://s`,
		"https://\xff\xfe/é\tnext http://\x00",
	}
	tokens := []string{"https", "http", "wss", "ws", "s", "h", "://", ":/", ":", "/", "x", ".", " ", "\t", "\v", "\"", "'", "`", ",", ";", "<", ">", "\xff", "é"}
	r := newRand(7)
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for j := r.next() % 12; j > 0; j-- {
			b.WriteString(tokens[r.next()%uint64(len(tokens))])
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		for _, n := range []int{1, 8} {
			got, want := findURLs([]byte(c), n), reURL.FindAll([]byte(c), n)
			if len(got) != len(want) {
				t.Fatalf("%q n=%d: %q, want %q", c, n, got, want)
			}
			for k := range got {
				if !bytes.Equal(got[k], want[k]) {
					t.Fatalf("%q n=%d: %q, want %q", c, n, got, want)
				}
			}
		}
	}
}

// TestAggregatorLatestSampleLongPassword checks that the latest samples,
// which are kept raw and cut to MaxSampleBytes+1 until rendered, show no
// part of a password whose '@' lies past the cut: the cut part alone holds
// no '@', so redacting it afterwards would find nothing to hide.
func TestAggregatorLatestSampleLongPassword(t *testing.T) {
	secret := strings.Repeat("Xk9fQ2sAbCdE", 2*MaxSampleBytes/12)
	var a Aggregator
	for i := 0; i < 2*MaxSamples; i++ {
		text := fmt.Sprintf("2024-03-01 10:00:%02d.0000 INFO [amazon-ssm-agent] https_proxy: alice:%s==@10.0.0.5:3128", i, secret)
		a.Add(Event{Kind: KindProxyConfig}, time.Unix(int64(i), 0), []byte(text), func() string { return fmt.Sprint(i) })
	}
	samples := a.Summaries()[0].Samples
	if len(samples) != MaxSamples {
		t.Fatalf("%d samples, want %d", len(samples), MaxSamples)
	}
	for i, s := range samples {
		if strings.Contains(s.Text, "Xk9f") || !strings.Contains(s.Text, "https_proxy: REDACTED@10.0.0.5:3128") {
			t.Errorf("sample %d (%s) shows the password or lost the proxy: %.120q", i, s.Source, s.Text)
		}
	}
}

// TestFindURLsLinear checks that findURLs examines each byte of a crafted
// 64 KiB line at most once (it used to scan to the end of the
// text for every "://" before checking the scheme), counting the bytes
// scanURLs examined rather than timing it, and that it still returns what
// reURL does.
func TestFindURLsLinear(t *testing.T) {
	for _, unit := range []string{"x://", "://", "ttp://", "https:/", "xhttps://", "http://", "wss://a ", "http:// ", "x://\xff"} {
		text := []byte(strings.Repeat(unit, (64<<10)/len(unit)))
		for _, n := range []int{1, 8} {
			got, examined := scanURLs(text, n)
			if examined > len(text) {
				t.Errorf("%q×%d n=%d: examined %d bytes, more than the line's %d", unit, len(text)/len(unit), n, examined, len(text))
			}
			want := reURL.FindAll(text, n)
			if len(got) != len(want) {
				t.Fatalf("%q n=%d: %d URLs, want %d", unit, n, len(got), len(want))
			}
			for k := range got {
				if !bytes.Equal(got[k], want[k]) {
					t.Fatalf("%q n=%d: URL %d is %d bytes, want %d", unit, n, k, len(got[k]), len(want[k]))
				}
			}
		}
	}
	// Only the "://" without a scheme before it: the whole line is looked
	// at once and nothing is found.
	text := []byte(strings.Repeat("x://", 16<<10))
	if got, examined := scanURLs(text, 8); len(got) != 0 || examined != len(text) {
		t.Errorf("x:// line: %d URLs, examined %d of %d bytes; want none, all once", len(got), examined, len(text))
	}
}

// newRand is a tiny deterministic generator (xorshift) for the test.
type xorshift struct{ s uint64 }

func newRand(seed uint64) *xorshift { return &xorshift{s: seed*2654435761 + 1} }

func (x *xorshift) next() uint64 {
	x.s ^= x.s << 13
	x.s ^= x.s >> 7
	x.s ^= x.s << 17
	return x.s
}
