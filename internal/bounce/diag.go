package bounce

import (
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// Scanners for the pieces of a diagnostic: addresses, reply codes,
// enhanced status codes and the SMTP command. They are hand-written
// rather than regular expressions because they run on every line of
// every bounce and must stay cheap.

func isLocalChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0
}

func isDomainChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-'
}

// addrAt is an address found in a line and where it starts and ends.
type addrAt struct {
	addr       string
	start, end int
}

// findAddrs lists the mail addresses in s, in order.
func findAddrs(s string) []addrAt {
	var out []addrAt
	for a := range addrsIn(s) {
		out = append(out, a)
	}
	return out
}

// hasAddr tells whether s holds a mail address.
func hasAddr(s string) bool {
	for range addrsIn(s) {
		return true
	}
	return false
}

// addrsIn yields the mail addresses in s, in order, for the callers that
// need no list of them.
func addrsIn(s string) func(yield func(addrAt) bool) {
	return func(yield func(addrAt) bool) {
		scanAddrs(s, yield)
	}
}

func scanAddrs(s string, yield func(addrAt) bool) {
	lastEnd, any := 0, false
	for i := 0; i < len(s); i++ {
		if s[i] != '@' {
			continue
		}
		l := i
		if l > 1 && s[l-1] == '"' {
			// A quoted local part: "neko....nyaan"@example.org.
			if q := strings.LastIndexByte(s[:l-1], '"'); q >= 0 && !strings.ContainsAny(s[q:l], "\r\n<>") {
				l = q
			}
		}
		if l == i {
			for l > 0 && isLocalChar(s[l-1]) {
				l--
			}
		}
		r := i + 1
		for r < len(s) && isDomainChar(s[r]) {
			r++
		}
		for l < i && s[l] != '"' && (s[l] == '.' || s[l] == '\'' || s[l] == '`') {
			l++
		}
		for r > i+1 && (s[r-1] == '.' || s[r-1] == '-') {
			r--
		}
		if any && l < lastEnd {
			l = lastEnd // never overlap the address before ("a@b.c@d.e")
		}
		if l >= i || r <= i+1 {
			continue
		}
		dom := s[i+1 : r]
		dot := strings.LastIndexByte(dom, '.')
		if dot <= 0 || dot == len(dom)-1 {
			i = r - 1
			continue
		}
		if !yield(addrAt{normAddr(s[l:r]), l, r}) {
			return
		}
		lastEnd, any = r, true
		i = r - 1
	}
}

// normAddr lower-cases an address and strips what surrounds it in
// bounces: angle brackets, quotes, a type prefix.
func normAddr(a string) string {
	a = strings.TrimSpace(a)
	if strings.HasPrefix(a, "\"") && strings.Contains(a, "\"@") {
		return strings.ToLower(a)
	}
	a = strings.Trim(a, "<>\"' \t;,.:()[]")
	if i := strings.LastIndexByte(a, '<'); i >= 0 {
		a = a[i+1:]
		if j := strings.IndexByte(a, '>'); j >= 0 {
			a = a[:j]
		}
	}
	return strings.ToLower(a)
}

// cleanAddr reads a recipient field value ("rfc822; <a@b>", "a@b (name)")
// into an address, or "" when it holds none.
func cleanAddr(v string) string {
	for a := range addrsIn(v) {
		return a.addr
	}
	// A field that holds only local@host, the host without a dot
	// ("kijitora@mailhub0"), still names the recipient.
	t := strings.Trim(strings.TrimSpace(v), "<>")
	if at := strings.IndexByte(t, '@'); at > 0 && at < len(t)-1 && !strings.ContainsAny(t, " \t<>,;") {
		return strings.ToLower(t)
	}
	return ""
}

// replyCode finds the SMTP reply code a diagnostic quotes: three digits
// starting 4 or 5, standing alone (not part of a number, a version, an
// address or an enhanced code). 0 when there is none.
func replyCode(s string) int {
	for i := 0; i+3 <= len(s); i++ {
		c := s[i]
		if c != '4' && c != '5' {
			continue
		}
		if i > 0 && !codeBefore(s[i-1]) {
			continue
		}
		if !isDigit(s[i+1]) || !isDigit(s[i+2]) || s[i+1] > '5' {
			continue
		}
		if i+3 < len(s) && !codeAfter(s[i+3]) {
			continue
		}
		if i+4 < len(s) && (s[i+3] == '.' || s[i+3] == ':') && isDigit(s[i+4]) {
			continue
		}
		n := int(c-'0')*100 + int(s[i+1]-'0')*10 + int(s[i+2]-'0')
		if _, ok := codes.LookupCode(n); !ok && s[i+1] > '5' {
			continue
		}
		return n
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func codeBefore(c byte) bool { return strings.IndexByte(" \t:;(<>[\"'=#", c) >= 0 }
func codeAfter(c byte) bool  { return strings.IndexByte(" \t-:;)>]\"',.\r\n", c) >= 0 }

// enhancedStatus finds the first enhanced status code class.subject.detail
// (2, 4 or 5 class) standing alone, "" when there is none. "(#5.1.1)" of
// qmail counts.
func enhancedStatus(s string) string {
	for i := 0; i+5 <= len(s); i++ {
		c := s[i]
		if c != '2' && c != '4' && c != '5' || s[i+1] != '.' {
			continue
		}
		if i > 0 && (isDigit(s[i-1]) || s[i-1] == '.' || isLetter(s[i-1])) {
			continue
		}
		j := i + 2
		k := j
		for k < len(s) && isDigit(s[k]) && k-j < 3 {
			k++
		}
		if k == j || k >= len(s) || s[k] != '.' {
			continue
		}
		m := k + 1
		n := m
		for n < len(s) && isDigit(s[n]) && n-m < 3 {
			n++
		}
		if n == m || n < len(s) && (isDigit(s[n]) || s[n] == '.' && n+1 < len(s) && isDigit(s[n+1]) || isLetter(s[n])) {
			continue
		}
		return s[i:n]
	}
	return ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// cleanStatus reads a DSN Status field ("5.1.1 (user unknown)") into the
// code alone.
func cleanStatus(v string) string {
	if st := enhancedStatus(v); st != "" {
		return st
	}
	return ""
}

// commandOf names the SMTP command a diagnostic says it failed at, in
// the texts of Postfix ("in reply to RCPT TO command"), Exim ("after RCPT
// TO:<...>"), Sendmail (">>> RCPT To:<...>"), qmail and others.
func commandOf(lower string) string {
	if strings.Contains(lower, "but sender was rejected") {
		return "MAIL" // qmail
	}
	if i := strings.Index(lower, "(state "); i >= 0 {
		if j := strings.IndexByte(lower[i:], ')'); j > 0 {
			if c, ok := gmailStates[lower[i:i+j+1]]; ok {
				return c
			}
		}
	}
	for _, p := range commandPhrases {
		i := strings.Index(lower, p.text)
		if i < 0 {
			continue
		}
		rest := lower[i+len(p.text):]
		for _, c := range commandWords {
			if strings.HasPrefix(rest, c.word) {
				return c.cmd
			}
		}
	}
	return ""
}

// gmailStates are the SMTP states Gmail's bounces name ("(state 14)").
var gmailStates = map[string]string{"(state 9)": "EHLO", "(state 13)": "MAIL", "(state 14)": "RCPT", "(state 17)": "DATA", "(state 18)": "."}

var commandPhrases = []struct{ text string }{
	{"in reply to "}, {"in reply to the "}, {"did not like our "}, {"after "}, {"while sending "}, {">>> "}, {"response to "}, {"responded to "}, {"during "},
}

var commandWords = []struct{ word, cmd string }{
	{"rcpt", "RCPT"}, {"final data", "."}, {"mail from", "MAIL"}, {"mail", "MAIL"}, {"end of data", "."}, {"end of message", "."}, {"message body", "."},
	{"data", "DATA"}, {"ehlo", "EHLO"}, {"helo", "HELO"}, {"lhlo", "EHLO"}, {"initial connection", "CONN"}, {"connect", "CONN"},
	{"greeting", "CONN"}, {"starttls", "STARTTLS"}, {"quit", "QUIT"}, {"rset", "RSET"}, {"bdat", "DATA"},
}

// connectionCode reads a lost or timed-out connection in a bounce text
// ("lost connection with X while sending RCPT TO", "conversation with X
// timed out while receiving the initial server greeting") into the
// phase-exact 6xx code of the delivery engine; 0 when the text says
// neither.
func connectionCode(lower string) int {
	timeout := strings.Contains(lower, "timed out while") || strings.Contains(lower, "timeout while")
	lost := strings.Contains(lower, "lost connection with") || strings.Contains(lower, "connection reset") && strings.Contains(lower, " while ")
	if !timeout && !lost {
		return 0
	}
	i := strings.Index(lower, " while ")
	if i < 0 {
		return 0
	}
	rest := lower[i+7:]
	sending := strings.HasPrefix(rest, "sending")
	if j := strings.IndexByte(rest, ' '); j >= 0 {
		rest = rest[j+1:]
	}
	rest = strings.TrimPrefix(rest, "the ")
	var p codes.Phase
	switch {
	case strings.HasPrefix(rest, "initial server greeting"), strings.HasPrefix(rest, "initial greeting"), strings.HasPrefix(rest, "server greeting"):
		p = codes.PhaseGreeting
	case strings.HasPrefix(rest, "helo"), strings.HasPrefix(rest, "ehlo"):
		p = codes.PhaseHelo
	case strings.HasPrefix(rest, "mail from"):
		p = codes.PhaseMail
	case strings.HasPrefix(rest, "rcpt to"):
		p = codes.PhaseRcpt
	case strings.HasPrefix(rest, "end of data"):
		p = codes.PhaseDot
	case strings.HasPrefix(rest, "data"):
		p = codes.PhaseData
	case strings.HasPrefix(rest, "message body"), strings.HasPrefix(rest, "message content"):
		p = codes.PhaseContent
	default:
		p = codes.PhaseOther
	}
	return codes.ConnectionResult(p, timeout, sending)
}

// oneLine collapses whitespace so a diagnostic reads as one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") && !strings.Contains(s, "  ") {
		return strings.TrimSpace(s)
	}
	return strings.Join(strings.Fields(s), " ")
}

// transcriptCommand reads a Sendmail-style session transcript (">>> RCPT
// To:<...>" then "<<< 550 ...") for the command the first failure
// answered. Pipelined commands are answered in order, so each final reply
// line is paired with the oldest unanswered command.
func transcriptCommand(text string) string {
	i := strings.Index(text, ">>> ")
	if i < 0 {
		return ""
	}
	var pending []string
	for _, line := range strings.Split(text[i:], "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, ">>> "):
			pending = append(pending, strings.ToLower(line[4:]))
		case strings.HasPrefix(line, "<<< ") && len(line) >= 7 && isDigit(line[4]) && (len(line) == 7 || line[7] == ' '):
			if len(pending) == 0 {
				continue
			}
			cmd := pending[0]
			pending = pending[1:]
			if line[4] != '4' && line[4] != '5' {
				continue
			}
			// Sendmail pipelines RCPT and DATA: a failure followed by
			// "503 need RCPT" answered a recipient, not the DATA.
			if rest := strings.ToLower(text); strings.Contains(rest, "need rcpt") || strings.Contains(rest, "no valid recipients") {
				return "RCPT"
			}
			if cmd == "." {
				return "."
			}
			for _, c := range commandWords {
				if strings.HasPrefix(cmd, c.word) {
					return c.cmd
				}
			}
			return ""
		}
	}
	return ""
}

// remoteStatus is the enhanced status the remote's reply carries ("550
// 5.2.2", "550-'5.2.2") when the text has one, else the first one in it:
// relays (Amazon SES, Exchange) put their own status before the remote's.
func remoteStatus(s string) string {
	for i := 0; i+3 < len(s); i++ {
		c := s[i]
		if c != '4' && c != '5' || !isDigit(s[i+1]) || !isDigit(s[i+2]) || i > 0 && !codeBefore(s[i-1]) {
			continue
		}
		j := i + 3
		for j < len(s) && j < i+6 && (s[j] == ' ' || s[j] == '-' || s[j] == '\'') {
			j++
		}
		if j > i+3 && j < len(s) && s[j] == c {
			if st := enhancedStatus(s[j:]); st != "" && strings.HasPrefix(s[j:], st) {
				return st
			}
		}
		// A reply with no status of its own: a status before it was
		// the relay's label, one after it may still be the remote's.
		return enhancedStatus(s[i:])
	}
	return enhancedStatus(s)
}

// withoutAddrs blanks the mail addresses in s.
func withoutAddrs(s string) string { return withoutAddrsIn(nil, s) }

// withoutAddrsIn is withoutAddrs writing the copy in sc.
func withoutAddrsIn(sc *scratch, s string) string {
	if strings.IndexByte(s, '@') < 0 {
		return s
	}
	var b []byte
	last, open := 0, false
	for a := range addrsIn(s) {
		if !open {
			b, open = sc.begin(len(s)), true
		}
		b = append(b, s[last:a.start]...)
		b = append(b, '@')
		last = a.end
	}
	if !open {
		return s
	}
	b = append(b, s[last:]...)
	return sc.end(b)
}

// unfoldReply drops the code prefixes a multi-line reply repeats inside
// its text ("550-5.7.1 ... multiple 550 5.7.1 addresses"), so that rules
// see the words joined.
func unfoldReply(s string) string {
	if len(s) < 10 || !isDigit(s[0]) {
		return s
	}
	code := s[:3]
	st := remoteStatus(s)
	out := s
	for _, sep := range []string{" ", "-"} {
		p := code + sep
		if st != "" {
			p += st + " "
		}
		if i := strings.Index(out[4:], p); i >= 0 {
			out = out[:4] + strings.ReplaceAll(out[4:], p, "")
		}
	}
	return out
}
