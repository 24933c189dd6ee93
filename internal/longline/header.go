package longline

import (
	"bytes"
	"mime"
	"strings"
)

// field is one header field as it stands in the block: its first line and
// continuation lines, each without CRLF.
type field struct {
	lines [][]byte
}

func (fl field) name() string {
	name, _, ok := bytes.Cut(fl.lines[0], []byte(":"))
	if !ok {
		return ""
	}
	return string(bytes.TrimRight(name, " \t"))
}

// value is the unfolded value (RFC 5322 §2.2.3: unfolding removes CRLF).
func (fl field) value() string {
	var b strings.Builder
	for i, l := range fl.lines {
		if i == 0 {
			_, l, _ = bytes.Cut(l, []byte(":"))
		}
		b.Write(l)
	}
	return strings.TrimSpace(b.String())
}

// fields splits a header block into fields. A line starting with
// whitespace continues the field before it (RFC 5322 §2.2.3); such a line
// at the very start opens a field of its own.
func fields(hdr []byte) []field {
	var out []field
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.Index(hdr, crlf); i >= 0 {
			line, hdr = hdr[:i], hdr[i+2:]
		} else {
			hdr = nil
		}
		if len(out) > 0 && len(line) > 0 && isWSP(line[0]) {
			out[len(out)-1].lines = append(out[len(out)-1].lines, line)
			continue
		}
		out = append(out, field{lines: [][]byte{line}})
	}
	return out
}

func writeField(b []byte, fl field) []byte {
	for _, l := range fl.lines {
		b = append(b, l...)
		b = append(b, crlf...)
	}
	return b
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }

func hasField(hdr []byte, name string) bool {
	for _, fl := range fields(hdr) {
		if strings.EqualFold(fl.name(), name) {
			return true
		}
	}
	return false
}

// headers refolds the fields with a line over the limit. hdr is returned
// as it is when no field changed.
func (f *fixer) headers(hdr []byte) ([]byte, bool) {
	if !NeedsFix(hdr, f.max) {
		return hdr, false
	}
	fls := fields(hdr)
	changed := false
	for i, fl := range fls {
		long := false
		for _, l := range fl.lines {
			long = long || len(l) > f.max
		}
		if !long {
			continue
		}
		folded, ok := fold(fl, f.max)
		name := fl.name()
		if name == "" {
			name = "(not a header field)"
		}
		if !ok {
			f.note("left header %s as it is: a line over %d octets has no whitespace to fold at", name, f.max)
			continue
		}
		fls[i] = folded
		changed = true
		f.refolded++
		f.note("refolded header %s at existing whitespace", name)
	}
	if !changed {
		return hdr, false
	}
	out := make([]byte, 0, len(hdr)+64)
	for _, fl := range fls {
		out = writeField(out, fl)
	}
	if !bytes.HasSuffix(hdr, crlf) && bytes.HasSuffix(out, crlf) {
		// The block had no CRLF after its last line (a message that is
		// all header and no final CRLF); keep it that way.
		out = out[:len(out)-2]
	}
	return out, true
}

// fold breaks every line of fl over max before whitespace already in it,
// so unfolding gives back the original field. A break never leaves a line
// of whitespace only (RFC 5322 §3.2.2), never comes before the colon of the
// first line, and avoids the inside of an encoded-word (RFC 2047 §2) when
// any other break would do. ok is false when some line cannot be brought
// within max that way.
func fold(fl field, max int) (field, bool) {
	var out field
	for li, l := range fl.lines {
		colon := -1
		if li == 0 {
			colon = bytes.IndexByte(l, ':')
		}
		for len(l) > max {
			// The first piece may end right after the colon ("Subject:");
			// any other piece needs a non-whitespace octet before the break.
			minK := colon + 1
			if colon < 0 {
				minK = firstNonWSP(l) + 1
			}
			k := breakAt(l, max, minK, true)
			if k < 0 {
				k = breakAt(l, max, minK, false)
			}
			if k < 0 {
				return fl, false
			}
			out.lines = append(out.lines, l[:k])
			l, colon = l[k:], -1
		}
		out.lines = append(out.lines, l)
	}
	return out, true
}

func firstNonWSP(l []byte) int {
	i := 0
	for i < len(l) && isWSP(l[i]) {
		i++
	}
	return i
}

// breakAt finds the last whitespace at an index k with minK ≤ k ≤ max, so
// that l[:k] fits.
func breakAt(l []byte, max, minK int, avoidWords bool) int {
	var in []bool
	if avoidWords {
		in = insideWords(l, max)
	}
	for k := max; k >= minK && k > 0; k-- {
		if isWSP(l[k]) && (in == nil || !in[k]) {
			return k
		}
	}
	return -1
}

// wordWindow bounds how far past the limit an encoded-word is looked for,
// so refolding a huge field stays linear; an encoded-word is at most 75
// characters (RFC 2047 §2), broken ones a little more.
const wordWindow = 256

// insideWords marks the indexes of l[:max+1] that fall inside something
// that looks like an RFC 2047 encoded-word, including broken ones with
// whitespace inside (real senders write them): "=?" charset "?" encoding
// "?" text "?=".
func insideWords(l []byte, max int) []bool {
	w := l[:min(len(l), max+1+wordWindow)]
	in := make([]bool, max+1)
	for i := 0; i+1 < len(w); {
		s := bytes.Index(w[i:], []byte("=?"))
		if s < 0 {
			break
		}
		s += i
		q1 := bytes.IndexByte(w[s+2:], '?')
		if q1 < 0 {
			break
		}
		q1 += s + 2
		if q1+2 >= len(w) || w[q1+2] != '?' {
			i = s + 2
			continue
		}
		e := bytes.Index(w[q1+3:], []byte("?="))
		if e < 0 {
			break
		}
		e += q1 + 3 + 2
		for k := s + 1; k < e && k <= max; k++ {
			in[k] = true
		}
		i = e
	}
	return in
}

type mediaType struct {
	mediaType string
	boundary  string
}

// contentType reads the first Content-Type field. Without one, or with one
// that does not parse, the entity has the default type (RFC 2045 §5.2;
// RFC 2046 §5.1.5 makes it message/rfc822 inside multipart/digest). A
// multipart without a usable boundary is treated as a leaf.
func contentType(hdr []byte, def string) mediaType {
	for _, fl := range fields(hdr) {
		if !strings.EqualFold(fl.name(), "Content-Type") {
			continue
		}
		mt, params, err := mime.ParseMediaType(fl.value())
		if mt == "" {
			return mediaType{mediaType: def}
		}
		ct := mediaType{mediaType: mt}
		if err == nil && strings.HasPrefix(mt, "multipart/") {
			ct.boundary = params["boundary"]
		}
		return ct
	}
	return mediaType{mediaType: def}
}

func transferEncoding(hdr []byte) string {
	for _, fl := range fields(hdr) {
		if strings.EqualFold(fl.name(), "Content-Transfer-Encoding") {
			// The token only: "7bit (was 8bit)" carries a comment.
			v, _, _ := strings.Cut(fl.value(), "(")
			return strings.ToLower(strings.TrimSpace(v))
		}
	}
	return ""
}

// setTransferEncoding replaces the Content-Transfer-Encoding field (and
// drops any duplicate, which would contradict it) or adds one at the end.
// At the top level a MIME-Version field is added when missing, since
// readers honour Content-Transfer-Encoding only in MIME messages
// (RFC 2045 §4).
func setTransferEncoding(hdr []byte, cte string, top bool) []byte {
	line := []byte("Content-Transfer-Encoding: " + cte)
	out := make([]byte, 0, len(hdr)+len(line)+24)
	done, mimeVersion := false, false
	for _, fl := range fields(hdr) {
		switch name := fl.name(); {
		case strings.EqualFold(name, "Content-Transfer-Encoding"):
			if !done {
				out = append(append(out, line...), crlf...)
				done = true
			}
			continue
		case strings.EqualFold(name, "MIME-Version"):
			mimeVersion = true
		}
		out = writeField(out, fl)
	}
	if !done {
		out = append(append(out, line...), crlf...)
	}
	if top && !mimeVersion {
		out = append(out, "MIME-Version: 1.0\r\n"...)
	}
	return out
}
