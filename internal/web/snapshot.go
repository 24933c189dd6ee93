package web

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// A snapshot is the answer of some slow queries, kept and refreshed in the
// background: what the store does not count as it writes (a campaign's
// attempts of the last minute, the suppressions and scores it caused;
// its states, its results by code, domain, reason and MX are read from
// the kept counts on every view). Those take the embedded store seconds
// on a million rows (BenchmarkPages prints the figures), far more than
// a page may; so a page shows the latest answer with its age, and asking
// for it starts a refresh when it is older than its interval. Only the
// very first view waits, and only up to firstWait: past it the page
// shows what it has, says the rest is being counted, and reloads.
//
// The interval grows with what the queries cost (refreshFactor times it),
// so a dashboard left open never keeps the store busy for more than a
// fraction of the time, whatever the list's size.

const refreshFactor = 5

// firstWait is how long a page waits for a snapshot that is not there
// yet: its share of the 100 ms a page may take.
var firstWait = 50 * time.Millisecond

// until is what is left of a wait that ends at deadline, for get: a page
// that needs several snapshots shares one firstWait among them.
func until(deadline time.Time) time.Duration {
	if d := time.Until(deadline); d > 0 {
		return d
	}
	return -1
}

type snapshot struct {
	value any
	err   error
	at    time.Time     // when the queries started
	took  time.Duration // how long they took
}

type snapEntry struct {
	mu      sync.Mutex
	cur     *snapshot
	running bool
	ready   chan struct{} // closed when the first answer is in
}

type snapshots struct {
	now func() time.Time
	log *slog.Logger
	mu  sync.Mutex
	m   map[string]*snapEntry
	wg  sync.WaitGroup
}

func newSnapshots(now func() time.Time, log *slog.Logger) *snapshots {
	return &snapshots{now: now, log: log, m: map[string]*snapEntry{}}
}

func (ss *snapshots) wait() { ss.wg.Wait() }

// errPending: the first snapshot is still being computed, and the caller
// would not wait longer. A page shows what it has and says so.
var errPending = errors.New("still counting")

// get returns key's latest snapshot, computing it with f when there is
// none yet (waiting for it up to wait, or as long as ctx allows when wait
// is 0, or not at all when it is negative; errPending after that) and starting a refresh in the background
// when it is older than min or refreshFactor times its cost.
func (ss *snapshots) get(ctx context.Context, key string, min, wait time.Duration, f func(context.Context) (any, error)) (*snapshot, error) {
	ss.mu.Lock()
	e := ss.m[key]
	if e == nil {
		e = &snapEntry{ready: make(chan struct{})}
		ss.m[key] = e
	}
	ss.mu.Unlock()

	e.mu.Lock()
	cur := e.cur
	due := cur == nil || ss.now().Sub(cur.at) >= max(min, refreshFactor*cur.took) || cur.err != nil
	if due && !e.running {
		e.running = true
		ss.wg.Add(1)
		go ss.refresh(e, key, f)
	}
	e.mu.Unlock()
	if cur != nil && cur.err == nil {
		return cur, nil
	}
	var timeout <-chan time.Time
	if wait < 0 {
		select {
		case <-e.ready:
		default:
			return nil, errPending
		}
	} else if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-e.ready:
	case <-timeout:
		return nil, errPending
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	cur = e.cur
	e.mu.Unlock()
	return cur, cur.err
}

// peek returns key's latest snapshot without asking for a refresh.
func (ss *snapshots) peek(key string) *snapshot {
	ss.mu.Lock()
	e := ss.m[key]
	ss.mu.Unlock()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur
}

func (ss *snapshots) refresh(e *snapEntry, key string, f func(context.Context) (any, error)) {
	defer ss.wg.Done()
	// Bounded: a store that hangs must not pile up refreshes.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := ss.now()
	t0 := time.Now()
	v, err := f(ctx)
	s := &snapshot{value: v, err: err, at: start, took: time.Since(t0)}
	if err != nil {
		ss.log.Warn("dashboard query failed", "what", key, "err", err)
	}
	e.mu.Lock()
	first := e.cur == nil
	if err == nil || e.cur == nil || e.cur.err != nil {
		e.cur = s
	}
	e.running = false
	e.mu.Unlock()
	if first {
		close(e.ready)
	}
}
