package spf

import (
	"net/netip"
	"strings"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

// ReceivedSPF is the Received-SPF header field of RFC 7208 §9.1 for a
// check of ip with helo and sender (the MAIL FROM address, "" for the null
// reverse-path) by receiver (this host's name): the result, a comment in
// the customary words, and client-ip, envelope-from, helo, receiver and
// identity. The field is folded at 78 columns between its words and ends
// in CRLF. Values from the client are quoted when not a dot-atom and
// cleared of control characters, so a hostile HELO cannot add header lines.
func ReceivedSPF(res Result, ip netip.Addr, helo, sender, receiver string) string {
	checked, domain := Identity(helo, sender)
	identity := "mailfrom"
	if sender == "" || sender == "<>" {
		identity = "helo"
	}
	ip = ip.Unmap()
	words := []string{"Received-SPF:", string(res)}
	comment := clean(receiver) + ": " + explain(res, ip, clean(domain), nil)
	cw := strings.Fields(escapeComment(comment))
	if len(cw) > 0 {
		cw[0] = "(" + cw[0]
		cw[len(cw)-1] += ")"
	}
	words = append(words, cw...)
	words = append(words,
		"client-ip="+value(ip.String())+";",
		"envelope-from="+value(checked)+";",
		"helo="+value(strings.TrimSuffix(helo, "."))+";",
		"receiver="+value(receiver)+";",
		"identity="+identity+";",
	)
	return fold(words)
}

// fold joins header words with single spaces into lines of at most 78
// octets where the words allow it, continuing lines with a tab, and ends
// the field with CRLF.
func fold(words []string) string {
	var b strings.Builder
	protocol.FoldWords(&b, 0, words)
	b.WriteString("\r\n")
	return b.String()
}

// clean replaces control characters (CR and LF above all) with '?'.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func escapeComment(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return r.Replace(s)
}

// value is s as a dot-atom when it is one, else as a quoted-string
// (RFC 5322 §3.2.3–3.2.4; RFC 6532 lets UTF-8 through).
func value(s string) string {
	s = clean(s)
	if protocol.IsDotAtom(s) {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
