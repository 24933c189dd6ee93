package campaign

import (
	"context"
	"sync"
	"time"
)

// pacer spaces sends evenly to at most rate a second from this process.
type pacer struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time
}

func newPacer(rate int) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{every: time.Second / time.Duration(rate)}
}

// wait blocks until the caller's turn; a nil pacer never waits.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.every)
	p.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// window is the -11 check: the last size results, and how many of them
// failed on the sending side (docs/spec.md §4.4: "errors too frequent"). It judges
// only a full window, so the first few results of a run cannot stop it.
type window struct {
	mu      sync.Mutex
	ring    []bool
	next    int
	filled  bool
	fails   int
	percent int
	tripped bool
}

func newWindow(size, percent int) *window {
	if size <= 0 {
		return nil
	}
	return &window{ring: make([]bool, size), percent: percent}
}

// note adds one result; it reports true once, when the window trips.
func (w *window) note(failed bool) bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ring[w.next] {
		w.fails--
	}
	w.ring[w.next] = failed
	if failed {
		w.fails++
	}
	w.next++
	if w.next == len(w.ring) {
		w.next, w.filled = 0, true
	}
	if w.filled && !w.tripped && w.fails*100 >= w.percent*len(w.ring) {
		w.tripped = true
		return true
	}
	return false
}
