package longline

import (
	"encoding/base64"
)

// encodedLine is the length of a quoted-printable or base64 line
// (RFC 2045 §6.7 rule 5, §6.8).
const encodedLine = 76

const hexDigits = "0123456789ABCDEF"

// encodeQP writes b as quoted-printable (RFC 2045 §6.7). mime/quotedprintable
// would do, except that it turns a bare LF into a line break, so decoding
// would not give back the original octets; here only CRLF is a hard break
// and a bare CR or LF is written =0D / =0A. A '-' that would start a line
// is written =2D so that no encoded line can look like a boundary delimiter
// of an enclosing multipart (RFC 2046 §5.1.1).
func encodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8+16)
	col := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			out = append(out, '\r', '\n')
			col = 0
			i++
			continue
		}
		endOfLine := i+1 == len(b) || (b[i+1] == '\r' && i+2 < len(b) && b[i+2] == '\n')
		enc := qpNeedsEscape(c, col, endOfLine)
		n := 1
		if enc {
			n = 3
		}
		// A soft break "=" must fit too, unless this is the line's last
		// token.
		if col+n > encodedLine-1 && !(endOfLine && col+n <= encodedLine) {
			out = append(out, '=', '\r', '\n')
			col = 0
			enc = qpNeedsEscape(c, col, endOfLine)
			n = 1
			if enc {
				n = 3
			}
		}
		if enc {
			out = append(out, '=', hexDigits[c>>4], hexDigits[c&15])
		} else {
			out = append(out, c)
		}
		col += n
	}
	return out
}

func qpNeedsEscape(c byte, col int, endOfLine bool) bool {
	switch {
	case c == ' ' || c == '\t':
		// Trailing whitespace is deleted by decoders (rule 3).
		return endOfLine
	case c == '-':
		return col == 0
	case c == '=':
		return true
	}
	return c < 33 || c > 126
}

// decodeQP decodes quoted-printable leniently, the way readers do with
// the malformed encodings Fix repairs: trailing whitespace is dropped, "="
// at the end of a line is a soft break, "=XX" is an octet (either case),
// and any other "=" stands for itself.
func decodeQP(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		line, rest, hard := cutCRLF(b)
		b = rest
		end := len(line)
		for end > 0 && isWSP(line[end-1]) {
			end--
		}
		line = line[:end]
		soft := len(line) > 0 && line[len(line)-1] == '='
		if soft {
			line = line[:len(line)-1]
		}
		for i := 0; i < len(line); i++ {
			if line[i] == '=' && i+2 < len(line) && isHex(line[i+1]) && isHex(line[i+2]) {
				out = append(out, unhex(line[i+1])<<4|unhex(line[i+2]))
				i += 2
				continue
			}
			out = append(out, line[i])
		}
		if hard && !soft {
			out = append(out, '\r', '\n')
		}
	}
	return out
}

func cutCRLF(b []byte) (line, rest []byte, found bool) {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return b[:i], b[i+2:], true
		}
	}
	return b, nil, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// encodeBase64 writes b as base64 in lines of 76 characters (RFC 2045
// §6.8), ending with CRLF when the body it replaces did.
func encodeBase64(b []byte, finalCRLF bool) []byte {
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(b)))
	base64.StdEncoding.Encode(enc, b)
	return wrap(enc, finalCRLF)
}

func wrap(enc []byte, finalCRLF bool) []byte {
	out := make([]byte, 0, len(enc)+len(enc)/encodedLine*2+2)
	for len(enc) > encodedLine {
		out = append(out, enc[:encodedLine]...)
		out = append(out, '\r', '\n')
		enc = enc[encodedLine:]
	}
	out = append(out, enc...)
	if finalCRLF && len(enc) > 0 {
		out = append(out, '\r', '\n')
	}
	return out
}

// rewrapBase64 repairs a base64 body with over-long lines. When its
// characters decode, the content is encoded afresh; otherwise the base64
// characters are only re-wrapped (ok false), which is what a reader that
// skips stray characters would decode anyway (RFC 2045 §6.8).
func rewrapBase64(body []byte) (out, decoded []byte, ok bool) {
	chars := make([]byte, 0, len(body))
	for _, c := range body {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
			chars = append(chars, c)
		}
	}
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(chars)))
	n, err := base64.StdEncoding.Decode(dec, chars)
	if err != nil {
		return wrap(chars, hasFinalCRLF(body)), nil, false
	}
	return encodeBase64(dec[:n], hasFinalCRLF(body)), dec[:n], true
}
