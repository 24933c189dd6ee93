package server

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/protocol"
)

// commands is the one dispatch table (docs/conventions.md habit 6). Each handler checks the
// sequence first, then the syntax, then policy.
var commands map[string]handler

func init() {
	// Assigned in init because handlers refer to the table (HELP).
	commands = map[string]handler{
		"HELO":     (*session).cmdHELO,
		"EHLO":     (*session).cmdEHLO,
		"MAIL":     (*session).cmdMAIL,
		"RCPT":     (*session).cmdRCPT,
		"DATA":     (*session).cmdDATA,
		"BDAT":     (*session).cmdBDAT,
		"RSET":     (*session).cmdRSET,
		"NOOP":     (*session).cmdNOOP,
		"QUIT":     (*session).cmdQUIT,
		"VRFY":     (*session).cmdVRFY,
		"EXPN":     (*session).cmdEXPN,
		"HELP":     (*session).cmdHELP,
		"STARTTLS": (*session).cmdSTARTTLS,
		"AUTH":     (*session).cmdAUTH,
	}
}

func (c *session) cmdHELO(arg string) protocol.Reply { return c.hello("HELO", arg, false) }
func (c *session) cmdEHLO(arg string) protocol.Reply { return c.hello("EHLO", arg, true) }

// hello answers HELO and EHLO. A second one resets the transaction
// (RFC 5321 §4.1.4) unless helo_once asks for seed 002's 503.
func (c *session) hello(verb, arg string, extended bool) protocol.Reply {
	domain := strings.TrimSpace(arg)
	if domain == "" {
		return reply(codes.HeloNoArg, verb)
	}
	if strings.ContainsAny(domain, " \t") || !validHeloArg(domain) {
		return reply(codes.HeloBadArg, verb)
	}
	if c.greeted && c.srv.cfg.SMTP.HeloOnce {
		return reply(codes.HeloDuplicate, c.srv.cfg.Hostname, verb)
	}
	if r := c.heloPolicy(domain); r.Code != 0 {
		return r
	}
	c.tx = nil
	c.greeted = true
	c.helo = domain
	c.esmtp = extended
	c.authAdv = extended && c.authOffered()
	if !extended {
		return reply(codes.HeloOK, c.srv.cfg.Hostname, domain, c.ip.String())
	}
	r := reply(codes.EhloKeywordsFirst, c.srv.cfg.Hostname, domain, c.ip.String())
	r.Lines = append(r.Lines, c.extensions()...)
	return r
}

// extensions lists the EHLO keywords, one per line.
func (c *session) extensions() []string {
	ext := []string{
		"PIPELINING",
		"SIZE " + strconv.FormatInt(int64(c.srv.cfg.SMTP.MaxMessageSize), 10),
		"8BITMIME",
		"SMTPUTF8",
		"ENHANCEDSTATUSCODES",
		"DSN",
		"CHUNKING",
		"HELP",
	}
	if c.srv.TLS != nil && c.tls == nil {
		ext = append(ext, "STARTTLS")
	}
	if c.authAdv {
		ext = append(ext, "AUTH "+strings.Join(c.mechanisms(), " "))
	}
	return ext
}

// validHeloArg accepts a domain or an address literal; being liberal here
// is the norm (seed 003: Exim takes "helo xxx"), so only characters that
// cannot be in either are refused.
func validHeloArg(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x21 || b == 0x7f || b == '<' || b == '>' || b == '@' || b == ',' || b == ';' || b == '"' || b == '\\' {
			return false
		}
	}
	return len(s) <= 255
}

func (c *session) cmdRSET(arg string) protocol.Reply {
	if strings.TrimSpace(arg) != "" {
		return reply(codes.NoArgAllowed, "RSET")
	}
	c.tx = nil
	return reply(codes.ResetOK)
}

// cmdNOOP ignores any argument (RFC 5321 §4.1.1.9).
func (c *session) cmdNOOP(arg string) protocol.Reply { return reply(codes.NoopOK) }

func (c *session) cmdQUIT(arg string) protocol.Reply {
	if strings.TrimSpace(arg) != "" {
		return reply(codes.NoArgAllowed, "QUIT")
	}
	r := reply(codes.Closing, c.srv.cfg.Hostname)
	r.Close = true
	return r
}

// cmdVRFY: privacy by default (RFC 5321 §7.3 asks for 252 rather than a
// refusal), full answers with vrfy = "on", seed 002's 502 with "off".
func (c *session) cmdVRFY(arg string) protocol.Reply {
	switch c.srv.cfg.SMTP.VRFY {
	case "off":
		return reply(codes.VrfyDisabled)
	case "on":
	default:
		if strings.TrimSpace(arg) == "" {
			return reply(codes.VrfyNoArg)
		}
		return reply(codes.VrfyCannot)
	}
	q := strings.Trim(strings.TrimSpace(arg), "<>")
	if q == "" {
		return reply(codes.VrfyNoArg)
	}
	addr := q
	if !strings.Contains(q, "@") && len(c.srv.cfg.Local.Domains) > 0 {
		addr = q + "@" + c.srv.cfg.Local.Domains[0]
	}
	if _, err := protocol.ParseAddress(addr); err != nil {
		return reply(codes.VrfyUnknown, q)
	}
	res := c.srv.Directory.Resolve(addr)
	if res.Kind != mailbox.KindMailbox {
		return reply(codes.VrfyUnknown, q)
	}
	if res.Name != "" {
		return reply(codes.VrfyOK, fmt.Sprintf("%s <%s>", res.Name, strings.ToLower(addr)))
	}
	return reply(codes.VrfyOK, "<"+strings.ToLower(addr)+">")
}

// cmdEXPN expands a list when enabled; off by default since list
// membership is private.
func (c *session) cmdEXPN(arg string) protocol.Reply {
	if !c.srv.cfg.SMTP.EXPN {
		return reply(codes.ExpnDisabled)
	}
	q := strings.Trim(strings.TrimSpace(arg), "<>")
	if q == "" {
		return reply(codes.BadCommandSyntax, "EXPN needs a list name")
	}
	addr := q
	if !strings.Contains(q, "@") && len(c.srv.cfg.Local.Domains) > 0 {
		addr = q + "@" + c.srv.cfg.Local.Domains[0]
	}
	members, ok := c.srv.Directory.Expand(addr)
	if !ok || len(members) == 0 {
		return reply(codes.ExpnUnknown, q)
	}
	r := reply(codes.ExpnMember, members[0])
	r.Lines = members
	return r
}

// cmdHELP lists the commands, or the syntax of one.
func (c *session) cmdHELP(arg string) protocol.Reply {
	topic := strings.ToUpper(strings.TrimSpace(arg))
	if topic == "" {
		var verbs []string
		for _, v := range protocol.Verbs {
			if !v.Obsolete {
				verbs = append(verbs, v.Verb)
			}
		}
		r := reply(codes.HelpText, "hikyaku commands: "+strings.Join(verbs, " "))
		r.Lines = append(r.Lines, "HELP <command> shows its syntax; RFC 5321 has the rest")
		return r
	}
	vi, ok := protocol.LookupVerb(topic)
	if !ok {
		return reply(codes.HelpUnknown, truncate(topic, 40))
	}
	r := reply(codes.HelpText, vi.Syntax)
	if vi.EN != "" {
		r.Lines = append(r.Lines, vi.EN)
	}
	return r
}
