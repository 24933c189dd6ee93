package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/resolve"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/dkim"
	"github.com/hikyaku/hikyaku/internal/filter"
	"github.com/hikyaku/hikyaku/internal/policy"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/spf"
)

// Policy is what a session asks before it accepts a client, a sender, a
// recipient or a message. Every part is optional; a nil *Policy accepts
// everything.
type Policy struct {
	Lists *policy.Lists
	DNSBL *policy.DNSBL
	Rate  *policy.RateLimiter
	SPF   *spf.Checker
	// SPFAction maps an SPF result to "accept", "tempfail" or "reject";
	// results not listed are accepted (and recorded in Received-SPF).
	SPFAction map[spf.Result]string
	DKIM      *dkim.Verifier
	Filter    filter.Filter
	Logger    *slog.Logger
}

// policyTimeout bounds the DNS work (DNSBL, SPF, DKIM) of one check.
const policyTimeout = 20 * time.Second

// trusted clients (relay networks, authenticated users) skip the checks
// meant for strangers: DNSBL, SPF and sender lists still apply to others.
func (c *session) trusted() bool { return c.authUser != "" || c.srv.relayAllowed(c.ip) }

// connectPolicy decides at connect time. A refused client gets 554 5.7.1
// instead of the greeting and 503 to everything but QUIT (RFC 5321 §3.1);
// a client over its connection rate gets 421 and is closed.
func (c *session) connectPolicy() (refuse protocol.Reply, deny bool) {
	p := c.srv.Policy
	if p == nil {
		return protocol.Reply{}, false
	}
	if !p.Rate.AllowConnection(c.ip) {
		return withClose(reply(codes.ConnRateExceeded, c.srv.cfg.Hostname)), false
	}
	if v := p.Lists.Client(c.ip); v.Action == policy.Deny {
		c.log.Info("client refused by policy", "rule", v.Rule)
		return reply(codes.ConnectDenied, c.srv.cfg.Hostname), true
	} else if v.Action == policy.Allow {
		return protocol.Reply{}, false
	}
	if p.DNSBL != nil && !c.srv.relayAllowed(c.ip) {
		ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
		listed, zone, reason, err := p.DNSBL.Check(ctx, c.ip)
		cancel()
		if err != nil {
			c.log.Warn("DNSBL lookup failed; accepting", "err", err)
		}
		if listed {
			c.log.Info("client listed in DNSBL", "zone", zone, "reason", reason)
			r := reply(codes.ConnectDenied, c.srv.cfg.Hostname)
			r.Lines = append(r.Lines, "listed in "+zone)
			return r, true
		}
	}
	return protocol.Reply{}, false
}

// heloPolicy checks the HELO/EHLO name.
func (c *session) heloPolicy(name string) protocol.Reply {
	p := c.srv.Policy
	if p == nil || c.trusted() {
		return protocol.Reply{}
	}
	if v := p.Lists.Helo(name); v.Action == policy.Deny {
		c.log.Info("HELO refused by policy", "helo", name, "rule", v.Rule)
		return reply(codes.HeloDenied, name)
	}
	return protocol.Reply{}
}

// senderPolicy checks MAIL FROM: lists, message rate and SPF. The SPF
// result is kept for the Received-SPF field.
func (c *session) senderPolicy(tx *transaction) protocol.Reply {
	p := c.srv.Policy
	if p == nil {
		return protocol.Reply{}
	}
	from := tx.from.String()
	if !p.Rate.AllowMessage(c.ip) {
		return reply(codes.MsgRateExceeded)
	}
	if v := p.Lists.Sender(from); v.Action == policy.Deny {
		c.log.Info("sender refused by policy", "from", from, "rule", v.Rule)
		return reply(codes.SenderDenied, from)
	} else if v.Action == policy.Allow {
		return protocol.Reply{}
	}
	if p.SPF == nil || c.trusted() {
		return protocol.Reply{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
	res, expl := p.SPF.Check(ctx, c.ip, c.helo, from)
	cancel()
	tx.spf, tx.spfChecked = res, true
	c.log.Debug("SPF", "result", res, "from", from, "explanation", expl)
	identity := from
	if identity == "" {
		identity = c.helo
	}
	switch p.SPFAction[res] {
	case "reject":
		if res == spf.PermError {
			return reply(codes.SPFPermError, identity)
		}
		return reply(codes.SPFFail, identity)
	case "tempfail":
		return reply(codes.SPFTempError, identity)
	}
	return protocol.Reply{}
}

// recipientPolicy checks RCPT TO against the lists; Postmaster is exempt.
func (c *session) recipientPolicy(path protocol.Path) protocol.Reply {
	p := c.srv.Policy
	if p == nil || path.Postmaster {
		return protocol.Reply{}
	}
	addr := path.String()
	if strings.HasPrefix(strings.ToLower(addr), "postmaster@") {
		return protocol.Reply{}
	}
	if v := p.Lists.Recipient(addr); v.Action == policy.Deny {
		c.log.Info("recipient refused by policy", "rcpt", addr, "rule", v.Rule)
		return reply(codes.RcptDenied, addr)
	}
	return protocol.Reply{}
}

// contentPolicy verifies DKIM, writes the authentication trace fields
// (RFC 8601 Authentication-Results, RFC 7208 Received-SPF) and asks the
// content filter. It returns the fields to put at the top of the message
// and a refusal, if any.
func (c *session) contentPolicy(tx *transaction, id string, msg []byte) (string, protocol.Reply) {
	p := c.srv.Policy
	if p == nil {
		return "", protocol.Reply{}
	}
	var fields strings.Builder
	if p.DKIM != nil || tx.spfChecked {
		var dkimResults []dkim.VerifyResult
		if p.DKIM != nil {
			ctx, cancel := context.WithTimeout(context.Background(), policyTimeout)
			dkimResults = p.DKIM.Verify(ctx, msg)
			cancel()
		}
		var spfInfo *dkim.SPFInfo
		if tx.spfChecked {
			spfInfo = &dkim.SPFInfo{Result: tx.spf, MailFrom: tx.from.String(), Helo: c.helo}
		}
		fields.WriteString(dkim.AuthenticationResults(c.srv.cfg.Hostname, spfInfo, dkimResults))
	}
	if tx.spfChecked {
		fields.WriteString(spf.ReceivedSPF(tx.spf, c.ip, c.helo, tx.from.String(), c.srv.cfg.Hostname))
	}
	if p.Filter == nil {
		return fields.String(), protocol.Reply{}
	}
	env := filter.Envelope{ID: id, ClientIP: c.ip.String(), Helo: c.helo, From: tx.from.String(), Rcpts: tx.rcptAddrs, AuthUser: c.authUser}
	v, err := p.Filter.Check(context.Background(), env, msg)
	if err != nil {
		c.log.Warn("content filter failed", "id", id, "err", err)
	}
	switch v.Action {
	case filter.Reject:
		c.log.Info("content filter rejected the message", "id", id, "reason", v.Reason)
		return "", reply(codes.ContentRejected)
	case filter.Tempfail:
		return "", reply(codes.ContentTempFail)
	}
	return fields.String(), protocol.Reply{}
}

// NewPolicy turns [policy], [spf], [dkim] and [filter] into the
// session's Policy.
func NewPolicy(cfg *config.Config, res *resolve.Resolver, logger *slog.Logger) (*Policy, error) {
	p := &Policy{Logger: logger}
	path := cfg.Policy.ListsFile
	if path == "" {
		path = filepath.Join(cfg.DataDir, "policy.txt")
	}
	if _, err := os.Stat(path); err == nil || cfg.Policy.ListsFile != "" {
		l, err := policy.LoadLists(path)
		if err != nil {
			return nil, fmt.Errorf("[policy] lists_file: %w", err)
		}
		l.SetLogger(logger)
		p.Lists = l
	}
	if len(cfg.Policy.DNSBLZones) > 0 {
		p.DNSBL = &policy.DNSBL{Zones: cfg.Policy.DNSBLZones, Resolver: res}
	}
	if cfg.Policy.ConnectionsPerMinute > 0 || cfg.Policy.MessagesPerMinute > 0 {
		p.Rate = policy.NewRateLimiter(cfg.Policy.ConnectionsPerMinute, cfg.Policy.MessagesPerMinute)
	}
	if cfg.SPF.Check {
		p.SPF = &spf.Checker{Resolver: res}
		p.SPFAction = map[spf.Result]string{
			spf.Fail: cfg.SPF.Fail, spf.SoftFail: cfg.SPF.SoftFail,
			spf.TempError: cfg.SPF.TempError, spf.PermError: cfg.SPF.PermError,
		}
	}
	if cfg.DKIM.Verify {
		p.DKIM = &dkim.Verifier{Resolver: res}
	}
	f := cfg.Filter
	switch {
	case f.Command != "":
		fields := strings.Fields(f.Command)
		p.Filter = &filter.Command{Path: fields[0], Args: fields[1:], Timeout: f.Timeout.D(), FailOpen: f.FailOpen}
	case f.Socket != "":
		network, addr, _ := strings.Cut(f.Socket, ":")
		p.Filter = &filter.Socket{Network: network, Address: addr, Timeout: f.Timeout.D(), FailOpen: f.FailOpen}
	}
	return p, nil
}
