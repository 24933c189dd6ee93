package bounce

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestToLower: toLower is strings.ToLower: on every rune, on the runes
// it takes to be caseless, on invalid UTF-8, on random mixes and on the
// corpus.
func TestToLower(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if caseless(r) && unicode.ToLower(r) != r {
			t.Fatalf("U+%04X is not caseless: lower U+%04X", r, unicode.ToLower(r))
		}
	}
	check := func(s string) {
		t.Helper()
		if got, want := toLower(s), strings.ToLower(s); got != want {
			t.Fatalf("%q: toLower %q, strings.ToLower %q", s, got, want)
		}
	}
	var all strings.Builder
	for r := rune(0); r <= 0x2FFFF; r++ {
		if utf8.ValidRune(r) {
			all.WriteRune(r)
			if r%64 == 0 {
				check(all.String())
				all.Reset()
			}
		}
	}
	for _, s := range []string{"", "abc", "ABC", "日本語", "日本語ABC", "Ａｂ", "\xff", "a\xffB", "\xe3\x81", "İK\u212aſ", "ǅ", "ΣΑΣ"} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", " ", "日", "ア", "Ä", "\xff", "\xe3", "İ", "\u212a", "Ｑ", "한", "ß", "Ⱥ"}
	for n := 0; n < 50000; n++ {
		var b strings.Builder
		for k := rng.IntN(12); k >= 0; k-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		check(b.String())
	}
	eachCorpusMail(t, func(_ string, m []byte) {
		check(string(m))
		check(toUTF8(m, "iso-2022-jp"))
		check(toUTF8(m, "shift_jis"))
	})
}

// TestLowerTests: the lower* tests answer what the same test on the
// lower-cased text answers, on texts with the runes that lower-case into
// ASCII and look-alikes (ſ, ς, Kelvin sign, dotted I).
func TestLowerTests(t *testing.T) {
	targets := []string{"to:", "from:", "rcpt to:", "delivering your mail to", "受信者", "宛先:", "x-", "message-id", "kik", "s", "a@b.c"}
	rng := rand.New(rand.NewPCG(9, 9))
	alphabet := []string{"t", "T", "o", "O", ":", "İ", "\u212a", "k", "K", "ſ", "s", "S", "ς", "σ", "宛", "先", "受信者", " ", "x", "-", "i", "I", "@", "b", ".", "c"}
	for n := 0; n < 100000; n++ {
		var b strings.Builder
		for k := rng.IntN(8); k >= 0; k-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		l := strings.ToLower(s)
		for _, x := range targets {
			if lowerHasPrefix(s, x) != strings.HasPrefix(l, x) || lowerHasSuffix(s, x) != strings.HasSuffix(l, x) ||
				lowerEquals(s, x) != (l == x) || lowerContains(s, x) != strings.Contains(l, x) {
				t.Fatalf("%q against %q: prefix %v suffix %v equal %v contains %v; on the lower-cased text %v %v %v %v", s, x,
					lowerHasPrefix(s, x), lowerHasSuffix(s, x), lowerEquals(s, x), lowerContains(s, x),
					strings.HasPrefix(l, x), strings.HasSuffix(l, x), l == x, strings.Contains(l, x))
			}
		}
		if hasAddr(toLowerIfSpecial(s)) != hasAddr(l) {
			t.Fatalf("%q: an address %v, in the lower-cased text %v", s, hasAddr(toLowerIfSpecial(s)), hasAddr(l))
		}
	}
}
