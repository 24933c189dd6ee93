package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hikyaku/hikyaku/internal/longline"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/resolve"
	"github.com/hikyaku/hikyaku/internal/smtpclient"
)

// Router finds where a domain's mail goes; *resolve.Resolver.
type Router interface {
	Route(ctx context.Context, domain string) (resolve.Route, error)
}

// Options configure an Engine.
type Options struct {
	Port            int
	Client          smtpclient.Options
	RequireTLS      []string // recipient domains that must get TLS
	PerHost         int      // connections at once per mail host address
	MessagesPerConn int
	IdleTimeout     time.Duration
	RatePerDomain   int // messages per second to one domain; 0: no limit
	// Sign, when set, signs each message once before it is sent (DKIM,
	// after any re-encoding so the signature covers what goes out).
	Sign   func(msg []byte) ([]byte, error)
	Logger *slog.Logger
	// OnAttempt is called once per recipient and attempt, for the mail log
	// and metrics.
	OnAttempt func(a Attempt)
}

// Attempt is one recipient's outcome of one attempt.
type Attempt struct {
	QueueID   string
	Recipient string
	Domain    string
	Result    outcome.Result
	Duration  time.Duration
}

// Recipient is one envelope recipient to deliver to.
type Recipient struct {
	Addr   string
	Notify string
	ORCPT  string
}

// Message is what the Engine delivers.
type Message struct {
	ID         string
	From       string
	Recipients []Recipient
	Data       []byte
	SMTPUTF8   bool
	EightBit   bool
	EnvID      string
	Ret        string
	BeforeDot  func() error // see smtpclient.Message.BeforeDot
}

// Engine delivers messages to remote mail servers.
type Engine struct {
	opt      Options
	router   Router
	pool     *pool
	rate     *rateLimiter
	backoffs backoffs
}

// New builds an Engine.
func New(router Router, opt Options) *Engine {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Port == 0 {
		opt.Port = 25
	}
	if opt.PerHost <= 0 {
		opt.PerHost = 10
	}
	if opt.MessagesPerConn <= 0 {
		opt.MessagesPerConn = 100
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = 5 * time.Second
	}
	return &Engine{
		opt: opt, router: router, pool: newPool(opt.PerHost, opt.MessagesPerConn, opt.IdleTimeout),
		rate: newRateLimiter(opt.RatePerDomain), backoffs: backoffs{hosts: map[netip.Addr]*hostBackoff{}},
	}
}

// Close closes pooled connections.
func (e *Engine) Close() { e.pool.closeAll() }

// Connections is the number of connections opened so far.
func (e *Engine) Connections() int64 { return e.pool.dials.Load() }

// Deliver makes one attempt for every recipient and returns one result
// per recipient, in order.
func (e *Engine) Deliver(ctx context.Context, m Message) []outcome.Result {
	results := make([]outcome.Result, len(m.Recipients))
	byDomain := map[string][]int{}
	var domains []string
	for i, r := range m.Recipients {
		a, err := protocol.ParseAddress(r.Addr)
		if err != nil {
			// 800: fails syntax before any network work.
			results[i] = outcome.Own(800, err.Error())
			e.report(m, i, results[i], 0)
			continue
		}
		d := strings.ToLower(strings.TrimSuffix(a.Domain, "."))
		if _, ok := byDomain[d]; !ok {
			domains = append(domains, d)
		}
		byDomain[d] = append(byDomain[d], i)
	}
	data := m.Data
	if longline.NeedsFix(data, 998) {
		if fixed, err := longline.Fix(data, 998); err == nil && fixed.Changed {
			data = fixed.Data
			for _, n := range fixed.Notes {
				e.opt.Logger.Info("message re-encoded for lines over 998 octets", "id", m.ID, "note", n)
			}
		}
	}
	if e.opt.Sign != nil && len(domains) > 0 {
		if signed, err := e.opt.Sign(data); err != nil {
			e.opt.Logger.Error("DKIM signing failed; sending unsigned", "id", m.ID, "err", err)
		} else {
			data = signed
		}
	}
	var wg sync.WaitGroup
	for _, d := range domains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			e.deliverDomain(ctx, m, data, d, byDomain[d], results)
			for _, i := range byDomain[d] {
				e.report(m, i, results[i], time.Since(start))
			}
		}()
	}
	wg.Wait()
	return results
}

func (e *Engine) report(m Message, i int, r outcome.Result, d time.Duration) {
	if e.opt.OnAttempt == nil {
		return
	}
	addr := m.Recipients[i].Addr
	e.opt.OnAttempt(Attempt{QueueID: m.ID, Recipient: addr, Domain: strings.ToLower(protocol.DomainOf(addr)), Result: r, Duration: d})
}

// deliverDomain tries the domain's mail hosts in order until every
// recipient has a result that another host would not change.
func (e *Engine) deliverDomain(ctx context.Context, m Message, data []byte, domain string, idx []int, results []outcome.Result) {
	route, err := e.router.Route(ctx, domain)
	if err == nil {
		err = e.rate.wait(ctx, domain)
	}
	if err != nil {
		var re *resolve.Error
		r := outcome.Own(720, err.Error())
		if errors.As(err, &re) {
			r = re.Result
		}
		for _, i := range idx {
			results[i] = r
		}
		return
	}
	pending := slices.Clone(idx)
	var last outcome.Result
	allConnectFailed := true
	tried := false
	for _, h := range route.Hosts {
		for _, ip := range h.Addrs {
			if len(pending) == 0 {
				return
			}
			tried = true
			addr := netip.AddrPortFrom(ip, uint16(e.opt.Port))
			done, lastRes, connectFailed := e.tryHost(ctx, m, data, domain, h.Name, addr, pending, results)
			if !connectFailed {
				allConnectFailed = false
			}
			last = lastRes
			pending = done
		}
	}
	if len(pending) == 0 {
		return
	}
	r := last
	if !tried {
		r = outcome.Own(710, "no mail host address")
	} else if allConnectFailed && last.Code != 601 {
		// The last host could not even get a socket (609): no host was
		// reached, which is 601 with that failure as the detail. A last
		// 601 already says so, and once.
		r = outcome.Own(601, last.Text)
		r.Host, r.IP = last.Host, last.IP
	}
	for _, i := range pending {
		results[i] = r
	}
}

// tryHost delivers the pending recipients through one host address. It
// returns the recipients another host should still try, the last
// connection-level result, and whether the host could not be connected to
// at all.
func (e *Engine) tryHost(ctx context.Context, m Message, data []byte, domain, host string, addr netip.AddrPort, pending []int, results []outcome.Result) ([]int, outcome.Result, bool) {
	opt := e.opt.Client
	if slices.Contains(e.opt.RequireTLS, domain) {
		opt.RequireTLS = true
		if opt.TLS == nil {
			opt.TLS = &tls.Config{InsecureSkipVerify: true}
		}
	}
	if r, ok := e.backoffs.check(addr.Addr()); ok {
		// The host asked us to slow down: leave it alone, keep its answer.
		return pending, r, false
	}
	c, err := e.pool.get(ctx, host, addr, opt)
	if err != nil {
		r := resultOf(err)
		r.Host, r.IP = host, addr.Addr().String()
		e.backoffs.note(addr.Addr(), r)
		connectFailed := r.Code == 601 || r.Code == 609
		// A reply refusing the whole session (greeting or EHLO 5xx) is
		// final for this host but another MX may take it: carry on.
		return pending, r, connectFailed
	}
	for len(pending) > 0 {
		msg := smtpclient.Message{From: m.From, Data: data, SMTPUTF8: m.SMTPUTF8, EightBit: m.EightBit, EnvID: m.EnvID, Ret: m.Ret, BeforeDot: m.BeforeDot}
		for _, i := range pending {
			r := m.Recipients[i]
			msg.Recipients = append(msg.Recipients, smtpclient.Recipient{Addr: r.Addr, Notify: r.Notify, ORCPT: r.ORCPT})
		}
		res, err := c.Send(ctx, msg)
		var again []int
		retryHere := false
		for k, i := range pending {
			r := res[k]
			r.Host, r.IP = host, addr.Addr().String()
			results[i] = r
			e.backoffs.note(addr.Addr(), r)
			// After a 452 for too many recipients the rest go in the next
			// transaction right away (RFC 5321 §4.5.3.1.10).
			if r.Code == 452 && (r.Enhanced == "4.5.3" || strings.Contains(strings.ToLower(r.Text), "too many recipients")) && k > 0 {
				again = append(again, i)
				retryHere = true
			}
		}
		if err != nil {
			e.pool.discard(c)
			// Recipients that got no verdict from this host try the next
			// one, unless the message may already be delivered.
			var next []int
			var last outcome.Result
			for _, i := range pending {
				r := results[i]
				if isConnectionLevel(r) && !r.MaybeDelivered {
					next = append(next, i)
					last = r
				}
			}
			return next, last, false
		}
		if !retryHere || len(again) == len(pending) {
			break
		}
		if err := c.Reset(ctx); err != nil {
			e.pool.discard(c)
			return again, resultOf(err), false
		}
		pending = again
	}
	e.pool.put(c)
	return nil, outcome.Result{}, false
}

// isConnectionLevel says a result is about the connection, not the
// recipient: another host may do better.
func isConnectionLevel(r outcome.Result) bool {
	return r.Code >= 600 && r.Code < 700 || r.Code == 421
}

func resultOf(err error) outcome.Result {
	var ce *smtpclient.Error
	if errors.As(err, &ce) {
		return ce.Result
	}
	return outcome.Own(602, err.Error())
}
