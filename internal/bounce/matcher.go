package bounce

import (
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// textIndex finds, in one pass over a lower-cased text, which of many
// literal patterns occur in it. The rules are matched on every
// diagnostic of every bounce: a strings.Contains per rule (and a regexp
// per pattern rule) was most of the reader's time. Patterns are bucketed
// by a hash of their first three octets; a position whose first two
// octets begin no pattern (an exact bit test) costs one load, the others
// compare only the few patterns of their bucket. Patterns shorter than
// three octets are rare and looked for one by one.
type textIndex struct {
	pats  []string
	pairs [1 << 16 / 64]uint64 // first two octets of the patterns of 3+ octets
	start [hashBuckets + 1]int32
	ids   []int32 // pattern ids by bucket, each bucket in id order
	short []int32 // patterns of 1 or 2 octets
}

const hashBits = 12
const hashBuckets = 1 << hashBits

func hash3(a, b, c byte) uint32 {
	return (uint32(a) | uint32(b)<<8 | uint32(c)<<16) * 0x9E3779B1 >> (32 - hashBits)
}

func newTextIndex(pats []string) *textIndex {
	// Counting sort into ids without arrays on the stack (16 KiB each
	// made the first Read of a process grow its stack): start[h+1]
	// counts bucket h, then ends it; filled from the last pattern down,
	// each bucket is in id order and start[h+1] ends up where bucket h
	// begins, so the table is moved one place.
	x := &textIndex{pats: pats}
	for i, p := range pats {
		if len(p) < 3 {
			x.short = append(x.short, int32(i))
			continue
		}
		k := uint32(p[0])<<8 | uint32(p[1])
		x.pairs[k/64] |= 1 << (k % 64)
		x.start[hash3(p[0], p[1], p[2])+1]++
	}
	for h := 1; h <= hashBuckets; h++ {
		x.start[h] += x.start[h-1]
	}
	total := x.start[hashBuckets]
	x.ids = make([]int32, total)
	for i := len(pats) - 1; i >= 0; i-- {
		if p := pats[i]; len(p) >= 3 {
			h := hash3(p[0], p[1], p[2])
			x.start[h+1]--
			x.ids[x.start[h+1]] = int32(i)
		}
	}
	copy(x.start[:hashBuckets], x.start[1:])
	x.start[hashBuckets] = total
	return x
}

// bitset has one bit per pattern.
type bitset []uint64

func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }

// scan sets in found (len(pats) bits, cleared by the caller) the
// patterns that occur in s.
func (x *textIndex) scan(s string, found bitset) {
	for _, id := range x.short {
		if strings.Contains(s, x.pats[id]) {
			found.set(int(id))
		}
	}
	for i := 0; i+3 <= len(s); i++ {
		k := uint32(s[i])<<8 | uint32(s[i+1])
		if x.pairs[k/64]&(1<<(k%64)) == 0 {
			continue
		}
		h := hash3(s[i], s[i+1], s[i+2])
		rest := s[i:]
		for _, id := range x.ids[x.start[h]:x.start[h+1]] {
			if p := x.pats[id]; strings.HasPrefix(rest, p) {
				found.set(int(id))
			}
		}
	}
}

// requiredLiteral is a literal that every match of the (?i) pattern re
// has in a lower-cased text, "" when none can be told (the regexp then
// runs on every text). The longest one is taken, being the rarest.
func requiredLiteral(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		var b strings.Builder
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 {
				r = unicode.ToLower(r)
			}
			b.WriteRune(r)
		}
		return b.String()
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiteral(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return requiredLiteral(re.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, sub := range re.Sub {
			if l := requiredLiteral(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}

// foldHazards are the runes a lower-cased text may hold that (?i)
// matching takes for a rune of lit although they are not that rune
// ("ſ" for "s"): a text holding one is read by the regexp unfiltered.
func foldHazards(lit string) []string {
	var out []string
	seen := map[rune]bool{}
	for _, c := range lit {
		for y := unicode.SimpleFold(c); y != c; y = unicode.SimpleFold(y) {
			if unicode.ToLower(y) == y && y != c && !seen[y] && utf8.ValidRune(y) {
				seen[y] = true
				out = append(out, string(y))
			}
		}
	}
	return out
}
