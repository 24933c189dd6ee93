package web

import (
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/queue"
)

// sampleEvery is how often the message counters are read for the
// per-minute rates; window is how far back a rate looks.
const (
	sampleEvery = 5 * time.Second
	window      = time.Minute
	keepSamples = int(window/sampleEvery) + 2
)

// counters are the cumulative values the overview derives its rates and
// shares from, read from the Prometheus registry (internal/metrics).
type counters struct {
	at            time.Time
	in, out       float64 // messages accepted; delivery attempts answered 2xx
	sessionsTotal float64
	startTLS      float64 // STARTTLS handshakes begun (220 2.0.0 replies)
}

type sampler struct {
	mu sync.Mutex
	s  []counters // oldest first
}

func newSampler() *sampler { return &sampler{} }

func (h *Handler) read() counters {
	c := counters{at: h.opt.Now()}
	if h.opt.Gatherer == nil {
		return c
	}
	fams, err := h.opt.Gatherer.Gather()
	if err != nil {
		h.opt.Logger.Warn("dashboard: reading metrics", "err", err)
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			v := m.GetCounter().GetValue()
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch f.GetName() {
			case "hikyaku_messages_accepted_total":
				c.in += v
			case "hikyaku_delivery_results_total":
				if strings.HasPrefix(labels["code"], "2") {
					c.out += v
				}
			case "hikyaku_smtp_sessions_total":
				c.sessionsTotal += v
			case "hikyaku_smtp_replies_total":
				if labels["code"] == "220" && labels["enhanced"] == "2.0.0" {
					c.startTLS += v
				}
			}
		}
	}
	return c
}

func (h *Handler) sample() {
	c := h.read()
	h.rates.mu.Lock()
	defer h.rates.mu.Unlock()
	h.rates.s = append(h.rates.s, c)
	if len(h.rates.s) > keepSamples {
		h.rates.s = h.rates.s[len(h.rates.s)-keepSamples:]
	}
}

// perMinute is the counters' growth over the last minute (or over the
// samples there are, scaled to a minute) from the sample closest to a
// minute old to now.
func (h *Handler) perMinute(now counters) (in, out float64) {
	h.rates.mu.Lock()
	defer h.rates.mu.Unlock()
	var base *counters
	for i := range h.rates.s {
		if now.at.Sub(h.rates.s[i].at) <= window {
			base = &h.rates.s[i]
			break
		}
	}
	if base == nil {
		return 0, 0
	}
	d := now.at.Sub(base.at)
	if d < sampleEvery {
		return 0, 0
	}
	scale := float64(window) / float64(d)
	return (now.in - base.in) * scale, (now.out - base.out) * scale
}

// Overview is the first page: what the server is doing now.
type Overview struct {
	At            time.Time     `json:"at"`
	InPerMinute   float64       `json:"in_per_minute"`  // messages accepted (250 after the spool), over the last minute
	OutPerMinute  float64       `json:"out_per_minute"` // relay delivery attempts answered 2xx, over the last minute
	Sessions      int           `json:"sessions"`       // SMTP sessions open now
	SessionsTotal int           `json:"sessions_total"` // since serve started
	StartTLS      int           `json:"starttls_total"`
	TLSShare      float64       `json:"tls_share"`   // StartTLS / SessionsTotal (0 when no session yet)
	QueueDepth    int           `json:"queue_depth"` // messages in the relay queue
	QueueRcpts    int           `json:"queue_recipients"`
	Deferred      []DomainCount `json:"deferred"` // recipients waiting after a transient failure, by destination domain
	Running       []CampaignRow `json:"running_campaigns"`
	QueueError    string        `json:"queue_error,omitempty"`
	StoreError    string        `json:"store_error,omitempty"`
	Counting      bool          `json:"counting"` // the running campaigns' counts are still being read
}

// IsPending says the page lacks numbers still being counted.
func (o Overview) IsPending() bool { return o.Counting }

// DomainCount is N recipients for Domain.
type DomainCount struct {
	Domain string `json:"domain"`
	N      int    `json:"n"`
}

func (h *Handler) overview(r *http.Request) (any, error) {
	now := h.read()
	o := Overview{At: now.at, SessionsTotal: int(now.sessionsTotal), StartTLS: int(now.startTLS)}
	o.InPerMinute, o.OutPerMinute = h.perMinute(now)
	if h.opt.Sessions != nil {
		o.Sessions = h.opt.Sessions()
	}
	if now.sessionsTotal > 0 {
		o.TLSShare = now.startTLS / now.sessionsTotal
	}
	items, err := h.queueItems()
	if err != nil {
		o.QueueError = err.Error()
	}
	deferred := map[string]int{}
	for _, it := range items {
		o.QueueDepth++
		for _, rc := range it.Recipients {
			if rc.Final() {
				continue
			}
			o.QueueRcpts++
			if rc.Status == queue.StatusDeferred {
				deferred[domainOf(rc.Address)]++
			}
		}
	}
	for d, n := range deferred {
		o.Deferred = append(o.Deferred, DomainCount{d, n})
	}
	sort.Slice(o.Deferred, func(i, j int) bool {
		a, b := o.Deferred[i], o.Deferred[j]
		return a.N > b.N || a.N == b.N && a.Domain < b.Domain
	})
	list, err := h.campaignList(r)
	if err != nil {
		o.StoreError = err.Error()
	}
	o.Counting = list.Pending
	for _, c := range list.Campaigns {
		if c.State == "running" {
			o.Running = append(o.Running, c)
		}
	}
	return o, nil
}

// domainOf is the lower-cased domain of a queued recipient, the key the
// deferred counts and the queue filter use.
func domainOf(addr string) string { return strings.ToLower(protocol.DomainOf(addr)) }

// queueItems lists the relay queue, read at most once a second: each read
// decodes every item's envelope.
func (h *Handler) queueItems() ([]queue.Item, error) {
	if h.opt.Queue == nil {
		return nil, nil
	}
	h.queueMu.Lock()
	defer h.queueMu.Unlock()
	now := h.opt.Now()
	if h.queueMemo == nil && h.queueErr == nil || now.Sub(h.queueAt) >= time.Second || now.Before(h.queueAt) {
		h.queueMemo, h.queueErr = h.opt.Queue.List()
		if h.queueMemo == nil {
			h.queueMemo = []queue.Item{}
		}
		h.queueAt = now
	}
	return h.queueMemo, h.queueErr
}

// forgetQueue makes the next read fresh, after a change made here.
func (h *Handler) forgetQueue() {
	h.queueMu.Lock()
	h.queueMemo, h.queueErr = nil, nil
	h.queueMu.Unlock()
}
