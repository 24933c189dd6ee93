package server

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/intake"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/spool"
)

// cmdMAIL opens a transaction.
func (c *session) cmdMAIL(arg string) protocol.Reply {
	if !c.greeted {
		return reply(codes.NeedHelo)
	}
	if c.tx != nil {
		return reply(codes.SenderAlready)
	}
	// Submission listeners take mail only over TLS and only from users
	// (RFC 6409 §4.1, RFC 8314 §3.3).
	if c.kind != MX {
		if c.tls == nil && !c.srv.cfg.Auth.AllowPlaintext {
			return reply(codes.TLSRequired)
		}
		if c.authUser == "" {
			return reply(codes.AuthRequired)
		}
	}
	path, params, err := protocol.ParseMail(arg)
	if err != nil {
		return c.syntaxReply(err, codes.BadSenderSyntax)
	}
	if path.Postmaster {
		return reply(codes.BadSenderSyntax, "a reverse-path needs a domain")
	}
	tx := &transaction{from: path, params: params, body: "7BIT"}
	if len(params) > 0 && !c.esmtp {
		return reply(codes.UnknownParam, params[0].Key+" (no extensions after HELO)")
	}
	for _, p := range params {
		switch p.Key {
		case "SIZE":
			n, err := strconv.ParseInt(p.Value, 10, 64)
			if err != nil || n < 0 {
				return reply(codes.BadCommandSyntax, "SIZE needs a number")
			}
			if max := int64(c.srv.cfg.SMTP.MaxMessageSize); max > 0 && n > max {
				return reply(codes.SizeExceeded, max)
			}
			if free := c.srv.Spool.FreeBytes() - int64(c.srv.cfg.SMTP.MinFreeSpace); n > free {
				return reply(codes.SizeNoSpace)
			}
		case "BODY":
			switch v := strings.ToUpper(p.Value); v {
			case "7BIT", "8BITMIME":
				tx.body = v
			default:
				return reply(codes.UnknownParam, "BODY="+p.Value)
			}
		case "SMTPUTF8":
			if p.Value != "" {
				return reply(codes.BadCommandSyntax, "SMTPUTF8 takes no value")
			}
			tx.smtputf8 = true
		case "RET":
			switch v := strings.ToUpper(p.Value); v {
			case "FULL", "HDRS":
				tx.ret = v
			default:
				return reply(codes.BadCommandSyntax, "RET must be FULL or HDRS")
			}
		case "ENVID":
			id, err := protocol.DecodeXtext(p.Value)
			if err != nil || id == "" || len(p.Value) > 100 {
				return reply(codes.BadCommandSyntax, "ENVID must be xtext of at most 100 characters")
			}
			tx.envID = id
		case "AUTH":
			// RFC 4954 §5: the original submitter, as an earlier hop
			// vouched for it. Checked and accepted; not passed on, since
			// nothing here can vouch for the client that sent it.
			if !c.authAdv && c.authUser == "" {
				return reply(codes.UnknownParam, p.Key)
			}
			if p.Value != "<>" {
				if _, err := protocol.DecodeXtext(p.Value); err != nil || p.Value == "" {
					return reply(codes.BadCommandSyntax, "AUTH= must be <> or xtext")
				}
			}
		default:
			return reply(codes.UnknownParam, p.Key)
		}
	}
	if !path.Null && !path.Addr.IsASCII() && !tx.smtputf8 {
		return reply(codes.SenderUTF8Needed)
	}
	if c.authUser != "" && c.srv.cfg.Auth.SenderMustMatch && !path.Null && !c.ownsSender(path.Addr.String()) {
		c.log.Info("sender not owned by the authenticated user", "from", path.String())
		return reply(codes.SenderNotOwned, path.String(), c.authUser)
	}
	if r := c.senderPolicy(tx); r.Code != 0 {
		c.srv.MailLog.Rejected(c.id, "", "mail", tx.from.String(), c.ip.String(), r.Code, r.Enhanced, strings.Join(r.Lines, " "))
		return r
	}
	c.tx = tx
	c.log.Debug("sender", "from", path.String())
	return reply(codes.SenderOK, path.String())
}

// syntaxReply maps a parse error to 501 5.1.7/5.1.3 (the address) or
// 501 5.5.4 (the command line), RFC 5321 §4.1.4.
func (c *session) syntaxReply(err error, addrReply codes.Reply) protocol.Reply {
	var se *protocol.SyntaxError
	if errors.As(err, &se) && se.Address {
		return reply(addrReply, se.Msg)
	}
	return reply(codes.BadCommandSyntax, err.Error())
}

// cmdRCPT decides, for one recipient, local delivery, relay, or refusal.
func (c *session) cmdRCPT(arg string) protocol.Reply {
	if !c.greeted {
		return reply(codes.NeedHelo)
	}
	if c.tx == nil {
		return reply(codes.NeedMail)
	}
	path, params, err := protocol.ParseRcpt(arg)
	if err != nil {
		return c.syntaxReply(err, codes.BadRcptSyntax)
	}
	if len(params) > 0 && !c.esmtp {
		return reply(codes.UnknownParam, params[0].Key+" (no extensions after HELO)")
	}
	var notify, orcpt string
	for _, p := range params {
		switch p.Key {
		case "NOTIFY":
			if !validNotify(p.Value) {
				return reply(codes.BadCommandSyntax, "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY")
			}
			notify = strings.ToUpper(p.Value)
		case "ORCPT":
			typ, val, ok := strings.Cut(p.Value, ";")
			if !ok || typ == "" {
				return reply(codes.BadCommandSyntax, "ORCPT must be addr-type;xtext")
			}
			if _, err := protocol.DecodeXtext(val); err != nil {
				return reply(codes.BadCommandSyntax, "ORCPT value is not xtext")
			}
			orcpt = p.Value
		default:
			return reply(codes.UnknownParam, p.Key)
		}
	}
	if !path.Postmaster && !path.Addr.IsASCII() && !c.tx.smtputf8 {
		return reply(codes.RcptUTF8Needed)
	}
	if max := c.srv.cfg.SMTP.MaxRecipients; max > 0 && len(c.tx.rcptAddrs) >= max {
		return reply(codes.TooManyRcpts)
	}

	addr := path.String()
	if r := c.recipientPolicy(path); r.Code != 0 {
		c.srv.MailLog.Rejected(c.id, "", "rcpt", path.String(), c.ip.String(), r.Code, r.Enhanced, strings.Join(r.Lines, " "))
		return r
	}
	targets, r := c.route(path)
	if r.Code >= 400 {
		c.srv.MailLog.Rejected(c.id, "", "rcpt", addr, c.ip.String(), r.Code, r.Enhanced, strings.Join(r.Lines, " "))
		return r
	}
	for _, t := range targets {
		if t.Mailbox != "" {
			if c.tx.mailboxes == nil {
				c.tx.mailboxes = map[string]bool{}
			}
			// One copy per mailbox, however many addresses reach it.
			if c.tx.mailboxes[t.Mailbox] {
				continue
			}
			c.tx.mailboxes[t.Mailbox] = true
		}
		t.Address, t.Notify, t.ORCPT = addr, notify, orcpt
		c.tx.rcpts = append(c.tx.rcpts, t)
	}
	c.tx.rcptAddrs = append(c.tx.rcptAddrs, addr)
	return r
}

func validNotify(v string) bool {
	v = strings.ToUpper(v)
	if v == "NEVER" {
		return true
	}
	for _, f := range strings.Split(v, ",") {
		if f != "SUCCESS" && f != "FAILURE" && f != "DELAY" {
			return false
		}
	}
	return v != ""
}

// route resolves a recipient to its deliveries and the reply to give.
func (c *session) route(path protocol.Path) ([]spool.Recipient, protocol.Reply) {
	dir := c.srv.Directory
	if b := c.srv.Bounces; b != nil && !path.Postmaster {
		switch b.Check(context.Background(), path.Addr.String()) {
		case intake.Accept:
			return []spool.Recipient{{Mailbox: intake.MailboxPrefix + path.Addr.String()}}, reply(codes.RcptOK, path.String())
		case intake.Unknown:
			return nil, reply(codes.RcptUnknownUser, path.String())
		case intake.TryLater:
			return nil, reply(codes.RcptCheckLater, path.String())
		}
	}
	var address string
	switch {
	case path.Postmaster:
		// RFC 5321 §4.5.1: always accepted, exempt from every filter.
		address = "postmaster"
		if len(c.srv.cfg.Local.Domains) > 0 {
			address = "postmaster@" + c.srv.cfg.Local.Domains[0]
		}
	case dir.IsLocalDomain(path.Addr.Domain):
		address = path.Addr.String()
	default:
		if c.authUser == "" && !c.srv.relayAllowed(c.ip) {
			return nil, reply(codes.RcptRelayDenied, path.String())
		}
		return []spool.Recipient{{Relay: path.Addr.String()}}, reply(codes.RcptOK, path.String())
	}

	res := dir.Resolve(address)
	switch res.Kind {
	case mailbox.KindMoved:
		return nil, reply(codes.RcptMoved, res.MovedTo)
	case mailbox.KindMailbox, mailbox.KindAlias:
	default:
		return nil, reply(codes.RcptUnknownUser, path.String())
	}
	var out []spool.Recipient
	for _, mb := range res.Mailboxes {
		if !path.Postmaster && c.overQuota(mb) {
			if c.srv.cfg.Local.QuotaPermanent {
				return nil, reply(codes.QuotaPermanent, path.String())
			}
			return nil, reply(codes.QuotaTransient, path.String())
		}
		out = append(out, spool.Recipient{Mailbox: mb})
	}
	for _, f := range res.Forwards {
		out = append(out, spool.Recipient{Relay: f})
	}
	if len(res.Mailboxes) == 0 && len(res.Forwards) > 0 {
		return out, reply(codes.RcptForward, res.Forwards[0])
	}
	return out, reply(codes.RcptOK, path.String())
}

// overQuota applies the user's own quota, else [local] quota.
func (c *session) overQuota(mb string) bool {
	if c.srv.Quota == nil {
		return false
	}
	q := c.srv.Directory.Quota(mb)
	switch {
	case q < 0:
		return false
	case q == 0:
		q = int64(c.srv.cfg.Local.Quota)
	}
	return q > 0 && c.srv.Quota.OverQuota(mb, q, 0)
}
