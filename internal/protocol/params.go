package protocol

import (
	"strings"
	"unicode/utf8"
)

// Param is one ESMTP parameter of MAIL or RCPT (RFC 5321 §4.1.2
// esmtp-param).
type Param struct {
	Key   string // upper-cased
	Value string // "" when the parameter has no "=value"
}

// Params are the parameters in the order sent. Duplicates are kept; the
// server decides whether one is an error.
type Params []Param

// Get returns the value of the first parameter named key, in any case.
func (ps Params) Get(key string) (string, bool) {
	for _, p := range ps {
		if strings.EqualFold(p.Key, key) {
			return p.Value, true
		}
	}
	return "", false
}

// knownParams are interned so that parsing them allocates nothing for the
// key: RFC 1870 SIZE, RFC 6152 BODY, RFC 6531 SMTPUTF8, RFC 4954 AUTH,
// RFC 3461 RET ENVID NOTIFY ORCPT, RFC 8689 REQUIRETLS, RFC 6710
// MT-PRIORITY, RFC 2852 BY, RFC 4865 HOLDFOR HOLDUNTIL.
var knownParams = []string{
	"SIZE", "BODY", "SMTPUTF8", "AUTH", "RET", "ENVID", "NOTIFY", "ORCPT",
	"REQUIRETLS", "MT-PRIORITY", "BY", "HOLDFOR", "HOLDUNTIL",
}

// parseParams reads "KEY[=VALUE] ..." (RFC 5321 §4.1.2 Mail-parameters,
// with the UTF-8 values of RFC 6531 §3.3). Runs of spaces separate
// parameters. A value may hold "=" (RFC 5321 forbids it, Postfix takes
// everything after the first "="); an empty value after "=" is an error.
func parseParams(s string) (Params, error) {
	var ps Params
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return ps, nil
		}
		tok := s
		if i := strings.IndexByte(s, ' '); i >= 0 {
			tok, s = s[:i], s[i:]
		} else {
			s = ""
		}
		key, val, hasVal := strings.Cut(tok, "=")
		if !isKeyword(key) {
			return nil, lineErr("bad parameter name")
		}
		if hasVal && !isParamValue(val) {
			return nil, lineErr("bad value for parameter " + upperKey(key))
		}
		if ps == nil {
			ps = make(Params, 0, 4)
		}
		ps = append(ps, Param{Key: upperKey(key), Value: val})
	}
}

// isKeyword: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-").
func isKeyword(k string) bool {
	if k == "" || k[0] == '-' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isParamValue: esmtp-value = 1*(%d33-126 / UTF8-non-ascii), "=" let in.
func isParamValue(v string) bool {
	if v == "" {
		return false
	}
	ascii := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 0x80 {
			ascii = false
		} else if c < 33 || c > 126 {
			return false
		}
	}
	return ascii || utf8.ValidString(v)
}

func upperKey(k string) string {
	for _, p := range knownParams {
		if strings.EqualFold(p, k) {
			return p
		}
	}
	for i := 0; i < len(k); i++ {
		if 'a' <= k[i] && k[i] <= 'z' {
			return strings.ToUpper(k)
		}
	}
	return k
}

// DecodeXtext decodes xtext (RFC 3461 §4), used by ENVID and ORCPT:
// "+XX" stands for the octet XX. Lower-case hex digits are accepted, and
// so are raw UTF-8 characters (RFC 6533 §3 utf-8-addr-xtext lets them in);
// any other octet outside "!".."~", and "=", is an error.
func DecodeXtext(s string) (string, error) {
	if !isXchars(s) {
		return "", lineErr("bad xtext")
	}
	if strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '+' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) {
			return "", lineErr("bad xtext: truncated +XX")
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", lineErr("bad xtext: +XX needs two hex digits")
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), nil
}

// isXchars checks the octets that may stand for themselves in xtext.
func isXchars(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x80:
			ascii = false
		case c < 33 || c > 126 || c == '=':
			return false
		}
	}
	return ascii || utf8.ValidString(s)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// EncodeXtext encodes s as xtext (RFC 3461 §4): every octet outside
// "!".."~", and "+" and "=", becomes "+XX" in upper-case hex.
func EncodeXtext(s string) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '+' || c == '=' {
			b.WriteByte('+')
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
