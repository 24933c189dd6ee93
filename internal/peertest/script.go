package peertest

import (
	"github.com/hikyaku/hikyaku/internal/codes"
)

// Action is what the peer does at a phase instead of answering normally.
type Action int

const (
	Normal Action = iota
	// Cut closes the connection (FIN) instead of replying. The client
	// sees end of file while waiting: 62x.
	Cut
	// Stall never replies and keeps the connection open (reading and
	// discarding) until the client or Close ends it: 64x.
	Stall
	// Reset closes with RST (SO_LINGER 0) instead of replying: 62x.
	Reset
	// ReplyThenReset answers normally and then resets the connection at
	// once. The client can still read the reply (Linux keeps received
	// data after a RST), and its next write finds the connection reset:
	// wait on Acted before that write and it is a 66x, every time.
	ReplyThenReset
	// StopReading, at PhaseContent, stops reading once DATA got its 354:
	// the client's writes block when the socket buffers are full (684).
	StopReading
	// CutWhileReading, at PhaseContent, reads Script.CutAfterBytes octets
	// of content and closes; unread data makes the kernel send a RST, and
	// the client's next write fails (664).
	CutWhileReading
)

func (a Action) String() string {
	switch a {
	case Normal:
		return "normal"
	case Cut:
		return "cut"
	case Stall:
		return "stall"
	case Reset:
		return "reset"
	case ReplyThenReset:
		return "reply-then-reset"
	case StopReading:
		return "stop-reading"
	case CutWhileReading:
		return "cut-while-reading"
	}
	return "action?"
}

// DefaultExtensions are the EHLO keywords a script without Extensions
// offers.
var DefaultExtensions = []string{"PIPELINING", "SIZE 10485760", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"}

// Script says how the peer behaves. The zero Script is a well-behaved
// ESMTP server that accepts everything.
type Script struct {
	// Greeting replaces the default "220 peer.test ESMTP peertest".
	Greeting string
	// Extensions are the EHLO keywords; nil offers DefaultExtensions, an
	// empty non-nil slice offers none.
	Extensions []string
	// NoEHLO answers EHLO with 502, as a HELO-only server does.
	NoEHLO bool
	// StartTLS offers STARTTLS with a self-signed certificate made in
	// memory for peer.test, localhost and 127.0.0.1.
	StartTLS bool
	// Replies replaces the reply to a verb: "GREETING", "EHLO", "HELO",
	// "STARTTLS", "MAIL", "RCPT", "DATA", "DOT" (the end of data),
	// "RSET", "NOOP", "QUIT". The text is written as given, "\n"
	// separating lines, so a script can send multi-line, malformed or
	// anything else.
	Replies map[string]string
	// RcptReplies answers RCPT per recipient address (as written between
	// the angle brackets); it wins over Replies["RCPT"].
	RcptReplies map[string]string
	// MaxRecipients answers "452 4.5.3 Too many recipients" to every RCPT
	// after the first MaxRecipients of a transaction (0: no limit), as
	// RFC 5321 §4.5.3.1.10 asks of a server over its limit.
	MaxRecipients int
	// Actions says what to do at a phase instead of replying normally:
	// PhaseGreeting instead of the greeting, PhaseHelo at EHLO/HELO,
	// PhaseOther for the TLS handshake after STARTTLS's 220, PhaseMail,
	// PhaseRcpt (every RCPT), PhaseData at the DATA command (answered 554
	// by default when no RCPT was accepted, as Postfix does), PhaseContent
	// while reading the content, PhaseDot at the end of data, PhaseRset,
	// PhaseQuit.
	Actions map[codes.Phase]Action
	// ActOnFirst limits Actions to the first ActOnFirst connections (0:
	// every connection), so that a retry can succeed.
	ActOnFirst int
	// CutAfterBytes is how much content CutWhileReading reads.
	CutAfterBytes int64
}

// Received is one message the peer accepted (the end of data answered 2xx).
type Received struct {
	Helo  string
	From  string
	Rcpts []string // the recipients whose RCPT was answered 2xx
	Data  []byte   // the content with the dot-stuffing undone, CRLFs kept
	TLS   bool
}
