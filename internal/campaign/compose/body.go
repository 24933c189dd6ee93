package compose

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime/quotedprintable"
	"regexp"
	"strings"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

// maxLine is the limit of RFC 5322 §2.1.1, CRLF excluded.
const maxLine = 998

// jisEquivalents maps characters that Unicode text holds in one form and
// x/text's ISO-2022-JP table (the Windows / WHATWG mapping) in another,
// to the form the table has. Each pair is one JIS X 0208 character (the
// classic "wave dash" problem), so the recipient sees the same glyph;
// without this, "10時〜12時" typed on a Mac could not be sent in
// ISO-2022-JP at all.
var jisEquivalents = map[rune]rune{
	'\u301C': '\uFF5E', // 〜 WAVE DASH → ～ (JIS 1-1-33)
	'\u2212': '\uFF0D', // − MINUS SIGN → － (JIS 1-1-61)
	'\u2016': '\u2225', // ‖ DOUBLE VERTICAL LINE → ∥ (JIS 1-1-34)
	'\u2014': '\u2015', // — EM DASH → ― (JIS 1-1-29)
	'\u00A2': '\uFFE0', // ¢ → ￠ (JIS 1-1-81)
	'\u00A3': '\uFFE1', // £ → ￡ (JIS 1-1-82)
	'\u00AC': '\uFFE2', // ¬ → ￢ (JIS 1-2-44)
	'\u00A5': '\uFFE5', // ¥ → ￥ (JIS 1-1-79): "¥1,000" is everyday text
	'\u203E': '\uFFE3', // ‾ OVERLINE → ￣ (JIS 1-1-17)
}

// jisFold prepares UTF-8 text for ISO-2022-JP: the equivalents above, and
// half-width katakana widened (ｶﾞ → ガ), because RFC 1468 ISO-2022-JP has
// no half-width katakana and x/text would write the JIS X 0201 set
// (ESC ( I), which many readers, Python's among them, refuse. Everything
// else is left for the encoder to accept or refuse.
func jisFold(s string) string {
	if protocol.IsASCII(s) {
		return s
	}
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if e, ok := jisEquivalents[r]; ok {
			r = e
		}
		if r >= 0xFF61 && r <= 0xFF9F {
			if w := width.LookupRune(r).Wide(); w != 0 {
				r = w
			}
			if r == '\u3099' || r == '\u309A' {
				if n := len(out); n > 0 {
					if c := []rune(norm.NFC.String(string(out[n-1]) + string(r))); len(c) == 1 {
						out[n-1] = c[0]
						continue
					}
				}
				r += 2 // the spacing mark (゛ ゜) when nothing composes
			}
		}
		out = append(out, r)
	}
	return string(out)
}

// encodeJIS encodes one piece of text into ISO-2022-JP, ending in ASCII
// mode. A character the charset lacks is an *unsupportedError. The
// charset is RFC 1468's: JIS X 0208 rows 1-8 and 16-84. x/text's table is
// the Windows one and also writes NEC's row 13 (①, ㈱, ∮) and the IBM
// rows 89-92 (髙, 﨑); a strict reader (Python's) shows those as garbage,
// so they count as missing and the recipient gets UTF-8.
func encodeJIS(s string) ([]byte, error) {
	// ESC, SO and SI would switch the reader's character set; NUL is not
	// allowed in a 7bit body (RFC 2045 §2.7).
	if i := strings.IndexAny(s, "\x00\x0e\x0f\x1b"); i >= 0 {
		return nil, &unsupportedError{r: rune(s[i])}
	}
	if protocol.IsASCII(s) {
		return []byte(s), nil
	}
	enc, err := japanese.ISO2022JP.NewEncoder().Bytes([]byte(s))
	if err == nil && strictJIS(enc) {
		return enc, nil
	}
	for _, r := range s {
		if r < 0x80 {
			continue
		}
		e, err := japanese.ISO2022JP.NewEncoder().String(string(r))
		if err != nil || !strictJIS([]byte(e)) {
			return nil, &unsupportedError{r: r}
		}
	}
	return nil, err
}

// strictJIS says whether encoded ISO-2022-JP uses only RFC 1468's sets:
// ASCII, JIS X 0201 Roman and JIS X 0208 rows 1-8 and 16-84.
func strictJIS(b []byte) bool {
	jis := false
	for i := 0; i < len(b); i++ {
		if b[i] == 0x1b {
			if i+2 >= len(b) {
				return false
			}
			switch string(b[i+1 : i+3]) {
			case "$B", "$@":
				jis = true
			case "(B", "(J":
				jis = false
			default:
				return false // ESC ( I: half-width katakana
			}
			i += 2
			continue
		}
		if !jis {
			continue
		}
		if row := int(b[i]) - 0x20; row < 1 || row > 8 && row < 16 || row > 84 {
			return false
		}
		i++ // the second octet of the pair
	}
	return true
}

// normalizeNewlines makes every line end in LF, so that a template saved
// with CRLF and a field holding a CR come out alike.
func normalizeNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// encodeBody returns a text body in the transfer encoding that keeps the
// message 7-bit clean. s has LF line ends.
func encodeBody(s, charset, where string) (cte string, body []byte, err error) {
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	if charset == ISO2022JP {
		return encodeBodyJIS(s, where)
	}
	if protocol.IsASCII(s) && longestLine(s) <= maxLine && !strings.Contains(s, "\x00") {
		return "7bit", crlf(s), nil
	}
	high := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			high++
		}
	}
	// QP costs 3 octets per non-ASCII octet, base64 4 per 3 of all: QP
	// wins (and stays readable) below one non-ASCII octet in six.
	if high*6 < len(s) {
		var b bytes.Buffer
		b.Grow(len(s) + 2*high + len(s)/70*3)
		w := quotedprintable.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return "quoted-printable", b.Bytes(), nil
	}
	return "base64", base64Lines([]byte(s)), nil
}

// encodeBodyJIS encodes line by line, so that every line ends in ASCII
// mode as RFC 1468 requires. It is 7bit unless a line is over 998 octets;
// then the same ISO-2022-JP text goes as base64 rather than have line
// breaks put into the text.
func encodeBodyJIS(s, where string) (string, []byte, error) {
	var out []byte
	long := false
	for line := range strings.Lines(s) {
		line = strings.TrimSuffix(line, "\n")
		enc, err := encodeJIS(line)
		if err != nil {
			return "", nil, withWhere(err, where)
		}
		long = long || len(enc) > maxLine
		out = append(append(out, enc...), '\r', '\n')
	}
	if long {
		return "base64", base64Lines(out), nil
	}
	return "7bit", out, nil
}

func crlf(s string) []byte {
	b := make([]byte, 0, len(s)+strings.Count(s, "\n"))
	for line := range strings.Lines(s) {
		b = append(append(b, strings.TrimSuffix(line, "\n")...), '\r', '\n')
	}
	return b
}

func longestLine(s string) int {
	longest := 0
	for line := range strings.Lines(s) {
		longest = max(longest, len(strings.TrimSuffix(line, "\n")))
	}
	return longest
}

// base64Lines encodes b in lines of 76 characters (RFC 2045 §6.8).
func base64Lines(b []byte) []byte {
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(enc, b)
	out := make([]byte, 0, len(enc)+len(enc)/76*2+2)
	for len(enc) > 76 {
		out = append(append(out, enc[:76]...), '\r', '\n')
		enc = enc[76:]
	}
	return append(append(out, enc...), '\r', '\n')
}

func decodeBase64(b []byte) ([]byte, error) {
	clean := bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, b)
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		return nil, errors.New("bad base64")
	}
	return out[:n], nil
}

// metaCharset finds a charset declared in the HTML, which would contradict
// the MIME charset once the part is ISO-2022-JP.
var metaCharset = regexp.MustCompile(`(?i)(<meta\b[^>]*?charset\s*=\s*["']?)utf-8`)

func retagHTML(html, charset string) string {
	if charset == UTF8 || !strings.Contains(strings.ToLower(html), "charset") {
		return html
	}
	return metaCharset.ReplaceAllString(html, "${1}"+charset)
}
