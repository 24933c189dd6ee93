// Package server owns SMTP sessions: accepting connections, enforcing
// session limits, reading commands, answering each with a reply from the
// code table, and handing every accepted message to the spool before the
// 250. It also runs the session's side of STARTTLS (RFC 3207), implicit
// TLS (RFC 8314) and AUTH (RFC 4954), and the submission rules (RFC 6409);
// certificates come from tlsconf and the SASL mechanisms from auth. It
// never writes the spool format, mailboxes or the relay queue itself: it
// asks the spool to commit and the router to take the message (Postfix's
// smtpd/cleanup split, docs/conventions.md habit 1).
package server
