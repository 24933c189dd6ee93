package smtpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// Timeouts bound each phase. A zero field takes the default.
type Timeouts struct {
	Connect  time.Duration // TCP connect
	Greeting time.Duration // the 220 greeting
	Helo     time.Duration // EHLO/HELO, sending and reply
	StartTLS time.Duration // STARTTLS, its reply and the handshake
	Mail     time.Duration // MAIL FROM, and the pipelined group it opens
	Rcpt     time.Duration // each RCPT TO reply
	Data     time.Duration // the DATA command's 354
	Block    time.Duration // each write of message content, the final dot included
	Dot      time.Duration // the reply to the final dot
	Rset     time.Duration
	Quit     time.Duration
}

// DefaultTimeouts are RFC 5321 §4.5.3.2's where it names one (greeting
// 5m, MAIL 5m, RCPT 5m, DATA initiation 2m, data block 3m, DATA
// termination 10m) and Postfix's choices elsewhere: connect 30s, HELO 5m,
// STARTTLS 5m. RSET and QUIT get 1m: RSET only checks that an idle
// connection still works, and nothing waits on QUIT's reply.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		Connect:  30 * time.Second,
		Greeting: 5 * time.Minute,
		Helo:     5 * time.Minute,
		StartTLS: 5 * time.Minute,
		Mail:     5 * time.Minute,
		Rcpt:     5 * time.Minute,
		Data:     2 * time.Minute,
		Block:    3 * time.Minute,
		Dot:      10 * time.Minute,
		Rset:     time.Minute,
		Quit:     time.Minute,
	}
}

func (t Timeouts) withDefaults() Timeouts {
	d := DefaultTimeouts()
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.Connect, &d.Connect}, {&t.Greeting, &d.Greeting}, {&t.Helo, &d.Helo},
		{&t.StartTLS, &d.StartTLS}, {&t.Mail, &d.Mail}, {&t.Rcpt, &d.Rcpt},
		{&t.Data, &d.Data}, {&t.Block, &d.Block}, {&t.Dot, &d.Dot},
		{&t.Rset, &d.Rset}, {&t.Quit, &d.Quit},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

// Options configure one connection.
type Options struct {
	HeloName string // the EHLO/HELO argument; "localhost" when empty
	Timeouts Timeouts
	// TLS, when set, makes the client use STARTTLS when the peer offers
	// it. The caller chooses verification: opportunistic TLS (the
	// default of docs/spec.md §3) sets InsecureSkipVerify. ServerName defaults to
	// the host name given to Dial.
	TLS *tls.Config
	// RequireTLS fails the connection when the peer offers no STARTTLS
	// (602), refuses it (its reply), or the handshake fails (602).
	// Without it those cases go on in plain text (RFC 3207 §4.1,
	// opportunistic TLS). With TLS nil it requires encryption only, the
	// certificate unchecked (Postfix's level "encrypt").
	RequireTLS bool
	LocalAddr  netip.Addr // source address; zero: the kernel's choice
	Logger     *slog.Logger
}

// Dial connects to addr and makes the connection ready for Send: the
// greeting, EHLO (HELO when EHLO is refused with a 5xx, RFC 5321 §3.2),
// STARTTLS when offered and opts.TLS is set, and EHLO again over TLS
// (RFC 3207 §4.2). host is the mail host's name, used for SNI, logs and
// Result.Host.
//
// The error is an *Error: 601 when the connection could not be made
// (refused, unreachable, connect timeout), 609 when no socket could be
// created (descriptor or port exhaustion), 620/640 for the greeting,
// 621/641/660/680 for EHLO/HELO, 602/610 for STARTTLS and its handshake,
// 602 for a malformed reply, or the remote reply itself when the greeting
// is not 220 or EHLO/HELO is refused.
//
// An opportunistic handshake that fails for a reason other than a lost
// connection or a timeout (no common cipher, a certificate the TLS config
// rejects) is retried once in plain text on a new connection, as Postfix
// does at security level "may".
func Dial(ctx context.Context, host string, addr netip.AddrPort, opt Options) (*Client, error) {
	return dial(ctx, host, addr, opt, nil)
}

// dial is Dial with a hook that wraps the connection, for tests that make
// writes fail where loopback cannot.
func dial(ctx context.Context, host string, addr netip.AddrPort, opt Options, wrap func(net.Conn) net.Conn) (*Client, error) {
	c := &Client{host: host, ip: addr.Addr().String(), opt: opt, t: opt.Timeouts.withDefaults(), log: opt.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if opt.RequireTLS && opt.TLS == nil {
		c.opt.TLS = &tls.Config{InsecureSkipVerify: true}
		opt = c.opt
	}
	if c.opt.HeloName == "" {
		c.opt.HeloName = "localhost"
	}
	stop := c.watch(ctx)
	defer stop()

	d := net.Dialer{Timeout: c.t.Connect}
	if opt.LocalAddr.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: opt.LocalAddr.AsSlice()}
	}
	conn, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, c.dialFailure(err)
	}
	if wrap != nil {
		conn = wrap(conn)
	}
	c.setConn(conn)
	c.br = bufio.NewReaderSize(conn, 4096)
	if err := c.greet(); err != nil {
		return nil, err
	}
	if err := c.hello(); err != nil {
		return nil, err
	}
	if opt.TLS != nil {
		_, offered := c.ext["STARTTLS"]
		switch {
		case offered:
			retry, err := c.startTLS(ctx)
			if retry {
				c.log.Info("TLS handshake failed; retrying in plain text", "host", host, "ip", c.ip, "err", err.Err)
				plain := opt
				plain.TLS = nil
				return dial(ctx, host, addr, plain, wrap)
			}
			if err != nil {
				return nil, err
			}
		case opt.RequireTLS:
			return nil, c.policyFailure("TLS required, but the remote host does not offer STARTTLS")
		}
	}
	return c, nil
}

// dialFailure: 609 when the socket itself could not be had (the queue
// must pause, no host is to blame), else 601.
func (c *Client) dialFailure(err error) *Error {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.EADDRNOTAVAIL, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return &Error{Result: c.own(609, e.Error()), Err: err}
		}
	}
	detail := lostDetail(err)
	if c.isTimeout(err) {
		detail = "connect timeout after " + c.t.Connect.String()
		if c.ctx.Err() != nil {
			detail = "stopped: " + context.Cause(c.ctx).Error()
		}
	}
	return &Error{Result: c.own(601, detail), Err: err}
}

func (c *Client) greet() *Error {
	cmd := command{phase: codes.PhaseGreeting, timeout: c.t.Greeting}
	r, err := c.readReplyFor(cmd)
	if err != nil {
		return err
	}
	if r.code != 220 {
		// RFC 5321 §3.1: after a 554 greeting the client should QUIT.
		res := c.remote(r, codes.PhaseGreeting, "")
		c.quitQuietly()
		return &Error{Result: res}
	}
	return nil
}

// hello sends EHLO, and HELO when EHLO gets a 5xx (500, 502, 504, 550 in
// practice; RFC 5321 §4.1.4 lets an old server refuse EHLO).
func (c *Client) hello() *Error {
	ehlo := command{phase: codes.PhaseHelo, line: "EHLO " + c.opt.HeloName, timeout: c.t.Helo}
	if err := c.writeCommands([]command{ehlo}); err != nil {
		return err
	}
	r, err := c.readReplyFor(ehlo)
	if err != nil {
		return err
	}
	if r.code == 250 {
		c.parseExtensions(r)
		return nil
	}
	if r.code < 500 {
		res := c.remote(r, codes.PhaseHelo, ehlo.line)
		c.quitQuietly()
		return &Error{Result: res}
	}
	helo := command{phase: codes.PhaseHelo, line: "HELO " + c.opt.HeloName, timeout: c.t.Helo}
	if err := c.writeCommands([]command{helo}); err != nil {
		return err
	}
	r, err = c.readReplyFor(helo)
	if err != nil {
		return err
	}
	if r.code != 250 {
		res := c.remote(r, codes.PhaseHelo, helo.line)
		c.quitQuietly()
		return &Error{Result: res}
	}
	c.ext = map[string]string{}
	c.maxSize, c.pipelining = 0, false
	return nil
}

// parseExtensions reads the EHLO keywords (RFC 5321 §4.1.1.1): every line
// after the first is "KEYWORD [params]".
func (c *Client) parseExtensions(r reply) {
	c.ext = make(map[string]string, len(r.lines))
	for _, l := range r.lines[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		if k == "" {
			continue
		}
		c.ext[strings.ToUpper(k)] = strings.TrimSpace(v)
	}
	c.maxSize = 0
	if v, ok := c.ext["SIZE"]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			c.maxSize = n // SIZE 0 or none: no fixed limit (RFC 1870 §4)
		}
	}
	_, c.pipelining = c.ext["PIPELINING"]
}

// startTLS runs STARTTLS and the handshake. retry says the handshake
// failed in a way a plain-text connection may avoid (opportunistic only).
// A connection lost or timed out on the way is 602/610: STARTTLS is none
// of the named phases.
func (c *Client) startTLS(ctx context.Context) (retry bool, _ *Error) {
	cmd := command{phase: codes.PhaseOther, line: "STARTTLS", timeout: c.t.StartTLS}
	if err := c.writeCommands([]command{cmd}); err != nil {
		return false, err
	}
	r, err := c.readReplyFor(cmd)
	if err != nil {
		return false, err
	}
	if r.code != 220 {
		if c.opt.RequireTLS {
			res := c.remote(r, codes.PhaseOther, cmd.line)
			c.quitQuietly()
			return false, &Error{Result: res}
		}
		return false, nil // RFC 3207 §4.1: go on without TLS
	}
	cfg := c.opt.TLS.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = strings.TrimSuffix(c.host, ".")
	}
	tc := tls.Client(c.conn, cfg)
	c.setDeadline(c.t.StartTLS, true)
	c.setDeadline(c.t.StartTLS, false)
	if herr := tc.HandshakeContext(ctx); herr != nil {
		if !c.opt.RequireTLS && !c.isTimeout(herr) && !isLost(herr) {
			c.broken = true
			c.conn.Close()
			return true, &Error{Err: herr}
		}
		if !c.isTimeout(herr) && !isLost(herr) {
			c.broken = true
			c.conn.Close()
			res := c.own(602, "TLS required, but the handshake failed: "+herr.Error())
			res.Phase, res.Command = codes.PhaseOther, "STARTTLS"
			return false, &Error{Result: res, Err: herr}
		}
		e := c.fail(codes.PhaseOther, false, "STARTTLS", c.t.StartTLS, herr)
		e.Result.Text = strings.Replace(e.Result.Text, ": ", ": TLS handshake: ", 1)
		return false, e
	}
	c.setConn(tc)
	c.tls = true
	c.br.Reset(tc)
	return false, c.hello()
}

// isLost says the error is the connection going away, not TLS refusing.
func isLost(err error) bool {
	var op *net.OpError
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &op)
}

// policyFailure ends the connection for a rule of ours (RequireTLS).
func (c *Client) policyFailure(detail string) *Error {
	res := c.own(602, detail)
	res.Phase = codes.PhaseOther
	c.quitQuietly()
	return &Error{Result: res}
}

// quitQuietly says QUIT on a connection being given up and closes it;
// nothing it meets matters.
func (c *Client) quitQuietly() {
	if !c.broken {
		c.setDeadline(time.Second, true)
		c.conn.Write([]byte("QUIT\r\n"))
	}
	c.broken = true
	c.conn.Close()
}

// Extensions returns the EHLO keywords (upper case) and their parameters;
// empty after a HELO.
func (c *Client) Extensions() map[string]string {
	m := make(map[string]string, len(c.ext))
	for k, v := range c.ext {
		m[k] = v
	}
	return m
}

// MaxSize is the peer's SIZE limit, 0 when it states none.
func (c *Client) MaxSize() int64 { return c.maxSize }

// TLS says whether the connection runs over STARTTLS.
func (c *Client) TLS() bool { return c.tls }

// Usable says whether the connection may carry another transaction.
func (c *Client) Usable() bool { return !c.broken }

// Host and IP name the peer, as results do.
func (c *Client) Host() string { return c.host }
func (c *Client) IP() string   { return c.ip }
