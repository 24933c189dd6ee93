package outcome

import (
	"fmt"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// Result is the outcome of one attempt for one recipient.
type Result struct {
	Code     int         `json:"code"`               // remote reply code (250, 451, 550) or our own (601, 623, 700, 800…)
	Enhanced string      `json:"enhanced,omitempty"` // the remote's enhanced code, or our code's DSN status
	Text     string      `json:"text,omitempty"`     // the remote's reply text (lines joined by "\n"), or what we saw
	Command  string      `json:"command,omitempty"`  // what the remote was answering ("RCPT TO:<a@b>")
	Phase    codes.Phase `json:"phase,omitempty"`
	Host     string      `json:"host,omitempty"` // MX host name
	IP       string      `json:"ip,omitempty"`
	Reason   string      `json:"reason,omitempty"` // Sisimai-compatible reason name
	// MaybeDelivered marks a connection lost or timed out after the final
	// dot (625/645/665/685): the peer may have taken the message.
	MaybeDelivered bool `json:"maybe_delivered,omitempty"`
}

// Own builds a result for a code hikyaku makes itself, with the table's
// DSN status, reason and English text, and detail appended.
func Own(code int, detail string) Result {
	c, _ := codes.LookupCode(code)
	text := c.EN
	if detail != "" {
		text += ": " + detail
	}
	return Result{Code: code, Enhanced: c.Status, Text: text, Reason: c.Reason}
}

// Delivered says the recipient was accepted (2xx).
func (r Result) Delivered() bool { return r.Code >= 200 && r.Code < 300 }

// Transient says the attempt may be retried: a 4xx reply or a transient
// code of our own (6xx connection codes, 608, 609, 720).
func (r Result) Transient() bool {
	if r.Code >= 400 && r.Code < 500 {
		return true
	}
	if c, ok := codes.LookupCode(r.Code); ok && r.Code >= 600 {
		return c.Class == codes.ClassTransient
	}
	return false
}

// Permanent says retrying cannot help.
func (r Result) Permanent() bool { return !r.Delivered() && !r.Transient() }

// String is the one-line form used in logs and `hikyaku send` output.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d", r.Code)
	if r.Enhanced != "" {
		b.WriteString(" " + r.Enhanced)
	}
	if r.Text != "" {
		b.WriteString(" " + strings.ReplaceAll(r.Text, "\n", " / "))
	}
	return b.String()
}
