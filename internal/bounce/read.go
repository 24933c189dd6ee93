package bounce

import (
	"errors"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// ErrNotMessage is Read's answer to bytes with no header at all.
var ErrNotMessage = errors.New("bounce: not a mail message (no header)")

// maxBodyText bounds the bounce's own text that is scanned for
// recipients and diagnostics: the explanation is always near the top.
const maxBodyText = 128 << 10

// Read reads one mail (CRLF or LF line endings). It never fails on content:
// a mail it cannot make sense of is KindNone with one -501 result. The
// error is only for a mail that is not a message at all (no header).
func Read(msg []byte, opt Options) (Report, error) {
	limit := opt.MaxSize
	if limit <= 0 {
		limit = MaxMessage
	}
	if len(msg) > limit {
		msg = msg[:limit]
	}
	a := scratchPool.Get().(*scratch)
	defer func() {
		a.reset()
		scratchPool.Put(a)
	}()
	a.msg = msg
	h, body := splitHeaderIn(a, msg)
	if len(h) == 0 {
		return Report{}, ErrNotMessage
	}
	r := newReaderIn(a, h, body, opt)
	rep := Report{
		Subject:   r.subject,
		MessageID: strings.Trim(h.get("Message-Id"), "<> \t"),
	}
	switch {
	case r.feedback(&rep):
	case r.dsn(&rep):
	case r.sesJSON(&rep):
	case r.isBounce() && r.textBounce(&rep):
	case r.autoReply(&rep):
	default:
		rep.Kind = KindNone
		rep.Results = []Result{{Code: -501, Reason: "undefined", Blame: BlameNone, Format: "none"}}
	}
	r.finish(&rep)
	a.detach(&rep)
	return rep, nil
}

// reader holds one mail while it is read.
type reader struct {
	opt      Options
	rules    *Rules
	top      header
	w        *walker
	subject  string
	from     string // the bounce's From address
	returned header // the returned message's header, when the bounce carries it
	exclude  map[string]bool
	textOnce bool
	text     string // the bounce's own text, cut before the returned message
	// Derived from text once, as every recipient's judgement reads them.
	lowerOnce, ruleOnce, cmdOnce bool
	lower                        string // strings.ToLower(text)
	textRule                     rule   // the rule matching lower without its addresses
	textRuleOK                   bool
	textCmd                      string // transcriptCommand(text)
}

// lowerText is the bounce's own text lower-cased.
func (r *reader) lowerText() string {
	if !r.lowerOnce {
		r.lowerOnce = true
		r.lower = toLowerIn(r.w.a, r.bodyText())
	}
	return r.lower
}

// textMatch is the first rule the bounce's own text matches.
func (r *reader) textMatch() (rule, bool) {
	if !r.ruleOnce {
		r.ruleOnce = true
		r.textRule, r.textRuleOK = r.rules.match(withoutAddrsIn(r.w.a, r.lowerText()))
	}
	return r.textRule, r.textRuleOK
}

// transcript is the command the first failure of a session transcript
// in the text answered.
func (r *reader) transcript() string {
	if !r.cmdOnce {
		r.cmdOnce = true
		r.textCmd = transcriptCommand(r.bodyText())
	}
	return r.textCmd
}

// newReaderIn reads the parts of a mail, working in a's memory (nil: on
// the heap).
func newReaderIn(a *scratch, h header, body []byte, opt Options) *reader {
	var r *reader
	if a != nil {
		// The pooled reader, walker and map: a fresh process's heap
		// grows by what each mail allocates.
		a.wk = walker{parts: a.wk.parts[:0], dec: wordDecoder, a: a}
		a.rd = reader{opt: opt, rules: opt.Rules, top: h, w: &a.wk, exclude: a.rd.exclude}
		r = &a.rd
	} else {
		r = &reader{opt: opt, rules: opt.Rules, top: h, w: newWalker()}
	}
	if r.exclude == nil {
		r.exclude = map[string]bool{}
	}
	if r.rules == nil {
		r.rules = Default()
	}
	r.w.walk(h, body, 0, false)
	r.subject = r.w.decodeWords(h.get("Subject"))
	r.from = cleanAddr(h.get("From"))
	for _, p := range r.w.parts {
		if p.header != nil {
			r.returned = p.header
			break
		}
	}
	// Addresses that are ours, not the failed recipient's: the return
	// path the bounce came back to and the returned message's sender.
	for _, v := range []string{h.get("To"), opt.Envelope, h.get("Delivered-To"), h.get("Envelope-To")} {
		for a := range addrsIn(v) {
			r.exclude[a.addr] = true
		}
	}
	if r.returned != nil {
		for _, name := range []string{"From", "Return-Path", "Sender", "Reply-To"} {
			for a := range addrsIn(r.returned.get(name)) {
				r.exclude[a.addr] = true
			}
		}
	}
	return r
}

// bodyText is the bounce's own human-readable text: its text parts
// outside the returned message, plain before HTML, cut where the copy of
// the original message begins.
func (r *reader) bodyText() string {
	if r.textOnce {
		return r.text
	}
	r.textOnce = true
	// The pieces first, then one buffer of their size in scratch.
	var buf [16]string
	pieces, n := buf[:0], 0
	for pass := 0; pass < 2 && n == 0; pass++ {
		for _, p := range r.w.parts {
			if p.returned || p.text == "" || strings.Contains(p.ctype, "delivery-status") || strings.Contains(p.ctype, "feedback-report") {
				continue
			}
			if (p.ctype == "text/html") != (pass == 1) {
				continue
			}
			c := cutOriginal(p.text)
			pieces = append(pieces, c)
			n += len(c) + 1
			if n > maxBodyText {
				break
			}
		}
	}
	b := r.w.a.begin(n)
	for _, c := range pieces {
		b = append(b, c...)
		b = append(b, '\n')
	}
	s := r.w.a.end(b)
	if len(s) > maxBodyText {
		s = s[:maxBodyText]
	}
	r.text = s
	return s
}

// feedback reads an RFC 5965 ARF report (or a provider's variant of it).
func (r *reader) feedback(rep *Report) bool {
	var fields header
	found := false
	for _, p := range r.w.parts {
		if strings.Contains(p.ctype, "feedback-report") {
			fields, _ = splitHeaderStringIn(r.w.a, strings.TrimLeft(p.text, "\r\n"))
			found = true
			break
		}
	}
	if !found {
		// Microsoft's JMRP and similar reports carry the complained-about
		// message with its recipient in a header and no report part.
		if r.returned == nil || r.top.get("X-HmXmrOriginalRecipient") == "" && r.returned.get("X-HmXmrOriginalRecipient") == "" {
			return false
		}
	}
	ftype := strings.ToLower(strings.TrimSpace(fields.get("Feedback-Type")))
	if ftype == "" {
		ftype = "abuse"
	}
	var rcpts []string
	seen := map[string]bool{}
	add := func(v string) {
		for _, a := range findAddrs(v) {
			if !seen[a.addr] {
				seen[a.addr] = true
				rcpts = append(rcpts, a.addr)
			}
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, "Original-Rcpt-To") || strings.EqualFold(f.name, "Removal-Recipient") {
			add(f.value)
		}
	}
	if len(rcpts) == 0 {
		add(r.top.get("X-HmXmrOriginalRecipient"))
		if r.returned != nil {
			add(r.returned.get("X-HmXmrOriginalRecipient"))
		}
	}
	if len(rcpts) == 0 && r.returned != nil {
		add(r.returned.get("To"))
	}
	if len(rcpts) == 0 {
		rcpts = []string{""}
	}
	info, _ := LookupReason("feedback")
	reporting := stripType(fields.get("Reporting-MTA"))
	date := parseDate(fields.get("Arrival-Date"))
	rep.Kind = KindFeedback
	for _, a := range rcpts {
		rep.Results = append(rep.Results, Result{
			Recipient: a, Code: info.Code, Reason: "feedback", Blame: info.Blame, Feedback: ftype,
			Reply: oneLine(fields.get("User-Agent")), ReportingMTA: reporting, Date: date, Format: "arf",
			Original: cleanAddr(fields.get("Original-Mail-From-Recipient")),
		})
	}
	return true
}

// dsn reads RFC 3464 delivery-status fields, from their own part or,
// in broken reports, from a text part that carries them.
func (r *reader) dsn(rep *Report) bool {
	var groups []dsnGroup
	var reporting, arrival string
	for pass := 0; pass < 2 && len(groups) == 0; pass++ {
		for _, p := range r.w.parts {
			own := strings.Contains(p.ctype, "delivery-status")
			if pass == 0 && !own || pass == 1 && (own || p.returned || !hasDSNFields(p.text)) {
				continue
			}
			d := parseDSN(p.text)
			groups = append(groups, d.groups...)
			if reporting == "" {
				reporting = d.reportingMTA
			}
			if arrival == "" {
				arrival = d.arrivalDate
			}
		}
	}
	seen := map[string]bool{}
	for _, g := range groups {
		rcpt := cleanAddr(g.final)
		orig := cleanAddr(g.original)
		if rcpt == "" {
			rcpt = orig
		}
		if rcpt == "" || seen[rcpt] {
			continue
		}
		seen[rcpt] = true
		res := Result{Recipient: rcpt, ReportingMTA: reporting, RemoteMTA: g.remoteMTA, Format: "rfc3464"}
		if orig != rcpt {
			res.Original = orig
		}
		diag := oneLine(g.diag)
		if diag == "" {
			// "Status: 4.0.0 (cat.example.net: host name lookup failure)"
			if i := strings.IndexByte(g.status, '('); i > 0 {
				diag = strings.Trim(g.status[i:], "() ")
			}
		}
		context := r.around(rcpt)
		if orig != "" && context == "" {
			context = r.around(orig)
		}
		st := cleanStatus(g.status)
		switch {
		case g.diagType == "x-unix" || g.diagType == "x-local":
			// A local delivery program failed; only a full mailbox is
			// told apart from the program's own failure.
			res.Reason = "mailererror"
			for _, t := range []string{diag, context, r.bodyText()} {
				if rl, ok := r.rules.match(strings.ToLower(t)); ok && (rl.reason == "mailboxfull" || rl.reason == "systemfull") {
					res.Reason = rl.reason
					break
				}
			}
		case g.action == "delivered" || g.action == "relayed" || g.action == "expanded" || g.action == "deliverable" || strings.HasPrefix(st, "2."):
			res.Reason = "delivered"
		}
		r.judge(&res, diag, context, st, g.action)
		res.Date = parseDate(g.lastAttempt)
		if res.Date.IsZero() {
			res.Date = parseDate(arrival)
		}
		rep.Results = append(rep.Results, res)
	}
	if len(rep.Results) == 0 {
		return false
	}
	rep.Kind = KindBounce
	return true
}

// textBounce reads a bounce that is prose: the recipients from
// X-Failed-Recipients and the address lines of the text, each with the
// lines that follow it as its diagnostic.
func (r *reader) textBounce(rep *Report) bool {
	text := r.bodyText()
	blocks := r.recipientBlocks(text)
	if len(blocks) == 0 && r.returned != nil {
		for _, name := range []string{"To", "X-Original-To", "Delivered-To"} {
			for _, a := range findAddrs(r.returned.get(name)) {
				if !r.exclude[a.addr] {
					blocks = append(blocks, block{addr: a.addr, text: r.around(a.addr)})
				}
			}
			if len(blocks) > 0 {
				break
			}
		}
	}
	if len(blocks) == 0 {
		blocks = []block{{}}
	}
	for _, b := range blocks {
		res := Result{Recipient: b.addr, Format: "text"}
		diag := oneLine(b.text)
		r.judge(&res, diag, "", "", "")
		rep.Results = append(rep.Results, res)
	}
	rep.Kind = KindBounce
	return true
}

// autoReply reads an RFC 3834 auto-reply or a vacation message: not a
// failure, counted -501 against the address that replied.
func (r *reader) autoReply(rep *Report) bool {
	as := strings.ToLower(r.top.get("Auto-Submitted"))
	auto := strings.HasPrefix(as, "auto-replied") || r.top.get("X-Autoreply") != "" || r.top.get("X-Autorespond") != "" ||
		r.top.get("X-Autoresponder") != "" || strings.EqualFold(r.top.get("Precedence"), "auto_reply") ||
		strings.Contains(strings.ToLower(r.top.get("X-Mailer")), "vacation")
	if !auto {
		ls := strings.ToLower(r.subject)
		for _, s := range vacationSubjects {
			if strings.Contains(ls, s) {
				auto = true
				break
			}
		}
	}
	if !auto {
		return false
	}
	rep.Kind = KindAutoReply
	rep.Results = []Result{{Recipient: r.from, Code: -501, Reason: "vacation", Blame: BlameNone, Format: "rfc3834",
		Reply: oneLine(firstLines(r.bodyText(), 3)), Date: parseDate(r.top.get("Date"))}}
	return true
}

var vacationSubjects = []string{
	"auto:", "autoreply", "auto reply", "auto-reply", "automatic reply", "auto response", "autoresponse", "automatic response",
	"out of office", "out of the office", "out-of-office", "away from", "away until", "on vacation", "vacation", "on leave",
	"abwesenheit", "absence", "absent", "自動返信", "自動応答", "不在",
}

// isBounce tells a prose bounce from other mail: a failure header, a
// mailer-daemon sender or a failure subject.
func (r *reader) isBounce() bool {
	if r.top.get("X-Failed-Recipients") != "" {
		return true
	}
	ct, _ := mediaType(r.top.get("Content-Type"))
	if ct == "multipart/report" {
		return true
	}
	local, _, _ := strings.Cut(r.from, "@")
	switch local {
	case "mailer-daemon", "postmaster", "post_master", "mailerdaemon", "mail-daemon", "mmdf", "mail.delivery.system", "maildelivery", "bounce", "bounces", "nobody":
		return true
	}
	lf := strings.ToLower(r.top.get("From"))
	if strings.Contains(lf, "mail delivery") || strings.Contains(lf, "mailer-daemon") || strings.Contains(lf, "postmaster") || strings.Contains(lf, "mail administrator") {
		return true
	}
	ls := strings.ToLower(r.subject)
	for _, s := range bounceSubjects {
		if strings.Contains(ls, s) {
			return true
		}
	}
	// A returned message and words of failure, whatever the sender and
	// subject (au one net sends "Subject: Mail" from no-reply).
	if r.returned != nil {
		lt := r.lowerText()
		for _, s := range failureWords {
			if strings.Contains(lt, s) {
				return true
			}
		}
	}
	return false
}

var failureWords = []string{"could not be delivered", "undeliverable", "delivery failed", "was not delivered", "not be delivered", "delivery has failed", "送信できませんでした", "配信できませんでした"}

var bounceSubjects = []string{
	"undeliver", "undelivered", "delivery status notification", "failure notice", "failure delivery", "returned mail", "delivery failure",
	"mail delivery failed", "delivery failed", "could not be delivered", "non-delivery", "nondeliver", "non deliver",
	"delivery problem", "delivery notification", "mail system error", "could not send", "message not delivered",
	"delivery report", "returned to sender", "not delivered", "mail failure", "delivery has failed", "failed delivery",
	"nicht zustellbar", "unzustellbar", "non recapitabile", "no se puede entregar", "non remis", "rejected:",
	"不達", "配送", "送信エラー", "エラーメール", "届きません", "返送", "delivery error", "mail error", "bounce",
	"warning: message", "delayed mail", "message delayed", "エラー通知", "メールエラー", "送信できません", "failure notification", "are not member", "not a member",
}

// judge decides reason, status, code, command and the rest of a result
// from its diagnostic (the remote's words), the text around the
// recipient, the stated status and the DSN action.
func (r *reader) judge(res *Result, diag, context, status, action string) {
	src := diag
	if src == "" {
		src = context
	}
	lsrc := toLower(src)
	lctx := toLower(context)
	// Addresses say nothing about the failure; their local parts
	// ("filtered@", "spam-trap@") must not match a rule.
	msrc, mctx := unfoldReply(withoutAddrsIn(r.w.a, lsrc)), withoutAddrsIn(r.w.a, lctx)

	// The stated status, unless it is a bare class (5.0.0) and the
	// remote's own words give a precise one.
	stated := status
	if inDiag := remoteStatus(src); inDiag != "" && (stated == "" || !strings.HasSuffix(inDiag, ".0.0")) {
		stated = inDiag
	}
	reply := replyCode(src)
	if res.Command == "" {
		res.Command = commandOf(lsrc)
		if res.Command == "" && diag != "" {
			res.Command = commandOf(lctx)
		}
		if res.Command == "" {
			res.Command = r.transcript()
		}
	}

	ruleCode := 0
	if res.Reason == "" {
		if rl, ok := r.rules.match(msrc); ok && src != "" {
			res.Reason, ruleCode = rl.reason, rl.code
		} else if reason := statusReason(stated); reason != "" {
			res.Reason = reason
		} else if rl, ok := r.rules.match(mctx); ok && context != "" && diag != "" {
			res.Reason, ruleCode = rl.reason, rl.code
		} else if rl, ok := r.textMatch(); ok {
			res.Reason, ruleCode = rl.reason, rl.code
		} else if stated != "" || reply != 0 {
			res.Reason = "onhold"
		} else {
			res.Reason = "undefined"
		}
	}

	temporary := strings.HasPrefix(stated, "4.") || stated == "" && reply/100 == 4
	switch {
	case r.delayNotice(action):
		// A warning that the message is still queued is not its expiry:
		// the reason is the cause it names, or untold.
		if res.Reason == "expired" {
			res.Reason = "onhold"
			for _, t := range []string{msrc, mctx} {
				if rl, ok := r.rules.matchExcept(t, "expired"); ok && t != "" {
					res.Reason, ruleCode = rl.reason, rl.code
					break
				}
			}
		}
	case action == "failed" && temporary && (res.Reason == "networkerror" || res.Reason == "systemerror" || res.Reason == "onhold") && !mentionsLoop(lsrc) && !mentionsLoop(r.lowerText()):
		// A failure report after retrying a temporary failure: the
		// message lifetime ran out, whatever the last try met.
		res.Reason = "expired"
	case temporary && (res.Reason == "hostunknown" || res.Reason == "userunknown" && strings.Contains(lsrc, "dns")):
		// A DNS failure the remote calls temporary is the network's,
		// not the address's.
		res.Reason = "networkerror"
	case res.Reason == "userunknown" && (res.Command == "DATA" || res.Command == "."):
		// A recipient refused only after the message was sent is the
		// recipient's filter speaking (au/ezweb answer "User unknown"
		// to mail from the domains they filter).
		res.Reason = "filtered"
	case res.Command == "MAIL" && (addressReason[res.Reason] || res.Reason == "blocked" || res.Reason == "rejected"):
		// Refused at MAIL FROM, before any recipient was named: the
		// sender was refused, its IP when the words name it, else its
		// address.
		if mentionsClient(replyPart(msrc)) {
			res.Reason = "blocked"
		} else {
			res.Reason = "rejected"
		}
	case res.Reason == "blocked" && r.namesSender(lsrc):
		// "<our return path>... Access denied": the sender's address
		// was refused, not its host.
		res.Reason = "rejected"
	case (res.Command == "CONN" || res.Command == "HELO" || res.Command == "EHLO") && addressReason[res.Reason]:
		res.Reason = "blocked"
	}
	if res.Reason == "undefined" && res.Recipient != "" {
		res.Reason = "onhold" // a failure for a known recipient, its cause untold
	}
	info, _ := LookupReason(res.Reason)
	res.Status = stated
	if res.Status == "" {
		res.Status = info.Status
	}
	conn := connectionCode(lsrc)
	switch {
	case ruleCode != 0:
		res.Code = ruleCode
	case reply != 0:
		res.Code = reply
	case conn != 0:
		res.Code = conn
	case info.Code != 0:
		res.Code = info.Code
	case stated != "":
		res.Code = codeOfStatus(stated)
	default:
		res.Code = -500
	}
	if res.RemoteMTA == "" {
		res.RemoteMTA = remoteHost(src)
	}
	res.Reply = truncate(oneLine(src), 512)
	res.Blame = info.Blame
	res.Hard = hardCode(res.Code, res.Status)
}

// replyPart is the remote's reply in a diagnostic, from its reply code
// on: the words before it ("host mx.example.jp [192.0.2.1]") are the
// reporting MTA's.
func replyPart(s string) string {
	for i := 0; i+3 <= len(s); i++ {
		if (s[i] == '4' || s[i] == '5') && isDigit(s[i+1]) && isDigit(s[i+2]) && (i == 0 || codeBefore(s[i-1])) && (i+3 == len(s) || codeAfter(s[i+3])) {
			return s[i:]
		}
	}
	return s
}

// namesSender tells a diagnostic that names our own return path.
func (r *reader) namesSender(lower string) bool {
	for _, a := range findAddrs(replyPart(lower)) {
		if r.exclude[a.addr] || strings.Contains(a.addr, "bounce") {
			return true
		}
	}
	return false
}

// mentionsLoop tells a mail loop, which no retrying outlasts.
func mentionsLoop(s string) bool {
	return strings.Contains(s, "loop") || strings.Contains(s, "hop count") || strings.Contains(s, "too many hops") || strings.Contains(s, "maximum allowed times")
}

// delayNotice tells a delay warning (the message is still queued) from
// a failure report.
func (r *reader) delayNotice(action string) bool {
	if action == "delayed" {
		return true
	}
	if action != "" {
		return false
	}
	lt := r.lowerText()
	for _, w := range []string{"will be retried", "will continue trying", "will keep trying", "this is a warning", "still undelivered", "delivery has been delayed", "has been delayed", "only a temporary failure report"} {
		if strings.Contains(lt, w) {
			return true
		}
	}
	return false
}

// mentionsClient tells a refusal that names the sending host: its IP
// address, "ip", "client", "host", "connection".
func mentionsClient(s string) bool {
	for _, w := range []string{" ip ", "ip address", "your ip", "client", "connection", "messages from", "host ", "[ip", " isp", "ip=", "smtp server of"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	dots := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '.' && i > 0 && isDigit(s[i-1]) && i+1 < len(s) && isDigit(s[i+1]):
			dots++
			if dots == 3 {
				return true
			}
		case !isDigit(s[i]) && s[i] != '.':
			dots = 0
		}
	}
	return false
}

// addressReason are the reasons that blame an address: said before any
// recipient was named, they cannot be about one.
var networkReason = map[string]bool{"networkerror": true, "systemerror": true, "hostunknown": true}

var addressReason = map[string]bool{"userunknown": true, "hostunknown": true, "filtered": true, "onhold": true, "undefined": true, "": true, "suspend": true, "mailboxfull": true}

// statusReason is the reason an enhanced status code tells by itself
// (RFC 3463's subjects and details), "" for the bare classes and the
// details that need the text (5.7.1 is anything from a blocklist to a
// policy).
func statusReason(st string) string {
	if len(st) < 5 || st[1] != '.' {
		return ""
	}
	return statusReasons[st[2:]]
}

var statusReasons = map[string]string{
	"1.0": "userunknown", "1.1": "userunknown", "1.2": "hostunknown", "1.3": "userunknown", "1.4": "userunknown",
	"1.5": "userunknown", "1.6": "hasmoved", "1.7": "rejected", "1.8": "rejected", "1.9": "systemerror", "1.10": "notaccept",
	"2.0": "filtered", "2.1": "filtered", "2.2": "mailboxfull", "2.3": "exceedlimit", "2.4": "systemerror",
	"3.1": "mailboxfull", "3.2": "systemerror", "3.3": "systemerror", "3.4": "mesgtoobig", "3.5": "systemerror",
	"4.0": "networkerror", "4.2": "networkerror", "4.3": "systemerror", "4.4": "hostunknown",
	"4.5": "networkerror", "4.6": "networkerror", "4.7": "expired",
	"5.1": "syntaxerror", "5.2": "syntaxerror", "5.3": "syntaxerror", "5.4": "syntaxerror", "5.5": "syntaxerror",
	"6.0": "contenterror", "6.1": "contenterror", "6.2": "contenterror", "6.3": "contenterror", "6.4": "contenterror", "6.5": "contenterror",
	"7.0": "securityerror", "7.2": "systemerror", "7.3": "systemerror", "7.4": "securityerror", "7.5": "securityerror",
	"7.6": "securityerror", "7.7": "securityerror", "7.8": "securityerror", "7.9": "securityerror", "7.10": "failedstarttls",
	"7.13": "suspend", "7.25": "requireptr", "7.26": "authfailure", "7.27": "notaccept", "7.28": "ratelimited",
}

// codeOfStatus is the reply code a bounce that states only a status
// stands for.
func codeOfStatus(st string) int {
	switch {
	case strings.HasPrefix(st, "2."):
		return 250
	case strings.HasPrefix(st, "4.2.2"), strings.HasPrefix(st, "4.3.1"):
		return 452
	case strings.HasPrefix(st, "4.3."), strings.HasPrefix(st, "4.4."):
		return 451
	case strings.HasPrefix(st, "4."):
		return 450
	case st == "5.2.2" || st == "5.2.3" || st == "5.3.4":
		return 552
	case strings.HasPrefix(st, "5.1."), strings.HasPrefix(st, "5.7."), strings.HasPrefix(st, "5.2."):
		return 550
	}
	return 554
}

func hardCode(code int, status string) bool {
	if c, ok := codes.LookupCode(code); ok {
		switch c.Class {
		case codes.ClassPermanent:
			return true
		case codes.ClassTransient:
			return false
		}
	}
	if code >= 500 && code < 600 {
		return true
	}
	if code >= 400 && code < 500 {
		return false
	}
	return strings.HasPrefix(status, "5.")
}

// finish sets what every result shares: campaign and row from the VERP
// return path the mail came back to, and the date.
func (r *reader) finish(rep *Report) {
	campaign, row := r.verp()
	date := parseDate(r.top.get("Date"))
	for i := range rep.Results {
		res := &rep.Results[i]
		res.Campaign, res.Row = campaign, row
		if res.Date.IsZero() {
			res.Date = date
		}
		if res.Original != "" && res.Original != res.Recipient && rep.Kind == KindBounce && res.Reason != "delivered" {
			res.Code = -502
		}
	}
}

func (r *reader) verp() (string, int64) {
	if r.opt.VERP == nil {
		return "", 0
	}
	try := []string{r.opt.Envelope, r.top.get("To"), r.top.get("Delivered-To"), r.top.get("X-Original-To"), r.top.get("Envelope-To")}
	if r.returned != nil {
		try = append(try, r.returned.get("Return-Path"), r.returned.get("From"))
	}
	for _, v := range try {
		for _, a := range findAddrs(v) {
			addr := a.addr
			if r.w.a != nil && r.w.a.owns(addr) {
				addr = strings.Clone(addr) // the caller's function may keep it
			}
			if c, row, ok := r.opt.VERP(addr); ok {
				return c, row
			}
		}
	}
	return "", 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		n--
	}
	return s[:n]
}

func firstLines(s string, n int) string {
	for i, c := range s {
		if c == '\n' {
			n--
			if n == 0 {
				return s[:i]
			}
		}
	}
	return s
}

// remoteHost reads the remote host a diagnostic names ("host mx.example.jp
// [192.0.2.20]: 550 ...", "mx.example.jp said:").
func remoteHost(s string) string {
	i := indexFold(s, "host ")
	if i < 0 {
		return ""
	}
	rest := s[i+5:]
	if j := strings.IndexAny(rest, " [:("); j >= 0 {
		rest = rest[:j]
	}
	if !strings.Contains(rest, ".") || strings.Contains(rest, "@") {
		return ""
	}
	return strings.ToLower(strings.TrimRight(rest, "."))
}
