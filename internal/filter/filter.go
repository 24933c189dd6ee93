// Package filter owns the content-filter hook: after DATA, before the
// reply, the whole message and its envelope go to an outside judge — a
// command or a socket server — whose verdict is accept, reject or
// tempfail. The session answers reject with 554 5.7.1 and tempfail with
// 451 (docs/spec.md §2).
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
// output, if any, is the reason given to the client (printable ASCII, at
// most 200 characters). The command runs in its own process group, which
// is killed when the timeout passes.
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

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Verdict actions.
const (
	Accept   = "accept"
	Reject   = "reject"
	Tempfail = "tempfail"
)

// Verdict is a filter's answer.
type Verdict struct {
	Action string // Accept, Reject or Tempfail
	Reason string // for the client's reply; may be empty
}

// Envelope is what the filter is told besides the message.
type Envelope struct {
	ID, ClientIP, Helo, From string // From is "" for <>
	Rcpts                    []string
	AuthUser                 string
}

// Filter judges one message. On failure the error is not nil and the
// verdict is still usable: tempfail, or accept for a FailOpen filter.
type Filter interface {
	Check(ctx context.Context, env Envelope, msg []byte) (Verdict, error)
}

// defaultTimeout bounds a filter that sets none: long enough for a spam
// scanner on a big message, well inside the 10 minutes a client waits
// for the reply to DATA (RFC 5321 §4.5.3.2.6).
const defaultTimeout = 60 * time.Second

// maxReason bounds the reason passed on to the client.
const maxReason = 200

// failed is the verdict for a filter that gave none.
func failed(failOpen bool, err error) (Verdict, error) {
	if failOpen {
		return Verdict{Action: Accept, Reason: "content filter unavailable; accepted unfiltered"}, err
	}
	return Verdict{Action: Tempfail, Reason: "content filter unavailable, try again later"}, err
}

// ParseVerdict reads a verdict line: an action word, case-insensitive,
// then optionally a space and the reason.
func ParseVerdict(line string) (Verdict, error) {
	line = strings.TrimRight(line, "\r\n")
	word, reason, _ := strings.Cut(line, " ")
	switch a := strings.ToLower(word); a {
	case Accept, Reject, Tempfail:
		return Verdict{Action: a, Reason: cleanReason(reason)}, nil
	}
	return Verdict{}, fmt.Errorf("filter: %q is not a verdict (want accept, reject or tempfail)", truncate(line, 80))
}

// cleanReason keeps printable ASCII only, since the reason goes into an
// SMTP reply line, trimmed to maxReason.
func cleanReason(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return ' '
		}
		return r
	}, s)
	return truncate(strings.Join(strings.Fields(s), " "), maxReason)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// oneLine drops what could end an envelope line or an environment value.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

var (
	_ Filter = (*Command)(nil)
	_ Filter = (*Socket)(nil)
)
