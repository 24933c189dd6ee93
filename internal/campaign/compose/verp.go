package compose

import (
	"errors"

	"github.com/hikyaku/hikyaku/internal/verp"
)

// errNoVERPKey is Execute's answer when VERP is on and no key was given:
// an unsigned return path would be refused by our own intake.
var errNoVERPKey = errors.New("compose: VERP return paths are signed and no key was given (Options.VERPKey or SetVERPKey)")

// VERP is the signed return path of row row of campaign campaign:
// bounce+<campaign>-<row>-<hash>@<domain>, the form internal/verp makes
// and checks, so that a bounce names its recipient without trusting the
// bounce's own text and a forged one is refused at RCPT (issue 12).
// row must be >= 0.
func VERP(campaign string, row int, domain string, key []byte) string {
	return verp.Format(campaign, int64(row), domain, key)
}

// ParseVERP reads a signed VERP address back and checks its hash against
// key; ok is false for any other address and for a hash that does not
// match. Angle brackets are allowed; the prefix, =XX digits and hash are
// matched without regard to case, as some relays fold local parts.
func ParseVERP(addr string, key []byte) (campaign string, row int, ok bool) {
	c, r, ok := verp.Parse(addr, key)
	if !ok || r > int64(^uint32(0)>>1) {
		return "", 0, false
	}
	return c, int(r), true
}

// SetVERPKey gives a parsed template the key that signs its VERP return
// paths, for a template compiled elsewhere (campaign.Spec.Compile) from
// settings that must not hold the secret. Call it before the first
// Execute; the key is copied.
func (t *Template) SetVERPKey(key []byte) {
	t.verpKey = append([]byte(nil), key...)
}
