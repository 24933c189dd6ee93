package delivery

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/dkim"
	"github.com/hikyaku/hikyaku/internal/dnsfake"
	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/peertest"
	"github.com/hikyaku/hikyaku/internal/resolve"
	"github.com/hikyaku/hikyaku/internal/smtpclient"
)

// world is a fake DNS and scripted peers on loopback addresses
// 127.0.0.2, .3, …, all on one port, as MX hosts on port 25 would be.
type world struct {
	t     *testing.T
	dns   *dnsfake.Server
	port  uint16
	peers map[string]*peertest.Peer // by IP
}

// zone maps every test domain. 127.0.0.9 has no listener (connection
// refused); 127.0.0.1 is "this host" (loop).
const testZone = `
$TTL 300
good.test.      MX 10 mx.good.test.
mx.good.test.   A  127.0.0.2
fallback.test.  MX 10 mx1.fallback.test.
fallback.test.  MX 20 mx2.fallback.test.
mx1.fallback.test. A 127.0.0.9
mx2.fallback.test. A 127.0.0.2
cutfirst.test.  MX 10 mx1.cutfirst.test.
cutfirst.test.  MX 20 mx2.cutfirst.test.
mx1.cutfirst.test. A 127.0.0.3
mx2.cutfirst.test. A 127.0.0.2
implicit.test.  A  127.0.0.2
nullmx.test.    MX 0 .
nohost.test.    MX 10 gone.nohost.test.
refused.test.   MX 10 mx.refused.test.
mx.refused.test. A 127.0.0.9
loop.test.      MX 10 mx.loop.test.
mx.loop.test.   A 127.0.0.1
noaddr.test.    TXT "no mail here"
`

func newWorld(t *testing.T, scripts map[string]peertest.Script) *world {
	t.Helper()
	dns, err := dnsfake.Start(dnsfake.Options{Zone: testZone, Fail: map[string]int{"servfail.test.": 2}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	w := &world{t: t, dns: dns, peers: map[string]*peertest.Peer{}}
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		s := scripts[ip]
		listen := ip + ":0"
		if w.port != 0 {
			listen = fmt.Sprintf("%s:%d", ip, w.port)
		}
		p, err := peertest.StartAt(listen, s)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		w.port = p.Addr.Port()
		w.peers[ip] = p
	}
	return w
}

func (w *world) engine(mutate func(*Options)) *Engine {
	w.t.Helper()
	res, err := resolve.New(resolve.Options{
		Servers:   []string{w.dns.Addr},
		Timeout:   time.Second,
		LoopAddrs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		SelfNames: []string{"mx.self.test"},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	t := smtpclient.DefaultTimeouts()
	for _, d := range []*time.Duration{&t.Connect, &t.Greeting, &t.Helo, &t.StartTLS, &t.Mail, &t.Rcpt, &t.Data, &t.Block, &t.Dot, &t.Rset, &t.Quit} {
		*d = 2 * time.Second
	}
	opt := Options{Port: int(w.port), Client: smtpclient.Options{HeloName: "mx.self.test", Timeouts: t}, IdleTimeout: time.Second}
	if mutate != nil {
		mutate(&opt)
	}
	e := New(res, opt)
	w.t.Cleanup(e.Close)
	return e
}

func msg(rcpts ...string) Message {
	m := Message{ID: "T1", From: "sender@self.test", Data: []byte("Subject: test\r\n\r\nhello\r\n")}
	for _, r := range rcpts {
		m.Recipients = append(m.Recipients, Recipient{Addr: r})
	}
	return m
}

func codesOf(rs []outcome.Result) []int {
	var out []int
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

// Each domain shape of docs/spec.md §3/§4.3 ends in its code, through the real
// resolver and client against the fake DNS and peers.
func TestDeliverOutcomes(t *testing.T) {
	w := newWorld(t, nil)
	e := w.engine(nil)
	for _, tc := range []struct {
		rcpt     string
		code     int
		enhanced string
		why      string
	}{
		{"a@good.test", 250, "", "MX host accepts"},
		{"a@implicit.test", 250, "", "no MX: the domain's own A record (RFC 5321 §5.1)"},
		{"a@fallback.test", 250, "", "first MX refuses the connection, second accepts"},
		{"a@nullmx.test", 710, "5.1.10", "null MX (RFC 7505)"},
		{"a@nxdomain.test", 700, "5.1.2", "domain does not exist"},
		{"a@nohost.test", 711, "5.4.4", "MX target does not resolve"},
		{"a@noaddr.test", 710, "5.4.4", "no MX and no A/AAAA"},
		{"a@servfail.test", 720, "4.4.3", "DNS answers SERVFAIL"},
		{"a@loop.test", 730, "5.4.6", "the only MX is this host"},
		{"a@refused.test", 601, "4.4.1", "no MX host accepts a connection"},
		{"not an address", 800, "5.1.3", "syntax fails before any network work"},
		{"a@192.0.2.1", 611, "", "domain is not a host name (an IP address without brackets)"},
	} {
		t.Run(tc.why, func(t *testing.T) {
			r := e.Deliver(context.Background(), msg(tc.rcpt))[0]
			if r.Code != tc.code || (tc.enhanced != "" && r.Enhanced != tc.enhanced) {
				t.Errorf("%s: got %s, want %d %s", tc.rcpt, r, tc.code, tc.enhanced)
			}
			// The code's own text once, then what happened.
			if c, _ := codes.LookupCode(r.Code); r.Code >= 600 && strings.Count(r.Text, c.EN) != 1 {
				t.Errorf("%s: text %q should name %q once", tc.rcpt, r.Text, c.EN)
			}
		})
	}
}

// The first MX cuts the connection while we wait for the RCPT reply: the
// recipient is tried at the next MX and delivered.
func TestNextHostAfterCut(t *testing.T) {
	w := newWorld(t, map[string]peertest.Script{
		"127.0.0.3": {Actions: map[codes.Phase]peertest.Action{codes.PhaseRcpt: peertest.Cut}},
	})
	e := w.engine(nil)
	r := e.Deliver(context.Background(), msg("a@cutfirst.test"))[0]
	if r.Code != 250 || r.Host != "mx2.cutfirst.test" {
		t.Fatalf("got %s via %s, want 250 via mx2", r, r.Host)
	}
}

// Per-recipient replies are kept whole; one connection carries several
// messages; PIPELINING is used when offered.
func TestReplyKeptConnectionReusedPipelined(t *testing.T) {
	w := newWorld(t, map[string]peertest.Script{
		"127.0.0.2": {RcptReplies: map[string]string{"bad@good.test": "550-5.1.1 no such user\n550 5.1.1 really"}},
	})
	e := w.engine(nil)
	rs := e.Deliver(context.Background(), msg("ok@good.test", "bad@good.test"))
	if rs[0].Code != 250 || rs[1].Code != 550 || rs[1].Enhanced != "5.1.1" || !strings.Contains(rs[1].Text, "really") {
		t.Fatalf("results %v / %+v", codesOf(rs), rs[1])
	}
	for i := 0; i < 4; i++ {
		if r := e.Deliver(context.Background(), msg("ok@good.test"))[0]; r.Code != 250 {
			t.Fatalf("message %d: %s", i, r)
		}
	}
	p := w.peers["127.0.0.2"]
	if n := p.Connections(); n != 1 {
		t.Errorf("5 messages took %d connections, want 1 (reuse)", n)
	}
	if len(p.Messages()) != 5 {
		t.Errorf("peer has %d messages, want 5", len(p.Messages()))
	}
	if p.PipelinedBatches() == 0 {
		t.Errorf("PIPELINING offered but never used")
	}
}

// Over the peer's recipient limit: 452 4.5.3, and the rest go in the next
// transaction right away (RFC 5321 §4.5.3.1.10).
func TestTooManyRecipientsSplit(t *testing.T) {
	w := newWorld(t, map[string]peertest.Script{"127.0.0.2": {MaxRecipients: 2}})
	e := w.engine(nil)
	rs := e.Deliver(context.Background(), msg("a@good.test", "b@good.test", "c@good.test", "d@good.test", "e@good.test"))
	for i, r := range rs {
		if r.Code != 250 {
			t.Errorf("recipient %d: %s", i, r)
		}
	}
	if n := len(w.peers["127.0.0.2"].Messages()); n != 3 {
		t.Errorf("peer got %d transactions, want 3 (2+2+1)", n)
	}
}

// Lost after the final dot: 625 and MaybeDelivered, never retried
// elsewhere blindly.
func TestLostAfterDot(t *testing.T) {
	w := newWorld(t, map[string]peertest.Script{
		"127.0.0.3": {Actions: map[codes.Phase]peertest.Action{codes.PhaseDot: peertest.Cut}},
	})
	e := w.engine(nil)
	r := e.Deliver(context.Background(), msg("a@cutfirst.test"))[0]
	if r.Code != 625 || !r.MaybeDelivered {
		t.Fatalf("got %s (maybe=%v), want 625 maybe delivered", r, r.MaybeDelivered)
	}
	if n := len(w.peers["127.0.0.2"].Messages()); n != 0 {
		t.Errorf("second MX got %d messages: a possibly delivered message was re-sent", n)
	}
}

// Lines over 998 octets are re-encoded before sending, never sent raw.
func TestLongLinesReencoded(t *testing.T) {
	w := newWorld(t, nil)
	e := w.engine(nil)
	m := msg("a@good.test")
	m.Data = []byte("Subject: long\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("x", 3000) + "\r\n")
	if r := e.Deliver(context.Background(), m)[0]; r.Code != 250 {
		t.Fatal(r)
	}
	got := w.peers["127.0.0.2"].Messages()[0].Data
	for _, line := range strings.Split(string(got), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("a %d-octet line was sent", len(line))
		}
	}
	if !strings.Contains(string(got), "quoted-printable") {
		t.Errorf("long text part not re-encoded as quoted-printable:\n%.300s", got)
	}
}

// A host answering 421 "too many connections" is left alone for a while:
// the next message gets the same transient answer without a connection.
func TestBackoffAfter421(t *testing.T) {
	w := newWorld(t, map[string]peertest.Script{"127.0.0.2": {Greeting: "421 4.7.0 mx.good.test too many connections, slow down"}})
	e := w.engine(nil)
	for i := 0; i < 3; i++ {
		if r := e.Deliver(context.Background(), msg("a@good.test"))[0]; r.Code != 421 {
			t.Fatalf("attempt %d: %s, want 421", i, r)
		}
	}
	if n := w.peers["127.0.0.2"].Connections(); n != 1 {
		t.Errorf("%d connections to a host that asked us to back off, want 1", n)
	}
}

// rate_per_domain spaces messages to one domain.
func TestRatePerDomain(t *testing.T) {
	w := newWorld(t, nil)
	e := w.engine(func(o *Options) { o.RatePerDomain = 20 })
	start := time.Now()
	for i := 0; i < 5; i++ {
		if r := e.Deliver(context.Background(), msg("a@good.test"))[0]; r.Code != 250 {
			t.Fatal(r)
		}
	}
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Errorf("5 messages at 20/s took %v, want at least 200ms", d)
	}
}

// Outbound mail is DKIM-signed after re-encoding, and the signature
// verifies against the published key.
func TestDKIMSigned(t *testing.T) {
	w := newWorld(t, nil)
	key, _, err := dkim.GenerateKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	signer := &dkim.Signer{Keys: map[string][]dkim.Key{"self.test": {{Domain: "self.test", Selector: "sel", Signer: key}}}}
	e := w.engine(func(o *Options) { o.Sign = signer.Sign })
	m := msg("a@good.test")
	m.Data = []byte("From: Sender <sender@self.test>\r\nTo: a@good.test\r\nSubject: signed\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("y", 1500) + "\r\n")
	if r := e.Deliver(context.Background(), m)[0]; r.Code != 250 {
		t.Fatal(r)
	}
	got := w.peers["127.0.0.2"].Messages()[0].Data
	if !strings.HasPrefix(string(got), "DKIM-Signature:") {
		t.Fatalf("not signed:\n%.200s", got)
	}
	rec := dkim.DNSRecord("sel", "self.test", key.Public())
	if err := w.dns.SetZone(testZone + rec + "\n"); err != nil {
		t.Fatal(err)
	}
	res, err := resolve.New(resolve.Options{Servers: []string{w.dns.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	v := &dkim.Verifier{Resolver: res}
	results := v.Verify(context.Background(), got)
	if len(results) != 1 || results[0].Result != dkim.Pass {
		t.Fatalf("verification: %+v", results)
	}
}
