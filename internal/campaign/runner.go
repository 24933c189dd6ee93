package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hikyaku/hikyaku/internal/campaign/compose"
	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/delivery"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/store"
)

// Deliverer sends one message; *delivery.Engine.
type Deliverer interface {
	Deliver(ctx context.Context, m delivery.Message) []outcome.Result
}

// Classifier turns a provider's rejection into 801 or 850 by its text;
// *rules.Rules.
type Classifier interface {
	Classify(domain string, r outcome.Result) (outcome.Result, bool)
}

// Options configure a Runner. Zero values take the defaults noted.
type Options struct {
	Store  *store.Store
	Engine Deliverer
	Rules  Classifier // nil: no 801/850 rules
	// Owner names this process's claims. A restarted process under the
	// same name takes its claims back at once; another waits for their
	// lease.
	Owner       string
	Concurrency int           // recipients in delivery at once (50)
	Batch       int           // recipients claimed at a time (100)
	Lease       time.Duration // claim lease (10m); renewed every third of it
	RetryMin    time.Duration // first retry delay (5m)
	RetryMax    time.Duration // longest retry delay (1h)
	Rate        int           // messages per second from this process; 0: no limit
	Weights     map[int]codes.Tenths
	StopWindow  int // results the -11 check looks at; 0: never stop
	StopPercent int // share of them, in percent, that stops the run (50)
	// ResendInDoubt sends again to a recipient left in doubt by a crash
	// between its final dot and the recording of the reply (at least
	// once: a possible second copy) instead of ending it as 625 (at most
	// once: possibly never delivered).
	ResendInDoubt bool
	// StoreRetry is how long a failing store (-102) is retried, the run
	// paused, before the run stops resumably (5m).
	StoreRetry time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
}

// Stats are a run's counts so far, for the progress bar and the logs.
type Stats struct {
	Attempts   int64
	Sent       int64 // final 2xx
	Failed     int64 // final other
	Retrying   int64 // waiting for a retry now
	Transient  int64 // attempts with a 4xx/6xx/7xx or sender-side result
	Permanent  int64 // final 5xx/8xx
	StoreWaits int64 // commits retried after a store failure
}

// Runner sends one campaign from one process.
type Runner struct {
	opt  Options
	log  *slog.Logger
	tmpl *compose.Template
	c    store.Campaign
	dead time.Time // end of the campaign's lifetime

	jobs    chan *job
	records chan record
	pace    *pacer
	win     *window

	mu       sync.Mutex
	held     map[int64]*job // claimed by us: in delivery, queued or waiting for a retry
	freed    chan struct{}  // a held recipient was finished
	quit     chan struct{}  // closed when no more jobs are to start
	stopErr  error
	stopping atomic.Bool

	stats struct {
		attempts, sent, failed, retrying, transient, permanent, storeWaits atomic.Int64
	}
}

type job struct {
	rc    store.Recipient
	last  outcome.Result // the previous attempt's result, for 606
	timer *time.Timer
}

// record is what one sender hands the group commit: a final dot about to
// go out, or an attempt and maybe the final outcome. done gets the
// commit's error; a record with then instead is not waited for: then runs
// in the writer once the commit is over.
type record struct {
	dot     int64
	attempt *store.Attempt
	final   *store.Final
	done    chan error
	then    func(error)
}

// NewRunner prepares a run of campaign c, whose messages tmpl composes and
// whose transient results are retried until lifetime after its creation.
func NewRunner(c store.Campaign, tmpl *compose.Template, lifetime time.Duration, opt Options) *Runner {
	if opt.Concurrency <= 0 {
		opt.Concurrency = 50
	}
	if opt.Batch <= 0 {
		opt.Batch = 100
	}
	if opt.Lease <= 0 {
		opt.Lease = 10 * time.Minute
	}
	if opt.RetryMin <= 0 {
		opt.RetryMin = 5 * time.Minute
	}
	if opt.RetryMax < opt.RetryMin {
		opt.RetryMax = max(time.Hour, opt.RetryMin)
	}
	if opt.StopPercent <= 0 {
		opt.StopPercent = 50
	}
	if opt.StoreRetry <= 0 {
		opt.StoreRetry = 5 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{
		opt: opt, tmpl: tmpl, c: c, dead: c.Created.Add(lifetime),
		log:     opt.Logger.With("campaign", c.Name, "owner", opt.Owner),
		jobs:    make(chan *job, opt.Concurrency),
		records: make(chan record, 4*opt.Concurrency),
		held:    map[int64]*job{},
		freed:   make(chan struct{}, 1),
		pace:    newPacer(opt.Rate),
		win:     newWindow(opt.StopWindow, opt.StopPercent),
	}
	return r
}

// Stats returns the counts so far; safe to call while Run runs.
func (r *Runner) Stats() Stats {
	s := &r.stats
	return Stats{Attempts: s.attempts.Load(), Sent: s.sent.Load(), Failed: s.failed.Load(),
		Retrying: s.retrying.Load(), Transient: s.transient.Load(), Permanent: s.permanent.Load(),
		StoreWaits: s.storeWaits.Load()}
}

// Run sends until every recipient of the campaign has its final outcome
// (nil), ctx is cancelled (ctx's error; claims are handed back), the
// failures on the sending side pass the stop threshold (a *codes.SystemError
// with -11), or the store stays unwritable (one with -102 or -101). Every way
// out leaves the campaign resumable by another Run.
func (r *Runner) Run(ctx context.Context) error {
	st := r.opt.Store
	// Claims this owner held before a restart come back at once.
	if n, err := st.Release(ctx, r.c.ID, r.opt.Owner); err != nil {
		return err
	} else if n > 0 {
		r.log.Info("took back claims from an earlier run", "recipients", n)
	}
	if err := st.SetCampaignState(ctx, r.c.ID, store.CampaignRunning); err != nil {
		return err
	}
	// Deliveries under way finish even when the run stops (-11, or the
	// claims run out): only ctx, the caller's interrupt, cuts them.
	r.quit = make(chan struct{})

	var writers sync.WaitGroup
	writers.Add(1)
	go func() { defer writers.Done(); r.writer() }()

	var senders sync.WaitGroup
	for range r.opt.Concurrency {
		senders.Add(1)
		go func() { defer senders.Done(); r.sender(ctx) }()
	}
	leaseDone := make(chan struct{})
	go r.renewLeases(leaseDone)

	claimErr := r.claimLoop(ctx)

	r.stopping.Store(true)
	close(r.quit)
	senders.Wait()
	close(leaseDone)
	close(r.records)
	writers.Wait()

	r.mu.Lock()
	for _, j := range r.held {
		if j.timer != nil {
			j.timer.Stop()
		}
	}
	held := len(r.held)
	stopErr := r.stopErr
	r.mu.Unlock()
	// Unfinished claims go back to pending for the next run or another
	// node; a background context, since ctx may be the reason we stop.
	if held > 0 {
		if _, err := st.Release(context.Background(), r.c.ID, r.opt.Owner); err != nil {
			r.log.Warn("could not hand back claims; they come back when their lease ends", "err", err)
		}
	}
	err := stopErr
	if err == nil {
		err = claimErr
	}
	if err == nil {
		err = ctx.Err()
	}
	state := store.CampaignDone
	code, _ := codes.SystemCode(err)
	switch {
	case code == store.CodeUpdate || code == store.CodeConnection:
		state = store.CampaignPaused // the store failed: resumable when it is back
	case err != nil:
		state = store.CampaignStopped
	}
	if serr := st.SetCampaignState(context.Background(), r.c.ID, state); serr != nil && err == nil {
		err = serr
	}
	return err
}

// stop ends the run with err (the first one wins).
func (r *Runner) stop(err error) {
	r.mu.Lock()
	if r.stopErr == nil {
		r.stopErr = err
	}
	r.mu.Unlock()
	r.stopping.Store(true)
	r.signalFreed()
}

func (r *Runner) signalFreed() {
	select {
	case r.freed <- struct{}{}:
	default:
	}
}

// claimLoop keeps the senders fed until nothing is left to claim and
// nothing is held, or the run stops.
func (r *Runner) claimLoop(ctx context.Context) error {
	st := r.opt.Store
	poll := min(r.opt.Lease/10, 2*time.Second)
	for !r.stopping.Load() && ctx.Err() == nil {
		r.mu.Lock()
		held := len(r.held)
		r.mu.Unlock()
		// Claim only what the senders can start soon, so that a batch's
		// lease is not spent waiting in a queue.
		if held >= r.opt.Concurrency+r.opt.Batch {
			r.wait(ctx, poll)
			continue
		}
		var rs []store.Recipient
		err := r.retryStore(ctx, "claim", func() error {
			var err error
			rs, err = st.Claim(ctx, r.c.ID, r.opt.Owner, r.opt.Batch, r.opt.Lease)
			return err
		})
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			if held > 0 {
				r.wait(ctx, poll)
				continue
			}
			var prog map[store.State]int
			if err := r.retryStore(ctx, "progress", func() error {
				var err error
				prog, err = st.Progress(ctx, r.c.ID)
				return err
			}); err != nil {
				return err
			}
			if prog[store.StatePending]+prog[store.StateClaimed] == 0 {
				return nil // every recipient is final
			}
			r.wait(ctx, poll) // others hold claims: theirs may lapse
			continue
		}
		r.mu.Lock()
		for _, rc := range rs {
			r.held[rc.ID] = &job{rc: rc}
		}
		r.mu.Unlock()
		for _, rc := range rs {
			r.mu.Lock()
			j := r.held[rc.ID]
			r.mu.Unlock()
			select {
			case r.jobs <- j:
			case <-ctx.Done():
				return nil
			}
		}
	}
	return nil
}

func (r *Runner) wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.freed:
	case <-ctx.Done():
	}
}

// retryStore runs a store call, retrying it with growing pauses while it
// fails with -102 or -101, for up to StoreRetry; then the run stops
// resumably with that code.
func (r *Runner) retryStore(ctx context.Context, what string, fn func() error) error {
	start, pause := r.opt.Now(), 250*time.Millisecond
	for {
		err := fn()
		if err != nil && ctx.Err() != nil {
			return ctx.Err() // interrupted, not a store failure
		}
		var se *store.Error
		if err == nil || !errors.As(err, &se) {
			return err
		}
		if r.opt.Now().Sub(start) >= r.opt.StoreRetry {
			r.log.Error("status store still failing; stopping, resumable", "op", what, "err", err)
			serr := &codes.SystemError{Code: se.Code, Err: se.Err,
				Detail: fmt.Sprintf("%s: for %s (%s)", codes.DetailStoreFailing.EN, r.opt.StoreRetry, what)}
			r.stop(serr)
			return serr
		}
		r.stats.storeWaits.Add(1)
		r.log.Warn("status store failed; paused, retrying", "op", what, "err", err, "in", pause)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return ctx.Err()
		}
		pause = min(pause*2, 10*time.Second)
	}
}

// renewLeases extends every claim this run holds, a third of a lease
// before it would end.
func (r *Runner) renewLeases(done chan struct{}) {
	t := time.NewTicker(r.opt.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		r.mu.Lock()
		ids := make([]int64, 0, len(r.held))
		for id := range r.held {
			ids = append(ids, id)
		}
		r.mu.Unlock()
		n, err := r.opt.Store.Extend(context.Background(), r.opt.Owner, ids, r.opt.Lease)
		if err != nil {
			r.log.Warn("could not renew leases", "err", err)
		} else if n < len(ids) {
			r.log.Warn("some claims were taken over by another worker", "held", len(ids), "renewed", n)
		}
	}
}

// sender delivers jobs until the run stops.
func (r *Runner) sender(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.quit:
			return
		case j := <-r.jobs:
			if r.stopping.Load() {
				continue // left claimed; handed back when the run ends
			}
			r.attempt(ctx, j)
		}
	}
}

// attempt makes one attempt at j and records it: final, or a retry later.
func (r *Runner) attempt(ctx context.Context, j *job) {
	now := r.opt.Now()
	if !j.rc.DotAt.IsZero() && !r.opt.ResendInDoubt {
		// A run died between sending this recipient's final dot and
		// recording the reply: the peer has most likely taken it, so it
		// is not sent again (at most once, as delivery.resend_after_dot_loss
		// = false does for the relay queue). Most likely, not surely: a
		// kill -9 during the mark's own commit leaves the mark on disk and
		// the dot unsent.
		res := outcome.Own(625, "possibly delivered: an earlier run stopped after the final dot went out at "+
			j.rc.DotAt.UTC().Format(time.RFC3339)+", before the reply was recorded")
		res.MaybeDelivered = true
		r.finish(j, nil, res)
		return
	}
	if !now.Before(r.dead) {
		r.finish(j, nil, expired(j.last))
		return
	}
	if err := r.pace.wait(ctx); err != nil {
		return
	}
	rc := j.rc
	out, err := r.tmpl.Execute(r.c.Name, int(rc.Row), rc.Email, rc.Fields)
	if err != nil {
		// Not the address's fault (weight 0): the row's data cannot make a
		// message, a thing no retry changes.
		res := outcome.Own(800, "the message could not be built for this row: "+err.Error())
		r.finish(j, nil, res)
		return
	}
	// The final dot is durably noted before it goes out, so that a crash
	// while its reply is awaited cannot lead to a second copy. The note's
	// commit starts now and runs while the transaction gets to the dot,
	// which waits for it: waiting only then held the connection idle for a
	// whole commit per message (measured: a fifth of the campaign's rate).
	// A run killed between the note and the dot leaves a recipient in
	// doubt (625) that was not sent; an attempt that ends before the dot
	// clears the note when it is recorded.
	mark := record{dot: rc.ID, done: make(chan error, 1)}
	r.records <- mark
	msg := delivery.Message{
		ID: fmt.Sprintf("%s.%d.%d", r.c.Name, rc.Row, rc.Attempts+1), From: out.ReturnPath,
		Recipients: []delivery.Recipient{{Addr: rc.Email}}, Data: out.Data, SMTPUTF8: out.SMTPUTF8,
		BeforeDot: func() error { return <-mark.done },
	}
	start := r.opt.Now()
	// An interrupt lets the delivery under way finish (its timeouts bound
	// it) rather than cut it after the peer may have taken the message:
	// a cut here would be a second copy on the next run.
	res := r.opt.Engine.Deliver(context.WithoutCancel(ctx), msg)[0]
	took := r.opt.Now().Sub(start)
	if r.opt.Rules != nil && res.Code >= 400 && res.Code < 600 {
		if c, ok := r.opt.Rules.Classify(strings.ToLower(protocol.DomainOf(rc.Email)), res); ok {
			res = c
		}
	}
	r.stats.attempts.Add(1)
	att := &store.Attempt{RecipientID: rc.ID, At: start, Result: res, Duration: took}
	retry := res.Transient() || senderSide(res)
	if retry {
		r.stats.transient.Add(1)
	}
	if r.win.note(retry) {
		r.log.Error("too many failures on the sending side; stopping (resumable)",
			"window", r.opt.StopWindow, "percent", r.opt.StopPercent, "last", res.String())
		r.stop(&codes.SystemError{Code: CodeStopped, Detail: fmt.Sprintf("%s: %d%% or more of the last %d results (last: %s)",
			codes.DetailTooFrequent.EN, r.opt.StopPercent, r.opt.StopWindow, res.String())})
	}
	if !retry || res.MaybeDelivered {
		r.finish(j, att, res)
		return
	}
	j.last = res
	j.rc.Attempts++
	next := r.opt.Now().Add(r.backoff(j.rc.Attempts))
	if !next.Before(r.dead) {
		r.finish(j, att, expired(res))
		return
	}
	if err := r.commit(record{attempt: att}); err != nil {
		return
	}
	r.stats.retrying.Add(1)
	r.mu.Lock()
	j.timer = time.AfterFunc(next.Sub(r.opt.Now()), func() {
		r.stats.retrying.Add(-1)
		if r.stopping.Load() {
			return
		}
		select {
		case r.jobs <- j:
		case <-r.quit:
		case <-ctx.Done():
		}
	})
	r.mu.Unlock()
}

// finish hands j's final outcome (with its last attempt, if any) to the
// group commit and returns: the sender goes on with the next recipient
// while the commit is under way. j is let go only once the commit is
// durable; until then it stays claimed, and a run that dies meanwhile
// finds it claimed with its dot marked (625, not sent again) or not yet
// sent at all.
func (r *Runner) finish(j *job, att *store.Attempt, res outcome.Result) {
	w, ok := r.opt.Weights[res.Code]
	if !ok {
		w = codes.Weight(res.Code)
	}
	r.records <- record{attempt: att, final: &store.Final{RecipientID: j.rc.ID, Result: res, Weight: w}, then: func(err error) {
		if err != nil {
			return // the claim stays; the next run finishes it
		}
		if res.Delivered() {
			r.stats.sent.Add(1)
		} else {
			r.stats.failed.Add(1)
			if !res.Transient() {
				r.stats.permanent.Add(1)
			}
		}
		r.mu.Lock()
		delete(r.held, j.rc.ID)
		r.mu.Unlock()
		r.signalFreed()
	}}
}

// commit hands rec to the group commit and waits until it is durable.
func (r *Runner) commit(rec record) error {
	rec.done = make(chan error, 1)
	r.records <- rec
	return <-rec.done
}

// writer is the group commit: whatever records are waiting go to the
// store in one transaction, so that a hundred senders cost one disk sync,
// not a hundred. A record a sender waits on (a dot about to go out, an
// attempt before a retry) is committed at once; finals nobody waits on
// gather for up to finalsLinger, or finalsBatch of them, and ride along
// with the next commit. The dot marks are on the sending path, inside an
// open SMTP transaction, so their commits are kept small; a final is only
// bookkeeping (its recipient stays claimed, with its dot marked, until it
// is written).
func (r *Runner) writer() {
	ctx := context.Background() // finish what was sent, even when stopping
	var (
		waited, later []record
		since         time.Time // when the oldest of later came
		open          = true
	)
	take := func(rec record) {
		if rec.then == nil {
			waited = append(waited, rec)
			return
		}
		if len(later) == 0 {
			since = time.Now()
		}
		later = append(later, rec)
	}
	for open || len(later) > 0 {
		if open && len(waited) == 0 && len(later) < finalsBatch {
			var due <-chan time.Time
			var t *time.Timer
			if len(later) > 0 {
				t = time.NewTimer(finalsLinger - time.Since(since))
				due = t.C
			}
			select {
			case rec, ok := <-r.records:
				if ok {
					take(rec)
				} else {
					open = false
				}
			case <-due:
			}
			if t != nil {
				t.Stop()
			}
		}
	more:
		for open && len(waited)+len(later) < 1000 {
			select {
			case rec, ok := <-r.records:
				if !ok {
					open = false
					break more
				}
				take(rec)
			default:
				break more
			}
		}
		recs := waited
		if len(later) > 0 && (!open || len(later) >= finalsBatch || time.Since(since) >= finalsLinger) {
			recs, later = append(recs, later...), nil
		}
		waited = nil
		if len(recs) == 0 {
			continue
		}
		var b store.Batch
		for _, rec := range recs {
			if rec.dot != 0 {
				b.Dots = append(b.Dots, rec.dot)
			}
			if rec.attempt != nil {
				b.Attempts = append(b.Attempts, *rec.attempt)
			}
			if rec.final != nil {
				b.Finals = append(b.Finals, *rec.final)
			}
		}
		err := r.retryStore(ctx, "commit", func() error {
			_, err := r.opt.Store.Commit(ctx, b)
			return err
		})
		if err != nil {
			r.stop(err)
		}
		for _, rec := range recs {
			if rec.then != nil {
				rec.then(err)
			} else {
				rec.done <- err
			}
		}
	}
}

// How long and how many finals wait for a commit (see writer).
const (
	finalsLinger = 20 * time.Millisecond
	finalsBatch  = 500
)

// backoff is the delay before attempt n+1: RetryMin doubled per attempt,
// at most RetryMax, with ±20% jitter so that retries spread out.
func (r *Runner) backoff(attempts int) time.Duration {
	d := r.opt.RetryMin
	for i := 1; i < attempts && d < r.opt.RetryMax; i++ {
		d *= 2
	}
	d = min(d, r.opt.RetryMax)
	return d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1))
}

// senderSide says a refusal is about the sender, not the recipient: a
// reply at the greeting, to EHLO or to MAIL (a blocked IP, a throttled
// domain). Such a result is retried like a transient one and never
// counted against the address (docs/spec.md §3: pause, don't burn the list).
func senderSide(res outcome.Result) bool {
	if res.Code < 400 || res.Code >= 600 {
		return false
	}
	switch res.Phase {
	case codes.PhaseGreeting, codes.PhaseHelo, codes.PhaseMail:
		return true
	}
	return false
}

// expired is the 606 for a recipient whose lifetime ended, keeping the
// last attempt's code (and its 4.x.x status when it had one).
func expired(last outcome.Result) outcome.Result {
	if last.Code == 0 {
		return outcome.Own(606, "no attempt was made within the campaign's lifetime")
	}
	res := outcome.Own(606, "last result: "+last.String())
	if strings.HasPrefix(last.Enhanced, "4.") {
		res.Enhanced = last.Enhanced
	}
	res.Host, res.IP, res.Phase, res.Command = last.Host, last.IP, last.Phase, last.Command
	return res
}
