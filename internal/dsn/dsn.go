package dsn

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/longline"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

// Actions of RFC 3464 §2.3.3.
const (
	ActionFailed    = "failed"
	ActionDelayed   = "delayed"
	ActionDelivered = "delivered"
	ActionRelayed   = "relayed"
	ActionExpanded  = "expanded"
)

// MaxFullReturn is the largest original returned whole when the sender
// gave no RET: a bigger one is returned as its header only, so that a
// bounce of a large attachment does not bounce in turn at a size limit.
const MaxFullReturn = 64 << 10

// Recipient is what happened to one recipient.
type Recipient struct {
	Original       string // ORCPT as given ("rfc822;user+2Btag@example.jp", RFC 3461 §4.2), or ""
	Final          string // the recipient address
	Action         string // ActionFailed, ActionDelayed, …
	Result         outcome.Result
	LastAttempt    time.Time
	WillRetryUntil time.Time // for delayed
}

// Report is everything one DSN says.
type Report struct {
	ReportingMTA string    // our host name
	ReceivedFrom string    // the client the message came from: "client.example ([192.0.2.1])" or an IP
	ArrivalDate  time.Time // when we accepted it
	EnvID        string    // ENVID, already decoded from xtext
	QueueID      string
	From         string // the original envelope sender: the DSN goes to it
	Postmaster   string // our address for the From: field; default "MAILER-DAEMON@" + ReportingMTA
	Recipients   []Recipient
	Original     []byte // the original message, header and body
	// Ret is RFC 3461's RET: "FULL" returns the whole message, "HDRS" its
	// header only. Empty: FULL up to MaxFullReturn octets, HDRS above.
	// Whatever it says, a report with no failed recipient returns the
	// header only (RFC 3461 §4.3).
	Ret      string
	SMTPUTF8 bool   // the original was internationalized: RFC 6533 media types and utf-8 addresses
	Lang     string // "en" (default), or "ja" for English followed by Japanese
	Now      time.Time
}

// ShouldSend says whether a DSN with action goes to sender from, given
// the recipient's NOTIFY parameter (RFC 3461 §4.1). Never to the null
// sender (RFC 5321 §4.5.5); NOTIFY=NEVER stops all; an absent NOTIFY
// means FAILURE,DELAY; success reports only when SUCCESS is listed.
func ShouldSend(from, notify, action string) bool {
	if from == "" || from == "<>" {
		return false
	}
	want := ""
	switch strings.ToLower(action) {
	case ActionFailed:
		want = "FAILURE"
	case ActionDelayed:
		want = "DELAY"
	case ActionDelivered, ActionRelayed, ActionExpanded:
		want = "SUCCESS"
	default:
		return false
	}
	notify = strings.TrimSpace(notify)
	if notify == "" {
		return want != "SUCCESS"
	}
	listed := false
	for _, n := range strings.Split(notify, ",") {
		switch n = strings.ToUpper(strings.TrimSpace(n)); n {
		case "NEVER":
			return false
		case want:
			listed = true
		}
	}
	return listed
}

// Build writes the DSN: an RFC 5322 message with CRLF line endings, no
// line over 998 octets, of type multipart/report; report-type=
// delivery-status (RFC 6522) with three parts: the notification for
// people, the message/delivery-status fields, and the original message
// or its header.
func Build(r Report) ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	if r.Postmaster == "" {
		r.Postmaster = "MAILER-DAEMON@" + r.ReportingMTA
	}
	kind := r.kind()

	human, humanCTE := r.humanPart(kind)
	status := r.statusPart()
	statusType, statusCTE := "message/delivery-status", cteFor(status)
	if r.SMTPUTF8 {
		statusType = "message/global-delivery-status"
	}
	parts := []part{
		{desc: "Notification", ctype: "text/plain; charset=utf-8", cte: humanCTE, body: human},
		{desc: "Delivery report", ctype: statusType, cte: statusCTE, body: status},
	}
	if len(r.Original) > 0 {
		parts = append(parts, r.returnedPart(kind))
	}
	boundary := r.boundary(parts)

	var b bytes.Buffer
	field(&b, "From", "Mail Delivery System <"+clean(r.Postmaster)+">")
	field(&b, "To", "<"+clean(r.From)+">")
	field(&b, "Subject", subjects[kind])
	field(&b, "Date", r.Now.Format(time.RFC1123Z))
	field(&b, "Message-ID", r.messageID(kind))
	field(&b, "Auto-Submitted", "auto-replied") // RFC 3834 §5
	field(&b, "MIME-Version", "1.0")
	field(&b, "Content-Type", `multipart/report; report-type=delivery-status; boundary="`+boundary+`"`)
	b.WriteString("\r\nThis is a MIME-encapsulated message.\r\n")
	for _, p := range parts {
		b.WriteString("\r\n--" + boundary + "\r\n")
		field(&b, "Content-Description", p.desc)
		field(&b, "Content-Type", p.ctype)
		field(&b, "Content-Transfer-Encoding", p.cte)
		b.WriteString("\r\n")
		b.Write(p.body)
	}
	b.WriteString("\r\n--" + boundary + "--\r\n")
	return b.Bytes(), nil
}

func (r *Report) check() error {
	if r.From == "" || r.From == "<>" {
		return errors.New("dsn: no report is ever sent to the null sender")
	}
	if r.ReportingMTA == "" {
		return errors.New("dsn: Reporting-MTA is required (RFC 3464 §2.2.2)")
	}
	if len(r.Recipients) == 0 {
		return errors.New("dsn: a report needs at least one recipient")
	}
	for i, rc := range r.Recipients {
		if clean(rc.Final) == "" {
			return fmt.Errorf("dsn: recipient %d has no address", i)
		}
		switch rc.Action {
		case ActionFailed, ActionDelayed, ActionDelivered, ActionRelayed, ActionExpanded:
		default:
			return fmt.Errorf("dsn: recipient %s: unknown action %q (RFC 3464 §2.3.3)", rc.Final, rc.Action)
		}
	}
	switch strings.ToUpper(r.Ret) {
	case "", "FULL", "HDRS":
	default:
		return fmt.Errorf("dsn: RET %q is neither FULL nor HDRS (RFC 3461 §4.3)", r.Ret)
	}
	return nil
}

// kind is the report as a whole: failed when any recipient failed, else
// delayed when any is delayed, else a success report.
func (r *Report) kind() string {
	kind := ActionDelivered
	for _, rc := range r.Recipients {
		switch rc.Action {
		case ActionFailed:
			return ActionFailed
		case ActionDelayed:
			kind = ActionDelayed
		}
	}
	return kind
}

var subjects = map[string]string{
	ActionFailed:    "Undelivered Mail Returned to Sender",
	ActionDelayed:   "Delayed Mail (still being retried)",
	ActionDelivered: "Successful Mail Delivery Report",
}

type part struct {
	desc, ctype, cte string
	body             []byte
}

// returnsFull says whether the whole original is returned rather than its
// header: RET=FULL, or no RET and a small message; and only in a report of
// failure (RFC 3461 §4.3).
func (r *Report) returnsFull(kind string) bool {
	if kind != ActionFailed {
		return false
	}
	return strings.EqualFold(r.Ret, "FULL") || (r.Ret == "" && len(r.Original) <= MaxFullReturn)
}

// returnedPart is the original, whole or its header (RFC 3462 §3;
// RFC 6533 §6.3 and §6.4 for the global types).
func (r *Report) returnedPart(kind string) part {
	if r.returnsFull(kind) {
		p := part{desc: "Undelivered Message", ctype: "message/rfc822", body: fitLines(r.Original)}
		if r.SMTPUTF8 {
			p.ctype = "message/global"
		}
		p.cte = cteFor(p.body)
		return p
	}
	hdr := r.Original
	if i := bytes.Index(hdr, []byte("\r\n\r\n")); i >= 0 {
		hdr = hdr[:i+2]
	}
	p := part{desc: "Undelivered Message Headers", ctype: "text/rfc822-headers", body: fitLines(hdr)}
	if kind != ActionFailed {
		p.desc = "Message Headers"
	}
	if r.SMTPUTF8 {
		p.ctype = "message/global-headers"
	}
	p.cte = cteFor(p.body)
	return p
}

// fitLines keeps the returned message within the line limit by the same
// repair relaying applies, so the report itself can be relayed.
func fitLines(b []byte) []byte {
	if res, err := longline.Fix(b, 998); err == nil && res.Changed {
		return res.Data
	}
	return b
}

// cteFor is 7bit for ASCII and 8bit otherwise (the report's own parts are
// never binary: every line ends in CRLF and none is over 998).
func cteFor(b []byte) string {
	for _, c := range b {
		if c >= 0x80 {
			return "8bit"
		}
	}
	return "7bit"
}

// boundary is derived from the report, so a report is reproducible, and
// lengthened until no part contains it (RFC 2046 §5.1.1). "=_" cannot
// occur in quoted-printable or base64 text.
func (r *Report) boundary(parts []part) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d", r.QueueID, r.ReportingMTA, r.Now.UnixNano())
	for _, p := range parts {
		h.Write(p.body)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	for n := 16; ; n += 8 {
		b := "=_hikyaku_" + sum[:min(n, len(sum))]
		if n > len(sum) {
			b += fmt.Sprint(n)
		}
		clash := false
		for _, p := range parts {
			clash = clash || bytes.Contains(p.body, []byte("--"+b))
		}
		if !clash {
			return b
		}
	}
}

func (r *Report) messageID(kind string) string {
	id := idChars(r.QueueID)
	if id == "" {
		sum := sha256.Sum256(r.Original)
		id = hex.EncodeToString(sum[:6])
	}
	return fmt.Sprintf("<%s.%s.%s@%s>", r.Now.UTC().Format("20060102150405.000000000"), id, kind, idChars(r.ReportingMTA))
}

// idChars keeps the characters a msg-id's dot-atom may hold.
func idChars(s string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.+=", c) {
			return c
		}
		return -1
	}, s)
}

// statusPart writes the message/delivery-status fields (RFC 3464 §2.2,
// §2.3), in the grammar's order.
func (r *Report) statusPart() []byte {
	var b bytes.Buffer
	if r.EnvID != "" {
		field(&b, "Original-Envelope-Id", clean(r.EnvID))
	}
	field(&b, "Reporting-MTA", "dns; "+clean(r.ReportingMTA))
	if r.ReceivedFrom != "" {
		field(&b, "Received-From-MTA", "dns; "+mtaName(r.ReceivedFrom))
	}
	if !r.ArrivalDate.IsZero() {
		field(&b, "Arrival-Date", r.ArrivalDate.Format(time.RFC1123Z))
	}
	if r.QueueID != "" {
		field(&b, "X-Hikyaku-Queue-ID", clean(r.QueueID))
	}
	for _, rc := range r.Recipients {
		b.WriteString("\r\n")
		if typ, addr, ok := r.originalRecipient(rc.Original); ok {
			field(&b, "Original-Recipient", typ+"; "+addr)
		}
		field(&b, "Final-Recipient", r.finalRecipient(rc.Final))
		field(&b, "Action", rc.Action)
		field(&b, "Status", Status(rc))
		res := rc.Result
		switch {
		case res.Host != "":
			field(&b, "Remote-MTA", "dns; "+clean(res.Host))
		case res.IP != "":
			field(&b, "Remote-MTA", "dns; "+mtaName(res.IP))
		}
		if d := diagnostic(res); d != "" {
			field(&b, "Diagnostic-Code", d)
		}
		if !rc.LastAttempt.IsZero() {
			field(&b, "Last-Attempt-Date", rc.LastAttempt.Format(time.RFC1123Z))
		}
		if rc.Action == ActionDelayed && !rc.WillRetryUntil.IsZero() {
			field(&b, "Will-Retry-Until", rc.WillRetryUntil.Format(time.RFC1123Z))
		}
		if res.Code != 0 {
			field(&b, "X-Hikyaku-Result-Code", fmt.Sprint(res.Code))
		}
		if res.Reason != "" {
			field(&b, "X-Hikyaku-Reason", clean(res.Reason))
		}
	}
	return b.Bytes()
}

// Status is the recipient's RFC 3463 status: the result's enhanced code,
// else the code table's status for our own codes, else one derived from
// the reply code's class, else from the action.
func Status(rc Recipient) string {
	res := rc.Result
	if validStatus(res.Enhanced) {
		return res.Enhanced
	}
	if c, ok := codes.LookupCode(res.Code); ok && validStatus(c.Status) {
		return c.Status
	}
	switch {
	case res.Code >= 200 && res.Code < 300:
		return "2.0.0"
	case res.Code >= 400 && res.Code < 500:
		return "4.0.0"
	case res.Code >= 500 && res.Code < 600:
		return "5.0.0"
	}
	switch rc.Action {
	case ActionFailed:
		return "5.0.0"
	case ActionDelayed:
		return "4.0.0"
	}
	return "2.0.0"
}

// validStatus checks the shape class "." subject "." detail (RFC 3463 §2).
func validStatus(s string) bool {
	p := strings.Split(s, ".")
	if len(p) != 3 || len(p[0]) != 1 || !strings.Contains("245", p[0]) {
		return false
	}
	for _, n := range p[1:] {
		if len(n) == 0 || len(n) > 3 || strings.Trim(n, "0123456789") != "" {
			return false
		}
	}
	return true
}

// isReply says the result is an SMTP reply from the remote server rather
// than one of our own codes (docs/spec.md §4.1 against §4.2-4.4).
func isReply(res outcome.Result) bool { return res.Code >= 200 && res.Code < 600 }

// diagnostic is the Diagnostic-Code value (RFC 3464 §2.3.6): the remote
// reply whole for "smtp", or our own result code and its text.
func diagnostic(res outcome.Result) string {
	if res.Code == 0 {
		return ""
	}
	text := clean(strings.ReplaceAll(res.Text, "\n", " "))
	if isReply(res) {
		s := fmt.Sprintf("smtp; %d", res.Code)
		if e := clean(res.Enhanced); e != "" && !strings.HasPrefix(text, e) {
			s += " " + e
		}
		if text != "" {
			s += " " + text
		}
		return s
	}
	if text == "" {
		c, _ := codes.LookupCode(res.Code)
		text = c.EN
	}
	return strings.TrimSpace(fmt.Sprintf("X-hikyaku; %d %s", res.Code, text))
}

// originalRecipient decodes the ORCPT "addr-type;xtext" (RFC 3461 §4.2)
// for the Original-Recipient field; a utf-8 address keeps its
// utf-8-addr-xtext form unless the report is global (RFC 6533 §3).
func (r *Report) originalRecipient(orcpt string) (typ, addr string, ok bool) {
	if orcpt == "" {
		return "", "", false
	}
	typ, x, found := strings.Cut(orcpt, ";")
	if !found {
		typ, x = "rfc822", orcpt
	}
	typ = strings.ToLower(strings.TrimSpace(typ))
	addr = decodeXtext(strings.TrimSpace(x))
	if typ == "utf-8" && r.SMTPUTF8 {
		addr = decodeUTF8Xtext(addr)
	}
	return clean(typ), clean(addr), true
}

// finalRecipient writes the address as rfc822, or as utf-8 when the
// report is global or the address is not ASCII (RFC 6533 §3, where a
// non-global report carries it as utf-8-addr-xtext).
func (r *Report) finalRecipient(addr string) string {
	addr = clean(addr)
	if r.SMTPUTF8 {
		return "utf-8; " + addr
	}
	if isASCII(addr) {
		return "rfc822; " + addr
	}
	return "utf-8; " + encodeUTF8Xtext(addr)
}

// mtaName writes an IP address literal in brackets, anything else as it is.
func mtaName(s string) string {
	s = clean(s)
	if ip := net.ParseIP(s); ip != nil {
		return "[" + s + "]"
	}
	return s
}
