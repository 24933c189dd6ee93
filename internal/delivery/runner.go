package delivery

import (
	"container/heap"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/queue"
)

// RunnerOptions configure the queue runner.
type RunnerOptions struct {
	Lifetime           time.Duration // then 606
	RetryMin, RetryMax time.Duration
	DelayWarning       time.Duration // 0: no delayed DSNs
	Concurrency        int           // messages in delivery at once
	ResendAfterDotLoss bool
	Scan               time.Duration // how often the queue directory is read again (default 5s)
	// Bounce sends a DSN for the given recipients of an item; action is
	// "failed" or "delayed". nil: no DSNs (tests).
	Bounce func(ctx context.Context, it queue.Item, rcpts []queue.Recipient, action string) error
	Logger *slog.Logger
	Now    func() time.Time
}

// Runner keeps the relay queue moving: a bounded active set of messages
// in delivery, per-recipient status, growing jittered retries, expiry,
// and DSNs (Postfix's qmgr, docs/conventions.md habit 1).
type Runner struct {
	opt    RunnerOptions
	store  *queue.Store
	engine *Engine

	mu       sync.Mutex
	sched    schedule              // next attempt per id
	known    map[string]*schedItem // ids in sched
	inflight map[string]bool
	wake     chan struct{}
	due      chan string
	stop     chan struct{}
	wg       sync.WaitGroup
	ctx      context.Context // ends at Stop, cutting attempts short
	cancel   context.CancelFunc
}

// NewRunner builds a runner over a relay queue store.
func NewRunner(store *queue.Store, engine *Engine, opt RunnerOptions) *Runner {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 100
	}
	if opt.Scan <= 0 {
		opt.Scan = 5 * time.Second
	}
	if opt.RetryMin <= 0 {
		opt.RetryMin = 5 * time.Minute
	}
	if opt.RetryMax < opt.RetryMin {
		opt.RetryMax = opt.RetryMin
	}
	r := &Runner{
		opt: opt, store: store, engine: engine,
		known: map[string]*schedItem{}, inflight: map[string]bool{},
		wake: make(chan struct{}, 1), due: make(chan string), stop: make(chan struct{}),
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r
}

// Start runs the dispatcher and the workers until Stop.
func (r *Runner) Start() {
	r.scan()
	r.wg.Add(1 + r.opt.Concurrency)
	go r.dispatch()
	for i := 0; i < r.opt.Concurrency; i++ {
		go r.work()
	}
}

// Stop cuts attempts under way short (they count as transient failures
// and are retried after the restart) and ends.
func (r *Runner) Stop() {
	r.cancel()
	close(r.stop)
	r.wg.Wait()
}

// Notify schedules a newly queued item at once.
func (r *Runner) Notify(id string) {
	r.schedule(id, r.opt.Now())
	r.poke()
}

func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// WaitIdle blocks until no item is due now or in delivery, or ctx ends;
// for tests and benchmarks.
func (r *Runner) WaitIdle(ctx context.Context) error {
	for {
		r.mu.Lock()
		busy := len(r.inflight) > 0 || (r.sched.Len() > 0 && !r.sched[0].at.After(r.opt.Now()))
		r.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (r *Runner) schedule(id string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if it, ok := r.known[id]; ok {
		if at.Before(it.at) {
			it.at = at
			heap.Fix(&r.sched, it.index)
		}
		return
	}
	it := &schedItem{id: id, at: at}
	heap.Push(&r.sched, it)
	r.known[id] = it
}

// scan reads the queue's schedule (an index, no item is read) and
// schedules every item not yet known (after a restart, or an item released
// from hold) at its next attempt, and items with a retry request at once.
func (r *Runner) scan() {
	entries, err := r.store.Entries()
	if err != nil {
		r.opt.Logger.Error("reading the relay queue", "err", err)
		return
	}
	now := r.opt.Now()
	for _, e := range entries {
		if e.Hold {
			continue
		}
		r.mu.Lock()
		_, known := r.known[e.ID]
		busy := r.inflight[e.ID]
		r.mu.Unlock()
		if e.Retry && r.store.TakeRetryRequest(e.ID) {
			r.forceRetry(e.ID)
			r.schedule(e.ID, now)
			continue
		}
		if known || busy {
			continue
		}
		r.schedule(e.ID, e.NextAt)
	}
}

// forceRetry makes every deferred recipient due now.
func (r *Runner) forceRetry(id string) {
	it, err := r.store.Get(id)
	if err != nil {
		return
	}
	for i := range it.Recipients {
		if !it.Recipients[i].Final() {
			it.Recipients[i].NextAttempt = time.Time{}
		}
	}
	r.store.Update(it)
}

// dispatch hands due items to the workers; the unbuffered channel bounds
// the active set to the number of workers.
func (r *Runner) dispatch() {
	defer r.wg.Done()
	ticker := time.NewTicker(r.opt.Scan)
	defer ticker.Stop()
	for {
		r.mu.Lock()
		var next *schedItem
		if r.sched.Len() > 0 {
			next = r.sched[0]
		}
		r.mu.Unlock()
		var timer <-chan time.Time
		if next != nil {
			if d := next.at.Sub(r.opt.Now()); d > 0 {
				timer = time.After(d)
			} else {
				r.mu.Lock()
				heap.Pop(&r.sched)
				delete(r.known, next.id)
				busy := r.inflight[next.id]
				r.inflight[next.id] = true
				r.mu.Unlock()
				if busy {
					// Still being delivered: look again shortly.
					r.schedule(next.id, r.opt.Now().Add(50*time.Millisecond))
					continue
				}
				select {
				case r.due <- next.id:
					continue
				case <-r.stop:
					close(r.due)
					return
				}
			}
		}
		select {
		case <-r.stop:
			close(r.due)
			return
		case <-r.wake:
		case <-timer:
		case <-ticker.C:
			r.scan()
		}
	}
}

func (r *Runner) work() {
	defer r.wg.Done()
	for id := range r.due {
		r.attempt(id)
		r.mu.Lock()
		delete(r.inflight, id)
		r.mu.Unlock()
	}
}

// backoff is the delay before attempt n+1: doubling from RetryMin, capped
// at RetryMax, with ±20% jitter so a restart does not retry everything at
// once (chasquid's nextDelay).
func (r *Runner) backoff(attempts int) time.Duration {
	d := r.opt.RetryMin
	for i := 1; i < attempts && d < r.opt.RetryMax; i++ {
		d *= 2
	}
	d = min(d, r.opt.RetryMax)
	j := time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return max(j, time.Millisecond)
}

// attempt makes one delivery attempt for the due recipients of one item.
func (r *Runner) attempt(id string) {
	it, data, err := r.store.Load(id)
	if err != nil {
		r.opt.Logger.Debug("queue item gone", "id", id, "err", err)
		return
	}
	if it.Hold {
		return // released items are picked up by the next scan
	}
	now := r.opt.Now()
	var due []int
	for i, rc := range it.Recipients {
		if !rc.Final() && !rc.NextAttempt.After(now) {
			due = append(due, i)
		}
	}
	if len(due) == 0 {
		if at, ok := it.NextAttempt(); ok {
			r.schedule(id, at)
		} else if err := r.store.Delete(id); err != nil {
			// Every recipient is final: an earlier removal failed.
			r.opt.Logger.Error("removing finished item", "id", id, "err", err)
		}
		return
	}
	// Record the attempt before dialling (docs/conventions.md habit 10): a crash now retries
	// at the next time, not in a loop. A first attempt is not written: a
	// crash during it costs one more first attempt, and most messages
	// need only one.
	retrying := false
	for _, i := range due {
		rc := &it.Recipients[i]
		retrying = retrying || rc.Attempts > 0
		rc.Attempts++
		rc.LastAttempt = now
		rc.NextAttempt = now.Add(r.backoff(rc.Attempts))
	}
	if retrying {
		if err := r.store.Update(it); err != nil {
			r.opt.Logger.Error("recording attempt", "id", id, "err", err)
			r.schedule(id, now.Add(r.opt.RetryMin))
			return
		}
	}
	msg := Message{ID: id, From: it.From, Data: data, SMTPUTF8: it.SMTPUTF8, EightBit: it.Body == "8BITMIME", EnvID: it.EnvID, Ret: it.Ret}
	for _, i := range due {
		rc := it.Recipients[i]
		msg.Recipients = append(msg.Recipients, Recipient{Addr: rc.Address, Notify: rc.Notify, ORCPT: rc.ORCPT})
	}
	ctx := r.ctx
	results := r.engine.Deliver(ctx, msg)

	now = r.opt.Now()
	var failed, delayed []queue.Recipient
	for k, i := range due {
		rc := &it.Recipients[i]
		res := results[k]
		r.apply(it, rc, res, now)
		switch {
		case rc.Status == queue.StatusFailed:
			failed = append(failed, *rc)
		case rc.Status == queue.StatusDeferred && r.opt.DelayWarning > 0 && !rc.DelayNotified && now.Sub(it.ReceivedAt) >= r.opt.DelayWarning:
			rc.DelayNotified = true
			delayed = append(delayed, *rc)
		}
	}
	if r.opt.Bounce != nil {
		for _, b := range []struct {
			rcpts  []queue.Recipient
			action string
		}{{failed, "failed"}, {delayed, "delayed"}} {
			if len(b.rcpts) == 0 {
				continue
			}
			if err := r.opt.Bounce(ctx, it, b.rcpts, b.action); err != nil {
				r.opt.Logger.Error("sending DSN", "id", id, "action", b.action, "err", err)
			}
		}
	}
	if at, ok := it.NextAttempt(); ok {
		if err := r.store.Update(it); err != nil {
			r.opt.Logger.Error("recording results", "id", id, "err", err)
		}
		r.schedule(id, at)
		r.poke()
		return
	}
	// Every recipient is final: the results are in the mail log and the
	// DSNs are spooled, so the item goes without a last rewrite.
	for _, rc := range it.Recipients {
		r.opt.Logger.Debug("recipient final", "id", id, "rcpt", rc.Address, "status", rc.Status, "code", rc.LastCode)
	}
	r.opt.Logger.Info("relay queue item done", "id", id)
	if err := r.store.Delete(id); err != nil {
		r.opt.Logger.Error("removing finished item", "id", id, "err", err)
	}
}

// apply records one result on a recipient.
func (r *Runner) apply(it queue.Item, rc *queue.Recipient, res outcome.Result, now time.Time) {
	rc.LastCode, rc.LastEnhanced, rc.LastText, rc.LastHost = res.Code, res.Enhanced, res.Text, res.Host
	switch {
	case res.Delivered():
		rc.Status = queue.StatusDelivered
		rc.NextAttempt = time.Time{}
	case res.MaybeDelivered && !r.opt.ResendAfterDotLoss:
		rc.Status = queue.StatusUnknown
		rc.NextAttempt = time.Time{}
		r.opt.Logger.Warn("connection lost after the final dot: possibly delivered, not re-sent", "id", it.ID, "rcpt", rc.Address, "code", res.Code, "host", res.Host)
	case res.Transient() && now.Sub(it.ReceivedAt) >= r.opt.Lifetime:
		// 606 keeps the last attempt's code as detail (docs/spec.md §3).
		exp := outcome.Own(606, fmt.Sprintf("last attempt: %s", res.String()))
		if strings.HasPrefix(res.Enhanced, "4.") {
			exp.Enhanced = res.Enhanced
		}
		rc.LastCode, rc.LastEnhanced, rc.LastText = exp.Code, exp.Enhanced, exp.Text
		rc.Status = queue.StatusFailed
		rc.NextAttempt = time.Time{}
	case res.Transient():
		rc.Status = queue.StatusDeferred
	default:
		rc.Status = queue.StatusFailed
		rc.NextAttempt = time.Time{}
	}
}

// schedule is a min-heap of next attempts.
type schedItem struct {
	id    string
	at    time.Time
	index int
}

type schedule []*schedItem

func (s schedule) Len() int           { return len(s) }
func (s schedule) Less(i, j int) bool { return s[i].at.Before(s[j].at) }
func (s schedule) Swap(i, j int)      { s[i], s[j] = s[j], s[i]; s[i].index = i; s[j].index = j }
func (s *schedule) Push(x any)        { it := x.(*schedItem); it.index = len(*s); *s = append(*s, it) }
func (s *schedule) Pop() any          { old := *s; n := len(old); it := old[n-1]; *s = old[:n-1]; return it }
