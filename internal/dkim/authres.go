package dkim

import (
	"strings"

	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/spf"
)

// SPFInfo is the SPF part of Authentication-Results: the result and the
// identity checked (MailFrom, or Helo when MAIL FROM was <>).
type SPFInfo struct {
	Result   spf.Result
	MailFrom string
	Helo     string
}

// AuthenticationResults is the Authentication-Results header field of RFC
// 8601 that this host (authserv, its name) adds to a received message:
//
//	Authentication-Results: mx.example.org;
//		spf=pass smtp.mailfrom=a@example.com;
//		dkim=pass header.d=example.com header.s=sel header.a=ed25519-sha256 header.b=AbCdEfGh
//
// spfInfo nil leaves SPF out; dkim nil leaves DKIM out (Verify's result
// for an unsigned message gives "dkim=none"); neither gives "; none".
// Each result starts a line; lines fold at 78 columns between words; the
// field ends in CRLF. Values are quoted when not a token and cleared of
// control characters.
func AuthenticationResults(authserv string, spfInfo *SPFInfo, dkim []VerifyResult) string {
	var res [][]string
	if spfInfo != nil && spfInfo.Result != "" {
		w := []string{"spf=" + string(spfInfo.Result)}
		if spfInfo.MailFrom != "" && spfInfo.MailFrom != "<>" {
			w = append(w, "smtp.mailfrom="+pvalue(spfInfo.MailFrom))
		} else if spfInfo.Helo != "" {
			w = append(w, "smtp.helo="+pvalue(strings.TrimSuffix(spfInfo.Helo, ".")))
		}
		res = append(res, w)
	}
	for _, d := range dkim {
		w := []string{"dkim=" + string(d.Result)}
		if d.Reason != "" && d.Result != Pass {
			w = append(w, "reason="+value(d.Reason))
		}
		if d.Domain != "" {
			w = append(w, "header.d="+pvalue(d.Domain))
		}
		if d.Selector != "" {
			w = append(w, "header.s="+pvalue(d.Selector))
		}
		if d.Algorithm != "" {
			w = append(w, "header.a="+pvalue(d.Algorithm))
		}
		if d.B != "" {
			w = append(w, "header.b="+pvalue(d.B))
		}
		res = append(res, w)
	}

	head := "Authentication-Results: " + value(authserv) + ";"
	if len(res) == 0 {
		return head + " none\r\n"
	}
	var b strings.Builder
	b.WriteString(head)
	for i, words := range res {
		if i < len(res)-1 {
			words[len(words)-1] += ";"
		}
		b.WriteString("\r\n\t")
		protocol.FoldWords(&b, 1, words)
	}
	b.WriteString("\r\n")
	return b.String()
}

// tspecials are the MIME specials (RFC 2045 §5.1) a token cannot hold.
const tspecials = `()<>@,;:\"/[]?=`

// value is RFC 8601's value: a MIME token, or a quoted-string.
func value(s string) string {
	s = clean(s)
	if s != "" && !strings.ContainsAny(s, tspecials+" ") && protocol.IsASCII(s) {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// pvalue is RFC 8601's pvalue: a value, or [local-part] "@" domain. An
// address of dot-atom local part goes bare; anything else is quoted.
func pvalue(s string) string {
	s = clean(s)
	if local, domain, ok := protocol.SplitAddress(s); ok && (protocol.IsDotAtom(local) || isQuoted(local)) && protocol.IsDotAtom(domain) {
		return s
	}
	return value(s)
}

// isQuoted says s is one RFC 5322 quoted-string, as SMTP carries a local
// part that is not a dot-atom.
func isQuoted(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		switch s[i] {
		case '\\':
			if i == len(s)-2 {
				return false // escapes the closing quote
			}
			i++
		case '"':
			return false
		}
	}
	return true
}

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
