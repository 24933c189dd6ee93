package bounce

import (
	"time"
)

// Blame says whose fault a bounce is, decided apart from the reason name.
type Blame string

const (
	BlameRecipient Blame = "recipient" // the address: unknown, disabled, full — moves its score
	BlameSender    Blame = "sender"    // our side: blocked, reputation, policy, spam verdicts, auth
	BlameNetwork   Blame = "network"   // DNS, connections, expiry, remote system faults
	BlameUnknown   Blame = "unknown"
	BlameNone      Blame = "" // not a failure (auto-reply, delivered notice)
)

// Kind says what a read mail is.
type Kind string

const (
	KindBounce    Kind = "bounce"    // a delivery failure report, standard or not
	KindFeedback  Kind = "feedback"  // an RFC 5965 ARF complaint or a provider variant
	KindAutoReply Kind = "autoreply" // RFC 3834 auto-reply, vacation
	KindNone      Kind = "none"      // not a bounce at all (a human reply, spam): -501
)

// Result is one bounced recipient of one mail.
type Result struct {
	// Recipient is the final recipient the bounce names (lower-case domain);
	// Original is the address we sent to when the bounce tells it apart
	// (Original-Recipient, X-Original-To, the returned message's To).
	Recipient string `json:"recipient"`
	Original  string `json:"original,omitempty"`
	// Code is the seed-001 result code: 550, 452, 700, 606, 623, 801, 860,
	// -500, -501, -502 ...
	Code     int    `json:"code"`
	Status   string `json:"status,omitempty"`  // enhanced status "5.1.1" (derived from Reason when the mail has none)
	Reply    string `json:"reply,omitempty"`   // the remote's reply or diagnostic text, one line
	Command  string `json:"command,omitempty"` // SMTP command it failed at: CONN, HELO, EHLO, MAIL, RCPT, DATA, "." (end of data), ""
	Reason   string `json:"reason"`            // Sisimai reason name
	Hard     bool   `json:"hard"`              // permanent: retrying the address cannot help
	Blame    Blame  `json:"blame"`
	Feedback string `json:"feedback,omitempty"` // ARF Feedback-Type: abuse, fraud, virus ...

	ReportingMTA string    `json:"reporting_mta,omitempty"`
	RemoteMTA    string    `json:"remote_mta,omitempty"`
	Date         time.Time `json:"date,omitzero"`
	Format       string    `json:"format"` // which reader read it: rfc3464, postfix, exim, qmail, exchange, arf, rfc3834 ...

	// Campaign and Row are set when the mail came back to a VERP return
	// path (found by Options.VERP in the envelope recipient or the
	// headers); Row is 0 otherwise.
	Campaign string `json:"campaign,omitempty"`
	Row      int64  `json:"row,omitempty"`
}

// Report is everything read from one mail.
type Report struct {
	Kind    Kind     `json:"kind"`
	Results []Result `json:"results"` // at least one for KindBounce and KindFeedback; one -501 result for the others
	// MessageID and Subject of the bounce mail itself, for logs.
	MessageID string `json:"message_id,omitempty"`
	Subject   string `json:"subject,omitempty"`
}

// Options tune Read. The zero value reads with the built-in rules.
type Options struct {
	// Rules are the provider texts that tell reasons; nil means Default().
	Rules *Rules
	// Envelope is the envelope recipient the mail arrived for, when known
	// (the VERP address); it is tried first for Campaign/Row.
	Envelope string
	// VERP reads a return path back into campaign and row; nil reads none.
	VERP func(addr string) (campaign string, row int64, ok bool)
	// MaxSize caps the octets read (default 64 MiB); a larger mail is read
	// up to the cap and the rest ignored.
	MaxSize int
}
