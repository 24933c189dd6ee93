package longline

import (
	"bytes"
	"fmt"
)

// MinLine is the smallest limit Fix accepts: the encoders write lines of
// 76 characters, the length RFC 2045 §6.7 and §6.8 prescribe, plus CRLF.
const MinLine = 78

// maxDepth bounds MIME nesting so a hostile message cannot exhaust the
// stack; deeper entities are left as they are, with a note.
const maxDepth = 40

// Result is what Fix did.
type Result struct {
	Data            []byte
	Changed         bool
	ReencodedParts  int
	RefoldedHeaders int
	// Notes are for the log, one line per change or per line left long:
	// "re-encoded text/html part 1.2 as quoted-printable (breaks an
	// existing DKIM signature)". A note starting with "left " names a long
	// line that could not be fixed without changing its meaning.
	Notes []string
}

// NeedsFix reports whether any line of msg is longer than maxLine octets,
// CRLF excluded. It does not allocate.
func NeedsFix(msg []byte, maxLine int) bool {
	return longestLine(msg) > maxLine
}

// longestLine is the length of the longest CRLF-terminated line of b (the
// last line may lack the CRLF).
func longestLine(b []byte) int {
	longest, start := 0, 0
	for {
		i := bytes.Index(b[start:], crlf)
		if i < 0 {
			return max(longest, len(b)-start)
		}
		longest = max(longest, i)
		start += i + 2
	}
}

// Fix returns msg with every line within maxLine octets (CRLF excluded),
// or msg itself, unchanged, when no line is over. Header fields that have
// no whitespace to fold at are left as they are and noted; so are parts in
// a transfer encoding Fix does not know.
func Fix(msg []byte, maxLine int) (Result, error) {
	return fix(msg, maxLine, nil)
}

// reencoding is one leaf Fix re-encoded, for the tests: the leaf's content
// as its old transfer encoding delivered it, and the new encoded body.
type reencoding struct {
	Decoded []byte // nil when the old encoding could not be decoded
	CTE     string // the new encoding
	Body    []byte
}

func fix(msg []byte, maxLine int, trace func(reencoding)) (Result, error) {
	if maxLine < MinLine {
		return Result{Data: msg}, fmt.Errorf("longline: line limit %d is below the minimum of %d", maxLine, MinLine)
	}
	if !NeedsFix(msg, maxLine) {
		return Result{Data: msg}, nil
	}
	f := &fixer{max: maxLine, trace: trace}
	hdr, _, _ := splitEntity(msg)
	f.dkim = hasField(hdr, "DKIM-Signature") || hasField(hdr, "ARC-Message-Signature")
	out, changed := f.entity(msg, node{top: true}, "text/plain", nil, 0)
	if !changed {
		// Only notes of lines left long: nothing could be done.
		return Result{Data: msg, Notes: f.notes}, nil
	}
	return Result{Data: out, Changed: true, ReencodedParts: f.reencoded, RefoldedHeaders: f.refolded, Notes: f.notes}, nil
}

var crlf = []byte("\r\n")

type fixer struct {
	max       int
	dkim      bool
	notes     []string
	reencoded int
	refolded  int
	trace     func(reencoding)
}

func (f *fixer) note(format string, args ...any) {
	f.notes = append(f.notes, fmt.Sprintf(format, args...))
}

// dkimNote is appended to notes of body changes: a re-encoded body no
// longer matches the body hash of a signature made before it.
func (f *fixer) dkimNote() string {
	if f.dkim {
		return " (breaks an existing DKIM signature)"
	}
	return ""
}

// node names an entity in notes the way IMAP numbers parts (RFC 3501
// §6.4.5): the children of a multipart at "2" are "2.1", "2.2", and the
// body of a message/rfc822 at "2" is "2.1" when it is not multipart.
type node struct {
	top  bool   // the whole message
	path string // "" for the top level and for the body of an encapsulated message at top
	leaf string // the name this entity has if it is a leaf
}

func (n node) describe() string {
	if n.top {
		return "message body"
	}
	return "part " + n.leaf
}

func (n node) child(i int) node {
	p := fmt.Sprint(i)
	if n.path != "" {
		p = n.path + "." + p
	}
	return node{path: p, leaf: p}
}

// encapsulated is the node of the message inside a message/rfc822 part.
func (n node) encapsulated() node {
	leaf := "1"
	if n.path != "" {
		leaf = n.path + ".1"
	}
	return node{path: n.path, leaf: leaf}
}

// splitEntity cuts an entity at the empty line that ends its header block
// (RFC 5322 §2.1, RFC 2045 §3). hdr keeps the CRLF ending its last field;
// body is nil when there is no empty line, in which case everything is
// header.
func splitEntity(e []byte) (hdr, body []byte, hasBody bool) {
	if bytes.HasPrefix(e, crlf) {
		return nil, e[2:], true
	}
	if i := bytes.Index(e, []byte("\r\n\r\n")); i >= 0 {
		return e[:i+2], e[i+4:], true
	}
	return e, nil, false
}

// entity fixes one MIME entity (header block, empty line, body). It
// returns e itself when nothing changed.
func (f *fixer) entity(e []byte, n node, defaultType string, bounds [][]byte, depth int) ([]byte, bool) {
	if !NeedsFix(e, f.max) {
		return e, false
	}
	if depth > maxDepth {
		f.note("left %s as it is: MIME nesting deeper than %d", n.describe(), maxDepth)
		return e, false
	}
	hdr, body, hasBody := splitEntity(e)
	newHdr, hdrChanged := f.headers(hdr)
	if !hasBody {
		return newHdr, hdrChanged
	}
	ct := contentType(hdr, defaultType)
	cte := transferEncoding(hdr)
	var newBody []byte
	bodyChanged := false
	switch {
	case ct.boundary != "":
		// RFC 2045 §6.4 allows no encoding of a multipart; readers split
		// it at its boundaries whatever its Content-Transfer-Encoding says.
		newBody, bodyChanged = f.multipart(body, n, ct, bounds, depth)
	case (ct.mediaType == "message/rfc822" || ct.mediaType == "message/global") && isIdentity(cte):
		// RFC 2046 §5.2.1: a message/rfc822 body is not encoded itself,
		// so the repair goes inside the encapsulated message.
		newBody, bodyChanged = f.entity(body, n.encapsulated(), "text/plain", bounds, depth+1)
	default:
		var newCTE string
		newBody, newCTE, bodyChanged = f.leaf(body, n, ct.mediaType, cte)
		if bodyChanged {
			newHdr = setTransferEncoding(newHdr, newCTE, n.top)
			hdrChanged = true
		}
	}
	if !hdrChanged && !bodyChanged {
		return e, false
	}
	out := make([]byte, 0, len(newHdr)+2+len(newBody))
	out = append(out, newHdr...)
	out = append(out, crlf...)
	out = append(out, newBody...)
	return out, true
}

func isIdentity(cte string) bool {
	switch cte {
	case "", "7bit", "8bit", "binary":
		return true
	}
	return false
}

// leaf re-encodes a leaf body that holds a long line and returns the new
// body and its Content-Transfer-Encoding.
func (f *fixer) leaf(body []byte, n node, mediaType, cte string) ([]byte, string, bool) {
	if !NeedsFix(body, f.max) {
		return body, "", false
	}
	text := len(mediaType) > 5 && mediaType[:5] == "text/"
	var out []byte
	var decoded []byte
	newCTE := "base64"
	switch {
	case isIdentity(cte) && text:
		decoded = body
		out, newCTE = encodeQP(body), "quoted-printable"
		f.note("re-encoded %s %s as quoted-printable%s", mediaType, n.describe(), f.dkimNote())
	case isIdentity(cte):
		decoded = body
		out = encodeBase64(body, hasFinalCRLF(body))
		f.note("re-encoded %s %s as base64%s", mediaType, n.describe(), f.dkimNote())
	case cte == "base64":
		var ok bool
		out, decoded, ok = rewrapBase64(body)
		if ok {
			f.note("re-wrapped malformed base64 (lines over %d octets) of %s %s%s", f.max, mediaType, n.describe(), f.dkimNote())
		} else {
			f.note("re-wrapped undecodable base64 of %s %s without decoding it%s", mediaType, n.describe(), f.dkimNote())
		}
	case cte == "quoted-printable":
		decoded = decodeQP(body)
		out, newCTE = encodeQP(decoded), "quoted-printable"
		f.note("re-encoded malformed quoted-printable (lines over %d octets) of %s %s%s", f.max, mediaType, n.describe(), f.dkimNote())
	default:
		// RFC 2045 §6.4: content in an unknown encoding cannot be
		// re-encoded without changing what the reader gets.
		f.note("left %s %s as it is: unknown Content-Transfer-Encoding %q", mediaType, n.describe(), cte)
		return body, "", false
	}
	f.reencoded++
	if f.trace != nil {
		f.trace(reencoding{Decoded: decoded, CTE: newCTE, Body: out})
	}
	return out, newCTE, true
}

func hasFinalCRLF(b []byte) bool { return bytes.HasSuffix(b, crlf) }
