package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"os"
	"sort"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	htmltemplate "html/template"

	"github.com/hikyaku/hikyaku/internal/mimepart"
	"github.com/hikyaku/hikyaku/internal/protocol"
)

// The system codes of docs/spec.md §4.4 this package returns.
const (
	CodeImage       = -12 // an inline image cannot be read or encoded
	CodeImageFolder = -13 // the image folder cannot be opened
)

// Charset names as written in Content-Type.
const (
	UTF8      = "UTF-8"
	ISO2022JP = "ISO-2022-JP"
)

// MobileCarrierCharsets is the usual CharsetByDomain for Japanese feature
// phones (ガラケー), whose mail software reads ISO-2022-JP only. A
// subdomain matches too (d.vodafone.ne.jp). Smartphone domains
// (i.softbank.jp, au.com) read UTF-8 and are not listed.
func MobileCarrierCharsets() map[string]string {
	return map[string]string{
		"docomo.ne.jp":   ISO2022JP,
		"ezweb.ne.jp":    ISO2022JP,
		"softbank.ne.jp": ISO2022JP,
		"vodafone.ne.jp": ISO2022JP,
		"disney.ne.jp":   ISO2022JP,
		"pdx.ne.jp":      ISO2022JP,
		"willcom.com":    ISO2022JP,
		"emnet.ne.jp":    ISO2022JP,
	}
}

// Options are the campaign-wide settings of a template.
type Options struct {
	// ImagesDir is the folder of inline images; "" when the HTML names
	// none. With Images set it is not read, only named in errors, so that
	// an error names the operator's file.
	ImagesDir string
	// Images are the image folder's files already read (campaign's
	// ReadImages), by slash-separated path relative to the folder. Non-nil
	// means a folder was given, even an empty one: an image the HTML names
	// but Images lacks is then -12 naming that file, not -13.
	Images map[string][]byte
	// HTML is an HTML body template for a template whose message is
	// text/plain only.
	HTML []byte
	// Charset is UTF8 (the default) or ISO2022JP.
	Charset string
	// CharsetByDomain overrides Charset by recipient domain (or a parent
	// of it), e.g. MobileCarrierCharsets().
	CharsetByDomain map[string]string
	// From replaces the template's From header; a template, like it.
	From string
	// ListUnsubscribe is a URL template ("https://example.com/u?c={{.campaign}}&r={{.row}}";
	// pipe list fields through urlquery). With https the message also
	// gets List-Unsubscribe-Post for one-click unsubscription (RFC 8058).
	ListUnsubscribe string
	// ListUnsubscribeMailto is an address template for unsubscription by
	// mail, with or without "mailto:".
	ListUnsubscribeMailto string
	// ReturnPathDomain turns on VERP: the return path of row r of campaign
	// c is bounce+c-r-HASH@ReturnPathDomain, HASH keyed by VERPKey
	// (internal/verp). "" uses the From address.
	ReturnPathDomain string
	// VERPKey signs the VERP return paths (data_dir/verp.key); Execute
	// fails without one when ReturnPathDomain is set. Template.SetVERPKey
	// sets it after parsing.
	VERPKey []byte
	// Hostname is the right side of Message-ID and Content-ID; "" is the
	// machine's host name.
	Hostname string
	// Now gives the Date; nil is time.Now.
	Now func() time.Time
}

// A template failure that docs/spec.md §4.4 gives a system code (-12 or -13) is a
// *codes.SystemError whose File is the image or the folder as the operator
// named it. Other template errors (syntax, structure) are plain errors.

// Template is a parsed campaign template. Execute is safe for concurrent
// use.
type Template struct {
	headers   []header // in template order, From included
	hasTo     bool
	text      *texttemplate.Template
	html      *htmltemplate.Template // nil: text only
	images    []image
	unsubURL  *texttemplate.Template
	unsubMail *texttemplate.Template
	oneClick  bool

	charset   string
	byDomain  map[string]string
	verp      string
	verpKey   []byte
	hostname  string
	now       func() time.Time
	fields    map[string]string // merge field → where it is first used
	fieldList []string          // the keys of fields, sorted
	random    func([]byte)      // tests make it deterministic
}

// ParseTemplate parses the template message eml.
func ParseTemplate(eml []byte, opt Options) (*Template, error) {
	eml = bytes.TrimPrefix(eml, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(eml) {
		return nil, errors.New("compose: the template is not UTF-8")
	}
	eml = bytes.ReplaceAll(eml, []byte("\r\n"), []byte("\n"))
	t := &Template{
		fields: make(map[string]string),
		random: cryptoRandom,
		now:    opt.Now,
	}
	if t.now == nil {
		t.now = time.Now
	}
	var err error
	if t.charset, err = charsetName(opt.Charset); err != nil {
		return nil, err
	}
	t.byDomain = make(map[string]string, len(opt.CharsetByDomain))
	for d, cs := range opt.CharsetByDomain {
		if t.byDomain[strings.ToLower(strings.TrimSuffix(d, "."))], err = charsetName(cs); err != nil {
			return nil, fmt.Errorf("%w (for domain %s)", err, d)
		}
	}
	t.hostname = opt.Hostname
	if t.hostname == "" {
		if t.hostname, err = os.Hostname(); err != nil {
			return nil, fmt.Errorf("compose: no Hostname for Message-ID and the host name is unknown: %w", err)
		}
	}
	t.hostname = strings.ToLower(t.hostname)
	if !protocol.IsDotAtom(t.hostname) {
		return nil, fmt.Errorf("compose: host name %q cannot be the right side of a Message-ID", t.hostname)
	}
	t.verp = opt.ReturnPathDomain
	t.verpKey = append([]byte(nil), opt.VERPKey...)
	if t.verp != "" {
		if _, err := protocol.ParseAddress("bounce@" + t.verp); err != nil || strings.HasPrefix(t.verp, "[") {
			return nil, fmt.Errorf("compose: ReturnPathDomain %q is not a domain", t.verp)
		}
	}

	hdr, body, _ := bytes.Cut(eml, []byte("\n\n"))
	if !bytes.Contains(eml, []byte("\n\n")) && !bytes.Contains(hdr, []byte(":")) {
		return nil, errors.New("compose: the template has no header")
	}
	fields, err := splitHeader(hdr)
	if err != nil {
		return nil, err
	}
	text, html, err := t.parseBody(fields, body)
	if err != nil {
		return nil, err
	}
	if opt.HTML != nil {
		if html != nil {
			return nil, errors.New("compose: the template has an HTML part already; Options.HTML is for a text-only template")
		}
		if !utf8.Valid(opt.HTML) {
			return nil, errors.New("compose: the HTML template is not UTF-8")
		}
		html = bytes.ReplaceAll(opt.HTML, []byte("\r\n"), []byte("\n"))
	}
	if err := t.parseHeaders(fields, opt); err != nil {
		return nil, err
	}
	if t.text, err = texttemplate.New("text body").Option("missingkey=error").Parse(string(text)); err != nil {
		return nil, fmt.Errorf("compose: %w", err)
	}
	t.noteFields(t.text.Tree, "text body")
	if err := t.loadImages(&html, opt); err != nil {
		return nil, err
	}
	if html != nil {
		if t.html, err = htmltemplate.New("HTML body").Option("missingkey=error").Parse(string(html)); err != nil {
			return nil, fmt.Errorf("compose: %w", err)
		}
		t.noteFields(t.html.Tree, "HTML body")
	}
	if err := t.parseUnsubscribe(opt); err != nil {
		return nil, err
	}
	for f := range t.fields {
		t.fieldList = append(t.fieldList, f)
	}
	sort.Strings(t.fieldList)
	return t, nil
}

func charsetName(cs string) (string, error) {
	switch strings.ToUpper(strings.ReplaceAll(cs, "_", "-")) {
	case "", "UTF-8", "UTF8":
		return UTF8, nil
	case "ISO-2022-JP", "JIS":
		return ISO2022JP, nil
	}
	return "", fmt.Errorf("compose: charset %q is neither UTF-8 nor ISO-2022-JP", cs)
}

// rawField is one unfolded header field of the template.
type rawField struct{ name, value string }

func splitHeader(hdr []byte) ([]rawField, error) {
	var fs []rawField
	for i, line := range strings.Split(string(hdr), "\n") {
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fs) == 0 {
				return nil, fmt.Errorf("compose: template line %d: continuation before any header field", i+1)
			}
			fs[len(fs)-1].value += line // unfolding keeps the whitespace (RFC 5322 §2.2.3)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !isFieldName(name) {
			return nil, fmt.Errorf("compose: template line %d is not a header field: %q", i+1, line)
		}
		fs = append(fs, rawField{name, strings.TrimSpace(value)})
	}
	return fs, nil
}

// isFieldName checks ftext (RFC 5322 §3.6.8): printable ASCII but colon.
func isFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return s != ""
}

func get(fs []rawField, name string) string {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

// parseBody finds the text and HTML sources in the template's body.
func (t *Template) parseBody(fs []rawField, body []byte) (text, html []byte, err error) {
	ct := get(fs, "Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, nil, fmt.Errorf("compose: template Content-Type %q: %w", ct, err)
	}
	switch mt {
	case "text/plain":
		text, err = decodePart(body, get(fs, "Content-Transfer-Encoding"), params["charset"], "text/plain")
		return text, nil, err
	case "multipart/alternative":
	default:
		return nil, nil, fmt.Errorf("compose: template of type %s: want text/plain or multipart/alternative of text/plain and text/html", mt)
	}
	parts, err := mimepart.Raw(body, params["boundary"])
	if err != nil {
		return nil, nil, fmt.Errorf("compose: template multipart body: %w", err)
	}
	for _, p := range parts {
		raw := p.Body
		pct := p.Header.Get("Content-Type")
		if pct == "" {
			pct = "text/plain"
		}
		pmt, pparams, err := mime.ParseMediaType(pct)
		if err != nil {
			return nil, nil, fmt.Errorf("compose: template part Content-Type %q: %w", pct, err)
		}
		dec, err := decodePart(raw, p.Header.Get("Content-Transfer-Encoding"), pparams["charset"], pmt)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case pmt == "text/plain" && text == nil:
			text = dec
		case pmt == "text/html" && html == nil:
			html = dec
		default:
			return nil, nil, fmt.Errorf("compose: template part %s: multipart/alternative may hold one text/plain and one text/html part", pmt)
		}
	}
	if text == nil {
		return nil, nil, errors.New("compose: the template has no text/plain part; mail without one is scored as spam")
	}
	return text, html, nil
}

// decodePart undoes a template part's transfer encoding and checks that it
// is UTF-8.
func decodePart(b []byte, cte, charset, what string) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
	case "quoted-printable":
		d, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		if err != nil {
			return nil, fmt.Errorf("compose: template %s part: %w", what, err)
		}
		b = d
	case "base64":
		d, err := decodeBase64(b)
		if err != nil {
			return nil, fmt.Errorf("compose: template %s part: %w", what, err)
		}
		b = d
	default:
		return nil, fmt.Errorf("compose: template %s part: unknown transfer encoding %q", what, cte)
	}
	switch strings.ToLower(charset) {
	case "", "utf-8", "utf8", "us-ascii":
	default:
		return nil, fmt.Errorf("compose: template %s part is in %s; save the template as UTF-8", what, charset)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("compose: template %s part is not UTF-8", what)
	}
	return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), nil
}

// noteFields records the merge fields a template uses, so that Execute
// can name a missing one and Fields can list them.
func (t *Template) noteFields(tree *parse.Tree, where string) {
	if tree == nil || tree.Root == nil {
		return
	}
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			if _, seen := t.fields[n.Ident[0]]; !seen {
				t.fields[n.Ident[0]] = where
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			// Inside with, dot is the value, not the row.
			walk(n.ElseList)
		}
	}
	walk(tree.Root)
}

// builtin are the data keys every recipient has.
var builtin = map[string]bool{"email": true, "campaign": true, "row": true}

// Fields lists the merge fields the template uses, sorted, without the
// built-in email, campaign and row: the campaign command checks them
// against the list's header before sending anything.
func (t *Template) Fields() []string {
	var fs []string
	for f := range t.fields {
		if !builtin[f] {
			fs = append(fs, f)
		}
	}
	sort.Strings(fs)
	return fs
}

func (t *Template) parseUnsubscribe(opt Options) error {
	var err error
	if opt.ListUnsubscribe != "" {
		u := strings.TrimSpace(opt.ListUnsubscribe)
		lower := strings.ToLower(u)
		if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") {
			return fmt.Errorf("compose: List-Unsubscribe URL %q is not http(s)", u)
		}
		// RFC 8058 §3.1: one-click needs an HTTPS URI.
		t.oneClick = strings.HasPrefix(lower, "https://")
		if t.unsubURL, err = texttemplate.New("List-Unsubscribe").Option("missingkey=error").Parse(u); err != nil {
			return fmt.Errorf("compose: %w", err)
		}
		t.noteFields(t.unsubURL.Tree, "List-Unsubscribe")
	}
	if opt.ListUnsubscribeMailto != "" {
		m := strings.TrimSpace(opt.ListUnsubscribeMailto)
		if !strings.HasPrefix(strings.ToLower(m), "mailto:") {
			m = "mailto:" + m
		}
		if t.unsubMail, err = texttemplate.New("List-Unsubscribe").Option("missingkey=error").Parse(m); err != nil {
			return fmt.Errorf("compose: %w", err)
		}
		t.noteFields(t.unsubMail.Tree, "List-Unsubscribe")
	}
	return nil
}

// charsetFor picks the charset for a recipient: the longest domain suffix
// in CharsetByDomain, else the campaign's.
func (t *Template) charsetFor(email string) string {
	if len(t.byDomain) == 0 {
		return t.charset
	}
	d := strings.ToLower(strings.TrimSuffix(protocol.DomainOf(email), "."))
	for {
		if cs, ok := t.byDomain[d]; ok {
			return cs
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return t.charset
		}
		d = d[i+1:]
	}
}
