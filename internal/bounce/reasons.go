package bounce

// ReasonInfo documents one reason name: the status a bounce gets when it
// states none, whose fault it is, and the result code used when the bounce
// quotes no reply code (0: derived from the status). docs/bounce.md is
// written from this table.
type ReasonInfo struct {
	Name    string
	Status  string
	Blame   Blame
	Code    int
	Meaning string
}

// Reasons is every reason the reader gives, in documentation order.
var Reasons = []ReasonInfo{
	{"userunknown", "5.1.1", BlameRecipient, 0, "the mailbox does not exist"},
	{"hasmoved", "5.1.6", BlameRecipient, 0, "the mailbox has moved and gives no new address here"},
	{"mailboxfull", "5.2.2", BlameRecipient, 0, "the mailbox is full (over quota)"},
	{"suspend", "5.2.1", BlameRecipient, 801, "the account is disabled or suspended at the provider"},
	{"hostunknown", "5.1.2", BlameRecipient, 700, "the recipient's domain or mail host does not exist"},
	{"notaccept", "5.3.2", BlameRecipient, 710, "the domain accepts no mail (null MX, no mail host)"},
	{"filtered", "5.2.0", BlameRecipient, 0, "the recipient's own filter refused it (domain refusal: 850)"},
	{"exceedlimit", "5.2.3", BlameSender, 0, "the message exceeds the recipient's size limit"},
	{"mesgtoobig", "5.3.4", BlameSender, 0, "the message is too big for the receiving system"},
	{"rejected", "5.1.8", BlameSender, 870, "the envelope sender (its address or domain) was refused"},
	{"blocked", "5.7.1", BlameSender, 870, "the sending IP or host is blocked (blocklist, policy on the client)"},
	{"badreputation", "5.7.1", BlameSender, 870, "the sender's IP or domain reputation is too low"},
	{"spamdetected", "5.7.1", BlameSender, 870, "the message was judged spam"},
	{"virusdetected", "5.7.1", BlameSender, 870, "the message was judged to carry a virus"},
	{"policyviolation", "5.7.1", BlameSender, 870, "the message breaks the receiver's content policy"},
	{"contenterror", "5.6.0", BlameSender, 0, "the message content is invalid (encoding, headers)"},
	{"notcompliantrfc", "5.7.1", BlameSender, 870, "the message does not comply with RFC 5322 (duplicate or missing headers)"},
	{"authfailure", "5.7.26", BlameSender, 870, "SPF, DKIM or DMARC authentication failed"},
	{"requireptr", "5.7.25", BlameSender, 870, "the sending IP has no (matching) PTR record"},
	{"securityerror", "5.7.1", BlameSender, 870, "authentication or security requirement not met (SMTP AUTH, TLS level)"},
	{"failedstarttls", "5.7.10", BlameSender, 870, "STARTTLS was required or failed"},
	{"norelaying", "5.7.1", BlameSender, 870, "the host refused to relay (wrong MX, or not allowed to relay)"},
	{"ratelimited", "4.7.0", BlameSender, 871, "the sender sent too much or too fast"},
	{"toomanyconn", "4.7.0", BlameSender, 871, "the sender opened too many connections"},
	{"speeding", "4.7.0", BlameSender, 871, "rate of connections or messages too high (older name)"},
	{"syntaxerror", "5.5.2", BlameSender, 0, "a command of ours was not understood (our fault, 5.5.x)"},
	{"suppressed", "5.0.0", BlameRecipient, 0, "the provider (e.g. Amazon SES) suppressed the address after earlier bounces"},
	{"expired", "5.4.7", BlameNetwork, 606, "delivery was retried until the message lifetime ran out"},
	{"networkerror", "5.4.0", BlameNetwork, 0, "DNS, connection or routing failure"},
	{"systemerror", "5.3.0", BlameNetwork, 0, "the receiving system failed"},
	{"systemfull", "5.3.1", BlameNetwork, 0, "the receiving system's disk is full"},
	{"mailererror", "5.3.0", BlameNetwork, 0, "the receiving mailer program failed"},
	{"onhold", "", BlameUnknown, 0, "a failure whose cause the bounce does not tell"},
	{"undefined", "", BlameUnknown, 0, "no reason could be read"},
	{"feedback", "", BlameRecipient, 860, "a complaint: the recipient reported the mail (ARF)"},
	{"vacation", "", BlameNone, -501, "an auto-reply (RFC 3834, vacation): not a failure"},
	{"delivered", "2.0.0", BlameNone, 0, "a delivery report, not a failure"},
}

var reasonIndex = func() map[string]ReasonInfo {
	m := make(map[string]ReasonInfo, len(Reasons))
	for _, r := range Reasons {
		m[r.Name] = r
	}
	return m
}()

// LookupReason gives the documentation row of a reason name.
func LookupReason(name string) (ReasonInfo, bool) {
	r, ok := reasonIndex[name]
	return r, ok
}
