package protocol

import (
	"strings"
	"testing"
)

func TestFoldWords(t *testing.T) {
	long := strings.Repeat("x", 90)
	cases := []struct {
		col   int
		words []string
		want  string
		end   int
	}{
		{0, []string{"a", "b"}, "a b", 3},
		// 70 + space + 8 = 79 passes 78: the word goes to a new line.
		{70, []string{"", "12345678"}, "\r\n\t12345678", 9},
		{69, []string{"", "12345678"}, " 12345678", 78},
		// A word longer than a line stays whole, on its own line.
		{10, []string{"k=v;", long, "z"}, "k=v;\r\n\t" + long + "\r\n\tz", 2},
		{5, nil, "", 5},
	}
	for _, c := range cases {
		var b strings.Builder
		end := FoldWords(&b, c.col, c.words)
		if b.String() != c.want || end != c.end {
			t.Errorf("FoldWords(%d, %q) = %q, %d; want %q, %d", c.col, c.words, b.String(), end, c.want, c.end)
		}
	}
	// Every line of a folded run of short words fits the limit.
	var b strings.Builder
	b.WriteString("Received-SPF:")
	FoldWords(&b, len("Received-SPF:"), append([]string{""}, strings.Fields(strings.Repeat("word=value; ", 40))...))
	for _, l := range strings.Split(b.String(), "\r\n") {
		if len(l) > MaxHeaderLine {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
	}
}

func TestIsDotAtom(t *testing.T) {
	for s, want := range map[string]bool{
		"a": true, "a.b": true, "o'brien+tag": true, "a!#$%&'*+-/=?^_`{|}~z": true,
		"": false, ".a": false, "a.": false, "a..b": false, "a b": false, `"a"`: false,
		"a@b": false, "(a)": false, "日本": false,
	} {
		if got := IsDotAtom(s); got != want {
			t.Errorf("IsDotAtom(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestSplitAddress(t *testing.T) {
	cases := []struct {
		in, local, domain string
		ok                bool
	}{
		{"a@example.jp", "a", "example.jp", true},
		{`"a@b"@example.jp`, `"a@b"`, "example.jp", true}, // the last '@' splits
		{"@example.jp", "", "example.jp", true},
		{"a@", "a", "", true},
		{"postmaster", "postmaster", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		l, d, ok := SplitAddress(c.in)
		if l != c.local || d != c.domain || ok != c.ok {
			t.Errorf("SplitAddress(%q) = %q, %q, %v; want %q, %q, %v", c.in, l, d, ok, c.local, c.domain, c.ok)
		}
		if DomainOf(c.in) != c.domain {
			t.Errorf("DomainOf(%q) = %q", c.in, DomainOf(c.in))
		}
	}
}
