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
	Reason string // for the log (a reject's; the client gets the code table's text); may be empty
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

// maxReason bounds the reason a filter may give, which goes into one log
// line.
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
