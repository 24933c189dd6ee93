package bounce

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"strings"

	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/transform"
)

// Bounds on what one mail may cost: a MIME bomb or a 1,000-deep nesting
// is read up to these and the rest ignored.
const (
	maxDepth    = 12
	maxParts    = 256
	maxTextPart = 2 << 20 // octets of one decoded text part kept for reading
)

type field struct{ name, value string }

// header is a parsed header block, fields in order, values unfolded.
type header []field

func (h header) get(name string) string {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// splitHeader reads a header block up to the first empty line. It is
// tolerant: a line without a colon ends the header (the body starts).
func splitHeader(b []byte) (header, []byte) { return splitHeaderIn(nil, b) }

// splitHeaderIn is splitHeader with the fields kept in a (nil: on the
// heap).
func splitHeaderIn(a *scratch, b []byte) (header, []byte) {
	// The fields are substrings of the header region seen as a string,
	// not copied: b stays unchanged while Read runs, and detach copies
	// what reaches a result. The region ends at the first empty line;
	// past maxHeaderCopy (a mail without one) only when the parse
	// really goes on that far.
	n := len(b)
	scan := true
	switch {
	case len(b) > 0 && b[0] == '\n':
		n, scan = 1, false // an empty header
	case len(b) > 1 && b[0] == '\r' && b[1] == '\n':
		n, scan = 2, false
	}
	for pos := 0; scan; {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			break
		}
		pos += i + 1
		if pos < len(b) && b[pos] == '\n' {
			n = pos + 1
			break
		}
		if pos+1 < len(b) && b[pos] == '\r' && b[pos+1] == '\n' {
			n = pos + 2
			break
		}
	}
	whole := n
	if n > maxHeaderCopy {
		// Whole lines only: a line cut short could end the parse.
		n = bytes.LastIndexByte(b[:maxHeaderCopy], '\n') + 1
	}
	h, k, eof := parseHeaderIn(a, bytesView(b[:n]))
	if n < whole && k == n {
		h, k, eof = parseHeaderIn(a, bytesView(b[:whole]))
		n = whole
	}
	if eof && n == len(b) {
		return h, nil
	}
	return h, b[k:]
}

// maxHeaderCopy bounds what splitHeader copies before it knows that the
// header goes on.
const maxHeaderCopy = 1 << 20

// splitHeaderString is splitHeader on a string.
func splitHeaderString(s string) (header, string) { return splitHeaderStringIn(nil, s) }

func splitHeaderStringIn(a *scratch, s string) (header, string) {
	h, k, _ := parseHeaderIn(a, s)
	return h, s[k:]
}

// parseHeader is splitHeader's parse: the fields of s, the octets they
// took (and the empty line after them), and whether s ended first.
func parseHeader(s string) (header, int, bool) { return parseHeaderIn(nil, s) }

func parseHeaderIn(a *scratch, s string) (header, int, bool) {
	h := a.header(fieldLines(s))
	defer func() { a.keep(h) }()
	// The last field's value while it is being unfolded: one builder
	// per folded field, sized for its continuation lines, whose String
	// is the value without a copy.
	var fold []byte
	folded := false
	pos := 0
	appendValue := func(piece string) {
		if !folded {
			fold = a.begin(len(h[len(h)-1].value) + continuedLen(s, pos))
			fold = append(fold, h[len(h)-1].value...)
			folded = true
		}
		fold = append(fold, ' ')
		fold = append(fold, piece...)
	}
	endField := func() {
		if folded {
			h[len(h)-1].value = a.end(fold)
			folded = false
		}
	}
	valueLen := func() int {
		if folded {
			return len(fold)
		}
		return len(h[len(h)-1].value)
	}
	for pos < len(s) {
		i := strings.IndexByte(s[pos:], '\n')
		var line string
		next := len(s)
		if i < 0 {
			line = s[pos:]
		} else {
			line, next = s[pos:pos+i], pos+i+1
		}
		line = strings.TrimSuffix(line, "\r")
		if len(line) == 0 {
			endField()
			return h, next, i < 0
		}
		if (line[0] == ' ' || line[0] == '\t') && len(h) > 0 {
			if valueLen() < 16384 {
				appendValue(strings.TrimSpace(line))
			}
			pos = next
			continue
		}
		c := strings.IndexByte(line, ':')
		if len(h) > 0 && (folded && len(fold) > 0 && fold[len(fold)-1] == ';' || !folded && strings.HasSuffix(h[len(h)-1].value, ";")) &&
			(c < 0 || strings.IndexByte(line, '=') >= 0 && strings.IndexByte(line, '=') < c) {
			// A parameter continued without the folding white space
			// ("Content-Type: multipart/alternative;\nboundary=...").
			appendValue(strings.TrimSpace(line))
			pos = next
			continue
		}
		if c <= 0 || hasBlank(line[:c]) && !strings.HasPrefix(line, "From ") {
			if len(h) == 0 && strings.HasPrefix(line, "From ") { // mbox separator
				pos = next
				continue
			}
			endField()
			return h, pos, false
		}
		endField()
		h = append(h, field{line[:c], strings.TrimSpace(line[c+1:])})
		pos = next
	}
	if len(h) > 0 {
		endField()
	}
	return h, len(s), true
}

// part is one leaf of the MIME tree, its body decoded to UTF-8 text when
// it is text.
type part struct {
	ctype    string // lower case, "text/plain"
	text     string // decoded text for text/*, delivery-status, feedback-report
	returned bool   // inside (or the header of) the returned original message
	header   header // for message/rfc822 and text/rfc822-headers: the returned header
}

type walker struct {
	parts []part
	dec   *mime.WordDecoder
	a     *scratch // nil: everything on the heap
}

func newWalker() *walker {
	return &walker{dec: wordDecoder}
}

// wordDecoder is shared: a WordDecoder only reads its CharsetReader.
var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	e, err := htmlindex.Get(charset)
	if err != nil {
		return r, nil
	}
	// Decoded whole into a bytes.Reader: the WordDecoder io.Copies
	// from what this returns, and through a transform.Reader (8 KB of
	// buffers) that copy took a 32 KB buffer per encoded word.
	in, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	out, _, err := transform.Bytes(e.NewDecoder(), in)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(out), nil
}

// decodeWords decodes RFC 2047 words in a header value.
func (w *walker) decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := w.dec.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// mediaParams are the Content-Type parameters the reader uses.
type mediaParams struct{ boundary, charset string }

func mediaType(v string) (string, mediaParams) {
	if v == "" {
		return "text/plain", mediaParams{}
	}
	t, p, failed, ok := parseMediaTypeASCII(v)
	if !ok {
		var params map[string]string
		var err error
		t, params, err = mime.ParseMediaType(v)
		p, failed = mediaParams{params["boundary"], params["charset"]}, err != nil
	}
	if failed {
		// Take what can be taken: the type before ';', a boundary anywhere.
		t = strings.ToLower(strings.TrimSpace(strings.SplitN(v, ";", 2)[0]))
		p = mediaParams{}
		lv := asciiLower(v) // same length as v, unlike strings.ToLower on invalid UTF-8
		if i := strings.Index(lv, "boundary="); i >= 0 {
			b := strings.TrimSpace(v[i+9:])
			if j := strings.IndexByte(b, ';'); j >= 0 {
				b = b[:j]
			}
			p.boundary = strings.Trim(b, `"`)
		}
		if i := strings.Index(lv, "charset="); i >= 0 {
			c := strings.TrimSpace(v[i+8:])
			if j := strings.IndexAny(c, "; "); j >= 0 {
				c = c[:j]
			}
			p.charset = strings.Trim(c, `"`)
		}
	}
	return t, p
}

// walk flattens the entity (header h, body b) into w.parts.
func (w *walker) walk(h header, b []byte, depth int, returned bool) {
	if depth > maxDepth || len(w.parts) >= maxParts {
		return
	}
	ct, params := mediaType(h.get("Content-Type"))
	switch {
	case strings.HasPrefix(ct, "multipart/"):
		boundary := params.boundary
		if boundary == "" {
			w.addText(ct, h, b, params, returned)
			return
		}
		bodies := splitMultipart(b, boundary)
		if len(bodies) == 0 {
			// The boundary never appears: read the body as text, as
			// broken reports keep their fields in it all the same.
			w.addText("text/plain", nil, b, mediaParams{}, returned)
			return
		}
		for _, body := range bodies {
			if len(w.parts) >= maxParts {
				return
			}
			ph, pb := splitHeaderIn(w.a, body)
			w.walk(ph, pb, depth+1, returned)
		}
	case ct == "message/rfc822" || ct == "message/global" || ct == "message/partial":
		inner := w.a.decodeCTE(b, h.get("Content-Transfer-Encoding"))
		ih, ib := splitHeaderIn(w.a, inner)
		w.parts = append(w.parts, part{ctype: ct, returned: true, header: ih})
		// The returned message's own text is not read as the bounce's,
		// but a bounce forwarded as an attachment is: read its parts
		// when this is the only thing at the top.
		if !returned && depth == 0 {
			w.walk(ih, ib, depth+1, false)
		}
	case ct == "text/rfc822-headers" || ct == "message/rfc822-headers" || ct == "text/global-headers" || ct == "message/global-headers":
		ih, _ := splitHeaderIn(w.a, w.a.decodeCTE(b, h.get("Content-Transfer-Encoding")))
		w.parts = append(w.parts, part{ctype: ct, returned: true, header: ih})
	default:
		w.addText(ct, h, b, params, returned)
	}
}

func (w *walker) addText(ct string, h header, b []byte, params mediaParams, returned bool) {
	textual := strings.HasPrefix(ct, "text/") || strings.HasPrefix(ct, "message/") && strings.Contains(ct, "status") ||
		strings.Contains(ct, "feedback-report") || ct == "application/octet-stream" && len(b) < 65536
	if !textual {
		return
	}
	body := w.a.decodeCTE(b, h.get("Content-Transfer-Encoding"))
	if len(body) > maxTextPart {
		body = body[:maxTextPart]
	}
	s := toUTF8In(w.a, body, params.charset)
	if ct == "text/html" {
		s = w.a.stripHTML(s)
	}
	w.parts = append(w.parts, part{ctype: ct, text: s, returned: returned})
}

func decodeCTE(b []byte, cte string) []byte { return (*scratch)(nil).decodeCTE(b, cte) }

// decodeCTE decodes into a's memory.
func (a *scratch) decodeCTE(b []byte, cte string) []byte {
	// TrimSpace and asciiFold: strings.ToLower's copy of the value, for
	// the same answers (the names are ASCII: no other rune lowers to
	// their letters but the Kelvin sign, and neither has a k).
	cte = strings.TrimSpace(cte)
	switch {
	case asciiFold(cte, "base64"):
		clean := a.begin(len(b))
		for _, c := range b {
			if c != '\r' && c != '\n' && c != ' ' && c != '\t' {
				clean = append(clean, c)
			}
		}
		clean = a.endBytes(clean)
		size := base64.StdEncoding.DecodedLen(len(clean)) + 3
		out := a.begin(size)[:size]
		n, err := base64.StdEncoding.Decode(out, clean)
		if err != nil && n == 0 {
			raw := bytes.TrimRight(clean, "=")
			if need := base64.RawStdEncoding.DecodedLen(len(raw)); need > len(out) {
				out = make([]byte, need)
			}
			n, _ = base64.RawStdEncoding.Decode(out, raw)
		}
		return a.endBytes(out[:n])
	case asciiFold(cte, "quoted-printable"):
		out, failed := decodeQPTo(a.begin(len(b)), b)
		out = a.endBytes(out)
		if failed && len(out) == 0 {
			return b
		}
		return out
	}
	return b
}

// toUTF8 converts from the declared charset; undeclared 8-bit text and
// ISO-2022-JP escapes are guessed, as Japanese carriers often omit the
// parameter. Text already in UTF-8 is b itself seen as a string: b is
// the message or a decoded body, neither changed while Read runs.
func toUTF8(b []byte, charset string) string { return toUTF8In(nil, b, charset) }

// toUTF8In is toUTF8 decoding into a's memory.
func toUTF8In(a *scratch, b []byte, charset string) string {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if cs == "" || cs == "us-ascii" {
		switch {
		case bytes.Contains(b, []byte("\x1b$B")) || bytes.Contains(b, []byte("\x1b$@")):
			cs = "iso-2022-jp"
		case !isASCII(b) && !utf8.Valid(b):
			cs = "shift_jis"
		default:
			return bytesView(b)
		}
	}
	if cs == "utf-8" || cs == "utf8" {
		return bytesView(b)
	}
	e, err := htmlindex.Get(cs)
	if err != nil {
		return bytesView(b)
	}
	dec := e.NewDecoder()
	if a != nil && len(b) <= maxScratch/3 {
		// One Transform into room for the longest UTF-8 the charsets
		// give (three octets for one); transform.Bytes grew a buffer
		// from len(b) in the heap. Any shortfall or error: its way.
		size := 3*len(b) + 16
		dst := a.begin(size)[:size]
		nDst, nSrc, err := dec.Transform(dst, b, true)
		if err == nil && nSrc == len(b) {
			return a.end(dst[:nDst])
		}
		a.endBytes(dst[:0])
	}
	out, _, err := transform.Bytes(dec, b)
	if err != nil {
		return bytesView(b)
	}
	return bytesView(out)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// splitMultipart cuts a multipart body at its boundary lines, tolerating a
// missing closing delimiter.
func splitMultipart(b []byte, boundary string) [][]byte {
	delim := []byte("--" + boundary)
	var parts [][]byte
	start := -1
	for pos := 0; pos < len(b); {
		end := bytes.IndexByte(b[pos:], '\n')
		lineEnd := len(b)
		next := len(b)
		if end >= 0 {
			lineEnd, next = pos+end, pos+end+1
		}
		line := b[pos:lineEnd]
		if len(line) >= 2 && line[0] == '-' && line[1] == '-' {
			line = bytes.TrimRight(line, "\r \t")
		}
		// Only "--B" and "--B--" delimit: "--B0" is another boundary
		// that merely starts the same way.
		if bytes.HasPrefix(line, delim) && (len(line) == len(delim) || bytes.Equal(line[len(delim):], []byte("--"))) {
			rest := line[len(delim):]
			if start >= 0 {
				parts = append(parts, b[start:pos])
				if len(parts) >= maxParts {
					return parts
				}
			}
			if bytes.Equal(rest, []byte("--")) {
				return parts
			}
			if len(rest) == 0 {
				start = next
			}
		}
		pos = next
	}
	if start >= 0 && start < len(b) {
		parts = append(parts, b[start:])
	}
	return parts
}

func stripHTML(s string) string { return (*scratch)(nil).stripHTML(s) }

func (a *scratch) stripHTML(s string) string {
	b := a.begin(len(s) / 2)
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<':
			in = true
			if i+3 < len(s) && (strings.EqualFold(s[i:i+3], "<br") || strings.EqualFold(s[i:i+3], "<p>") || strings.EqualFold(s[i:i+3], "<p ") || strings.EqualFold(s[i:i+4], "<tr>") || strings.EqualFold(s[i:i+4], "<div")) {
				b = append(b, '\n')
			}
		case c == '>':
			in = false
		case !in:
			b = append(b, c)
		}
	}
	t := a.end(b)
	if strings.IndexByte(t, '&') < 0 {
		return t
	}
	return a.replaceEntities(t)
}

// htmlEntities are the entities stripHTML replaces. None is a prefix of
// another, so replacing the first that matches at each '&', left to
// right, is what a strings.Replacer of them does; the Replacer took two
// copies of each text, this one in scratch.
var htmlEntities = [...]struct{ entity, text string }{
	{"&nbsp;", " "}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", `"`}, {"&#39;", "'"},
}

func (a *scratch) replaceEntities(s string) string {
	b := a.begin(len(s))
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			break
		}
		b = append(b, s[:i]...)
		s = s[i:]
		n := 1
		b = append(b, '&')
		for _, e := range htmlEntities {
			if strings.HasPrefix(s, e.entity) {
				b = append(b[:len(b)-1], e.text...)
				n = len(e.entity)
				break
			}
		}
		s = s[n:]
	}
	b = append(b, s...)
	return a.end(b)
}

// asciiFold tells s equal to the lower-case ASCII t, ASCII letters of s
// in either case.
func asciiFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != t[i] {
			return false
		}
	}
	return true
}

// asciiLower lower-cases ASCII letters only, keeping every offset.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// continuedLen bounds what the lines from pos on that begin with a blank
// add to a value unfolded (at most a little over the 16384 kept).
func continuedLen(s string, pos int) int {
	n := 0
	for pos < len(s) && (s[pos] == ' ' || s[pos] == '\t') && n <= 16384 {
		end := strings.IndexByte(s[pos:], '\n')
		if end < 0 {
			end = len(s) - pos
		}
		n += end + 1
		pos += end + 1
	}
	return n
}

// hasBlank tells a space or tab in s (strings.ContainsAny(s, " \t")).
func hasBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			return true
		}
	}
	return false
}

// fieldLines counts the lines of s that do not continue a field, what a
// header of s can hold at most.
func fieldLines(s string) int {
	n := 1
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		if i < len(s) && s[i] != ' ' && s[i] != '\t' {
			n++
		}
	}
	return n
}
