// Package smtpclient owns the outgoing SMTP connection: connect, greeting,
// EHLO (HELO fallback), STARTTLS, transactions with PIPELINING, content
// with dot-stuffing, RSET, QUIT — and the classification of every way it
// can end into exactly one result code of docs/spec.md §4 (an outcome.Result per
// recipient, the remote reply kept whole, docs/conventions.md habit 8).
//
// It knows nothing of DNS, queues or retries: the delivery engine resolves
// the mail hosts, dials them in order, decides what to retry, and re-encodes
// lines over 998 octets before calling Send.
//
// # Phase-exact codes
//
// The client always knows the phase it is in (codes.Phase) and whether it
// is writing or waiting, so a failure maps to one code through
// codes.ConnectionResult:
//
//	connect refused, unreachable, timed out   601
//	socket(2)/bind(2): EMFILE ENFILE EADDRNOTAVAIL ENOBUFS ENOMEM   609
//	waiting: lost 620 621 622 623 624 625 627, timed out 640-647
//	         (greeting, EHLO/HELO, MAIL, RCPT, DATA, final dot, RSET)
//	writing: lost 660-667, timed out 680-687
//	         (EHLO/HELO, MAIL, RCPT, DATA, content, final dot, QUIT, RSET)
//	STARTTLS, its reply, the handshake: lost 602, timed out 610
//	a reply that is not SMTP (garbage, a line over 4096 octets): 602
//
// With PIPELINING, MAIL, the RCPTs and DATA go in one write; when it
// fails, the number of octets the kernel took names the command that was
// being written. The final dot rides in the last content write, and the
// same count tells the content (664/684) from the dot (665/685). A
// failure after the dot was written, or while writing it, sets
// MaybeDelivered (625/645/665/685): the peer may have the message. The
// context's cancellation or deadline ends a wait as the phase's timeout
// code, its text saying "stopped".
//
// A connection lost at QUIT is not reported: recipients answered 250 are
// delivered. A 421 at any point ends the connection; recipients not yet
// settled get the 421, which is transient.
//
// # Choices
//
// Timeouts default to RFC 5321 §4.5.3.2 (DefaultTimeouts). Replies are
// read leniently (bare LF, lines up to 4096 octets, mismatched codes on
// continuation lines): they are never forwarded, and a readable refusal is
// worth more than a protocol error. Checks that need no network — SIZE,
// SMTPUTF8, 8BITMIME, control characters in addresses — settle recipients
// before MAIL (see Send). A 552 to RCPT meaning "too many recipients"
// becomes 452 4.5.3 (RFC 5321 §4.5.3.1.10); TooManyRecipients tells the
// engine to send those recipients in the next transaction. An aborted
// transaction is reset by the next Send itself.
//
// # What loopback tests can and cannot show
//
// A peer's close is invisible to a small write: the kernel copies the
// octets into the send buffer and reports success, and only the next
// read sees the end. So 660, 662, 663, 665 and every 68x but 684 cannot
// be produced by a real loopback peer every time; the tests produce them
// through the real mapping with a connection wrapper that fails the
// chosen write (writefault_test.go). 661, 666 and 667 are real: the peer
// answers and resets an idle connection (peertest.ReplyThenReset), and the
// client's next write finds the RST. 664 and 684 are real with a 16 MiB
// message, the peer cutting or no longer reading. 609 is real twice: a
// source address the host lacks (EADDRNOTAVAIL) and a child process with
// every descriptor taken (EMFILE).
package smtpclient
