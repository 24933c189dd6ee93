package smtpclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

// Error is what Dial, Send, Reset and Quit return when the connection
// cannot be used any more: a refusal at greeting or HELO, or a failure
// that maps to one result code. Err is the underlying cause (a network
// error, a TLS error, the context's error), nil for a remote reply.
type Error struct {
	Result outcome.Result
	Err    error
}

func (e *Error) Error() string {
	s := "smtpclient: " + e.Result.Host
	if e.Result.IP != "" {
		s += " [" + e.Result.IP + "]"
	}
	return s + ": " + e.Result.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Client is one SMTP connection to one mail host. It is not safe for
// concurrent use: one transaction at a time, which is what SMTP allows.
type Client struct {
	host string
	ip   string
	opt  Options
	t    Timeouts
	log  *slog.Logger

	conn net.Conn
	br   *bufio.Reader
	out  []byte // commands or content waiting for one write

	ext        map[string]string
	maxSize    int64
	tls        bool
	pipelining bool
	// dirty: a MAIL was accepted and no end-of-data reply has closed the
	// transaction, so the next Send starts with RSET.
	dirty bool
	// broken: the connection failed; nothing more is sent on it.
	broken bool

	// ctx is the context of the running call; mu guards cancelled, which
	// its cancellation sets (see watch).
	ctx       context.Context
	mu        sync.Mutex
	cancelled bool
}

// watch makes the cancellation of ctx end any read or write in progress
// by moving the connection's deadline into the past. The failure that
// follows is reported as the phase's timeout, with the context's error.
func (c *Client) watch(ctx context.Context) (stop func()) {
	c.ctx = ctx
	c.mu.Lock()
	c.cancelled = false
	c.mu.Unlock()
	if ctx.Done() == nil {
		return func() {}
	}
	done := make(chan struct{})
	stopf := context.AfterFunc(ctx, func() {
		defer close(done)
		c.mu.Lock()
		c.cancelled = true
		if c.conn != nil { // nil while Dial is still connecting: DialContext watches ctx itself
			c.conn.SetDeadline(time.Unix(1, 0))
		}
		c.mu.Unlock()
	})
	return func() {
		if !stopf() {
			<-done // it ran or is running; let it finish before the next call resets the flag
		}
	}
}

// setConn installs the connection (the TCP one, then the TLS one) where
// a cancellation can reach it.
func (c *Client) setConn(conn net.Conn) {
	c.mu.Lock()
	c.conn = conn
	if c.cancelled {
		conn.SetDeadline(time.Unix(1, 0))
	}
	c.mu.Unlock()
}

// setDeadline sets now+d, or the context's deadline when that comes first;
// a cancelled call gets one in the past.
func (c *Client) setDeadline(d time.Duration, write bool) {
	t := time.Now().Add(d)
	if c.ctx != nil {
		if dl, ok := c.ctx.Deadline(); ok && dl.Before(t) {
			t = dl
		}
	}
	c.mu.Lock()
	if c.cancelled {
		t = time.Unix(1, 0)
	}
	if write {
		c.conn.SetWriteDeadline(t)
	} else {
		c.conn.SetReadDeadline(t)
	}
	c.mu.Unlock()
}

// command is one line to send, with the phase it belongs to and the time
// allowed for its reply.
type command struct {
	phase   codes.Phase
	line    string
	timeout time.Duration
}

// writeCommands sends cmds in one write (RFC 2920 when there are several).
// When the write fails, the command whose octets were being written when
// it failed names the phase: the kernel had taken everything before it.
func (c *Client) writeCommands(cmds []command) *Error {
	c.out = c.out[:0]
	ends := make([]int, len(cmds))
	for i, cmd := range cmds {
		c.out = append(c.out, cmd.line...)
		c.out = append(c.out, '\r', '\n')
		ends[i] = len(c.out)
	}
	c.debug("send", "lines", len(cmds), "first", cmds[0].line)
	c.setDeadline(cmds[0].timeout, true)
	n, err := c.conn.Write(c.out)
	if err == nil {
		return nil
	}
	k := 0
	for k < len(cmds)-1 && n >= ends[k] {
		k++
	}
	return c.fail(cmds[k].phase, true, cmds[k].line, cmds[0].timeout, err)
}

// readReplyFor waits for the reply to cmd.
func (c *Client) readReplyFor(cmd command) (reply, *Error) {
	c.setDeadline(cmd.timeout, false)
	r, err := readReply(c.br)
	if err != nil {
		return reply{}, c.fail(cmd.phase, false, cmd.line, cmd.timeout, err)
	}
	c.debug("reply", "command", cmd.line, "reply", r.String())
	return r, nil
}

// fail turns a failure of the connection in phase p into its one result
// code (docs/spec.md §4.2) and marks the client broken. sending says the failure
// came from a write; limit is the timeout that was running.
func (c *Client) fail(p codes.Phase, sending bool, cmd string, limit time.Duration, err error) *Error {
	c.broken = true
	if c.conn != nil {
		c.conn.Close()
	}
	var code int
	var detail string
	switch {
	case errors.Is(err, errMalformed):
		code, detail = 602, err.Error()
		if cmd != "" {
			detail += " (answering " + cmd + ")"
		}
	case c.isTimeout(err):
		code = codes.ConnectionResult(p, true, sending)
		detail = c.timeoutDetail(sending, limit)
	default:
		code = codes.ConnectionResult(p, false, sending)
		detail = lostDetail(err)
	}
	r := c.own(code, detail)
	r.Phase, r.Command = p, cmd
	// A failure after the final dot was sent, or while sending it, leaves
	// the outcome unknown (docs/spec.md §4.2: 625/645/665/685).
	r.MaybeDelivered = p == codes.PhaseDot
	return &Error{Result: r, Err: err}
}

func (c *Client) own(code int, detail string) outcome.Result {
	r := outcome.Own(code, detail)
	r.Host, r.IP = c.host, c.ip
	return r
}

func (c *Client) isTimeout(err error) bool {
	c.mu.Lock()
	cancelled := c.cancelled
	c.mu.Unlock()
	if cancelled || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (c *Client) timeoutDetail(sending bool, limit time.Duration) string {
	if c.ctx != nil && c.ctx.Err() == nil {
		// The connection's deadline is the context's when that is sooner,
		// and can fire a moment before the context's own timer marks it
		// done: a deadline already passed is the context's.
		if dl, ok := c.ctx.Deadline(); ok && !time.Now().Before(dl) {
			return "stopped: " + context.DeadlineExceeded.Error()
		}
	}
	if c.ctx != nil && c.ctx.Err() != nil {
		return "stopped: " + context.Cause(c.ctx).Error()
	}
	if sending {
		return fmt.Sprintf("write blocked for %v", limit)
	}
	return fmt.Sprintf("no reply within %v", limit)
}

// lostDetail says how the connection ended, without the addresses a
// *net.OpError repeats (the result carries host and IP already).
func lostDetail(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by the remote host"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the remote host"
	case errors.Is(err, syscall.EPIPE):
		return "connection closed by the remote host (broken pipe)"
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// ownAll gives every recipient without a result yet the same one.
func fillUnset(res []outcome.Result, r outcome.Result) {
	for i := range res {
		if res[i].Code == 0 {
			res[i] = r
		}
	}
}

func (c *Client) debug(msg string, args ...any) {
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug(msg, append([]any{"host", c.host, "ip", c.ip}, args...)...)
	}
}

// remote keeps a remote reply whole as a result (docs/conventions.md habit 8).
func (c *Client) remote(r reply, p codes.Phase, cmd string) outcome.Result {
	return outcome.Result{
		Code: r.code, Enhanced: r.enhanced, Text: r.text(), Command: cmd,
		Phase: p, Host: c.host, IP: c.ip, Reason: reasonFor(r.code, r.enhanced),
	}
}

// reasonFor is the Sisimai reason a reply implies by its codes alone: the
// enhanced code's when it names one (it is more specific), else the basic
// code's. The delivery engine may refine it from the reply text.
func reasonFor(code int, enhanced string) string {
	if enhanced != "" {
		if e, ok := codes.LookupEnhanced(enhanced); ok && e.Reason != "" {
			return e.Reason
		}
	}
	if c, ok := codes.LookupCode(code); ok {
		return c.Reason
	}
	return ""
}

// hasControl says whether an address would break the command line it goes
// into (CR, LF, NUL, other C0 controls, DEL, angle brackets).
func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '<' || r == '>' })
}
