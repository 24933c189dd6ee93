package bounce

import (
	"strings"
)

// block is a recipient named in a prose bounce and the lines that tell
// what happened to it.
type block struct {
	addr string
	text string
}

// originalMarkers begin the copy of the returned message in prose
// bounces (Exim, qmail, Sendmail, Courier, Exchange ...), matched on the
// lower-cased line with its decoration (dashes, equals signs) removed.
var originalMarkers = []string{
	"this is a copy of the message", "this is a copy of your message", "a copy of the original message",
	"original message follows", "original message", "the original message", "below this line is a copy",
	"returned message", "unsent message below", "message header follows", "original message header",
	"the header of the original message", "headers of the original message", "begin original message",
	"copy of the message", "returned mail follows", "message text follows", "content-type: message/rfc822",
	"here is a copy of the first part of the message", "the message you sent", "the text you sent follows",
	"以下は元のメッセージ", "元のメッセージ", "original message text follows", "message headers follow",
}

// markerStart has the lower-case first octets of the ASCII markers.
var markerStart = func() (set [256]bool) {
	for _, m := range originalMarkers {
		if m[0] < 0x80 {
			set[m[0]] = true
		}
	}
	return set
}()

// cutOriginal drops the copy of the original message that prose bounces
// append after their explanation.
func cutOriginal(s string) string {
	pos := 0
	lines := 0
	for pos < len(s) {
		end := strings.IndexByte(s[pos:], '\n')
		next := len(s)
		line := s[pos:]
		if end >= 0 {
			line, next = s[pos:pos+end], pos+end+1
		}
		lines++
		t := strings.TrimSpace(line)
		if t != "" {
			decorated := t[0] == '-' || t[0] == '=' || t[0] == '*' || t[0] == '_' || t[0] == '#'
			// Most lines cannot begin a marker: lower-case only those that
			// can (a non-ASCII first octet is always looked at).
			if core := strings.Trim(t, "-=*_#<> \t:."); core != "" && (core[0] >= 0x80 || markerStart[core[0]|0x20]) {
				if isASCIIString(core) {
					// The same tests as below, without a lower-cased copy.
					for _, m := range originalMarkers {
						if hasPrefixFold(core, m) && (decorated || hasSuffixFold(core, "follows") || hasSuffixFold(core, "follow") || hasPrefixFold(core, "below this line")) {
							return s[:pos]
						}
					}
				} else {
					bare := toLower(core)
					for _, m := range originalMarkers {
						if strings.HasPrefix(bare, m) && (decorated || strings.HasSuffix(bare, "follows") || strings.HasSuffix(bare, "follow") || strings.HasPrefix(bare, "below this line") || m[0] >= 0x80) {
							return s[:pos]
						}
					}
				}
			}
			if lines > 3 && (strings.HasPrefix(line, "Received: from ") || strings.HasPrefix(line, "Return-Path: <") || strings.HasPrefix(line, "Return-path: <")) {
				return s[:pos]
			}
		}
		pos = next
	}
	return s
}

// recipientBlocks finds the failed recipients of a prose bounce: first
// those X-Failed-Recipients names, else the addresses that stand where
// bounces put them (alone on a line, "<a@b>:", "RCPT TO:<a@b>", "to
// <a@b>"), never our own addresses.
func (r *reader) recipientBlocks(text string) []block {
	var out []block
	seen := map[string]bool{}
	for _, a := range findAddrs(r.top.get("X-Failed-Recipients")) {
		if !seen[a.addr] {
			seen[a.addr] = true
			out = append(out, block{addr: a.addr})
		}
	}
	type hit struct {
		addr    string
		line    int
		summary bool // from a "To:" line summarising the returned message
	}
	lines := strings.Split(text, "\n")
	var hits []hit
	for n, line := range lines {
		if strings.IndexByte(line, '@') < 0 || headerLike(line) {
			continue
		}
		found := findAddrs(line)
		for k, a := range found {
			if r.opt.Envelope != "" && a.addr == strings.ToLower(r.opt.Envelope) || strings.HasPrefix(a.addr, "bounce+") {
				continue
			}
			if k+1 < len(found) && found[k+1].start >= a.end && strings.TrimSpace(line[a.end:found[k+1].start]) == "<" {
				continue // "a@b <c@d>": the first is the display name
			}
			// An address alone on its line, or after "delivering your
			// mail to", is the failed recipient even when it is also
			// the sender's (a test mail to oneself) or a role address.
			strong := standsAlone(line, a)
			if !strong && (r.exclude[a.addr] || notRecipient(a.addr)) {
				continue
			}
			if len(out) > 0 && !seen[a.addr] {
				continue // X-Failed-Recipients told us who
			}
			if len(out) == 0 && !strong && !standsAsRecipient(line, a) {
				continue
			}
			lt := strings.TrimSpace(line)
			hits = append(hits, hit{a.addr, n, lowerHasPrefix(lt, "to:") || lowerHasPrefix(lt, "cc:")})
		}
	}
	// Exchange repeats the returned message's To: above the failed
	// recipients; those lines count only when nothing else does.
	var named []hit
	for _, h := range hits {
		if !h.summary {
			named = append(named, h)
		}
	}
	if len(named) > 0 && len(named) < len(hits) {
		hits = named
	}
	// X-Failed-Recipients that the text never names, while it names
	// others where failed recipients stand, was written for another
	// address (a forwarded copy): the text wins.
	if len(out) > 0 && len(hits) == 0 {
		var strong []hit
		for n, line := range lines {
			if strings.IndexByte(line, '@') < 0 || headerLike(line) {
				continue
			}
			for _, a := range findAddrs(line) {
				if standsAlone(line, a) && !r.exclude[a.addr] {
					strong = append(strong, hit{a.addr, n, false})
				}
			}
		}
		if len(strong) > 0 {
			out, hits = nil, strong
			seen = map[string]bool{}
		}
	}
	// Each block runs from its address line to the next address line or
	// the end of the paragraph.
	texts := map[string]string{}
	for i, h := range hits {
		if _, ok := texts[h.addr]; ok {
			continue
		}
		end := len(lines)
		for _, nx := range hits[i+1:] {
			if nx.addr != h.addr && nx.line > h.line {
				end = nx.line
				break
			}
		}
		var b strings.Builder
		kept := 0
		for n := h.line; n < end && kept < 10; n++ {
			t := strings.TrimSpace(lines[n])
			if t == "" {
				continue
			}
			kept++
			b.WriteString(t)
			b.WriteByte(' ')
		}
		texts[h.addr] = b.String()
		if !seen[h.addr] {
			seen[h.addr] = true
			out = append(out, block{addr: h.addr})
		}
	}
	for i := range out {
		out[i].text = texts[out[i].addr]
		if out[i].text == "" {
			out[i].text = r.around(out[i].addr)
		}
		if out[i].text == "" && len(out) == 1 {
			// The one failed recipient, named only in the header
			// (Exim writes the local part alone): the explanation is
			// the text itself.
			out[i].text = truncate(text, 2048)
		}
	}
	return out
}

// standsAsRecipient tells an address in the place a bounce puts the
// failed recipient from one mentioned in passing.
func standsAsRecipient(line string, a addrAt) bool {
	before := strings.TrimRight(line[:a.start], "<\"' \t") // compared lower-cased
	after := line[a.end:]
	b := strings.Trim(before, " \t*-•:>'\"(")
	if b == "" {
		return true
	}
	if strings.HasSuffix(before, ":") && !lowerHasSuffix(before, "from:") && !lowerHasSuffix(before, "sender:") {
		return true
	}
	for _, s := range recipientLeads {
		if lowerHasSuffix(before, s) {
			return true
		}
	}
	after = strings.TrimLeft(after, ">\"' ")
	return strings.HasPrefix(after, ":") || strings.HasPrefix(after, "...") || strings.HasPrefix(after, "(expanded") ||
		strings.HasPrefix(after, "(generated")
}

var recipientLeads = []string{
	"rcpt to:", "rcpt to", "to:", " to", "recipient:", "recipient", "recipients:", "address:", "addressed to", "for",
	"delivering your mail to", "mailbox", "user", "account", "user:", "受信者", "宛先", "宛先:", "recipient address:",
	"original-recipient: rfc822;", "final-recipient: rfc822;", "failed recipient:", "unknown user:", "<<<", "mailing list",
}

// standsAlone tells an address that is all its line says ("  a@b",
// "<a@b>:") or that follows the phrases bounces put before the failed
// recipient.
func standsAlone(line string, a addrAt) bool {
	before := strings.Trim(line[:a.start], " \t<\"'*-•>")
	after := strings.Trim(line[a.end:], " \t>\"':.")
	if before == "" && after == "" {
		return true
	}
	for _, s := range strongLeads {
		if lowerHasSuffix(before, s) {
			return true
		}
	}
	return false
}

var strongLeads = []string{"delivering your mail to", "could not be delivered to:", "could not be delivered to", "unable to deliver message to", "unable to deliver message to:", "rcpt to:"}

var quotedHeaderNames = []string{"message-id", "in-reply-to", "references", "received", "from", "sender", "return-path", "reply-to", "date", "subject", "errors-to"}

// headerLike tells a header line quoted in a bounce (Message-ID,
// Received ...), whose addresses are never the failed recipient.
func headerLike(line string) bool {
	line = strings.TrimLeft(line, "> \t")
	c := strings.IndexByte(line, ':')
	if c <= 0 || c > 30 || strings.ContainsAny(line[:c], " \t") {
		return false
	}
	name := line[:c]
	for _, n := range quotedHeaderNames {
		if lowerEquals(name, n) {
			return true
		}
	}
	return lowerHasPrefix(name, "x-") || lowerHasPrefix(name, "content-") || lowerHasPrefix(name, "list-")
}

// notRecipient tells addresses that name a mail system, not a person.
func notRecipient(a string) bool {
	local, _, _ := strings.Cut(a, "@")
	switch local {
	case "mailer-daemon", "postmaster", "mailerdaemon", "mail-daemon", "abuse":
		return true
	}
	return strings.HasPrefix(local, "bounce+") || strings.HasPrefix(local, "bounce-")
}

// around is the bounce's text around the first mention of addr: its
// line and the few after it.
func (r *reader) around(addr string) string {
	text := r.bodyText()
	if addr == "" || text == "" {
		return ""
	}
	i := strings.Index(text, addr)
	if i < 0 {
		// addr is lower case. The offset in the lower-cased text holds
		// in text only while lower-casing kept lengths ("İ" does not).
		i = strings.Index(r.lowerText(), addr)
		if i >= 0 && (i+len(addr) > len(text) || !strings.EqualFold(text[i:i+len(addr)], addr)) {
			i = -1
		}
	}
	if i < 0 {
		return ""
	}
	start := strings.LastIndexByte(text[:i], '\n') + 1
	end := i
	for n := 0; n < 4 && end < len(text); n++ {
		j := strings.IndexByte(text[end:], '\n')
		if j < 0 {
			end = len(text)
			break
		}
		next := end + j + 1
		// A following line about another recipient ends this one's.
		if n > 0 {
			if line := text[end:next]; strings.IndexByte(line, '@') >= 0 && !lowerContains(line, addr) && hasAddr(toLowerIfSpecial(line)) {
				break
			}
		}
		end = next
	}
	return text[start:end]
}
