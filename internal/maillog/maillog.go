package maillog

import (
	"io"
	"log/slog"
	"strings"
	"time"
)

// Log writes mail events. The zero value and nil discard everything.
type Log struct {
	l *slog.Logger
}

// New writes events as logfmt lines to w.
func New(w io.Writer) *Log {
	return &Log{l: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))}
}

func (m *Log) event(name string, args ...any) {
	if m == nil || m.l == nil {
		return
	}
	m.l.Info(name, args...)
}

// Accepted: a message got its 250 after reaching stable storage.
func (m *Log) Accepted(session, id, from string, rcpts []string, size int64, client, helo string) {
	m.event("accepted", "session", session, "id", id, "from", from, "to", strings.Join(rcpts, ","), "size", size, "client", client, "helo", helo)
}

// Rejected: a command or message was refused with a final reply.
func (m *Log) Rejected(session, id, what, address, client string, code int, enhanced, text string) {
	m.event("rejected", "session", session, "id", id, "what", what, "address", address, "client", client, "code", code, "enhanced", enhanced, "text", text)
}

// Delivered: a local delivery is durable in a mailbox.
func (m *Log) Delivered(id, rcpt, mailbox string) {
	m.event("delivered", "id", id, "to", rcpt, "mailbox", mailbox)
}

// Queued: a message (or some of its recipients) went to the relay queue.
func (m *Log) Queued(id string, rcpts []string) {
	m.event("queued", "id", id, "to", strings.Join(rcpts, ","))
}

// Attempt: one outgoing delivery attempt for one recipient.
func (m *Log) Attempt(id, rcpt, host, ip, phase string, code int, enhanced, text string, d time.Duration) {
	m.event("attempt", "id", id, "to", rcpt, "host", host, "ip", ip, "phase", phase, "code", code, "enhanced", enhanced, "text", text, "duration", d.Round(time.Millisecond))
}

// Bounce: one bounced recipient read from a mail that came back (a DSN, a
// complaint, an auto-reply), and what the status store did with it.
func (m *Log) Bounce(id, envelope, rcpt, campaign string, row int64, code int, status, reason, blame, kind, outcome string) {
	m.event("bounce", "id", id, "envelope", envelope, "to", rcpt, "campaign", campaign, "row", row, "code", code,
		"status", status, "reason", reason, "blame", blame, "kind", kind, "outcome", outcome)
}

// Failed: a local delivery attempt failed and will be retried.
func (m *Log) Failed(id, rcpt, mailbox string, err error) {
	m.event("failed", "id", id, "to", rcpt, "mailbox", mailbox, "err", err.Error())
}
