package dsn

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	foldAt  = 78  // RFC 5322 §2.1.1: SHOULD
	maxWord = 900 // a longer run without spaces is cut, staying under 998
)

// field writes "Name: value" CRLF, folded before spaces once a line passes
// 78 characters (RFC 5322 §2.2.3), so unfolding gives back the value. A run
// of more than maxWord octets without a space (a pathological remote
// reply) is cut onto continuation lines, which adds a space when unfolded,
// rather than exceeding the 998-octet limit.
func field(b *bytes.Buffer, name, value string) {
	b.WriteString(name + ":")
	col := len(name) + 1
	for _, w := range strings.Split(value, " ") {
		for len(w) > maxWord {
			cut := maxWord
			for cut > maxWord-utf8.UTFMax && !utf8.RuneStart(w[cut]) {
				cut-- // not inside a character, if the text is UTF-8
			}
			b.WriteString("\r\n " + w[:cut])
			w, col = w[cut:], 1+cut
		}
		if w != "" && col > len(name)+1 && col+1+len(w) > foldAt {
			b.WriteString("\r\n")
			col = 0
		}
		b.WriteString(" " + w)
		col += 1 + len(w)
	}
	b.WriteString("\r\n")
}

// clean keeps a value on one line: control characters, CR and LF above
// all, become spaces, so nothing from a remote reply or an envelope can
// start a field of its own.
func clean(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if isControl(r) {
			return ' '
		}
		return r
	}, s))
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// decodeXtext undoes RFC 3461 §4's xtext ("+" two upper-case hex digits);
// a "+" not followed by two hex digits stands for itself.
func decodeXtext(s string) string {
	if !strings.Contains(s, "+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '+' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f'
}

// decodeUTF8Xtext turns the "\x{HEX}" escapes of RFC 6533 §3's
// utf-8-addr-xtext back into characters.
func decodeUTF8Xtext(s string) string {
	if !strings.Contains(s, `\x{`) {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, `\x{`)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := strings.IndexByte(s[i:], '}')
		v, err := uint64(0), error(nil)
		if end > 3 {
			v, err = strconv.ParseUint(s[i+3:i+end], 16, 32)
		}
		if end <= 3 || err != nil || !utf8.ValidRune(rune(v)) {
			b.WriteString(s[:i+3])
			s = s[i+3:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteRune(rune(v))
		s = s[i+end+1:]
	}
}

// encodeUTF8Xtext writes an address as utf-8-addr-xtext (RFC 6533 §3):
// non-ASCII characters and the three QCHAR exclusions '+', '=' and '\'
// become "\x{HEX}".
func encodeUTF8Xtext(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x21 || r > 0x7e || r == '+' || r == '=' || r == '\\' {
			fmt.Fprintf(&b, `\x{%X}`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
