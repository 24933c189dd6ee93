package auth

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limiter throttles failed authentication, per client network and per
// user, over a fixed window:
//
//   - every failed attempt is answered after a delay (Dovecot's
//     auth_failure_delay habit), which doubles for each failure past the
//     limit;
//   - a client network (an IPv4 address, an IPv6 /64) with MaxFailures
//     failures in the window gets 454 4.7.0 at once for every further
//     AUTH, its credentials not even checked, until the window ends;
//   - a user with MaxFailures failures is not locked out (that would let
//     anyone lock anyone out) but its attempts, from anywhere, are answered
//     one at a time, each after the growing delay; when the queue of
//     waiting attempts grows past a minute's worth, the extra ones get 454.
//
// A success clears both records. Counts are kept for at most window after
// the first failure, so a blocked client is not kept blocked by retrying.
type Limiter struct {
	max    int
	window time.Duration
	delay  time.Duration
	now    func() time.Time

	mu    sync.Mutex
	nets  map[netip.Prefix]*record
	users map[string]*record
	ops   int
}

type record struct {
	first time.Time // the first failure of the window
	n     int
	slot  time.Time // when the last queued attempt of a throttled user is answered
}

// maxRecords bounds each map; past it new clients and users are not
// recorded (the limiter fails open rather than grow without bound).
const maxRecords = 1 << 16

// NewLimiter returns a limiter; maxFailures < 1 turns it off.
func NewLimiter(maxFailures int, window, delay time.Duration) *Limiter {
	return &Limiter{max: maxFailures, window: window, delay: delay, now: time.Now,
		nets: map[netip.Prefix]*record{}, users: map[string]*record{}}
}

// netOf groups IPv6 clients by /64, the block one host usually has.
func netOf(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

func userKey(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

// live returns the record if its window is still open.
func (l *Limiter) live(r *record, now time.Time) bool {
	return r != nil && (now.Sub(r.first) < l.window || now.Before(r.slot))
}

// backoff is the delay for an attempt made with n failures on record.
func (l *Limiter) backoff(n int) time.Duration {
	d := l.delay
	for i := l.max; i < n && d < 32*l.delay; i++ {
		d *= 2
	}
	return d
}

// Admit is asked before an exchange starts. When the client's network is
// over the limit it returns false and how long to wait before the 454.
func (l *Limiter) Admit(ip netip.Addr) (ok bool, hold time.Duration) {
	if l == nil || l.max < 1 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if r := l.nets[netOf(ip)]; l.live(r, now) && r.n >= l.max {
		return false, l.backoff(r.n)
	}
	return true, 0
}

// Settle records the outcome of an exchange that got as far as a user
// (user may be "" when the client never named one) and says how long to
// hold the answer. throttled means the answer must be 454 whatever the
// outcome, because the user's queue is full.
func (l *Limiter) Settle(ip netip.Addr, user string, ok bool) (hold time.Duration, throttled bool) {
	if l == nil || l.max < 1 {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	nk, uk := netOf(ip), userKey(user)
	nr, ur := l.nets[nk], l.users[uk]
	if !l.live(nr, now) {
		nr = nil
	}
	if uk == "" || !l.live(ur, now) {
		ur = nil
	}
	if ur != nil && ur.n >= l.max {
		// A throttled user: answers go out one at a time.
		slot := now
		if ur.slot.After(now) {
			slot = ur.slot
		}
		step := l.backoff(ur.n + 1) // as if this attempt fails too
		slot = slot.Add(step)
		if slot.Sub(now) > 64*l.delay+step {
			return 0, true
		}
		ur.slot, hold = slot, slot.Sub(now)
	}
	if ok {
		delete(l.nets, nk)
		if uk != "" {
			delete(l.users, uk)
		}
		return hold, false
	}
	n := 0
	nr = count(l.nets, nk, nr, now)
	if nr != nil {
		n = nr.n
	}
	if uk != "" {
		ur = count(l.users, uk, ur, now)
		if ur != nil {
			n = max(n, ur.n)
		}
	}
	return max(hold, l.backoff(n)), false
}

// count adds a failure to k's record, opening a window when r is nil.
func count[K comparable](m map[K]*record, k K, r *record, now time.Time) *record {
	if r == nil {
		if len(m) >= maxRecords {
			return nil
		}
		r = &record{first: now}
		m[k] = r
	}
	r.n++
	return r
}

// sweep drops closed windows now and then, so the maps hold only the
// clients and users of the last window.
func (l *Limiter) sweep(now time.Time) {
	l.ops++
	if l.ops%256 != 0 {
		return
	}
	for k, r := range l.nets {
		if !l.live(r, now) {
			delete(l.nets, k)
		}
	}
	for k, r := range l.users {
		if !l.live(r, now) {
			delete(l.users, k)
		}
	}
}
