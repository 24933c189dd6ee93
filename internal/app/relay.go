package app

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/delivery"
	"github.com/hikyaku/hikyaku/internal/dsn"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/queue"
	"github.com/hikyaku/hikyaku/internal/spool"
)

// submitter puts a message hikyaku writes itself (a DSN) through the same
// spool and router as received mail, so it is as durable and is delivered
// locally or relayed like any other.
type submitter struct {
	cfg    *config.Config
	dir    *mailbox.Directory
	spool  *spool.Spool
	router *queue.Router
}

func (s *submitter) submit(ctx context.Context, from, to string, data []byte) (string, error) {
	id := spool.NewID()
	now := time.Now().UTC()
	var b bytes.Buffer
	fmt.Fprintf(&b, "Received: by %s (hikyaku) id %s;\r\n\t%s\r\n", s.cfg.Hostname, id, now.Format(time.RFC1123Z))
	b.Write(data)
	env := &spool.Envelope{ID: id, From: from, ReceivedAt: now, ClientIP: "127.0.0.1", Helo: s.cfg.Hostname, Proto: "local", Size: int64(b.Len())}
	_, domain, _ := protocol.SplitAddress(to)
	switch res := s.dir.Resolve(to); {
	case s.dir.IsLocalDomain(domain) && (res.Kind == mailbox.KindMailbox || res.Kind == mailbox.KindAlias):
		for _, mb := range res.Mailboxes {
			env.Recipients = append(env.Recipients, spool.Recipient{Address: to, Mailbox: mb})
		}
		for _, f := range res.Forwards {
			env.Recipients = append(env.Recipients, spool.Recipient{Address: to, Relay: f})
		}
	case s.dir.IsLocalDomain(domain):
		return "", fmt.Errorf("no local mailbox for %s", to)
	default:
		env.Recipients = []spool.Recipient{{Address: to, Relay: to}}
	}
	if err := s.spool.Commit(ctx, env, b.Bytes()); err != nil {
		return "", err
	}
	s.router.Route(&spool.Message{Envelope: *env, Data: b.Bytes()})
	return id, nil
}

// bouncer builds the Runner's DSN function: RFC 3464 reports to the
// sender, never for a null sender, honouring NOTIFY.
func bouncer(cfg *config.Config, relay *queue.Store, sub *submitter) func(context.Context, queue.Item, []queue.Recipient, string) error {
	return func(ctx context.Context, it queue.Item, rcpts []queue.Recipient, action string) error {
		var rs []dsn.Recipient
		for _, rc := range rcpts {
			if !dsn.ShouldSend(it.From, rc.Notify, action) {
				continue
			}
			rs = append(rs, dsn.Recipient{
				Original: rc.ORCPT, Final: rc.Address, Action: action,
				Result:      outcome.Result{Code: rc.LastCode, Enhanced: rc.LastEnhanced, Text: rc.LastText, Host: rc.LastHost},
				LastAttempt: rc.LastAttempt, WillRetryUntil: it.ReceivedAt.Add(cfg.Delivery.Lifetime.D()),
			})
		}
		if len(rs) == 0 {
			return nil
		}
		original, err := relay.Data(it.ID)
		if err != nil {
			return err
		}
		msg, err := dsn.Build(dsn.Report{
			ReportingMTA: cfg.Hostname, ReceivedFrom: it.ClientIP, ArrivalDate: it.ReceivedAt,
			EnvID: it.EnvID, QueueID: it.ID, From: it.From, Postmaster: "postmaster@" + cfg.Hostname,
			Recipients: rs, Original: original, Ret: it.Ret, SMTPUTF8: it.SMTPUTF8, Now: time.Now(),
		})
		if err != nil {
			return err
		}
		_, err = sub.submit(ctx, "", it.From, msg)
		return err
	}
}

// RunnerOptions maps [delivery] to the Runner.
func RunnerOptions(cfg *config.Config) delivery.RunnerOptions {
	d := cfg.Delivery
	return delivery.RunnerOptions{
		Lifetime: d.Lifetime.D(), RetryMin: d.RetryMin.D(), RetryMax: d.RetryMax.D(),
		DelayWarning: d.DelayWarning.D(), Concurrency: d.Concurrency, ResendAfterDotLoss: d.ResendAfterDotLoss,
	}
}
