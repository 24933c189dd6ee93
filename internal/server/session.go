package server

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/spf"
	"github.com/hikyaku/hikyaku/internal/spool"
)

// readerSize bounds what a session buffers from the client: a full
// command line plus pipelined ones fits, and 10,000 idle sessions stay
// cheap because the buffers are pooled while a session waits (see
// waitForInput).
const readerSize = 4096

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readerSize) }}

// session is one SMTP connection.
type session struct {
	srv  *Server
	kind Kind
	conn net.Conn    // the raw connection: deadlines, close (other goroutines use it)
	in   *prefixConn // what the reader reads: conn, or the TLS layer over it, plus the byte waitForInput took
	ip   netip.Addr
	id   string
	log  *slog.Logger

	br *bufio.Reader
	w  *protocol.ReplyWriter

	helo     string
	esmtp    bool
	greeted  bool
	errors   int
	tx       *transaction
	tls      *tls.ConnectionState // nil in clear
	authUser string               // the authenticated user's address, lower case; "" = not authenticated
	denied   bool                 // refused at connect: 503 to everything but QUIT
	authMech string
	authAdv  bool        // AUTH was in the last EHLO reply (MAIL's AUTH= parameter needs it)
	idle     atomic.Bool // waiting for a command: Shutdown may interrupt
	shutdown atomic.Bool
	quit     bool
}

// transaction is the state between MAIL and the end of DATA/BDAT LAST.
type transaction struct {
	from       protocol.Path
	params     protocol.Params
	smtputf8   bool
	body       string
	envID      string
	ret        string
	rcpts      []spool.Recipient
	rcptAddrs  []string // as given, one per accepted RCPT, for logs
	mailboxes  map[string]bool
	bdat       *bdatState
	spf        spf.Result // MAIL FROM's SPF result, when checked
	spfChecked bool
}

func newSession(s *Server, conn net.Conn, ip netip.Addr, kind Kind) *session {
	id := s.newSessionID()
	return &session{
		srv:  s,
		kind: kind,
		conn: conn,
		in:   &prefixConn{Conn: conn},
		ip:   ip,
		id:   id,
		log:  s.Logger.With("session", id, "client", ip.String()),
		w:    protocol.NewReplyWriter(conn),
	}
}

// refuse answers a connection the server will not serve, then closes it.
// An implicit-TLS client cannot read a reply in clear, so it only sees
// the connection close.
func (c *session) refuse(r codes.Reply) {
	if c.kind == Submissions {
		c.conn.Close()
		return
	}
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	c.send(reply(r, c.srv.cfg.Hostname))
	c.w.Flush()
	c.conn.Close()
}

func (c *session) run() {
	defer c.conn.Close()
	c.log.Debug("session start", "listener", c.kind.String())
	if c.kind == Submissions && !c.implicitTLS() {
		return
	}
	greeting := reply(codes.Greeting, c.srv.cfg.Hostname)
	if r, deny := c.connectPolicy(); r.Code != 0 {
		greeting, c.denied = r, deny
		c.quit = r.Close
	}
	c.send(greeting)
	if c.flush() != nil {
		return
	}
	for !c.quit {
		line, err := c.readCommand()
		if err != nil {
			if !c.handleReadError(err) {
				break
			}
			continue
		}
		r := c.dispatch(line)
		if r.Code != 0 {
			c.send(r)
		}
		if r.Close {
			c.quit = true
		}
		// PIPELINING (RFC 2920): flush only when the client is waiting
		// for us, i.e. it has sent nothing more yet.
		if c.quit || c.buffered() == 0 {
			if c.flush() != nil {
				break
			}
		}
	}
	c.flush()
	if tc, ok := c.in.Conn.(*tls.Conn); ok {
		// close_notify, so that the client can tell our close from a
		// truncation (OpenSSL 3 reports the latter as an error).
		c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		tc.CloseWrite()
	}
	c.releaseReader()
	c.log.Debug("session end")
}

// readCommand waits for one command line. While it waits with nothing
// buffered, the bufio.Reader goes back to the pool so that idle sessions
// cost only their goroutine and socket.
func (c *session) readCommand() ([]byte, error) {
	if c.br == nil || c.br.Buffered() == 0 {
		c.releaseReader()
		if err := c.waitForInput(); err != nil {
			return nil, err
		}
		c.ensureReader()
	}
	c.conn.SetReadDeadline(time.Now().Add(c.srv.cfg.SMTP.CommandTimeout.D()))
	return protocol.ReadLine(c.br, protocol.MaxCommandLine)
}

func (c *session) ensureReader() {
	if c.br == nil {
		c.br = readerPool.Get().(*bufio.Reader)
		c.br.Reset(c.in)
	}
}

func (c *session) releaseReader() {
	if c.br != nil && c.br.Buffered() == 0 {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
}

// waitForInput blocks until the client sends something, using a
// one-byte read into a small buffer that becomes the start of the line.
func (c *session) waitForInput() error {
	c.idle.Store(true)
	defer c.idle.Store(false)
	if c.shutdown.Load() {
		return errShutdown
	}
	c.conn.SetReadDeadline(time.Now().Add(c.srv.cfg.SMTP.CommandTimeout.D()))
	n, err := c.in.Conn.Read(c.in.buf[:])
	if c.shutdown.Load() && (err != nil || n == 0) {
		return errShutdown
	}
	if err != nil {
		return err
	}
	c.in.prefix = c.in.buf[:n]
	return nil
}

var errShutdown = errors.New("server shutting down")

// prefixConn returns the byte already read by waitForInput before
// reading the connection again.
type prefixConn struct {
	net.Conn
	prefix []byte
	buf    [1]byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// handleReadError answers what can be answered and says whether the
// session goes on.
func (c *session) handleReadError(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, protocol.ErrLineTooLong):
		c.sendCounted(reply(codes.LineTooLong, protocol.MaxCommandLine))
		return c.flushAfterError()
	case errors.Is(err, protocol.ErrBareLineEnding):
		c.sendCounted(reply(codes.BareLFCommand))
		return c.flushAfterError()
	case errors.Is(err, errShutdown) || c.shutdown.Load():
		c.send(reply(codes.ShuttingDown, c.srv.cfg.Hostname))
	case errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded):
		c.log.Info("command timeout")
		c.send(reply(codes.CommandTimeout, c.srv.cfg.Hostname))
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		c.log.Debug("client closed connection", "state", c.state())
	default:
		c.log.Debug("read error", "err", err)
	}
	return false
}

func (c *session) flushAfterError() bool {
	if c.quit {
		return false
	}
	if c.buffered() == 0 {
		return c.flush() == nil
	}
	return true
}

func (c *session) state() string {
	switch {
	case c.tx != nil:
		return "transaction"
	case c.greeted:
		return "greeted"
	}
	return "connected"
}

// buffered is how much the client has sent that is not read yet.
func (c *session) buffered() int {
	if c.br == nil {
		return 0
	}
	return c.br.Buffered()
}

// send queues a reply and counts it. Protocol errors (500-504) count
// toward the error limit (docs/conventions.md habit 7: defend the loop); policy refusals such
// as 550 for an unknown user do not, so a sender with a stale list is not
// cut off.
func (c *session) send(r protocol.Reply) { c.sendCounting(r, r.Code >= 500 && r.Code <= 504) }

// sendCounting is send with the caller deciding whether r is an error
// (failed AUTH attempts count, though 535 is not a protocol error).
func (c *session) sendCounting(r protocol.Reply, isError bool) {
	c.srv.Metrics.Reply(r.Code, r.Enhanced)
	if isError {
		c.errors++
		if max := c.srv.cfg.SMTP.MaxErrors; max > 0 && c.errors >= max && !r.Close {
			c.w.Write(r)
			c.log.Info("too many errors; closing", "errors", c.errors)
			r = reply(codes.TooManyErrors, c.srv.cfg.Hostname)
			r.Close = true
			c.quit = true
			c.srv.Metrics.Reply(r.Code, r.Enhanced)
		}
	}
	if r.Code >= 400 {
		c.log.Debug("reply", "reply", r.String())
	}
	c.w.Write(r)
}

// sendCounted is send for replies outside dispatch.
func (c *session) sendCounted(r protocol.Reply) { c.send(r) }

func (c *session) flush() error {
	c.conn.SetWriteDeadline(time.Now().Add(c.srv.cfg.SMTP.CommandTimeout.D()))
	return c.w.Flush()
}

// interruptIfIdle is Shutdown's way in: a session waiting for a command
// gets 421 4.3.2 at once; one busy in a command finishes it first.
func (c *session) interruptIfIdle() {
	c.shutdown.Store(true)
	if c.idle.Load() {
		c.conn.SetReadDeadline(time.Now())
	}
}

// handler answers one command; arg is the text after the verb.
type handler func(c *session, arg string) protocol.Reply

// dispatch runs one command with panic recovery (docs/conventions.md habit 7).
func (c *session) dispatch(line []byte) (r protocol.Reply) {
	cmd := protocol.ParseCommand(line)
	defer func() {
		if p := recover(); p != nil {
			c.srv.Metrics.PanicsRecovered.Inc()
			c.log.Error("panic in command handler", "verb", cmd.Verb, "panic", p, "stack", string(debug.Stack()))
			r = reply(codes.InternalError, c.srv.cfg.Hostname)
			r.Close = true
		}
	}()
	if c.denied && cmd.Verb != "QUIT" {
		return reply(codes.AfterDeny)
	}
	if h, ok := commands[cmd.Verb]; ok {
		return h(c, cmd.Arg)
	}
	if protocol.IsHTTPVerb(cmd.Verb) {
		c.log.Info("HTTP request on SMTP port; closing", "verb", cmd.Verb)
		r := reply(codes.HTTPRefused, c.srv.cfg.Hostname)
		r.Close = true
		return r
	}
	if vi, ok := protocol.LookupVerb(cmd.Verb); ok && vi.Obsolete {
		return reply(codes.NotImplemented, cmd.Verb)
	}
	return reply(codes.UnknownCommand, truncate(string(bytes.TrimSpace(line)), 40))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
