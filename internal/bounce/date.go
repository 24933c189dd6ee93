package bounce

import (
	"strings"
	"sync"
	"time"
)

// parseDate reads a Date-like field value into UTC, zero when it cannot.
func parseDate(v string) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	if i := strings.IndexByte(v, ';'); i >= 0 && i < 8 {
		v = strings.TrimSpace(v[i+1:])
	}
	if t, ok := parseDateFast(v); ok {
		return t
	}
	t, ok := parseDateLayouts(v)
	if !ok {
		return time.Time{}
	}
	return t.UTC()
}

// parseDateLayouts reads a date as net/mail's ParseDate does (the zone
// found by its sign or an obsolete name ending in T, a comment after it
// skipped, then the RFC 5322 layouts in its order), so that the reader
// needs no net/mail and with it the net package, a tenth of the start-up
// of a process that reads bounces (TestParseDateLayouts compares them).
func parseDateLayouts(date string) (time.Time, bool) {
	date = strings.ReplaceAll(date, "\r\n", "")
	if strings.Contains(date, "\r") {
		return time.Time{}, false
	}
	rest := strings.TrimLeft(date, " \t")
	if i := strings.IndexAny(rest, "+-"); i >= 0 && len(rest) >= i+5 {
		date, rest = rest[:i+5], rest[i+5:]
	} else {
		i := strings.Index(rest, "T")
		if i == 0 {
			if i = strings.Index(rest[1:], "T"); i >= 0 {
				i++
			}
		}
		if i >= 0 && len(rest) >= i+5 {
			date, rest = rest[:i+1], rest[i+1:]
		}
	}
	if !skipComments(rest) {
		return time.Time{}, false
	}
	for _, layout := range dateLayouts() {
		if t, err := time.Parse(layout, date); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// skipComments tells whether the comments at the start of s (after
// blanks) are closed: "(a (b) \) c)".
func skipComments(s string) bool {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" || s[0] != '(' {
			return true
		}
		s = s[1:]
		depth := 1
		for s != "" && depth > 0 {
			switch {
			case s[0] == '\\' && len(s) > 1:
				s = s[1:] // the next octet is taken as it is
			case s[0] == '(':
				depth++
			case s[0] == ')':
				depth--
			}
			s = s[1:]
		}
		if depth > 0 {
			return false
		}
	}
}

// dateLayouts are RFC 5322's date forms, with and without the day name,
// two-digit days and years and the seconds, each zone form.
var dateLayouts = sync.OnceValue(func() []string {
	var out []string
	for _, dow := range []string{"", "Mon, "} {
		for _, day := range []string{"2", "02"} {
			for _, year := range []string{"2006", "06"} {
				for _, sec := range []string{":05", ""} {
					for _, zone := range []string{"-0700", "MST", "UT"} {
						out = append(out, dow+day+" Jan "+year+" 15:04"+sec+" "+zone)
					}
				}
			}
		}
	}
	return out
})

var (
	dayNames   = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	monthNames = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
)

// parseDateFast reads the one shape nearly every bounce writes, "Mon, 2
// Jan 2006 15:04:05 -0700" with or without the day name and with or
// without a simple comment after the zone, giving what mail.ParseDate
// gives. mail.ParseDate tries up to 48 layouts and allocates an error
// for each that fails: it was half of the reader's allocations. Any
// other shape, odd spacing or out-of-range field is left to it (ok
// false), so the answers never differ (TestParseDateFast).
func parseDateFast(s string) (time.Time, bool) {
	if len(s) >= 5 && isLetter(s[0]) {
		if !oneOfFold(s[:3], dayNames) || s[3] != ',' || s[4] != ' ' {
			return time.Time{}, false
		}
		s = strings.TrimLeft(s[5:], " ") // Postfix pads the day: "Fri,  5 Aug"
	}
	day, s, ok := digits(s, 1, 2)
	if !ok || len(s) < 5 || s[0] != ' ' || s[4] != ' ' {
		return time.Time{}, false
	}
	month := 0
	for i, m := range monthNames {
		if strings.EqualFold(s[1:4], m) {
			month = i + 1
		}
	}
	if month == 0 {
		return time.Time{}, false
	}
	year, s, ok := digits(s[5:], 4, 4)
	if !ok || len(s) < 15 || s[0] != ' ' || s[3] != ':' || s[6] != ':' || s[9] != ' ' || s[10] != '+' && s[10] != '-' {
		return time.Time{}, false
	}
	hour, _, ok1 := digits(s[1:3], 2, 2)
	minute, _, ok2 := digits(s[4:6], 2, 2)
	sec, _, ok3 := digits(s[7:9], 2, 2)
	zh, _, ok4 := digits(s[11:13], 2, 2)
	zm, _, ok5 := digits(s[13:15], 2, 2)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || hour > 23 || minute > 59 || sec > 59 || zh > 23 || zm > 59 {
		return time.Time{}, false
	}
	if day < 1 || day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false
	}
	if !simpleCFWS(s[15:]) {
		return time.Time{}, false
	}
	off := (zh*60 + zm) * 60
	if s[10] == '-' {
		off = -off
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC).Add(-time.Duration(off) * time.Second)
	return t.UTC(), true
}

// simpleCFWS tells the rest after the zone that mail.ParseDate accepts
// plainly: nothing but blanks or anything that does not open a comment,
// or one comment without nesting or quoting, then the same.
func simpleCFWS(s string) bool {
	s = strings.TrimLeft(s, " \t")
	if s == "" || s[0] != '(' {
		return true
	}
	end := strings.IndexAny(s[1:], "()\\")
	if end < 0 || s[1+end] != ')' {
		return false
	}
	s = strings.TrimLeft(s[end+2:], " \t")
	return s == "" || s[0] != '('
}

// digits reads min to max decimal digits at the start of s.
func digits(s string, min, max int) (int, string, bool) {
	n, i := 0, 0
	for i < len(s) && i < max && isDigit(s[i]) {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i < min || i < len(s) && isDigit(s[i]) {
		return 0, s, false
	}
	return n, s[i:], true
}

func oneOfFold(s string, list []string) bool {
	for _, w := range list {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}
