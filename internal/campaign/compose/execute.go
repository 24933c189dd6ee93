package compose

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hikyaku/hikyaku/internal/longline"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/verp"
)

// Output is one recipient's message.
type Output struct {
	Data       []byte // CRLF line ends, every line within 998 octets, 7-bit unless SMTPUTF8
	ReturnPath string // the envelope sender: VERP, or the From address
	MessageID  string // with angle brackets
	Charset    string // UTF8 or ISO2022JP: what the text parts and encoded-words are in
	// Fallback is set when the recipient's charset was ISO-2022-JP but
	// the merged text holds a character it lacks: the message went out in
	// UTF-8 instead, and this says why ("ISO-2022-JP cannot hold U+1F600
	// '😀' (Subject)"). Nothing is ever dropped or replaced by '?'.
	Fallback string
	// SMTPUTF8 is set when a header holds an address with a UTF-8 local
	// part: only a peer offering SMTPUTF8 may take it (RFC 6531, 6532).
	SMTPUTF8 bool
}

// merged is a recipient's template output before charset encoding.
type merged struct {
	headers []mergedHeader
	text    string
	html    string // "" when the template has no HTML part
	unsub   string // List-Unsubscribe value, "" for none
	from    string // the From address, for the return path
	utf8    bool
}

type mergedHeader struct {
	name  string
	kind  headerKind
	value string
	boxes []mergedBox
}

type mergedBox struct{ display, addr string }

// Execute builds the message for one recipient. fields is the row's merge
// fields; the template also sees email, campaign and row.
func (t *Template) Execute(campaign string, row int, email string, fields map[string]string) (Output, error) {
	if row < 0 {
		return Output{}, fmt.Errorf("compose: row %d is negative", row)
	}
	data := make(map[string]string, len(fields)+3)
	for k, v := range fields {
		if !utf8.ValidString(v) {
			return Output{}, fmt.Errorf("compose: merge field %q is not UTF-8", k)
		}
		data[k] = v
	}
	data["email"] = email
	data["campaign"] = campaign
	data["row"] = strconv.Itoa(row)
	for _, f := range t.fieldList {
		if _, ok := data[f]; !ok {
			return Output{}, fmt.Errorf("compose: missing merge field %q (used in %s)", f, t.fields[f])
		}
	}
	m, err := t.merge(data)
	if err != nil {
		return Output{}, err
	}
	out := Output{Charset: t.charsetFor(email), SMTPUTF8: m.utf8, ReturnPath: m.from}
	if t.verp != "" {
		if len(t.verpKey) == 0 {
			return Output{}, errNoVERPKey
		}
		out.ReturnPath = VERP(campaign, row, t.verp, t.verpKey)
		if local, _, _ := protocol.SplitAddress(out.ReturnPath); len(local) > 64 {
			return Output{}, fmt.Errorf("compose: the VERP local part %q is over 64 octets; use a shorter campaign name", local)
		}
	}
	var rnd [16]byte
	t.random(rnd[:])
	// <campaign.row.random@host>: unique by the random part alone, the
	// rest is for the person reading a log or a complaint.
	idLeft := strconv.Itoa(row) + "." + hex.EncodeToString(rnd[:8])
	if c := verp.EscapeName(campaign); c != "" {
		idLeft = c + "." + idLeft
	}
	out.MessageID = "<" + idLeft + "@" + t.hostname + ">"
	boundary := "=_hky_" + hex.EncodeToString(rnd[8:16])

	msg, err := t.build(m, out.Charset, out.MessageID, boundary)
	var unsup *unsupportedError
	if errors.As(err, &unsup) {
		out.Fallback = unsup.Error() + "; sent as UTF-8"
		out.Charset = UTF8
		msg, err = t.build(m, UTF8, out.MessageID, boundary)
	}
	if err != nil {
		return Output{}, err
	}
	// A guard: the composer keeps lines short itself, but a merged
	// structured header (a long URL) has nowhere to fold but whitespace.
	if longline.NeedsFix(msg, maxLine) {
		res, err := longline.Fix(msg, maxLine)
		if err != nil || longline.NeedsFix(res.Data, maxLine) {
			return Output{}, fmt.Errorf("compose: a line is over %d octets and cannot be folded: %s", maxLine, strings.Join(res.Notes, "; "))
		}
		msg = res.Data
	}
	out.Data = msg
	return out, nil
}

func (t *Template) merge(data map[string]string) (merged, error) {
	var m merged
	var sb strings.Builder
	run := func(name string, execute func() error) (string, error) {
		sb.Reset()
		if err := execute(); err != nil {
			return "", fmt.Errorf("compose: %s: %w", name, err)
		}
		return sb.String(), nil
	}
	for _, h := range t.headers {
		mh := mergedHeader{name: h.name, kind: h.kind}
		if h.kind != kindAddress {
			v, err := run(h.name, func() error { return h.tmpl.Execute(&sb, data) })
			if err != nil {
				return m, err
			}
			if mh.value, err = cleanHeaderText(v); err != nil {
				return m, fmt.Errorf("compose: header %s: %v", h.name, err)
			}
			if h.kind == kindStructured && !protocol.IsASCII(mh.value) {
				return m, fmt.Errorf("compose: header %s: non-ASCII text in a structured field", h.name)
			}
			m.headers = append(m.headers, mh)
			continue
		}
		for _, b := range h.boxes {
			var box mergedBox
			addr, err := run(h.name, func() error { return b.addr.Execute(&sb, data) })
			if err != nil {
				return m, err
			}
			if b.display != nil {
				if box.display, err = run(h.name, func() error { return b.display.Execute(&sb, data) }); err != nil {
					return m, err
				}
			}
			if box.display, err = cleanHeaderText(box.display); err == nil {
				addr, err = cleanHeaderText(addr)
			}
			if err != nil {
				return m, fmt.Errorf("compose: header %s: %v", h.name, err)
			}
			if b.bare {
				// The merge may have given a whole mailbox.
				d, a, angled, err := splitMailbox(addr)
				if err != nil {
					return m, fmt.Errorf("compose: header %s: %v in %q", h.name, err, addr)
				}
				if angled {
					box.display, addr = d, a
				}
			}
			var utf8Local bool
			if box.addr, utf8Local, err = formatAddr(addr); err != nil {
				return m, fmt.Errorf("compose: header %s: address %q: %v", h.name, addr, err)
			}
			m.utf8 = m.utf8 || utf8Local
			if strings.EqualFold(h.name, "From") && m.from == "" {
				m.from = box.addr
			}
			mh.boxes = append(mh.boxes, box)
		}
		m.headers = append(m.headers, mh)
	}
	if !t.hasTo {
		addr, utf8Local, err := formatAddr(data["email"])
		if err != nil {
			return m, fmt.Errorf("compose: recipient %q: %v", data["email"], err)
		}
		m.utf8 = m.utf8 || utf8Local
		// After From, where readers look for it.
		to := mergedHeader{name: "To", kind: kindAddress, boxes: []mergedBox{{addr: addr}}}
		i := 0
		for i < len(m.headers) && !strings.EqualFold(m.headers[i].name, "From") {
			i++
		}
		i = min(i+1, len(m.headers))
		m.headers = append(m.headers[:i], append([]mergedHeader{to}, m.headers[i:]...)...)
	}
	var err error
	if m.text, err = run("text body", func() error { return t.text.Execute(&sb, data) }); err != nil {
		return m, err
	}
	m.text = normalizeNewlines(m.text)
	if t.html != nil {
		if m.html, err = run("HTML body", func() error { return t.html.Execute(&sb, data) }); err != nil {
			return m, err
		}
		m.html = normalizeNewlines(m.html)
	}
	var unsub []string
	if t.unsubURL != nil {
		u, err := run("List-Unsubscribe", func() error { return t.unsubURL.Execute(&sb, data) })
		if err != nil {
			return m, err
		}
		unsub = append(unsub, u)
	}
	if t.unsubMail != nil {
		u, err := run("List-Unsubscribe", func() error { return t.unsubMail.Execute(&sb, data) })
		if err != nil {
			return m, err
		}
		unsub = append(unsub, u)
	}
	for i, u := range unsub {
		if !protocol.IsASCII(u) || strings.ContainsAny(u, " \t\r\n<>\"") {
			return m, fmt.Errorf("compose: List-Unsubscribe %q must be an ASCII URI without spaces; pipe fields through urlquery", u)
		}
		unsub[i] = "<" + u + ">"
	}
	m.unsub = strings.Join(unsub, ", ")
	if m.from == "" {
		return m, errors.New("compose: the From header has no address")
	}
	return m, nil
}

// build writes the message in one charset.
func (t *Template) build(m merged, charset, messageID, boundary string) ([]byte, error) {
	text, html := m.text, m.html
	if charset == ISO2022JP {
		text, html = jisFold(text), jisFold(retagHTML(html, charset))
	}
	textCTE, textBody, err := encodeBody(text, charset, "text body")
	if err != nil {
		return nil, err
	}
	var htmlCTE string
	var htmlBody []byte
	if t.html != nil {
		if htmlCTE, htmlBody, err = encodeBody(html, charset, "HTML body"); err != nil {
			return nil, err
		}
	}
	size := 1024 + len(textBody) + len(htmlBody)
	for _, img := range t.images {
		size += len(img.header) + len(img.body) + 64
	}
	b := bytes.NewBuffer(make([]byte, 0, size))
	for _, h := range m.headers {
		if err := writeHeader(b, h, charset); err != nil {
			return nil, err
		}
	}
	b.WriteString("Date: " + t.now().Format("Mon, 02 Jan 2006 15:04:05 -0700") + "\r\n")
	b.WriteString("Message-ID: " + messageID + "\r\n")
	if m.unsub != "" {
		writeFolded(b, "List-Unsubscribe", strings.Split(m.unsub, " "))
		if t.oneClick {
			b.WriteString("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
		}
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	textType := "text/plain; charset=" + charset
	if t.html == nil {
		writePartHeader(b, textType, textCTE)
		b.WriteString("\r\n")
		b.Write(textBody)
		return b.Bytes(), nil
	}
	// A 7bit part could hold the boundary; a random one makes that a
	// 2^-64 event, and the check makes it none.
	for bytes.Contains(textBody, []byte(boundary)) || bytes.Contains(htmlBody, []byte(boundary)) {
		var rnd [8]byte
		t.random(rnd[:])
		boundary = "=_hky_" + hex.EncodeToString(rnd[:])
	}
	alt, rel := boundary+"_a", boundary+"_r"
	b.WriteString("Content-Type: multipart/alternative; boundary=\"" + alt + "\"\r\n\r\n")
	// The CRLF before a delimiter belongs to it (RFC 2046 §5.1.1): each
	// part body gets one more, so its own last line break survives.
	b.WriteString("--" + alt + "\r\n")
	writePartHeader(b, textType, textCTE)
	b.WriteString("\r\n")
	b.Write(textBody)
	b.WriteString("\r\n--" + alt + "\r\n")
	htmlType := "text/html; charset=" + charset
	if len(t.images) > 0 {
		// RFC 2387: the HTML and its images are one related whole, the
		// alternative to the text.
		b.WriteString("Content-Type: multipart/related; boundary=\"" + rel + "\";\r\n type=\"text/html\"\r\n\r\n")
		b.WriteString("--" + rel + "\r\n")
	}
	writePartHeader(b, htmlType, htmlCTE)
	b.WriteString("\r\n")
	b.Write(htmlBody)
	if len(t.images) > 0 {
		for _, img := range t.images {
			b.WriteString("\r\n--" + rel + "\r\n")
			b.Write(img.header)
			b.WriteString("\r\n")
			b.Write(img.body)
		}
		b.WriteString("\r\n--" + rel + "--\r\n")
	}
	b.WriteString("\r\n--" + alt + "--\r\n")
	return b.Bytes(), nil
}

func writePartHeader(b *bytes.Buffer, contentType, cte string) {
	b.WriteString("Content-Type: " + contentType + "\r\n")
	b.WriteString("Content-Transfer-Encoding: " + cte + "\r\n")
}

// writeHeader encodes and folds one merged header field.
func writeHeader(b *bytes.Buffer, h mergedHeader, charset string) error {
	firstMax := 78 - len(h.name) - 2
	if firstMax < 30 {
		firstMax = 75 // a long name: the folder starts the value on the next line
	}
	switch h.kind {
	case kindAddress:
		var tokens []string
		for i, box := range h.boxes {
			if box.display != "" {
				words, err := phrase(box.display, charset, firstMax, h.name)
				if err != nil {
					return err
				}
				tokens = append(tokens, words...)
				tokens = append(tokens, "<"+box.addr+">")
			} else {
				tokens = append(tokens, box.addr)
			}
			if i < len(h.boxes)-1 {
				tokens[len(tokens)-1] += ","
			}
			firstMax = 75
		}
		writeFolded(b, h.name, tokens)
	case kindUnstructured:
		// ASCII that looks like an encoded-word would be decoded by the
		// reader: encode it so it reads as written (RFC 2047 §5 (1)).
		// So is a word too long for a line, which encoded-words can split.
		if protocol.IsASCII(h.value) && !strings.Contains(h.value, "=?") && !longWord(h.value) {
			writeFolded(b, h.name, strings.Split(h.value, " "))
			return nil
		}
		v := h.value
		if charset == ISO2022JP {
			v = jisFold(v)
		}
		words, err := encodedWords(v, charset, firstMax, h.name)
		if err != nil {
			return err
		}
		writeFolded(b, h.name, words)
	default:
		writeFolded(b, h.name, strings.Split(h.value, " "))
	}
	return nil
}

// phrase writes a display name: as it is when it is atoms, quoted when it
// is other ASCII, encoded-words when it is not ASCII.
func phrase(s, charset string, firstMax int, where string) ([]string, error) {
	switch {
	case strings.Contains(s, "=?") || longWord(s):
		// Readers decode encoded-words even inside quotes; encode. A long
		// word is split across encoded-words.
	case protocol.IsASCII(s) && phraseOK(s):
		return strings.Split(s, " "), nil
	case protocol.IsASCII(s):
		// A quoted-string may fold at its spaces (RFC 5322 §3.2.4).
		return strings.Split(protocol.QuoteString(s), " "), nil
	case charset == ISO2022JP:
		s = jisFold(s)
	}
	return encodedWords(s, charset, firstMax, where)
}

// writeFolded writes "Name:" and the tokens separated by single spaces,
// folding where the line would pass 78 characters (RFC 5322 §2.2.3).
// Empty tokens stand for runs of spaces; a fold goes before a whole run,
// so that no line ends in a space (readers that trim it would lose it)
// and unfolding gives back the tokens joined by spaces.
func writeFolded(b *bytes.Buffer, name string, tokens []string) {
	b.WriteString(name)
	b.WriteString(":")
	col := len(name) + 1
	for i := 0; i < len(tokens); {
		// One segment: the spaces of a run of empty tokens and the word
		// after them.
		j := i
		for j < len(tokens)-1 && tokens[j] == "" {
			j++
		}
		segLen := j - i + 1 + len(tokens[j])
		// Before the first segment too: "Name:" CRLF " value" is a valid
		// fold and the only one a long single token allows.
		if col+segLen > 78 && (i > 0 || segLen <= 78) {
			b.WriteString("\r\n")
			col = 0
		}
		for ; i <= j; i++ {
			b.WriteByte(' ')
			b.WriteString(tokens[i])
		}
		col += segLen
	}
	b.WriteString("\r\n")
}

// longWord says whether s has a segment (spaces and the word after them)
// too long to share a 78-character line with a field name; encoded-words
// can split it, folding cannot.
func longWord(s string) bool {
	run, spaces := 0, true
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && !spaces {
			run, spaces = 0, true
		} else if s[i] != ' ' {
			spaces = false
		}
		if run++; run > 64 {
			return true
		}
	}
	return false
}

func cryptoRandom(b []byte) { rand.Read(b) }
