package journal

import (
	"bytes"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ssm-probe/ssm-probe/errclass"
	"github.com/ssm-probe/ssm-probe/probe/redact"
)

// MaxSamples is how many sample entries a Summary keeps: the first one seen
// and the two most recent, so the report shows when a fault began and that
// it still happens.
const MaxSamples = 3

// MaxSampleBytes is how much of a sample entry's text is kept.
const MaxSampleBytes = 1024

// MaxDistinct caps each list of distinct values in a Summary; values after
// the cap are counted in Omitted.
const MaxDistinct = 16

// Sample is one entry shown as evidence.
type Sample struct {
	Source string    `json:"source"`        // "path:line", "path@offset:line" for a tail read, or "journal:<cursor>"
	Time   time.Time `json:"time,omitzero"` // zero when untimed
	Text   string    `json:"text"`          // the entry's text, cut to MaxSampleBytes, valid UTF-8, URL userinfo redacted
}

// Summary is what the logs show for one event kind.
type Summary struct {
	Kind      Kind             `json:"kind"`
	Count     int              `json:"count"`                // matching entries
	First     time.Time        `json:"first,omitzero"`       // earliest timed entry; zero when all were untimed
	Last      time.Time        `json:"last,omitzero"`        // latest timed entry
	Untimed   int              `json:"untimed,omitempty"`    // matching entries without a time
	Hosts     []string         `json:"hosts,omitempty"`      // distinct, sorted, at most MaxDistinct
	Addresses []string         `json:"addresses,omitempty"`  // IP:port, distinct, sorted, capped
	URLs      []string         `json:"urls,omitempty"`       // distinct, sorted, capped
	Buckets   []string         `json:"buckets,omitempty"`    // distinct, sorted, capped
	LogGroups []string         `json:"log_groups,omitempty"` // distinct, sorted, capped
	APIs      []string         `json:"apis,omitempty"`       // distinct, sorted, capped
	Values    []string         `json:"values,omitempty"`     // kind-specific values (version, channel, proxy variable)
	Classes   []errclass.Class `json:"classes,omitempty"`    // distinct error classes, sorted
	Omitted   int              `json:"omitted,omitempty"`    // distinct values dropped by the MaxDistinct caps
	Samples   []Sample         `json:"samples"`              // at most MaxSamples: the first and the latest two
}

// Aggregator folds events into Summaries with constant memory. The zero
// value is ready to use. It is not safe for concurrent use.
type Aggregator struct {
	byKind map[Kind]*Summary
	// tails holds, per kind, the raw latest entries since the samples were
	// last rendered: most entries of a busy kind are overwritten by later
	// ones, so only the survivors are made safe to show (sampleText), when
	// the summary is read or merged.
	tails map[Kind]*rawTail
}

// rawTail is a ring of the latest MaxSamples-1 raw sample entries.
type rawTail struct {
	s    [MaxSamples - 1]rawSample
	next int // where the next one goes
	n    int // how many were added (all but the last MaxSamples-1 are overwritten)
}

type rawSample struct {
	source   string
	t        time.Time
	text     []byte // at most MaxSampleBytes+1, reused
	redacted bool   // text was redacted before it was cut
}

// Add records one event of an entry. where names the entry's position; it
// is called only when the entry becomes a sample.
func (a *Aggregator) Add(ev Event, t time.Time, text []byte, where func() string) {
	if a.byKind == nil {
		a.byKind = make(map[Kind]*Summary)
	}
	s := a.byKind[ev.Kind]
	if s == nil {
		s = &Summary{Kind: ev.Kind}
		a.byKind[ev.Kind] = s
	}
	s.Count++
	if t.IsZero() {
		s.Untimed++
	} else {
		if s.First.IsZero() || t.Before(s.First) {
			s.First = t
		}
		if t.After(s.Last) {
			s.Last = t
		}
	}
	s.Hosts = s.addCapped(s.Hosts, ev.Fields.Hosts)
	s.Addresses = s.addCapped(s.Addresses, ev.Fields.Addresses)
	s.URLs = s.addCapped(s.URLs, ev.Fields.URLs)
	s.Buckets = s.addCapped(s.Buckets, ev.Fields.Buckets)
	s.LogGroups = s.addCapped(s.LogGroups, ev.Fields.LogGroups)
	s.APIs = s.addCapped(s.APIs, ev.Fields.APIs)
	s.Values = s.addCapped(s.Values, ev.Fields.Values)
	if ev.Class != errclass.None && !slices.Contains(s.Classes, ev.Class) {
		s.Classes = append(s.Classes, ev.Class)
	}
	if len(s.Samples) < MaxSamples {
		s.Samples = append(s.Samples, Sample{Source: where(), Time: t, Text: sampleText(text)})
		return
	}
	if a.tails == nil {
		a.tails = make(map[Kind]*rawTail)
	}
	rt := a.tails[ev.Kind]
	if rt == nil {
		rt = &rawTail{}
		a.tails[ev.Kind] = rt
	}
	r := &rt.s[rt.next]
	r.source, r.t = where(), t
	r.redacted = len(text) > MaxSampleBytes+1 && bytes.IndexByte(text[MaxSampleBytes+1:], '@') >= 0
	if r.redacted {
		// The '@' that ends a password lies past the cut: redact the
		// whole entry now, or the kept part would show the password.
		text = []byte(redact.Text(string(text)))
	}
	r.text = append(r.text[:0], text[:min(len(text), MaxSampleBytes+1)]...) // one more: sampleText sees the cut
	rt.next = (rt.next + 1) % len(rt.s)
	rt.n++
}

// render turns the raw latest entries into samples, as if each had been
// added in turn: the first sample stays, the latest MaxSamples-1 follow.
func (a *Aggregator) render() {
	for k, rt := range a.tails {
		s := a.byKind[k]
		n := min(rt.n, len(rt.s))
		for i := 0; i < n; i++ {
			r := &rt.s[(rt.next-n+i+len(rt.s))%len(rt.s)]
			copy(s.Samples[1:], s.Samples[2:])
			text := cutSample(r.text)
			if !r.redacted {
				text = sampleText(r.text)
			}
			s.Samples[MaxSamples-1] = Sample{Source: r.source, Time: r.t, Text: text}
		}
		rt.n = 0
	}
}

// Merge folds o, which holds events that come after a's, into a. Counts add
// up; the samples stay the first overall and the latest two.
func (a *Aggregator) Merge(o *Aggregator) {
	a.render()
	o.render()
	if a.byKind == nil {
		a.byKind = make(map[Kind]*Summary)
	}
	for k, os := range o.byKind {
		s := a.byKind[k]
		if s == nil {
			c := *os
			c.Samples = slices.Clone(os.Samples)
			a.byKind[k] = &c
			continue
		}
		s.Count += os.Count
		s.Untimed += os.Untimed
		s.Omitted += os.Omitted
		if !os.First.IsZero() && (s.First.IsZero() || os.First.Before(s.First)) {
			s.First = os.First
		}
		if os.Last.After(s.Last) {
			s.Last = os.Last
		}
		s.Hosts = s.addCapped(s.Hosts, os.Hosts)
		s.Addresses = s.addCapped(s.Addresses, os.Addresses)
		s.URLs = s.addCapped(s.URLs, os.URLs)
		s.Buckets = s.addCapped(s.Buckets, os.Buckets)
		s.LogGroups = s.addCapped(s.LogGroups, os.LogGroups)
		s.APIs = s.addCapped(s.APIs, os.APIs)
		s.Values = s.addCapped(s.Values, os.Values)
		for _, c := range os.Classes {
			if !slices.Contains(s.Classes, c) {
				s.Classes = append(s.Classes, c)
			}
		}
		all := append(slices.Clone(s.Samples), os.Samples...)
		if len(all) > MaxSamples {
			all = append(all[:1], all[len(all)-(MaxSamples-1):]...)
		}
		s.Samples = all
	}
}

func (s *Summary) addCapped(dst, vals []string) []string {
	for _, v := range vals {
		if v == "" || slices.Contains(dst, v) {
			continue
		}
		if len(dst) >= MaxDistinct {
			s.Omitted++
			continue
		}
		dst = append(dst, v)
	}
	return dst
}

// Summaries returns one Summary per kind seen, in the order of Kinds (kinds
// of a custom catalog that Kinds does not list follow, sorted), with every
// list sorted.
func (a *Aggregator) Summaries() []Summary {
	a.render()
	var out []Summary
	done := map[Kind]bool{}
	for _, k := range Kinds() {
		if s := a.byKind[k]; s != nil {
			out = append(out, finish(*s))
			done[k] = true
		}
	}
	var rest []Kind
	for k := range a.byKind {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	for _, k := range rest {
		out = append(out, finish(*a.byKind[k]))
	}
	return out
}

func finish(s Summary) Summary {
	for _, l := range [][]string{s.Hosts, s.Addresses, s.URLs, s.Buckets, s.LogGroups, s.APIs, s.Values} {
		slices.Sort(l)
	}
	slices.Sort(s.Classes)
	s.Samples = slices.Clone(s.Samples)
	return s
}

// sampleText makes an entry's text safe to show: cut to MaxSampleBytes on a
// rune boundary, invalid UTF-8 replaced, NULs removed, URL userinfo redacted.
// The redaction runs on the whole text before the cut, so that a cut between
// a password and its '@' cannot show the password.
func sampleText(b []byte) string {
	return cutSample([]byte(redact.Text(string(b))))
}

// cutSample is sampleText for a text already redacted.
func cutSample(b []byte) string {
	if len(b) > MaxSampleBytes {
		b = b[:MaxSampleBytes]
		// Drop a rune cut in half at the end rather than show U+FFFD.
		for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
			if r, _ := utf8.DecodeLastRune(b); r != utf8.RuneError {
				break
			}
			b = b[:len(b)-1]
		}
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}
