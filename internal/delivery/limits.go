package delivery

import (
	"context"
	"net/netip"
	"regexp"
	"sync"
	"time"

	"github.com/hikyaku/hikyaku/internal/outcome"
)

// rateLimiter spaces messages to one domain at least 1/rate apart, so a
// large list is sent politely (docs/spec.md §3).
type rateLimiter struct {
	interval time.Duration
	mu       sync.Mutex
	next     map[string]time.Time
}

func newRateLimiter(perSecond int) *rateLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &rateLimiter{interval: time.Second / time.Duration(perSecond), next: map[string]time.Time{}}
}

// wait blocks until domain may take one more message.
func (l *rateLimiter) wait(ctx context.Context, domain string) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	at := now
	if next := l.next[domain]; next.After(now) {
		at = next
	}
	l.next[domain] = at.Add(l.interval)
	l.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// throttled recognises replies that say "you are sending too much": a
// destination answering so is left alone for a while instead of being
// hammered (and instead of burning the rest of a list against it).
var throttled = regexp.MustCompile(`(?i)too many (connections|sessions|concurrent)|rate.?limit|too fast|throttl|slow down|exceeded.*(limit|rate)`)

// backoffs remembers mail hosts that asked us to back off.
type backoffs struct {
	mu    sync.Mutex
	hosts map[netip.Addr]*hostBackoff
}

type hostBackoff struct {
	until  time.Time
	delay  time.Duration
	result outcome.Result
}

const (
	minHostBackoff = 30 * time.Second
	maxHostBackoff = 10 * time.Minute
)

// note records a host's result: a 421, or a 4xx with a throttling text,
// starts or doubles its back-off; anything else clears it.
func (b *backoffs) note(ip netip.Addr, r outcome.Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.Code == 421 || (r.Code >= 400 && r.Code < 500 && throttled.MatchString(r.Text)) {
		h := b.hosts[ip]
		if h == nil {
			h = &hostBackoff{}
			b.hosts[ip] = h
		}
		h.delay = min(max(h.delay*2, minHostBackoff), maxHostBackoff)
		h.until = time.Now().Add(h.delay)
		h.result = r
		return
	}
	if r.Code != 0 {
		delete(b.hosts, ip)
	}
}

// check says whether a host is backed off, with the result that caused it.
func (b *backoffs) check(ip netip.Addr) (outcome.Result, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	h := b.hosts[ip]
	if h == nil || time.Now().After(h.until) {
		return outcome.Result{}, false
	}
	return h.result, true
}
