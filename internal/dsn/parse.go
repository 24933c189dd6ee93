package dsn

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/mimepart"
)

// ErrNoDeliveryStatus says the message holds no message/delivery-status
// (or message/global-delivery-status) part.
var ErrNoDeliveryStatus = errors.New("dsn: no delivery-status part in the message")

// Field is one field of a delivery-status group, unfolded.
type Field struct{ Name, Value string }

// Fields are the fields of one group, in the order they came.
type Fields []Field

// Get returns the first value of the named field (case-insensitive), or "".
func (fs Fields) Get(name string) string {
	for _, f := range fs {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Parsed is the machine-readable content of a DSN.
type Parsed struct {
	Global       bool   // message/global-delivery-status (RFC 6533)
	ReportingMTA string // the name, without its "dns;" type
	ReceivedFrom string
	EnvID        string
	ArrivalDate  time.Time
	Message      Fields // every per-message field
	Recipients   []ParsedRecipient
	// Human is the first part of the multipart/report when it is text,
	// decoded from its transfer encoding (not from its charset).
	Human string
	// Returned is the third part, decoded: the message or its header.
	Returned     []byte
	ReturnedType string
}

// ParsedRecipient is one per-recipient group (RFC 3464 §2.3).
type ParsedRecipient struct {
	OriginalType, Original string // "rfc822", "user@example.jp"
	FinalType, Final       string
	Action                 string // lower case
	Status                 string // "5.1.1", comments dropped
	RemoteMTA              string
	DiagnosticType         string // "smtp", "X-hikyaku"
	Diagnostic             string // "550 5.1.1 no such user"
	LastAttempt            time.Time
	WillRetryUntil         time.Time
	Fields                 Fields // every field of the group
}

const maxDepth = 10

// ParseDeliveryStatus finds the delivery-status part of msg — normally
// the second part of a top-level multipart/report, but reports forwarded
// inside other multiparts are found too — and reads its fields. Line
// endings may be CRLF or LF.
func ParseDeliveryStatus(msg []byte) (Parsed, error) {
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return Parsed{}, fmt.Errorf("dsn: %w", err)
	}
	body, err := io.ReadAll(m.Body)
	if err != nil {
		return Parsed{}, fmt.Errorf("dsn: %w", err)
	}
	var p Parsed
	found, err := p.walk(textproto.MIMEHeader(m.Header), body, 0)
	if err != nil {
		return Parsed{}, err
	}
	if !found {
		return Parsed{}, ErrNoDeliveryStatus
	}
	return p, nil
}

// walk looks for the delivery-status part below an entity.
func (p *Parsed) walk(h textproto.MIMEHeader, body []byte, depth int) (bool, error) {
	if depth > maxDepth {
		return false, nil
	}
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch {
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		data, err := decode(body, h.Get("Content-Transfer-Encoding"))
		if err != nil {
			return false, fmt.Errorf("dsn: %s part: %w", mt, err)
		}
		p.Global = mt == "message/global-delivery-status"
		p.readGroups(data)
		return true, nil
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		parts, err := mimepart.Raw(body, params["boundary"])
		if err != nil {
			return false, fmt.Errorf("dsn: %s: %w", mt, err)
		}
		for i, part := range parts {
			found, err := p.walk(part.Header, part.Body, depth+1)
			if err != nil || !found {
				if err != nil {
					return false, err
				}
				continue
			}
			if mt == "multipart/report" && p.Human == "" {
				p.readSiblings(parts, i)
			}
			return true, nil
		}
	case mt == "message/rfc822" || mt == "message/global":
		m, err := mail.ReadMessage(bytes.NewReader(body))
		if err != nil {
			return false, nil
		}
		b, err := io.ReadAll(m.Body)
		if err != nil {
			return false, nil
		}
		return p.walk(textproto.MIMEHeader(m.Header), b, depth+1)
	}
	return false, nil
}

// readSiblings keeps the report's human part (before the status) and the
// returned message (after it, RFC 6522 §3).
func (p *Parsed) readSiblings(parts []mimepart.Part, status int) {
	if status > 0 {
		h := parts[0].Header
		if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == "" || strings.HasPrefix(mt, "text/") {
			if b, err := decode(parts[0].Body, h.Get("Content-Transfer-Encoding")); err == nil {
				p.Human = string(b)
			}
		}
	}
	if status+1 < len(parts) {
		h := parts[status+1].Header
		p.ReturnedType, _, _ = mime.ParseMediaType(h.Get("Content-Type"))
		if b, err := decode(parts[status+1].Body, h.Get("Content-Transfer-Encoding")); err == nil {
			p.Returned = b
		}
	}
}

// decode undoes a Content-Transfer-Encoding; a global delivery-status may
// be base64 or quoted-printable (RFC 6533 §6.2).
func decode(b []byte, cte string) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		clean := bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, b)
		return base64.StdEncoding.DecodeString(string(clean))
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
	}
	return b, nil
}

// readGroups splits the fields into the per-message group and the
// per-recipient groups at blank lines (RFC 3464 §2.1).
func (p *Parsed) readGroups(data []byte) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	var groups []Fields
	var cur Fields
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			if len(cur) > 0 {
				groups = append(groups, cur)
				cur = nil
			}
		case line[0] == ' ' || line[0] == '\t':
			if len(cur) > 0 {
				cur[len(cur)-1].Value = strings.TrimSpace(cur[len(cur)-1].Value + " " + strings.TrimSpace(line))
			}
		default:
			name, value, ok := strings.Cut(line, ":")
			if ok {
				cur = append(cur, Field{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
			}
		}
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	if len(groups) == 0 {
		return
	}
	p.Message = groups[0]
	_, p.ReportingMTA = typed(p.Message.Get("Reporting-MTA"))
	_, p.ReceivedFrom = typed(p.Message.Get("Received-From-MTA"))
	p.EnvID = p.Message.Get("Original-Envelope-Id")
	p.ArrivalDate = date(p.Message.Get("Arrival-Date"))
	for _, g := range groups[1:] {
		rc := ParsedRecipient{Fields: g}
		rc.OriginalType, rc.Original = typed(g.Get("Original-Recipient"))
		rc.FinalType, rc.Final = typed(g.Get("Final-Recipient"))
		rc.Original, rc.Final = address(rc.OriginalType, rc.Original), address(rc.FinalType, rc.Final)
		if a := strings.Fields(g.Get("Action")); len(a) > 0 {
			rc.Action = strings.ToLower(a[0]) // "failed (comment)"
		}
		rc.Status = statusRE.FindString(g.Get("Status"))
		_, rc.RemoteMTA = typed(g.Get("Remote-MTA"))
		rc.DiagnosticType, rc.Diagnostic = typed(g.Get("Diagnostic-Code"))
		rc.LastAttempt = date(g.Get("Last-Attempt-Date"))
		rc.WillRetryUntil = date(g.Get("Will-Retry-Until"))
		p.Recipients = append(p.Recipients, rc)
	}
}

var statusRE = regexp.MustCompile(`\b[245]\.\d{1,3}\.\d{1,3}\b`)

// typed splits "type; value" (address-type, mta-name-type and
// diagnostic-type fields); a value with no type is returned whole.
func typed(v string) (string, string) {
	t, rest, ok := strings.Cut(v, ";")
	if !ok {
		return "", strings.TrimSpace(v)
	}
	return strings.TrimSpace(t), strings.TrimSpace(rest)
}

// address drops the angle brackets some MTAs add and decodes a utf-8
// address's "\x{HEX}" escapes (RFC 6533 §3).
func address(typ, a string) string {
	a = strings.TrimSpace(a)
	if strings.HasPrefix(a, "<") && strings.HasSuffix(a, ">") {
		a = a[1 : len(a)-1]
	}
	if strings.EqualFold(typ, "utf-8") {
		a = decodeUTF8Xtext(a)
	}
	return a
}

func date(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := mail.ParseDate(v)
	if err != nil {
		return time.Time{}
	}
	return t
}
