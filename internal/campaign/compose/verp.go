package compose

import (
	"strconv"
	"strings"
)

// verpPrefix starts every VERP local part. Bounces come back to
// bounce+<campaign>-<row>@domain, so the bounce reader knows the recipient
// without trusting the bounce's own text (seed 001 bounce reading).
const verpPrefix = "bounce+"

// VERP is the return path of row row of campaign campaign:
// bounce+<campaign>-<row>@<domain>. Octets of the campaign name other
// than letters, digits, '_' and '.' are written =XX, so any name gives a
// valid local part that ParseVERP turns back into the name; '-' is among
// them, so that the last '-' always starts the row. row must be >= 0.
func VERP(campaign string, row int, domain string) string {
	return verpPrefix + escapeName(campaign) + "-" + strconv.Itoa(row) + "@" + domain
}

// ParseVERP reads a VERP address back; ok is false for any other address.
// Angle brackets are allowed. The prefix and hex digits are matched
// without regard to case, as some relays fold local parts.
func ParseVERP(addr string) (campaign string, row int, ok bool) {
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", 0, false
	}
	local := addr[:at]
	if len(local) < len(verpPrefix) || !strings.EqualFold(local[:len(verpPrefix)], verpPrefix) {
		return "", 0, false
	}
	local = local[len(verpPrefix):]
	dash := strings.LastIndexByte(local, '-')
	if dash < 0 {
		return "", 0, false
	}
	digits := local[dash+1:]
	if digits == "" || len(digits) > 10 || strings.Trim(digits, "0123456789") != "" {
		return "", 0, false
	}
	row, err := strconv.Atoi(digits)
	if err != nil {
		return "", 0, false
	}
	campaign, ok = unescapeName(local[:dash])
	if !ok {
		return "", 0, false
	}
	return campaign, row, true
}

func escapeName(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		// '.' only where a dot-atom allows it: not first, last or doubled.
		dotOK := c == '.' && i > 0 && i < len(s)-1 && s[i-1] != '.'
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || dotOK {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func unescapeName(s string) (string, bool) {
	if !strings.Contains(s, "=") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), true
}
