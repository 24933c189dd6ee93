package compose

import (
	"strconv"
	"strings"

	"github.com/hikyaku/hikyaku/internal/verp"
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
	return verpPrefix + verp.EscapeName(campaign) + "-" + strconv.Itoa(row) + "@" + domain
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
	campaign, ok = verp.UnescapeName(local[:dash])
	if !ok {
		return "", 0, false
	}
	return campaign, row, true
}
