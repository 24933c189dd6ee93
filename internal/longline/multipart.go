package longline

import (
	"bytes"
)

// delimiter is one boundary delimiter line of a multipart body (RFC 2046
// §5.1.1): "--" boundary ["--"] transport-padding CRLF.
type delimiter struct {
	at    int  // start of the line
	next  int  // just after its CRLF (or the end of the body)
	close bool // the close delimiter, "--boundary--"
}

// delimiters finds the delimiter lines of body. Like mime/multipart, a
// line that starts with the delimiter but goes on with anything other
// than "--" and whitespace is content, not a delimiter.
func delimiters(body, boundary []byte) []delimiter {
	dash := append([]byte("--"), boundary...)
	var ds []delimiter
	for search := 0; search < len(body); {
		j := bytes.Index(body[search:], dash)
		if j < 0 {
			break
		}
		j += search
		if j != 0 && (j < 2 || body[j-2] != '\r' || body[j-1] != '\n') {
			search = j + 1
			continue
		}
		lineEnd, next := len(body), len(body)
		if e := bytes.Index(body[j:], crlf); e >= 0 {
			lineEnd, next = j+e, j+e+2
		}
		rest := body[j+len(dash) : lineEnd]
		d := delimiter{at: j, next: next, close: bytes.HasPrefix(rest, []byte("--"))}
		if d.close {
			rest = rest[2:]
		}
		if firstNonWSP(rest) != len(rest) {
			search = j + 1
			continue
		}
		ds = append(ds, d)
		if d.close {
			break
		}
		search = next
	}
	return ds
}

// span is a stretch of a multipart body Fix may rewrite.
type span struct {
	start, end int
	part       int // 1-based part number; 0 for the preamble or epilogue
	what       string
}

// multipart fixes the parts of a multipart body that hold long lines and
// copies every other byte, the delimiter lines included.
func (f *fixer) multipart(body []byte, n node, ct mediaType, bounds [][]byte, depth int) ([]byte, bool) {
	b := []byte(ct.boundary)
	bounds = append(bounds[:len(bounds):len(bounds)], b)
	def := "text/plain"
	if ct.mediaType == "multipart/digest" {
		def = "message/rfc822" // RFC 2046 §5.1.5
	}
	where := "the top-level " + ct.mediaType
	if !n.top {
		where = ct.mediaType + " " + n.describe()
	}
	ds := delimiters(body, b)
	var spans []span
	// The CRLF before a delimiter belongs to the delimiter (RFC 2046
	// §5.1.1), so content ends two octets before it; when that CRLF is the
	// one ending the previous delimiter line, the part is empty.
	before := func(at, from int) int {
		if at >= from+2 {
			return at - 2
		}
		return from
	}
	if len(ds) == 0 {
		spans = append(spans, span{0, len(body), 0, "the body (no boundary delimiter found) of " + where})
	} else {
		if ds[0].at > 0 {
			spans = append(spans, span{0, before(ds[0].at, 0), 0, "the preamble of " + where})
		}
		for i, d := range ds {
			if d.close {
				spans = append(spans, span{d.next, len(body), 0, "the epilogue of " + where})
				break
			}
			end := len(body)
			if i+1 < len(ds) {
				end = before(ds[i+1].at, d.next)
			}
			spans = append(spans, span{d.next, end, i + 1, ""})
		}
		for _, d := range ds {
			line := body[d.at:d.next]
			if longestLine(line) > f.max {
				f.note("left a boundary delimiter line of %s as it is: it is over %d octets", where, f.max)
			}
		}
	}
	var out []byte
	prev, changed := 0, false
	for _, s := range spans {
		seg := body[s.start:s.end]
		var fixed []byte
		var ok bool
		if s.part > 0 {
			fixed, ok = f.entity(seg, n.child(s.part), def, bounds, depth+1)
		} else {
			fixed, ok = f.wrapIgnored(seg, bounds, s.what)
		}
		if !ok {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(body)+len(body)/16)
		}
		out = append(out, body[prev:s.start]...)
		out = append(out, fixed...)
		prev, changed = s.end, true
	}
	if !changed {
		return body, false
	}
	return append(out, body[prev:]...), true
}

// wrapIgnored breaks long lines of a preamble or epilogue, which readers
// ignore (RFC 2046 §5.1.1), at the limit. No new line may start with the
// delimiter of an enclosing multipart, or the structure would change.
func (f *fixer) wrapIgnored(b []byte, bounds [][]byte, what string) ([]byte, bool) {
	if !NeedsFix(b, f.max) {
		return b, false
	}
	out := make([]byte, 0, len(b)+len(b)/f.max*2+2)
	rest := b
	wrapped, left := 0, 0
	for len(rest) > 0 {
		line, r, hard := cutCRLF(rest)
		rest = r
		for len(line) > f.max {
			k := f.max
			for k > 0 && startsDelimiter(line[k:], bounds) {
				k--
			}
			if k == 0 {
				left++
				break
			}
			out = append(out, line[:k]...)
			out = append(out, crlf...)
			line = line[k:]
			wrapped++
		}
		out = append(out, line...)
		if hard {
			out = append(out, crlf...)
		}
	}
	if left > 0 {
		f.note("left %d long line(s) in %s as they are", left, what)
	}
	if wrapped == 0 {
		return b, false
	}
	f.note("wrapped long lines in %s, which readers ignore%s", what, f.dkimNote())
	return out, true
}

func startsDelimiter(l []byte, bounds [][]byte) bool {
	if len(l) < 2 || l[0] != '-' || l[1] != '-' {
		return false
	}
	for _, b := range bounds {
		if bytes.HasPrefix(l[2:], b) {
			return true
		}
	}
	return false
}
