package compose

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	texttemplate "text/template"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/encoding/japanese"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

type headerKind int

const (
	kindStructured   headerKind = iota // must be ASCII after the merge
	kindUnstructured                   // encoded-words when not ASCII (RFC 2047 §5 (1))
	kindAddress                        // display names encoded (RFC 2047 §5 (3))
)

var addressHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "reply-to": true, "sender": true,
	"resent-from": true, "resent-to": true, "resent-cc": true, "resent-sender": true,
	"disposition-notification-to": true,
}

var unstructuredHeaders = map[string]bool{
	"subject": true, "comments": true, "keywords": true, "organization": true,
	"thread-topic": true, "content-description": true,
}

// dropped are written per recipient by the composer or the signer, or must
// never go out (Bcc); a template's own copy would be stale or duplicated.
var dropped = map[string]bool{
	"message-id": true, "date": true, "mime-version": true, "content-type": true,
	"content-transfer-encoding": true, "content-disposition": true, "content-id": true,
	"return-path": true, "received": true, "bcc": true, "dkim-signature": true,
}

type header struct {
	name  string
	kind  headerKind
	tmpl  *texttemplate.Template // structured and unstructured
	boxes []mailboxTmpl          // address
}

type mailboxTmpl struct {
	display *texttemplate.Template // nil when there is none
	addr    *texttemplate.Template
	// bare: written without angle brackets, so the merged text may hold
	// a whole mailbox ({{.to}} = "Taro <taro@example.jp>").
	bare bool
}

func (t *Template) parseHeaders(fs []rawField, opt Options) error {
	froms := 0
	for _, f := range fs {
		if strings.EqualFold(f.name, "From") {
			froms++
		}
	}
	if froms > 1 {
		return errors.New("compose: the template has more than one From")
	}
	if froms == 0 {
		if opt.From == "" {
			return errors.New("compose: no From: the template has none and Options.From is empty")
		}
		fs = append([]rawField{{"From", ""}}, fs...)
	}
	unsub := opt.ListUnsubscribe != "" || opt.ListUnsubscribeMailto != ""
	for _, f := range fs {
		lname := strings.ToLower(f.name)
		if dropped[lname] || unsub && (lname == "list-unsubscribe" || lname == "list-unsubscribe-post") {
			continue
		}
		value := f.value
		if lname == "from" && opt.From != "" {
			value = opt.From
		}
		if lname == "to" {
			t.hasTo = true
		}
		// A template saved by a mail client may hold encoded-words; merge
		// into the text they stand for.
		if dec, err := wordDecoder.DecodeHeader(value); err == nil {
			value = dec
		}
		h := header{name: f.name, kind: kindStructured}
		switch {
		case addressHeaders[lname]:
			h.kind = kindAddress
			boxes, err := t.parseMailboxes(f.name, value)
			if err != nil {
				return err
			}
			h.boxes = boxes
		case unstructuredHeaders[lname] || strings.HasPrefix(lname, "x-"):
			h.kind = kindUnstructured
			fallthrough
		default:
			if h.kind == kindStructured && !protocol.IsASCII(value) {
				return fmt.Errorf("compose: header %s: non-ASCII text in a structured field; only Subject, Comments, Keywords, Organization, X-* and display names may hold it", f.name)
			}
			tm, err := t.parseText(f.name, value)
			if err != nil {
				return err
			}
			h.tmpl = tm
		}
		t.headers = append(t.headers, h)
	}
	return nil
}

var wordDecoder = &mime.WordDecoder{CharsetReader: func(charset string, r io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-2022-jp":
		return japanese.ISO2022JP.NewDecoder().Reader(r), nil
	case "shift_jis", "shift-jis", "sjis", "cp932", "windows-31j":
		return japanese.ShiftJIS.NewDecoder().Reader(r), nil
	case "euc-jp":
		return japanese.EUCJP.NewDecoder().Reader(r), nil
	}
	return nil, fmt.Errorf("charset %s not known", charset)
}}

func (t *Template) parseText(name, src string) (*texttemplate.Template, error) {
	tm, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("compose: header %s: %w", name, err)
	}
	t.noteFields(tm.Tree, name)
	return tm, nil
}

// parseMailboxes splits an address header's template into mailboxes at
// top-level commas (outside quotes, angle brackets and {{actions}}) so
// that a merged value holding a comma or a quote stays one display name.
func (t *Template) parseMailboxes(name, src string) ([]mailboxTmpl, error) {
	var boxes []mailboxTmpl
	for _, piece := range splitTop(src, ',') {
		piece = strings.TrimSpace(piece)
		if piece == "" {
			continue
		}
		display, addr, angled, err := splitMailbox(piece)
		if err != nil {
			return nil, fmt.Errorf("compose: header %s: %v in %q", name, err, piece)
		}
		if !strings.Contains(addr, "{{") {
			if _, err := protocol.ParseAddress(addr); err != nil && (angled || !strings.Contains(addr, "<")) {
				return nil, fmt.Errorf("compose: header %s: address %q: %v", name, addr, err)
			}
		}
		box := mailboxTmpl{bare: !angled}
		var err2 error
		if box.addr, err2 = t.parseText(name, addr); err2 != nil {
			return nil, err2
		}
		if display != "" {
			if box.display, err2 = t.parseText(name, display); err2 != nil {
				return nil, err2
			}
		}
		boxes = append(boxes, box)
	}
	if len(boxes) == 0 {
		return nil, fmt.Errorf("compose: header %s has no address", name)
	}
	return boxes, nil
}

// splitTop splits s at sep where sep is outside a quoted string, angle
// brackets and a template action.
func splitTop(s string, sep byte) []string {
	var parts []string
	start, angle := 0, false
	eachTop(s, func(i int) {
		switch s[i] {
		case '<':
			angle = true
		case '>':
			angle = false
		case sep:
			if !angle {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	})
	return append(parts, s[start:])
}

// eachTop calls fn with the index of every octet of s outside a quoted
// string and a template action, the quotes and braces themselves left out:
// a '<' or ',' inside "…" or {{…}} is text, not structure.
func eachTop(s string, fn func(i int)) {
	quote, action := false, false
	for i := 0; i < len(s); i++ {
		switch {
		case action:
			if strings.HasPrefix(s[i:], "}}") {
				action = false
				i++
			}
		case strings.HasPrefix(s[i:], "{{"):
			action = true
			i++
		case quote:
			if s[i] == '\\' {
				i++
			} else if s[i] == '"' {
				quote = false
			}
		case s[i] == '"':
			quote = true
		default:
			fn(i)
		}
	}
}

// splitMailbox splits `display <addr>` or a bare `addr`. A quoted display
// name loses its quotes and backslashes; the composer quotes or encodes it
// again after the merge.
func splitMailbox(s string) (display, addr string, angled bool, err error) {
	lt := lastTop(s, '<')
	if lt < 0 {
		return "", s, false, nil
	}
	rest := s[lt+1:]
	gt := strings.IndexByte(rest, '>')
	if gt < 0 || strings.TrimSpace(rest[gt+1:]) != "" {
		return "", "", false, errors.New("unbalanced angle brackets")
	}
	addr = strings.TrimSpace(rest[:gt])
	display = strings.TrimSpace(s[:lt])
	if len(display) >= 2 && display[0] == '"' && display[len(display)-1] == '"' {
		display = unquote(display[1 : len(display)-1])
	}
	return display, addr, true, nil
}

// lastTop is the index of the last c outside quotes and actions, or -1.
func lastTop(s string, c byte) int {
	last := -1
	eachTop(s, func(i int) {
		if s[i] == c {
			last = i
		}
	})
	return last
}

func unquote(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cleanHeaderText turns the line breaks and tabs a merge may bring into
// spaces: a header value is one logical line (RFC 5322 §2.2), and a CR or
// LF from a list field must never start a header of its own.
func cleanHeaderText(s string) (string, error) {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return strings.TrimSpace(s), nil
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\r' || r == '\n' || r == '\t':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			return "", fmt.Errorf("control character %U", r)
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String()), nil
}

// formatAddr checks a merged address and writes it for a header: domain
// as an A-label when the local part is ASCII (so the header stays ASCII),
// carrier local parts unquoted (protocol.Address.String).
func formatAddr(s string) (addr string, utf8Local bool, err error) {
	a, err := protocol.ParseAddress(s)
	if err != nil {
		return "", false, err
	}
	if !protocol.IsASCII(a.Local) {
		return a.String(), true, nil
	}
	if !protocol.IsASCII(a.Domain) {
		d, err := idna.Lookup.ToASCII(a.Domain)
		if err != nil {
			return "", false, fmt.Errorf("domain %q: %v", a.Domain, err)
		}
		a.Domain = d
	}
	return a.String(), false, nil
}

// phraseOK says whether an ASCII display name can go out unquoted: atoms
// and spaces, plus the dots of obs-phrase (RFC 5322 §4.1) that everybody
// writes ("Taro Y. Yamada").
func phraseOK(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '.' && !protocol.IsAtext(c) {
			return false
		}
	}
	return s != "" && s[0] != '.'
}

// unsupportedError is a character ISO-2022-JP cannot hold.
type unsupportedError struct {
	r     rune
	where string
}

func (e *unsupportedError) Error() string {
	return fmt.Sprintf("ISO-2022-JP cannot hold %U %q (%s)", e.r, string(e.r), e.where)
}

// encodedWords writes s as RFC 2047 B encoded-words of at most 75
// characters (§2), the first at most firstMax so the first line stays
// near 78. Each word holds whole characters and, for ISO-2022-JP, ends in
// ASCII mode (§5 rule 3, RFC 1468). B rather than Q: for Japanese text Q
// is three times the size, and B is what Japanese senders write.
func encodedWords(s, charset string, firstMax int, where string) ([]string, error) {
	prefix := "=?" + charset + "?B?"
	var words []string
	max := min(firstMax, 75)
	for s != "" {
		room := (max - len(prefix) - 2) / 4 * 3 // raw octets that fit
		raw, n, err := chunk(s, charset, room, where)
		if err != nil {
			return nil, err
		}
		words = append(words, prefix+base64.StdEncoding.EncodeToString(raw)+"?=")
		s = s[n:]
		max = 75
	}
	return words, nil
}

// chunk encodes the longest prefix of s (at least one character) whose
// encoding fits in room octets, and says how many bytes of s it took.
func chunk(s, charset string, room int, where string) ([]byte, int, error) {
	if charset == UTF8 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > room && n > 0 {
				break
			}
			n += size
		}
		return []byte(s[:n]), n, nil
	}
	// ISO-2022-JP: estimate with 1 octet per ASCII character, 2 per JIS
	// character and 3 per mode switch, then check the real encoding.
	n, est, jis := 0, 0, false
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		add := 1
		switch {
		case r >= 0x80 && !jis:
			add = 5
		case r >= 0x80:
			add = 2
		case jis:
			add = 4
		}
		closing := 0
		if r >= 0x80 {
			closing = 3
		}
		if est+add+closing > room && n > 0 {
			break
		}
		est += add
		jis = r >= 0x80
		n += size
	}
	for {
		enc, err := encodeJIS(s[:n])
		if err != nil {
			return nil, 0, withWhere(err, where)
		}
		_, size := utf8.DecodeLastRuneInString(s[:n])
		if len(enc) <= room || n == size {
			return enc, n, nil
		}
		n -= size
	}
}

func withWhere(err error, where string) error {
	var u *unsupportedError
	if errors.As(err, &u) {
		u.where = where
	}
	return err
}
