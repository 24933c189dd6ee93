package bounce

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// toLower is strings.ToLower, faster on the mixed Japanese and ASCII
// texts of bounces: ASCII is lowered octet by octet and the scripts
// without case (kana, CJK, Hangul: caseless, TestToLower checks every
// rune of them) are copied without a table search per rune.
func toLower(s string) string { return toLowerIn(nil, s) }

// toLowerIn is toLower writing the copy, when one is needed, in a.
func toLowerIn(a *scratch, s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || !caseless(r) && unicode.ToLower(r) != r {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	b := a.begin(len(s) + 8)
	b = append(b, s[:i]...)
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = utf8.AppendRune(b, utf8.RuneError) // as strings.Map writes an invalid octet
		case caseless(r):
			b = append(b, s[i:i+size]...)
		default:
			b = utf8.AppendRune(b, unicode.ToLower(r))
		}
		i += size
	}
	return a.end(b)
}

// caseless tells the runes of the blocks that have no case at all:
// CJK symbols, kana, ideographs, Hangul (U+3000-U+A63F, U+AC00-U+D7FF).
func caseless(r rune) bool {
	return r >= 0x3000 && r < 0xA640 || r >= 0xAC00 && r < 0xD800
}

// hasPrefixFold tells whether s begins with prefix, ASCII case ignored.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hasSuffixFold tells whether s ends with suffix, ASCII case ignored.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// indexFold is the first index of sub (lower-case ASCII) in s, ASCII
// case ignored, or -1: strings.Index(strings.ToLower(s), sub) without
// the copy, and an index into s itself.
func indexFold(s, sub string) int {
	if sub == "" {
		return 0
	}
	c0 := sub[0]
	for i := 0; i+len(sub) <= len(s); i++ {
		if (s[i] == c0 || s[i]|0x20 == c0 && 'a' <= c0 && c0 <= 'z') && strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// The lower* tests give what the same test on toLower(s) gives (for
// lower-case target texts) without the copy. EqualFold on slices of the
// target's length in octets is that test, except for the only two runes
// that lower-case into ASCII, U+0130 and U+212A: with those, s is copied.

func foldSpecial(s string) bool {
	return !isASCIIString(s) && (strings.Contains(s, "\u0130") || strings.Contains(s, "\u212a"))
}

func lowerHasPrefix(s, prefix string) bool {
	if foldSpecial(s) {
		return strings.HasPrefix(toLower(s), prefix)
	}
	return hasPrefixFold(s, prefix)
}

func lowerHasSuffix(s, suffix string) bool {
	if foldSpecial(s) {
		return strings.HasSuffix(toLower(s), suffix)
	}
	return hasSuffixFold(s, suffix)
}

func lowerEquals(s, t string) bool {
	if foldSpecial(s) {
		return toLower(s) == t
	}
	return len(s) == len(t) && strings.EqualFold(s, t)
}

// lowerContains is strings.Contains(toLower(s), sub).
func lowerContains(s, sub string) bool {
	if foldSpecial(s) || !isASCIIString(sub) {
		return strings.Contains(toLower(s), sub)
	}
	return indexFold(s, sub) >= 0
}

// toLowerIfSpecial lower-cases s only when lower-casing can turn one of
// its runes into ASCII, which the address scanner would see.
func toLowerIfSpecial(s string) string {
	if foldSpecial(s) {
		return toLower(s)
	}
	return s
}
