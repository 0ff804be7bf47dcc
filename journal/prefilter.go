package journal

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
)

// gramBits is log2 of the prefilter's bitmap size: 2^16 bits (8 KiB), so the
// bitmap stays in L1 cache while a few hundred grams keep it sparse.
const gramBits = 16

// maxStride caps how far apart the prefilter probes the text. Longer strides
// need every literal to be longer (stride <= shortest literal - 3).
const maxStride = 8

// prefilter finds which of a fixed set of literals occur in a text in one
// pass. Every literal is at least 4 bytes. The text is probed every stride
// bytes: any occurrence of a literal of length L >= stride+3 covers at least
// one probe position with a whole 4-byte gram, so registering the grams at
// literal offsets 0..stride-1 catches every occurrence. A probe whose gram
// hash is set in the bitmap is verified against the candidate literals.
type prefilter struct {
	lits   [][]byte
	stride int
	bits   [1 << gramBits / 64]uint64
	head   [1 << gramBits]uint16 // gram hash → 1 + index of its first candidate in cands; 0 = none
	cands  []cand                // candidates grouped by hash: cands[head-1 : next group)
}

type cand struct {
	lit  int32  // index in lits
	off  int32  // offset of the gram inside the literal
	hash uint32 // the gram's hash; a group ends where the hash changes
}

func gramHash(v uint32) uint32 { return (v * 0x9E3779B1) >> (32 - gramBits) }

// newPrefilter builds the matcher. It fails when a literal is shorter than 4
// bytes.
func newPrefilter(lits []string) (*prefilter, error) {
	p := &prefilter{stride: maxStride}
	for _, l := range lits {
		if len(l) < 4 {
			return nil, fmt.Errorf("prefilter literal %q is shorter than 4 bytes", l)
		}
		p.stride = min(p.stride, len(l)-3)
		p.lits = append(p.lits, []byte(l))
	}
	for i, l := range p.lits {
		k := rareWindow(l, p.stride)
		for off := k; off < k+p.stride; off++ {
			h := gramHash(binary.LittleEndian.Uint32(l[off:]))
			p.bits[h/64] |= 1 << (h % 64)
			p.cands = append(p.cands, cand{lit: int32(i), off: int32(off), hash: h})
		}
	}
	if len(p.cands) >= 1<<16-1 {
		return nil, fmt.Errorf("prefilter: too many literals (%d)", len(lits))
	}
	slices.SortStableFunc(p.cands, func(a, b cand) int { return cmp.Compare(a.hash, b.hash) })
	for i := len(p.cands) - 1; i >= 0; i-- {
		p.head[p.cands[i].hash] = uint16(i + 1)
	}
	return p, nil
}

// rareWindow picks where in literal l the stride consecutive grams are
// taken: any window of stride gram offsets k..k+stride-1 with
// k+stride+3 <= len(l) catches every occurrence. It prefers the window
// whose grams look rarest in log text (upper case, digits and punctuation
// over lower-case words), so that fewer probes need verifying.
func rareWindow(l []byte, stride int) int {
	best, bestScore := 0, -1
	for k := 0; k+stride+3 <= len(l); k++ {
		score := 0
		for _, c := range l[k : k+stride+3] {
			switch {
			case c >= 'a' && c <= 'z':
			case c == ' ':
				score++
			case c >= 'A' && c <= 'Z':
				score += 2
			default:
				score += 3
			}
		}
		if score > bestScore {
			best, bestScore = k, score
		}
	}
	return best
}

// find calls hit once for each distinct literal index found in s, in no
// particular order. seen must have len(p.lits) entries and be all false; find
// leaves it set for the literals found.
func (p *prefilter) find(s []byte, seen []bool, hit func(lit int)) {
	for q := 0; q+4 <= len(s); q += p.stride {
		h := gramHash(binary.LittleEndian.Uint32(s[q:]))
		if p.bits[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		for i := int(p.head[h]) - 1; i >= 0 && i < len(p.cands) && p.cands[i].hash == h; i++ {
			c := p.cands[i]
			if seen[c.lit] {
				continue
			}
			start := q - int(c.off)
			if start >= 0 && bytes.HasPrefix(s[start:], p.lits[c.lit]) {
				seen[c.lit] = true
				hit(int(c.lit))
			}
		}
	}
}
