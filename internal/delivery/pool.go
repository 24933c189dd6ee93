package delivery

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hikyaku/hikyaku/internal/smtpclient"
)

// pool keeps SMTP connections per mail host address for reuse, and caps
// the connections open at once to each (per-destination concurrency).
type pool struct {
	perHost     int
	maxUses     int
	idleTimeout time.Duration
	dials       atomic.Int64

	mu    sync.Mutex
	hosts map[netip.AddrPort]*hostConns
}

type hostConns struct {
	sem  chan struct{} // one token per open connection
	idle []*pooled
	// wake is closed (and replaced) whenever a connection goes idle or a
	// slot frees, so a worker waiting for this host looks again.
	wake chan struct{}
}

type pooled struct {
	*smtpclient.Client
	key      netip.AddrPort
	uses     int
	timer    *time.Timer
	idleFrom time.Time
}

// probeAfter is how long a connection may sit idle before it is checked
// with RSET on reuse: a peer rarely drops a connection it served a moment
// ago, and the round trip costs as much as the transaction's own.
const probeAfter = 2 * time.Second

func newPool(perHost, maxUses int, idle time.Duration) *pool {
	return &pool{perHost: perHost, maxUses: maxUses, idleTimeout: idle, hosts: map[netip.AddrPort]*hostConns{}}
}

func (p *pool) host(key netip.AddrPort) *hostConns {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.hosts[key]
	if h == nil {
		h = &hostConns{sem: make(chan struct{}, p.perHost), wake: make(chan struct{})}
		p.hosts[key] = h
	}
	return h
}

// get returns an idle connection to addr or dials a new one once a slot
// is free, whichever comes first.
func (p *pool) get(ctx context.Context, name string, addr netip.AddrPort, opt smtpclient.Options) (*pooled, error) {
	h := p.host(addr)
	for {
		p.mu.Lock()
		var c *pooled
		if n := len(h.idle); n > 0 {
			c, h.idle = h.idle[n-1], h.idle[:n-1]
		}
		wake := h.wake
		p.mu.Unlock()
		if c != nil {
			if c.timer != nil {
				c.timer.Stop()
			}
			if time.Since(c.idleFrom) > probeAfter {
				if err := c.Reset(ctx); err != nil {
					p.discard(c)
					continue
				}
			}
			return c, nil
		}
		select {
		case h.sem <- struct{}{}:
			cl, err := smtpclient.Dial(ctx, name, addr, opt)
			p.dials.Add(1)
			if err != nil {
				p.release(&pooled{key: addr})
				return nil, err
			}
			return &pooled{Client: cl, key: addr}, nil
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// signal wakes the workers waiting for h.
func (p *pool) signal(h *hostConns) {
	p.mu.Lock()
	close(h.wake)
	h.wake = make(chan struct{})
	p.mu.Unlock()
}

// put returns a connection after a transaction; it is closed when used up
// or after idleTimeout without a new transaction.
func (p *pool) put(c *pooled) {
	c.uses++
	if c.uses >= p.maxUses {
		c.Quit()
		p.release(c)
		return
	}
	h := p.host(c.key)
	p.mu.Lock()
	c.idleFrom = time.Now()
	h.idle = append(h.idle, c)
	c.timer = time.AfterFunc(p.idleTimeout, func() { p.expire(c) })
	p.mu.Unlock()
	p.signal(h)
}

// expire closes c if it is still idle.
func (p *pool) expire(c *pooled) {
	h := p.host(c.key)
	p.mu.Lock()
	found := false
	for i, x := range h.idle {
		if x == c {
			h.idle = append(h.idle[:i], h.idle[i+1:]...)
			found = true
			break
		}
	}
	p.mu.Unlock()
	if found {
		c.Quit()
		p.release(c)
	}
}

// discard drops a connection that is no longer usable.
func (p *pool) discard(c *pooled) {
	c.Close()
	p.release(c)
}

func (p *pool) release(c *pooled) {
	h := p.host(c.key)
	<-h.sem
	p.signal(h)
}

func (p *pool) closeAll() {
	p.mu.Lock()
	var all []*pooled
	for _, h := range p.hosts {
		all = append(all, h.idle...)
		h.idle = nil
	}
	p.mu.Unlock()
	for _, c := range all {
		if c.timer != nil {
			c.timer.Stop()
		}
		c.Quit()
		p.release(c)
	}
}
