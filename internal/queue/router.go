package queue

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hikyaku/hikyaku/internal/intake"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/maillog"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/spool"
)

// LocalDeliverer writes local deliveries durably; *mailbox.Store.
type LocalDeliverer interface {
	Deliver(ds []mailbox.Delivery, recovering bool) []error
}

// Reclaimer is told when a message no longer needs its spool record.
type Reclaimer interface {
	Done(id string)
}

// RouterOptions tune the router.
type RouterOptions struct {
	Batch      int           // messages handled per Maildir sync (default 256)
	RetryDelay time.Duration // first retry after a failed local delivery (default 10s, doubling to 10m)
	Logger     *slog.Logger
	MailLog    *maillog.Log
	Metrics    *metrics.Metrics
	OnQueued   func(id string) // a message entered the relay queue
	// Intake takes the recipients the receiver accepted for the bounce
	// intake (Mailbox intake.MailboxPrefix + address): it writes them
	// durably into its own Maildir, like a local delivery. nil leaves
	// such recipients in the spool, retried, until a router has one.
	Intake LocalDeliverer
}

// Router takes committed messages on to their mailboxes and the relay
// queue, in batches so that one Maildir sync covers many messages, and
// reclaims each spool record once all of its deliveries are durable.
// Everything it does is idempotent by (queue id, recipient index): after
// a crash the spool replays its records here and nothing is delivered
// twice.
type Router struct {
	opt   RouterOptions
	local LocalDeliverer
	relay *Store
	spool Reclaimer

	in      chan *pending
	wg      sync.WaitGroup
	stop    chan struct{}
	pending sync.WaitGroup // messages not yet fully routed
}

type pending struct {
	msg        *spool.Message
	done       []bool // per recipient index
	relayDone  bool
	recovering bool
	attempts   int
}

// NewRouter builds a router; Start runs it.
func NewRouter(local LocalDeliverer, relay *Store, sp Reclaimer, opt RouterOptions) *Router {
	if opt.Batch <= 0 {
		opt.Batch = 256
	}
	if opt.RetryDelay <= 0 {
		opt.RetryDelay = 10 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Router{opt: opt, local: local, relay: relay, spool: sp, in: make(chan *pending, 4096), stop: make(chan struct{})}
}

// Start runs the routing worker until Stop.
func (r *Router) Start() {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.loop()
	}()
}

// Route queues a message the spool has just made durable.
func (r *Router) Route(msg *spool.Message) { r.enqueue(msg, false) }

// Recover queues a message the spool found at startup: deliveries that
// already happened before the crash are recognised and not repeated.
func (r *Router) Recover(msg *spool.Message) { r.enqueue(msg, true) }

func (r *Router) enqueue(msg *spool.Message, recovering bool) {
	r.pending.Add(1)
	r.in <- &pending{msg: msg, done: make([]bool, len(msg.Recipients)), recovering: recovering}
}

// Wait blocks until every message routed so far is delivered or ctx ends.
func (r *Router) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { r.pending.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop ends the worker after the batch in hand; messages not yet routed
// stay in the spool and are recovered at the next start.
func (r *Router) Stop() {
	close(r.stop)
	r.wg.Wait()
}

func (r *Router) loop() {
	batch := make([]*pending, 0, r.opt.Batch)
	for {
		select {
		case <-r.stop:
			return
		case p := <-r.in:
			batch = append(batch[:0], p)
		}
	fill:
		for len(batch) < r.opt.Batch {
			select {
			case p := <-r.in:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		r.process(batch)
	}
}

// process delivers one batch and reclaims or reschedules each message.
func (r *Router) process(batch []*pending) {
	var local, bounces deliveries
	recovering := false
	for _, p := range batch {
		recovering = recovering || p.recovering || p.attempts > 0
		for i, rc := range p.msg.Recipients {
			if rc.Mailbox == "" || p.done[i] {
				continue
			}
			d := mailbox.Delivery{
				Mailbox: rc.Mailbox, QueueID: p.msg.ID, Index: i, ReturnPath: p.msg.From,
				EnvelopeTo: rc.Address, ReceivedAt: p.msg.ReceivedAt, Data: p.msg.Data,
			}
			if strings.HasPrefix(rc.Mailbox, intake.MailboxPrefix) {
				bounces.add(d, p, i)
			} else {
				local.add(d, p, i)
			}
		}
	}
	r.deliver(r.local, local, recovering)
	if len(bounces.ds) > 0 && r.opt.Intake == nil {
		r.opt.Logger.Error("mail for the bounce intake and no intake: kept in the spool", "id", bounces.owners[0].msg.ID)
	} else {
		r.deliver(r.opt.Intake, bounces, recovering)
	}
	// The relay queue commits the adds that wait at the same time together:
	// a batch costs one commit, not one per message.
	var adds sync.WaitGroup
	for _, p := range batch {
		if !p.relayDone {
			adds.Go(func() { r.queueRelay(p) })
		}
	}
	adds.Wait()
	for _, p := range batch {
		if p.complete() {
			r.spool.Done(p.msg.ID)
			r.pending.Done()
			continue
		}
		r.retryLater(p)
	}
}

// deliveries are the local (or intake) deliveries of a batch, each with
// the message and recipient index it is for.
type deliveries struct {
	ds     []mailbox.Delivery
	owners []*pending
	idx    []int
}

func (d *deliveries) add(del mailbox.Delivery, p *pending, i int) {
	d.ds, d.owners, d.idx = append(d.ds, del), append(d.owners, p), append(d.idx, i)
}

// deliver hands one set of deliveries to to and marks the durable ones
// done.
func (r *Router) deliver(to LocalDeliverer, d deliveries, recovering bool) {
	if len(d.ds) == 0 {
		return
	}
	errs := to.Deliver(d.ds, recovering)
	for k, err := range errs {
		p, i := d.owners[k], d.idx[k]
		rc := p.msg.Recipients[i]
		if err != nil {
			r.opt.Logger.Error("local delivery failed", "id", p.msg.ID, "mailbox", rc.Mailbox, "err", err)
			r.opt.MailLog.Failed(p.msg.ID, rc.Address, rc.Mailbox, err)
			r.count("failed")
			continue
		}
		p.done[i] = true
		r.opt.MailLog.Delivered(p.msg.ID, rc.Address, rc.Mailbox)
		r.count("delivered")
	}
}

func (r *Router) queueRelay(p *pending) {
	var rcpts []spool.Recipient
	var addrs []string
	for _, rc := range p.msg.Recipients {
		if rc.Relay != "" {
			rcpts = append(rcpts, rc)
			addrs = append(addrs, rc.Relay)
		}
	}
	if len(rcpts) == 0 {
		p.relayDone = true
		return
	}
	if err := r.relay.Add(p.msg, rcpts); err != nil {
		r.opt.Logger.Error("relay queue write failed", "id", p.msg.ID, "err", err)
		return
	}
	p.relayDone = true
	r.opt.MailLog.Queued(p.msg.ID, addrs)
	if r.opt.OnQueued != nil {
		r.opt.OnQueued(p.msg.ID)
	}
	if r.opt.Metrics != nil {
		r.opt.Metrics.RelayQueued.Inc()
	}
}

func (p *pending) complete() bool {
	if !p.relayDone {
		return false
	}
	for i, rc := range p.msg.Recipients {
		if rc.Mailbox != "" && !p.done[i] {
			return false
		}
	}
	return true
}

// retryLater tries again with a doubling delay; the message stays in the
// spool meanwhile, so a restart also retries it.
func (r *Router) retryLater(p *pending) {
	p.attempts++
	delay := r.opt.RetryDelay << min(p.attempts-1, 6)
	delay = min(delay, 10*time.Minute)
	time.AfterFunc(delay, func() {
		select {
		case <-r.stop:
		case r.in <- p:
		}
	})
}

func (r *Router) count(result string) {
	if r.opt.Metrics != nil {
		r.opt.Metrics.LocalDeliveries.WithLabelValues(result).Inc()
	}
}
