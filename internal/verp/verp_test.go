package verp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func TestFormatParse(t *testing.T) {
	cases := []struct {
		campaign string
		row      int64
		why      string
	}{
		{"spring", 0, "row zero"},
		{"spring-sale", 42, "a '-' in the name is escaped, so the row is still found"},
		{"春", 7, "non-ASCII name, escaped octet by octet"},
		{"a.b", 123456789012, "a dot inside is kept; a large row"},
		{".x.", 1, "leading and trailing dots are escaped"},
		{"", 3, "empty name"},
	}
	for _, c := range cases {
		a := Format(c.campaign, c.row, "b.example.jp", key)
		local := a[:strings.LastIndexByte(a, '@')]
		if len(local) > 64 {
			t.Errorf("%s: local part %q over 64 octets", c.why, local)
		}
		for _, form := range []string{a, "<" + a + ">"} {
			camp, row, ok := Parse(form, key)
			if !ok || camp != c.campaign || row != c.row {
				t.Errorf("Parse(%q) = %q %d %v, want %q %d (%s)", form, camp, row, ok, c.campaign, c.row, c.why)
			}
		}
	}
}

func TestForged(t *testing.T) {
	a := Format("spring", 5, "b.example.jp", key)
	at := strings.LastIndexByte(a, '@')
	h := a[at-HashLen : at]
	flip := []byte(h)
	if flip[0] == 'a' {
		flip[0] = 'b'
	} else {
		flip[0] = 'a'
	}
	cases := map[string]string{
		"forged hash":  a[:at-HashLen] + string(flip) + a[at:],
		"wrong row":    strings.Replace(a, "-5-", "-6-", 1),
		"other name":   strings.Replace(a, "spring", "sprinG2", 1),
		"no hash":      "bounce+spring-5@b.example.jp",
		"short hash":   a[:at-1] + a[at:],
		"not VERP":     "someone@b.example.jp",
		"no at":        "bounce+spring-5-abcdefghij",
		"bad escape":   "bounce+sp=Z1-5-" + h + "@b.example.jp",
		"negative row": "bounce+spring--5-" + h + "@b.example.jp",
	}
	for why, addr := range cases {
		if c, r, ok := Parse(addr, key); ok {
			t.Errorf("%s: Parse(%q) = %q %d, want refused", why, addr, c, r)
		}
	}
	if _, _, ok := Parse(a, []byte("another key, 32 octets long.....")); ok {
		t.Errorf("a different key verified %q", a)
	}
}

func TestCaseFolding(t *testing.T) {
	for _, camp := range []string{"spring", "Spring-Sale", "春"} {
		a := Format(camp, 9, "B.Example.JP", key)
		for _, folded := range []string{strings.ToLower(a), strings.ToUpper(a)} {
			c, r, ok := Parse(folded, key)
			if !ok || r != 9 || !strings.EqualFold(c, camp) {
				t.Errorf("Parse(%q) = %q %d %v, want %q 9 (case folded by a relay)", folded, c, r, ok, camp)
			}
		}
	}
}

func TestParseUnverified(t *testing.T) {
	a := Format("x-y", 11, "d.example", key)
	c, r, ok := ParseUnverified(a)
	if !ok || c != "x-y" || r != 11 {
		t.Errorf("ParseUnverified(%q) = %q %d %v", a, c, r, ok)
	}
}

func TestLoadKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d", KeyFile)
	if _, err := LoadKey(p, false); err == nil {
		t.Fatal("LoadKey without create made a key")
	}
	k1, err := LoadKey(p, true)
	if err != nil || len(k1) != KeyLen {
		t.Fatalf("LoadKey = %d octets, %v", len(k1), err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", fi.Mode(), err)
	}
	k2, err := LoadKey(p, true)
	if err != nil || string(k1) != string(k2) {
		t.Fatalf("second LoadKey gave another key (%v)", err)
	}
	os.WriteFile(p, []byte("short"), 0o600)
	if _, err := LoadKey(p, true); err == nil {
		t.Fatal("a 5-octet key was accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Format("spring", 5, "b.example.jp", key))
	f.Add("bounce+=E6=98=A5-1-abcdefghij@x")
	f.Add("<bounce+--1-aaaaaaaaaa@>")
	f.Fuzz(func(t *testing.T, addr string) {
		c, r, ok := Parse(addr, key)
		if !ok {
			return
		}
		// A verified address is one Format could have made (up to case
		// and brackets): formatting it again verifies too.
		at := strings.LastIndexByte(addr, '@')
		again := Format(c, r, strings.TrimSuffix(addr[at+1:], ">"), key)
		if _, _, ok := Parse(again, key); !ok {
			t.Errorf("Parse(%q) ok but Format(%q, %d) does not parse", addr, c, r)
		}
	})
}
