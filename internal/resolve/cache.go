package resolve

import (
	"container/list"
	"context"
	"time"
)

// qkey is one question.
type qkey struct {
	name  string // canonical
	qtype uint16
}

// cache holds answers for their TTL, least recently used first out when
// full. The Resolver's mutex guards it.
type cache struct {
	max int
	ll  *list.List // of *centry, most recent at the front
	m   map[qkey]*list.Element
}

type centry struct {
	k   qkey
	a   answer
	exp time.Time
}

func newCache(max int) *cache {
	return &cache{max: max, ll: list.New(), m: map[qkey]*list.Element{}}
}

func (c *cache) get(k qkey, now time.Time) (answer, bool) {
	e := c.m[k]
	if e == nil {
		return answer{}, false
	}
	ce := e.Value.(*centry)
	if !now.Before(ce.exp) {
		c.ll.Remove(e)
		delete(c.m, k)
		return answer{}, false
	}
	c.ll.MoveToFront(e)
	return ce.a, true
}

func (c *cache) put(k qkey, a answer, now time.Time) {
	if a.ttl <= 0 || a.canceled || c.max <= 0 {
		return
	}
	if e := c.m[k]; e != nil {
		e.Value = &centry{k, a, now.Add(a.ttl)}
		c.ll.MoveToFront(e)
		return
	}
	c.m[k] = c.ll.PushFront(&centry{k, a, now.Add(a.ttl)})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.m, old.Value.(*centry).k)
	}
}

// flight is a question being asked; others asking the same wait for it
// instead of asking again (a queue with many messages for one domain).
type flight struct {
	done chan struct{}
	a    answer
}

// query answers one question from the cache, from a flight already under
// way, or by asking the servers.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) answer {
	k := qkey{canonical(name), qtype}
	for {
		r.mu.Lock()
		if a, ok := r.cache.get(k, r.now()); ok {
			r.mu.Unlock()
			return a
		}
		if f := r.inflight[k]; f != nil {
			r.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return answer{st: stTemp, canceled: true, detail: ctx.Err().Error()}
			}
			if f.a.canceled {
				continue // the asker gave up, not the servers: ask again
			}
			return f.a
		}
		f := &flight{done: make(chan struct{})}
		r.inflight[k] = f
		r.mu.Unlock()

		f.a = r.exchange(ctx, k.name, qtype)
		r.mu.Lock()
		delete(r.inflight, k)
		r.cache.put(k, f.a, r.now())
		r.mu.Unlock()
		close(f.done)
		return f.a
	}
}
