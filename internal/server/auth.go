package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/auth"
	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/protocol"
)

// authEnabled says whether this listener authenticates at all.
func (c *session) authEnabled() bool {
	return c.srv.auth != nil && (c.kind != MX || c.srv.cfg.Auth.OnMX)
}

// authOffered says whether EHLO lists AUTH now: on an encrypted
// connection, or in clear only when allow_plaintext says so.
func (c *session) authOffered() bool {
	return c.authEnabled() && c.authUser == "" && (c.tls != nil || c.srv.cfg.Auth.AllowPlaintext)
}

// mechanisms lists what EHLO offers, strongest first.
func (c *session) mechanisms() []string {
	var m []string
	if auth.ChannelBindingAvailable(c.tls) {
		m = append(m, auth.SCRAMSHA256Plus)
	}
	m = append(m, auth.SCRAMSHA256)
	if c.srv.cfg.Auth.CRAMMD5 {
		m = append(m, auth.CRAMMD5)
	}
	return append(m, auth.Plain, auth.Login)
}

// maxAuthRounds bounds the challenges of one exchange; SCRAM needs three.
const maxAuthRounds = 5

// cmdAUTH runs one SASL exchange (RFC 4954). Replies go out from here,
// because a failed attempt counts toward max_errors although 535 is not
// a protocol error.
func (c *session) cmdAUTH(arg string) protocol.Reply {
	switch {
	case !c.greeted || !c.esmtp:
		return reply(codes.AuthNotNow, "send EHLO first")
	case !c.authEnabled():
		return reply(codes.AuthNotNow, "authentication not enabled here")
	case c.authUser != "":
		return reply(codes.AuthNotNow, "already authenticated")
	case c.tx != nil:
		return reply(codes.AuthNotNow, "not during a mail transaction")
	}
	fields := strings.Fields(arg)
	if len(fields) == 0 || len(fields) > 2 {
		return reply(codes.BadCommandSyntax, "AUTH mechanism [initial-response]")
	}
	mech := strings.ToUpper(fields[0])
	switch {
	case !auth.Known(mech) || mech == auth.SCRAMSHA256Plus && !auth.ChannelBindingAvailable(c.tls):
		return reply(codes.AuthUnknownMech, truncate(fields[0], 40))
	case mech == auth.CRAMMD5 && !c.srv.cfg.Auth.CRAMMD5:
		// Refused by policy: it needs a password-equivalent secret stored.
		return reply(codes.AuthTooWeak)
	case c.tls == nil && !c.srv.cfg.Auth.AllowPlaintext && c.kind == Submission:
		return reply(codes.TLSRequired)
	case c.tls == nil && !c.srv.cfg.Auth.AllowPlaintext:
		return reply(codes.AuthNeedsTLS)
	}
	if ok, hold := c.srv.limiter.Admit(c.ip); !ok {
		c.pause(hold)
		c.srv.m.authAttempts.WithLabelValues(mech, "throttled").Inc()
		c.log.Info("AUTH refused: too many failures from this network", "mechanism", mech)
		c.sendCounting(reply(codes.AuthThrottled), true)
		return protocol.Reply{}
	}
	var resp []byte
	if len(fields) == 2 {
		if fields[1] == "=" {
			resp = []byte{} // an empty initial response (RFC 4954 §4)
		} else {
			var err error
			if resp, err = decodeBase64(fields[1]); err != nil {
				return c.authEnd(mech, "error", reply(codes.AuthBadBase64))
			}
		}
	}
	ex, err := c.srv.auth.Start(mech, c.tls)
	if err != nil {
		return reply(codes.AuthUnknownMech, truncate(fields[0], 40))
	}
	for range maxAuthRounds {
		start := time.Now()
		ch, done, err := ex.Next(resp)
		if done || err != nil {
			c.srv.m.authHashSeconds.Observe(time.Since(start).Seconds())
		}
		switch {
		case err != nil:
			return c.authFailed(ex, mech, err)
		case done:
			return c.authSucceeded(ex, mech)
		}
		c.sendChallenge(ch)
		if c.flush() != nil {
			return closeReply()
		}
		line, err := c.readAuthLine()
		switch {
		case errors.Is(err, protocol.ErrLineTooLong):
			return c.authEnd(mech, "error", reply(codes.AuthLineTooLong))
		case errors.Is(err, protocol.ErrBareLineEnding):
			return c.authEnd(mech, "error", reply(codes.BareLFCommand))
		case err != nil:
			c.log.Debug("connection lost during AUTH", "err", err)
			return closeReply()
		case string(line) == "*":
			return c.authEnd(mech, "cancelled", reply(codes.AuthCancelled))
		}
		if resp, err = decodeBase64(string(line)); err != nil {
			return c.authEnd(mech, "error", reply(codes.AuthBadBase64))
		}
	}
	return c.authFailed(ex, mech, errors.New("too many rounds"))
}

func (c *session) authEnd(mech, result string, r protocol.Reply) protocol.Reply {
	c.srv.m.authAttempts.WithLabelValues(mech, result).Inc()
	return r
}

// sendChallenge writes "334 <base64>". An empty challenge must still be
// "334 " with its space (RFC 4954 §4's grammar; Go's textproto refuses a
// bare "334"), which the reply writer would trim, so it goes out raw.
func (c *session) sendChallenge(ch []byte) {
	if len(ch) > 0 {
		c.send(reply(codes.AuthChallenge, base64.StdEncoding.EncodeToString(ch)))
		return
	}
	c.srv.Metrics.Reply(codes.AuthChallenge.Code, "")
	if c.flush() == nil {
		fmt.Fprintf(c.in.Conn, "%d \r\n", codes.AuthChallenge.Code)
	}
}

// decodeBase64 takes padded base64 (RFC 4648 §4), and unpadded too, as
// some clients send it.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil && len(s)%4 != 0 {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	return b, err
}

// readAuthLine reads one response line, up to RFC 4954's 12288 octets.
func (c *session) readAuthLine() ([]byte, error) {
	c.ensureReader()
	c.conn.SetReadDeadline(time.Now().Add(c.srv.cfg.SMTP.CommandTimeout.D()))
	return protocol.ReadLine(c.br, protocol.MaxAuthLine)
}

// authFailed answers a failed exchange after the throttle's delay.
func (c *session) authFailed(ex auth.Exchange, mech string, err error) protocol.Reply {
	switch {
	case errors.Is(err, auth.ErrInitialResponse):
		return c.authEnd(mech, "error", reply(codes.AuthNoInitial, mech))
	case errors.Is(err, auth.ErrUnavailable):
		// Not the client's fault: no count, no delay.
		c.log.Error("AUTH: credential store unavailable", "mechanism", mech, "user", ex.User(), "err", err)
		return c.authEnd(mech, "unavailable", reply(codes.AuthTempFail))
	}
	hold, throttled := c.srv.limiter.Settle(c.ip, ex.User(), false)
	c.pause(hold)
	c.log.Info("AUTH failed", "mechanism", mech, "user", ex.User(), "err", err)
	r := reply(codes.AuthFailed)
	result := "failure"
	if throttled {
		r, result = reply(codes.AuthThrottled), "throttled"
	}
	c.srv.m.authAttempts.WithLabelValues(mech, result).Inc()
	c.sendCounting(r, true)
	return protocol.Reply{}
}

func (c *session) authSucceeded(ex auth.Exchange, mech string) protocol.Reply {
	hold, throttled := c.srv.limiter.Settle(c.ip, ex.User(), true)
	c.pause(hold)
	if throttled {
		c.srv.m.authAttempts.WithLabelValues(mech, "throttled").Inc()
		c.sendCounting(reply(codes.AuthThrottled), true)
		return protocol.Reply{}
	}
	c.authUser = strings.ToLower(strings.TrimSpace(ex.User()))
	c.authMech = mech
	c.log = c.log.With("user", c.authUser)
	c.log.Info("authenticated", "mechanism", mech)
	c.srv.m.authAttempts.WithLabelValues(mech, "success").Inc()
	return reply(codes.AuthOK)
}

// pause holds an answer, but never past the command timeout.
func (c *session) pause(d time.Duration) {
	if d > 0 {
		time.Sleep(min(d, c.srv.cfg.SMTP.CommandTimeout.D()))
	}
}

// ownsSender says whether the authenticated user may use addr as MAIL
// FROM: its own address (any case, any +tag), or an address whose mail
// reaches the user's mailbox (an alias or list with the user in it).
func (c *session) ownsSender(addr string) bool {
	addr = strings.ToLower(addr)
	if addr == c.authUser {
		return true
	}
	if local, domain, ok := protocol.SplitAddress(addr); ok {
		if base, _, tagged := strings.Cut(local, "+"); tagged && base+"@"+domain == c.authUser {
			return true
		}
	}
	dir := c.srv.Directory
	if dir == nil {
		return false
	}
	own := dir.Resolve(c.authUser)
	if own.Kind != mailbox.KindMailbox {
		return false
	}
	res := dir.Resolve(addr)
	for _, mb := range res.Mailboxes {
		for _, o := range own.Mailboxes {
			if mb == o {
				return true
			}
		}
	}
	return false
}
