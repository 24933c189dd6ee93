package bounce

import (
	"math/rand/v2"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// slowDate is parseDate without the fast path.
func slowDate(v string) time.Time {
	t, err := mail.ParseDate(v)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func checkDate(t *testing.T, v string) bool {
	t.Helper()
	got, ok := parseDateFast(v)
	if !ok {
		return false
	}
	if want := slowDate(v); got != want {
		t.Fatalf("%q: fast path gives %v, mail.ParseDate %v", v, got, want)
	}
	return true
}

// TestParseDateLayouts: parseDateLayouts answers what mail.ParseDate
// answers, on odd shapes, random variations and the corpus's dates.
func TestParseDateLayouts(t *testing.T) {
	check := func(v string) {
		t.Helper()
		got, ok := parseDateLayouts(v)
		want, err := mail.ParseDate(v)
		if ok != (err == nil) || ok && !got.Equal(want) || ok && got.Location().String() != want.Location().String() {
			t.Fatalf("%q: %v (%v), mail.ParseDate %v (%v)", v, got, ok, want, err)
		}
	}
	seeds := []string{
		"Mon, 2 Jan 2006 15:04:05 -0700", "Thu, 9 Apr 2006 23:34:45 JST", "Tue, 23 Nov 21 07:04:16 UTC", "2 Jan 06 15:04 MST",
		"Thu, 20 Nov 1997 09:55:06 MDT (MDT)", "Thu, 20 Nov 1997 09:55:06 -0600 (a (b) \\) c)", "x (", "Mon, 2 Jan 2006 15:04:05 -0700 (open",
		"Mon, 2 Jan 2006\r\n 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:05 -0700\r", "  2 Jan 2006 15:04:05 UT", "T", "TT", "ab T cd", "2012-10-31 04-46-42",
		"20200702", "Wed, 3 May 2007 23:34:45", "'Thu, 29 Apr 2012 23:34:45 +0000'", "Wed, 23 May 2018 08:16:15 &#43;0000", "Thu 29 Apr 2010 23:34:45 +0900",
	}
	for _, v := range seeds {
		check(v)
	}
	rng := rand.New(rand.NewPCG(13, 14))
	alphabet := "0123456789 +-:,()\\TUMDJanSep\r\n\t"
	for n := 0; n < 30000; n++ {
		b := []byte(seeds[rng.IntN(len(seeds))])
		for k := rng.IntN(3); k >= 0 && len(b) > 0; k-- {
			b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
		}
		check(string(b))
	}
	eachCorpusMail(t, func(_ string, m []byte) {
		for _, line := range strings.Split(string(m), "\n") {
			if name, v, ok := strings.Cut(line, ":"); ok && (strings.EqualFold(name, "Date") || strings.HasSuffix(strings.ToLower(name), "-date")) {
				check(strings.TrimSpace(strings.TrimRight(v, "\r")))
			}
		}
	})
}

// TestParseDateFast: wherever the fast path answers, it answers what
// mail.ParseDate does; on the corpus's dates it answers nearly always.
func TestParseDateFast(t *testing.T) {
	fixed := []string{
		"Mon, 2 Jan 2006 15:04:05 -0700", "2 Jan 2006 15:04:05 +0900", "Thu, 26 Jan 2017 14:33:10 +0900 (JST)",
		"FRI, 29 feb 2008 23:59:59 +0000", "Sat, 29 Feb 2009 10:00:00 +0000", "Sun, 31 Apr 2010 10:00:00 +0000",
		"Mon, 2 Jan 2006 15:04:05 -0700 (a) (b)", "Mon, 2 Jan 2006 15:04:05 -0700 (a(b))", "Mon, 2 Jan 2006 15:04:05 -0700 (unclosed",
		"Mon, 2 Jan 2006 15:04:05 -0700 trailing words", "Mon, 2 Jan 2006 15:04:05.123 -0700", "Mon, 2 Jan 06 15:04:05 -0700",
		"Mon,  2 Jan 2006 15:04:05 -0700", "Mon, \t2 Jan 2006 15:04:05 -0700", "Fri,   5 Aug 2022 05:22:50 +0900 (JST)", "Mon, 2 Jan 2006 15:04 -0700", "Mon, 2 Jan 2006 15:04:05 GMT", "Xyz, 2 Jan 2006 15:04:05 -0700",
		"Mon, 002 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 24:00:00 -0700", "Mon, 2 Jan 2006 15:04:05 -2400", "Mon, 2 Jan 2006 15:04:05 +1460",
		"Mon, 2 Jan 2006 15:04:05 -07000", "Mon, 2 Jan 2006 15:04:05 \\(x)", "Mon, 0 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:60 -0700",
	}
	for _, v := range fixed {
		checkDate(t, v)
	}
	if !checkDate(t, "Thu, 26 Jan 2017 14:33:10 +0900 (JST)") || !checkDate(t, "2 Jan 2006 15:04:05 +0900") || !checkDate(t, "Fri,  5 Aug 2022 05:22:50 +0900 (JST)") {
		t.Fatal("the common shapes are not read by the fast path")
	}
	// Random variations of one date: digits, signs, blanks and letters
	// replaced one at a time.
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := "0123456789 +-:,()\\aJMT"
	for n := 0; n < 50000; n++ {
		b := []byte(fixed[rng.IntN(3)])
		for k := rng.IntN(3); k >= 0; k-- {
			b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
		}
		checkDate(t, string(b))
	}

	dates, fast := 0, 0
	eachCorpusMail(t, func(_ string, m []byte) {
		for _, line := range strings.Split(string(m), "\n") {
			name, v, ok := strings.Cut(line, ":")
			if !ok || !strings.EqualFold(name, "Date") && !strings.HasSuffix(strings.ToLower(name), "-date") {
				continue
			}
			v = strings.TrimSpace(strings.TrimRight(v, "\r"))
			if i := strings.IndexByte(v, ';'); i >= 0 && i < 8 {
				v = strings.TrimSpace(v[i+1:])
			}
			dates++
			if checkDate(t, v) {
				fast++
			}
		}
	})
	if dates > 0 && fast*10 < dates*8 {
		t.Fatalf("the fast path reads only %d of the corpus's %d dates", fast, dates)
	}
	t.Logf("corpus: %d of %d dates by the fast path", fast, dates)
}
