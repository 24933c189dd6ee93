// Package filter owns the content-filter hook: after DATA, before the
// reply, the whole message and its envelope go to an outside judge — a
// command or a socket server — whose verdict is accept, reject or
// tempfail. The session answers reject with 554 5.7.1 and tempfail with
// 451 4.7.1, with the code table's texts (docs/spec.md §2). The reason a
// filter gives for a reject goes to the log with the message's id; no
// reason reaches the client (internal/server/policy.go), so a filter's
// wording is for the operator and tells a sender nothing of what the
// filter looks for.
//
// A filter that cannot give a verdict (it cannot be started or reached,
// it crashes, it runs out of time, it answers gibberish) is a failure:
// Check then returns a tempfail verdict, so the sender retries later, and
// the error, for the log. Mail is accepted unfiltered only when the filter
// is configured FailOpen.
//
// # Command filters
//
// The command runs with the message (as received, CRLF line ends) on
// standard input and the envelope in the environment:
//
//	HIKYAKU_ID         the message's queue id
//	HIKYAKU_CLIENT_IP  the client's address
//	HIKYAKU_HELO       its HELO/EHLO name
//	HIKYAKU_FROM       the MAIL FROM address, empty for <>
//	HIKYAKU_RCPTS      the RCPT TO addresses, separated by spaces
//	HIKYAKU_AUTH_USER  the authenticated user, empty when none
//	HIKYAKU_SIZE       the message size in octets
//
// Its exit status is the verdict: 0 accept, 77 (EX_NOPERM) reject, 75
// (EX_TEMPFAIL) tempfail. Any other status, or death by a signal, is a
// failure. Reject is deliberately not 1: 1 is what a crashing script
// exits with (a Python traceback, "set -e" in a shell script), and a
// broken filter must not bounce good mail. The first line of standard
// output, if any, is the reason (printable ASCII, at most 200
// characters). The command runs in its own process group, which is killed
// when the timeout passes.
//
// # Socket filters
//
// One connection per message (unix or tcp). hikyaku sends a request:
//
//	HIKYAKU-FILTER/1
//	ID: 1a2b3c
//	Client-IP: 192.0.2.1
//	Helo: mail.example.com
//	From: <a@example.com>
//	Rcpt: <b@example.net>
//	Rcpt: <c@example.net>
//	Auth-User: alice
//	Size: 1234
//
//	…exactly Size octets of message…
//
// Lines end in LF; the empty line ends the envelope; From is "<>" for the
// null reverse-path; there is one Rcpt line per recipient; Auth-User is
// left out when the client did not authenticate; values never hold CR or
// LF. The server answers one line, "accept", "reject" or "tempfail",
// optionally followed by a space and the reason, ended by LF (or CRLF),
// at most 1000 octets, and may answer before reading the whole message.
// ReadRequest and WriteVerdict implement the server side in Go.
package filter
