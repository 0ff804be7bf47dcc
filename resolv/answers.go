package resolv

import (
	"net/netip"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Answers holds at most one answer per (server, name, type, transport):
// the first caller for a key computes it, and every later or concurrent
// caller gets the same answer. The zero value is ready to use.
type Answers struct {
	mu sync.Mutex
	m  map[answerKey]*answerEntry
}

type answerKey struct {
	server netip.AddrPort
	name   string // lower case, fully qualified
	qtype  uint16
	tcp    bool
}

type answerEntry struct {
	once sync.Once
	a    Answer
}

// Get returns the answer for the key, calling ask for it only if no
// caller has yet.
func (c *Answers) Get(server netip.AddrPort, name string, qtype uint16, tcp bool, ask func() Answer) Answer {
	k := answerKey{server, strings.ToLower(dns.Fqdn(name)), qtype, tcp}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[answerKey]*answerEntry{}
	}
	e := c.m[k]
	if e == nil {
		e = &answerEntry{}
		c.m[k] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.a = ask() })
	return e.a
}
