package policy

import (
	"net/netip"
	"sync"
	"time"
)

// RateLimiter bounds, per client, the connections and the messages of the
// last minute. A client is one IPv4 address or one IPv6 /64 (a host is
// usually given a whole /64, so counting single IPv6 addresses would let
// one host take 2^64 budgets).
//
// The window slides: the count is the current minute's plus the previous
// minute's weighted by how much of it still lies in the last 60 seconds
// (the sliding-window counter of Cloudflare's and nginx's limiters), so a
// client cannot send twice the limit across a minute boundary, and each
// client costs two counters instead of one timestamp per event. Refused
// attempts are not counted: a client that keeps trying gets exactly the
// limit through per minute.
//
// Memory is bounded: clients idle for two windows are dropped every
// window, and past maxClients an arbitrary client is dropped to make room.
// It is safe for concurrent use.
type RateLimiter struct {
	connPerMin, msgPerMin int
	window                time.Duration
	maxClients            int
	now                   func() time.Time

	mu        sync.Mutex
	clients   map[netip.Addr]*clientRate
	nextSweep time.Time
}

type clientRate struct {
	conn, msg counter
	last      time.Time
}

// counter is one sliding-window count.
type counter struct {
	start     time.Time // start of the current fixed window
	cur, prev int
}

// defaultMaxClients bounds the table: about 100 bytes a client.
const defaultMaxClients = 100_000

// NewRateLimiter limits each client to connPerMin connections and
// msgPerMin messages a minute; 0 (or less) means no limit of that kind.
func NewRateLimiter(connPerMin, msgPerMin int) *RateLimiter {
	return &RateLimiter{
		connPerMin: connPerMin,
		msgPerMin:  msgPerMin,
		window:     time.Minute,
		maxClients: defaultMaxClients,
		now:        time.Now,
		clients:    map[netip.Addr]*clientRate{},
	}
}

// A nil *RateLimiter limits nothing.

// AllowConnection counts a connection from ip and says whether it is
// within the limit.
func (r *RateLimiter) AllowConnection(ip netip.Addr) bool {
	if r == nil {
		return true
	}
	return r.allow(ip, r.connPerMin, func(c *clientRate) *counter { return &c.conn })
}

// AllowMessage counts a message from ip and says whether it is within the
// limit.
func (r *RateLimiter) AllowMessage(ip netip.Addr) bool {
	if r == nil {
		return true
	}
	return r.allow(ip, r.msgPerMin, func(c *clientRate) *counter { return &c.msg })
}

func (r *RateLimiter) allow(ip netip.Addr, limit int, which func(*clientRate) *counter) bool {
	if limit <= 0 {
		return true
	}
	key := clientKey(ip)
	now := r.now()

	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep(now)
	c := r.clients[key]
	if c == nil {
		if len(r.clients) >= r.maxClients {
			for k := range r.clients { // map order: an arbitrary victim
				delete(r.clients, k)
				break
			}
		}
		c = &clientRate{}
		r.clients[key] = c
	}
	c.last = now
	return which(c).take(now, r.window, limit)
}

// take counts one event if the sliding count stays within limit.
func (c *counter) take(now time.Time, window time.Duration, limit int) bool {
	if c.start.IsZero() {
		c.start = now
	}
	if el := now.Sub(c.start); el >= window {
		if el >= 2*window {
			c.prev = 0
		} else {
			c.prev = c.cur
		}
		c.cur = 0
		c.start = c.start.Add(el / window * window)
	}
	weight := 1 - float64(now.Sub(c.start))/float64(window)
	if float64(c.prev)*weight+float64(c.cur) >= float64(limit) {
		return false
	}
	c.cur++
	return true
}

// sweep drops clients idle for two windows, at most once a window.
func (r *RateLimiter) sweep(now time.Time) {
	if now.Before(r.nextSweep) {
		return
	}
	r.nextSweep = now.Add(r.window)
	for k, c := range r.clients {
		if now.Sub(c.last) >= 2*r.window {
			delete(r.clients, k)
		}
	}
}

// clientKey is the address for IPv4, the /64 for IPv6.
func clientKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// Clients is the number of clients tracked, for tests and metrics.
func (r *RateLimiter) Clients() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.clients)
}
