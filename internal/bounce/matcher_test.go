package bounce

import (
	"math/rand/v2"
	"regexp/syntax"
	"strings"
	"testing"
)

// matchNaive is what matchExcept must give: each rule tried in turn.
func (rs *Rules) matchNaive(lower, reason string) (rule, bool) {
	for _, r := range rs.rules {
		if r.reason == reason {
			continue
		}
		if r.re != nil {
			if r.re.MatchString(lower) {
				return r, true
			}
		} else if strings.Contains(lower, r.text) {
			return r, true
		}
	}
	return rule{}, false
}

func checkSameMatch(t *testing.T, rs *Rules, text string, excepts ...string) {
	t.Helper()
	for _, except := range append([]string{""}, excepts...) {
		got, gok := rs.matchExcept(text, except)
		want, wok := rs.matchNaive(text, except)
		if gok != wok || got.line != want.line {
			t.Fatalf("except %q, text %q: index gives line %d (%v), rule by rule gives line %d (%v)", except, text, got.line, gok, want.line, wok)
		}
	}
}

// TestMatcherCorpus: on every line, paragraph and whole text of the
// public corpus, lower-cased as the reader does, the index finds the rule
// that trying each rule finds.
func TestMatcherCorpus(t *testing.T) {
	rs := Default()
	texts, hits := 0, 0
	seen := map[string]bool{}
	eachCorpusMail(t, func(_ string, m []byte) {
		lower := strings.ToLower(string(m[:min(len(m), 4<<10)]))
		checkSameMatch(t, rs, lower)
		for _, para := range strings.Split(lower, "\n\n") {
			if seen[para] {
				continue
			}
			seen[para] = true
			if len(para) < 2048 {
				checkSameMatch(t, rs, para)
			}
			for _, line := range strings.Split(para, "\n") {
				if seen[line] {
					continue
				}
				seen[line] = true
				checkSameMatch(t, rs, line) // skipping a reason: TestMatcherRandom
				if _, ok := rs.matchNaive(line, ""); ok {
					hits++
				}
				texts++
			}
		}
	})
	if hits < 100 {
		t.Fatalf("only %d of %d corpus lines match a rule: the check proves little", hits, texts)
	}
	t.Logf("%d lines, %d matching a rule", texts, hits)
}

// TestMatcherRandom: texts made of pieces of the rule texts (cut,
// joined, case-folding look-alikes such as "ſ" for "s") and noise.
func TestMatcherRandom(t *testing.T) {
	rs := Default()
	var pieces []string
	for _, r := range rs.rules {
		if r.re == nil {
			pieces = append(pieces, r.text)
		}
	}
	pieces = append(pieces, "host mx.example.jp not found", "delivery failed 12 attempts", "ſpam", "ſpf fail", "spf check: fail",
		"relaying denied", "unable to resolve your hostname", "blocked", "xblocked", " spam ", "5.7.1 message content rejected",
		"ſ", "k", "\u212a", "\xff", "ü", "ﬀ")
	rng := rand.New(rand.NewPCG(12, 1))
	noise := "abcdefghijklmnopqrstuvwxyz0123456789 .:;<>@-_'\"()[]\n\t"
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		for k := rng.IntN(6); k >= 0; k-- {
			switch rng.IntN(4) {
			case 0:
				for j := rng.IntN(12); j >= 0; j-- {
					b.WriteByte(noise[rng.IntN(len(noise))])
				}
			case 1:
				p := pieces[rng.IntN(len(pieces))]
				i, j := rng.IntN(len(p)+1), rng.IntN(len(p)+1)
				b.WriteString(p[min(i, j):max(i, j)])
			default:
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		checkSameMatch(t, rs, strings.ToLower(b.String()), "expired", "blocked")
	}
}

// TestMatcherShortAndOwnRules: a rules file with patterns shorter than
// the index's three octets, patterns sharing prefixes and regexps with
// and without a literal to filter on.
func TestMatcherShortAndOwnRules(t *testing.T) {
	rs, err := ParseRules(strings.NewReader(`userunknown x
mailboxfull 容
blocked ab
blocked abc
rejected abcd
spamdetected /\bsp[a4]m\b/
filtered /(foo|bar)baz/
expired /retr(y|ied) \d+ times/
suspend:801 stop
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"", "x", "a", "ab", "abc", "zabcd", "sp4m here", "spam", "ſpam", "barbaz", "fooba", "retried 3 times",
		"retry times", "容量", "stop", "sto", "abcdx", "s t o p x"} {
		checkSameMatch(t, rs, text, "blocked")
	}
	if r, ok := rs.matchExcept("zabcd", ""); !ok || r.reason != "blocked" {
		t.Fatalf("zabcd: got %q, want the first rule that matches (blocked ab)", r.reason)
	}
}

func TestRequiredLiteral(t *testing.T) {
	for _, c := range []struct{ re, lit string }{
		{`\bspam\b`, "spam"},
		{`host \S+ not found`, " not found"},
		{`delivery failed \d+ attempts`, "delivery failed "},
		{`(a|b)c`, "c"},
		{`(foo|bar)`, ""},
		{`x*`, ""},
		{`(abc)+d`, "abc"},
		{`HELLO`, "hello"},
	} {
		tree, err := syntax.Parse("(?i)"+c.re, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		if got := requiredLiteral(tree); got != c.lit {
			t.Errorf("%s: got %q, want %q", c.re, got, c.lit)
		}
	}
	if h := foldHazards("spam"); len(h) != 1 || h[0] != "ſ" {
		t.Errorf("hazards of spam: %q, want [ſ]", h)
	}
}
