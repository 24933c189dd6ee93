package verp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"strings"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

// Prefix starts every VERP local part.
const Prefix = "bounce+"

// HashLen is the length of HASH: 10 characters of lower-case base32
// (RFC 4648 alphabet), 50 bits. Base32 has no two letters that differ
// only in case, so an MTA folding the local part keeps it readable.
const HashLen = 10

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Format is the return path of row row of campaign campaign:
// bounce+<campaign>-<row>-<hash>@<domain>. Octets of the name other than
// letters, digits, '_' and '.' are written =XX ('-' among them, so the
// last two '-' always start the row and the hash). row must be >= 0.
func Format(campaign string, row int64, domain string, key []byte) string {
	return Prefix + EscapeName(campaign) + "-" + strconv.FormatInt(row, 10) + "-" + hash(campaign, row, key) + "@" + domain
}

// hash is HMAC-SHA256(key, lower(campaign) "\x00" row), the first HashLen
// base32 characters in lower case. The name is lower-cased because an MTA
// may fold the local part's case; names differing only in case share a
// hash (they still differ in the address).
func hash(campaign string, row int64, key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.ToLower(campaign)))
	m.Write([]byte{0})
	m.Write([]byte(strconv.FormatInt(row, 10)))
	return strings.ToLower(b32.EncodeToString(m.Sum(nil))[:HashLen])
}

// Parse reads a VERP address back and checks its hash against key in
// constant time; ok is false for any other address and for a hash that
// does not match. Angle brackets are allowed; the prefix, the =XX digits
// and the hash are matched without regard to case. When a relay folded
// the local part to lower case, campaign comes back folded too.
func Parse(addr string, key []byte) (campaign string, row int64, ok bool) {
	campaign, row, h, ok := split(addr)
	if !ok {
		return "", 0, false
	}
	want := hash(campaign, row, key)
	if !hmac.Equal([]byte(strings.ToLower(h)), []byte(want)) {
		return "", 0, false
	}
	return campaign, row, true
}

// ParseUnverified reads campaign and row without checking the hash: for
// display (bounce parse of mail saved elsewhere), never for recording.
func ParseUnverified(addr string) (campaign string, row int64, ok bool) {
	campaign, row, _, ok = split(addr)
	return campaign, row, ok
}

// IsVERP tells whether addr has the VERP form, verified or not.
func IsVERP(addr string) bool {
	_, _, _, ok := split(addr)
	return ok
}

func split(addr string) (campaign string, row int64, h string, ok bool) {
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	local, _, found := protocol.SplitAddress(addr)
	if !found {
		return "", 0, "", false
	}
	if len(local) > 64 || len(local) < len(Prefix) || !strings.EqualFold(local[:len(Prefix)], Prefix) {
		return "", 0, "", false
	}
	local = local[len(Prefix):]
	dash := strings.LastIndexByte(local, '-')
	if dash < 0 {
		return "", 0, "", false
	}
	h = local[dash+1:]
	if len(h) != HashLen {
		return "", 0, "", false
	}
	local = local[:dash]
	dash = strings.LastIndexByte(local, '-')
	if dash < 0 {
		return "", 0, "", false
	}
	digits := local[dash+1:]
	if digits == "" || len(digits) > 18 || strings.Trim(digits, "0123456789") != "" {
		return "", 0, "", false
	}
	row, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return "", 0, "", false
	}
	campaign, ok = UnescapeName(local[:dash])
	if !ok {
		return "", 0, "", false
	}
	return campaign, row, h, true
}

// EscapeName writes a campaign name as a dot-atom: octets other than
// letters, digits, '_' and '.' (where a dot-atom allows one: not first,
// last or doubled) become =XX.
func EscapeName(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
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

// UnescapeName undoes EscapeName; false for a broken =XX.
func UnescapeName(s string) (string, bool) {
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
