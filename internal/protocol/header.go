package protocol

import "strings"

// MaxHeaderLine is the line length header fields that hikyaku writes fold
// at where their words allow it (RFC 5322 §2.1.1: 78 octets, without the
// CRLF).
const MaxHeaderLine = 78

// FoldWords writes words to b separated by one space, starting a
// continuation line (CRLF and a tab) instead where the next word would pass
// MaxHeaderLine. col is the column b's last line has reached; FoldWords
// returns the column after the last word. A word longer than a line stays
// whole: a header field cannot break inside one.
func FoldWords(b *strings.Builder, col int, words []string) int {
	for i, w := range words {
		if i > 0 {
			if col+1+len(w) > MaxHeaderLine {
				b.WriteString("\r\n\t")
				col = 1
			} else {
				b.WriteByte(' ')
				col++
			}
		}
		b.WriteString(w)
		col += len(w)
	}
	return col
}

// IsDotAtom says s is an RFC 5322 dot-atom (§3.2.3): atext runs joined by
// single dots, none at either end. It is the strict form a header field
// value may carry unquoted; the address parser is more lenient with the
// local parts mobile carriers hand out (isLenientDotString).
func IsDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && !IsAtext(c) {
			return false
		}
	}
	return true
}
