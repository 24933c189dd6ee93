package resolve

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/hikyaku/hikyaku/internal/dnsfake"
)

const orderZone = `$TTL 300
eq.test.   MX 10 a.eq.test.
eq.test.   MX 10 b.eq.test.
eq.test.   MX 20 c.eq.test.
eq.test.   MX 5 d.eq.test.
a.eq.test. A 192.0.2.10
b.eq.test. A 192.0.2.11
c.eq.test. A 192.0.2.12
d.eq.test. A 192.0.2.13
`

// TestPreferenceOrder checks RFC 5321 §5.1: ascending preference always,
// equal preferences in both orders over many runs (seeded, so the test is
// repeatable), and the same seed giving the same orders.
func TestPreferenceOrder(t *testing.T) {
	s := fakeDNS(t, dnsfake.Options{Zone: orderZone})
	run := func(seed uint64) []string {
		r := newResolver(t, Options{Rand: rand.New(rand.NewPCG(seed, seed))}, s.Addr)
		var orders []string
		for range 200 {
			route, err := r.Route(context.Background(), "eq.test")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, h := range route.Hosts {
				names = append(names, strings.TrimSuffix(h.Name, ".eq.test"))
			}
			orders = append(orders, strings.Join(names, ""))
		}
		return orders
	}
	orders := run(7)
	seen := map[string]int{}
	for _, o := range orders {
		seen[o]++
	}
	if len(seen) != 2 || seen["dabc"] == 0 || seen["dbac"] == 0 {
		t.Errorf("orders seen %v, want only dabc and dbac, both", seen)
	}
	if again := run(7); !slices.Equal(orders, again) {
		t.Error("the same seed gave different orders")
	}
}

// TestCache checks a second Route asks nothing, that answers expire with
// their TTL on the injected clock, and that changed data is then seen.
func TestCache(t *testing.T) {
	zone := `ok.test. 60 IN MX 10 mx.ok.test.
mx.ok.test. 120 IN A 192.0.2.1
`
	s := fakeDNS(t, dnsfake.Options{Zone: zone})
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	r := newResolver(t, Options{Now: clock.Now}, s.Addr)
	ctx := context.Background()

	if _, err := r.Route(ctx, "ok.test"); err != nil {
		t.Fatal(err)
	}
	first := s.Queries()
	if first != 3 {
		t.Errorf("first Route made %d queries, want 3 (MX, A, AAAA)", first)
	}
	if _, err := r.Route(ctx, "ok.test"); err != nil || s.Queries() != first {
		t.Fatalf("second Route: %v, %d queries, want none", err, s.Queries()-first)
	}
	if err := s.SetZone("ok.test. 60 IN MX 10 mx.ok.test.\nmx.ok.test. 60 IN A 192.0.2.99\n"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(59 * time.Second)
	if route, _ := r.Route(ctx, "ok.test"); s.Queries() != first || route.Hosts[0].Addrs[0].String() != "192.0.2.1" {
		t.Errorf("before expiry: %d queries, %v", s.Queries()-first, route.Hosts)
	}
	// Past the MX's 60s only the MX is asked again; the A (120s) and the
	// negative AAAA (the made-up SOA: 300s) are still fresh.
	clock.Advance(2 * time.Second)
	if route, _ := r.Route(ctx, "ok.test"); s.Queries() != first+1 || route.Hosts[0].Addrs[0].String() != "192.0.2.1" {
		t.Errorf("after the MX TTL: %d queries (want 1), %v", s.Queries()-first, route.Hosts)
	}
	clock.Advance(60 * time.Second)
	if route, _ := r.Route(ctx, "ok.test"); route.Hosts[0].Addrs[0].String() != "192.0.2.99" {
		t.Errorf("after the A TTL: %v, want the new address", route.Hosts)
	}
}

// TestCacheCNAME checks a CNAME the server did not follow is remembered
// too: the second Route asks nothing.
func TestCacheCNAME(t *testing.T) {
	s := routeServerFollow(t, false)
	r := newResolver(t, Options{}, s.Addr)
	for _, d := range []string{"cname.test", "mxcname.test"} {
		if _, err := r.Route(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		before := s.Queries()
		if _, err := r.Route(context.Background(), d); err != nil || s.Queries() != before {
			t.Errorf("%s: second Route %v, %d queries, want none", d, err, s.Queries()-before)
		}
	}
}

// TestNegativeCache checks NXDOMAIN is kept for the SOA minimum (RFC 2308)
// and an error answer for a few seconds only.
func TestNegativeCache(t *testing.T) {
	zone := "test. 3600 IN SOA ns.test. h.test. 1 3600 600 86400 30\n"
	s := fakeDNS(t, dnsfake.Options{Zone: zone, Fail: map[string]int{"sf.test": dns.RcodeServerFailure}})
	clock := &fakeClock{t: time.Unix(1_000_000, 0)}
	r := newResolver(t, Options{Now: clock.Now}, s.Addr)
	ctx := context.Background()
	cases := []struct {
		domain string
		code   int
		fresh  time.Duration // still cached after this
		stale  time.Duration // asked again after this
		why    string
	}{
		{"nx.test", 700, 29 * time.Second, 31 * time.Second, "negative TTL is min(SOA TTL, SOA minimum) = 30s"},
		{"sf.test", 720, 4 * time.Second, 6 * time.Second, "SERVFAIL is remembered 5s so a queue does not hammer a broken domain"},
	}
	for _, c := range cases {
		t.Run(c.domain, func(t *testing.T) {
			start := clock.Now()
			at := func(d time.Duration) int {
				clock.mu.Lock()
				clock.t = start.Add(d)
				clock.mu.Unlock()
				before := s.Queries()
				if _, err := r.Route(ctx, c.domain); code(err) != c.code {
					t.Fatalf("%v, want %d", err, c.code)
				}
				return s.Queries() - before
			}
			if n := at(0); n != 1 {
				t.Fatalf("first lookup made %d queries", n)
			}
			if n := at(c.fresh); n != 0 {
				t.Errorf("after %v: %d queries, want cached; %s", c.fresh, n, c.why)
			}
			if n := at(c.stale); n != 1 {
				t.Errorf("after %v: %d queries, want 1; %s", c.stale, n, c.why)
			}
		})
	}
}

// TestNotCached checks answers that must not be reused: 608 (the network
// may be back a moment later) and a zero TTL.
func TestNotCached(t *testing.T) {
	s := fakeDNS(t, dnsfake.Options{Zone: "zero.test. 0 IN MX 10 mx.zero.test.\nmx.zero.test. 0 IN A 192.0.2.1\n"})
	r := newResolver(t, Options{}, s.Addr)
	for range 2 {
		if _, err := r.Route(context.Background(), "zero.test"); err != nil {
			t.Fatal(err)
		}
	}
	// MX and A twice; the negative AAAA has the fake's SOA (300s).
	if s.Queries() != 5 {
		t.Errorf("%d queries for two Routes with TTL 0, want 5", s.Queries())
	}
	r = newResolver(t, Options{}, closedPort(t))
	r.Route(context.Background(), "ok.test")
	r.mu.Lock()
	n := r.cache.ll.Len()
	r.mu.Unlock()
	if n != 0 {
		t.Errorf("%d cache entries after 608, want none", n)
	}
}

// TestCacheEviction checks the cache stays within CacheSize, dropping the
// least recently used.
func TestCacheEviction(t *testing.T) {
	c := newCache(2)
	now := time.Unix(0, 0)
	a := answer{st: stOK, ttl: time.Minute}
	c.put(qkey{"a", 1}, a, now)
	c.put(qkey{"b", 1}, a, now)
	c.get(qkey{"a", 1}, now) // a is now the most recent
	c.put(qkey{"c", 1}, a, now)
	if _, ok := c.get(qkey{"b", 1}, now); ok {
		t.Error("b kept: the least recently used should have gone")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.get(qkey{k, 1}, now); !ok {
			t.Errorf("%s evicted", k)
		}
	}
	if _, ok := c.get(qkey{"a", 1}, now.Add(time.Minute)); ok {
		t.Error("entry served at its expiry time")
	}
}

// TestConcurrentShare checks many deliveries resolving one domain at once
// cause one query per question.
func TestConcurrentShare(t *testing.T) {
	s := fakeDNS(t, dnsfake.Options{Zone: orderZone})
	r := newResolver(t, Options{}, s.Addr)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := r.Route(context.Background(), "eq.test"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if want := 1 + 4*2; s.Queries() != want {
		t.Errorf("%d queries, want %d (MX, then A and AAAA of 4 hosts)", s.Queries(), want)
	}
}

// TestTimeouts checks Attempts and Timeout bound a silent server, and
// that a cancelled context returns at once.
func TestTimeouts(t *testing.T) {
	s := fakeDNS(t, dnsfake.Options{Drop: map[string]bool{"drop.test": true}})
	t.Run("attempts", func(t *testing.T) {
		r := newResolver(t, Options{Timeout: 100 * time.Millisecond, Attempts: 3}, s.Addr)
		start := time.Now()
		_, err := r.Route(context.Background(), "drop.test")
		if code(err) != 720 || !strings.Contains(err.Error(), "timeout") {
			t.Errorf("%v, want 720 naming the timeout", err)
		}
		if s.Queries() != 3 {
			t.Errorf("%d queries, want 3 (one per attempt)", s.Queries())
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Errorf("returned after %v, before three timeouts", d)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		r := newResolver(t, Options{Timeout: 10 * time.Second}, s.Addr)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := r.Route(ctx, "drop.test")
		if code(err) != 720 {
			t.Errorf("%v, want 720", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("cancel took %v to be noticed", d)
		}
		// The caller's cancellation is not the server's fault: not cached.
		r.mu.Lock()
		n := r.cache.ll.Len()
		r.mu.Unlock()
		if n != 0 {
			t.Errorf("%d cache entries after a cancelled lookup", n)
		}
	})
}

// TestEDNS0 checks the resolver advertises a 1232-octet buffer: an MX set
// over 512 octets arrives over UDP without a TCP retry.
func TestEDNS0(t *testing.T) {
	var b strings.Builder
	for i := range 15 {
		fmt.Fprintf(&b, "big.test. 300 IN MX %d a-rather-long-mail-host-name-%02d.big.test.\n", i, i)
		fmt.Fprintf(&b, "a-rather-long-mail-host-name-%02d.big.test. 300 IN A 192.0.2.%d\n", i, i+1)
	}
	s := fakeDNS(t, dnsfake.Options{Zone: b.String()})
	r := newResolver(t, Options{}, s.Addr)
	route, err := r.Route(context.Background(), "big.test")
	if err != nil || len(route.Hosts) != 15 {
		t.Fatalf("%v, %d hosts, want 15", err, len(route.Hosts))
	}
	if s.TCPQueries() != 0 {
		t.Errorf("%d TCP queries: the answer did not fit the advertised buffer", s.TCPQueries())
	}
}

const lookupZone = `$TTL 300
txt.test.               TXT "v=spf1 " "-all"
txt.test.               TXT "second"
host.test.              A 192.0.2.1
host.test.              AAAA 2001:db8::1
host.test.              MX 10 host.test.
1.2.0.192.in-addr.arpa. PTR Host.Test.
_dmarc.sub.test.        TXT "v=DMARC1; p=none"
`

// TestLookups checks the helpers later checks (SPF, DNSBL, reverse DNS)
// use, and their error codes.
func TestLookups(t *testing.T) {
	s := fakeDNS(t, dnsfake.Options{Zone: lookupZone, Fail: map[string]int{"sf.test": dns.RcodeServerFailure}})
	r := newResolver(t, Options{}, s.Addr)
	ctx := context.Background()
	cases := []struct {
		name string
		call func() (string, error)
		want string
		code int
		why  string
	}{
		{"txt joined", func() (string, error) { v, err := r.LookupTXT(ctx, "txt.test"); return strings.Join(v, "|"), err },
			"v=spf1 -all|second", 0, "a record's strings are one text (RFC 7208 §3.3), records kept apart"},
		{"txt underscore", func() (string, error) {
			v, err := r.LookupTXT(ctx, "_dmarc.sub.test")
			return strings.Join(v, "|"), err
		},
			"v=DMARC1; p=none", 0, "lookup names are DNS names, not host names"},
		{"txt nodata", func() (string, error) { v, err := r.LookupTXT(ctx, "host.test"); return strings.Join(v, "|"), err },
			"", 0, "no TXT is no records, not an error"},
		{"txt nxdomain", func() (string, error) { _, err := r.LookupTXT(ctx, "nx.test"); return "", err },
			"", 700, "NXDOMAIN is 700"},
		{"txt servfail", func() (string, error) { _, err := r.LookupTXT(ctx, "sf.test"); return "", err },
			"", 720, "SERVFAIL is 720"},
		{"addrs", func() (string, error) { v, err := r.LookupAddrs(ctx, "host.test."); return fmt.Sprint(v), err },
			"[192.0.2.1 2001:db8::1]", 0, "A then AAAA"},
		{"addrs nxdomain", func() (string, error) { _, err := r.LookupAddrs(ctx, "nx.test"); return "", err },
			"", 700, "NXDOMAIN is 700"},
		{"addrs nodata", func() (string, error) { v, err := r.LookupAddrs(ctx, "txt.test"); return fmt.Sprint(v), err },
			"[]", 0, "a name without addresses"},
		{"ptr", func() (string, error) {
			v, err := r.LookupPTR(ctx, netip.MustParseAddr("192.0.2.1"))
			return strings.Join(v, "|"), err
		}, "host.test", 0, "names come back canonical"},
		{"ptr nxdomain", func() (string, error) { _, err := r.LookupPTR(ctx, netip.MustParseAddr("192.0.2.2")); return "", err },
			"", 700, "no reverse entry"},
		{"bad name", func() (string, error) { _, err := r.LookupTXT(ctx, strings.Repeat("a", 64)+".test"); return "", err },
			"", 611, "not a DNS name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.call()
			if code(err) != c.code || got != c.want {
				t.Errorf("%q, %v; want %q, code %d (%s)", got, err, c.want, c.code, c.why)
			}
		})
	}
}

// TestError checks the error carries a complete result of the code table.
func TestError(t *testing.T) {
	s := fakeDNS(t, dnsfake.Options{Zone: "null.test. 300 IN MX 0 .\n", Fail: map[string]int{"sf.test": dns.RcodeServerFailure}})
	r := newResolver(t, Options{}, s.Addr)
	cases := []struct {
		domain, status, reason string
		transient              bool
		why                    string
	}{
		{"nx.test", "5.1.2", "hostunknown", false, "permanent, so no retry"},
		{"null.test", "5.1.10", "notaccept", false, "null MX has its own DSN status and Sisimai reason"},
		{"sf.test", "4.4.3", "networkerror", true, "720 is retried"},
	}
	for _, c := range cases {
		t.Run(c.domain, func(t *testing.T) {
			_, err := r.Route(context.Background(), c.domain)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%T %v, want *Error", err, err)
			}
			res := e.Result
			if res.Enhanced != c.status || res.Reason != c.reason || res.Transient() != c.transient || !strings.Contains(res.Text, c.domain) {
				t.Errorf("%+v; want %s %s transient=%v and the domain in the text (%s)", res, c.status, c.reason, c.transient, c.why)
			}
			if !strings.HasPrefix(err.Error(), "resolve: ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestNew(t *testing.T) {
	bad := []struct {
		servers []string
		why     string
	}{
		{[]string{"127.0.0.1"}, "no port"},
		{[]string{"dns.example:53"}, "a name would need DNS to find DNS"},
		{[]string{"127.0.0.1:"}, "empty port"},
	}
	for _, c := range bad {
		if _, err := New(Options{Servers: c.servers}); err == nil {
			t.Errorf("New(%v) accepted; %s", c.servers, c.why)
		}
	}
	r, err := New(Options{Servers: []string{"[::1]:53", "127.0.0.1:5353"}})
	if err != nil || !slices.Equal(r.servers, []string{"[::1]:53", "127.0.0.1:5353"}) || r.timeout != 5*time.Second || r.attempts != 2 {
		t.Errorf("defaults: %v %+v", err, r)
	}
	// The default loop addresses hold loopback and the host's own.
	for _, ip := range []string{"127.0.0.1", "127.1.2.3", "::1", "0.0.0.0", "::"} {
		if !r.isLoop(netip.MustParseAddr(ip)) {
			t.Errorf("%s not a loop address by default", ip)
		}
	}
	if r.isLoop(netip.MustParseAddr("192.0.2.1")) {
		t.Error("192.0.2.1 taken for this host")
	}
}

// TestSystemServers checks resolv.conf is read with its port, and that a
// file without nameservers means the local host, as libc does.
func TestSystemServers(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "resolv.conf")
	os.WriteFile(conf, []byte("# test\nnameserver 192.0.2.53\nnameserver 2001:db8::53\noptions ndots:1\n"), 0o644)
	log := newResolver(t, Options{}, "127.0.0.1:53").log
	if got := systemServers(conf, log); !slices.Equal(got, []string{"192.0.2.53:53", "[2001:db8::53]:53"}) {
		t.Errorf("servers %v", got)
	}
	if got := systemServers(filepath.Join(dir, "missing"), log); !slices.Equal(got, []string{"127.0.0.1:53"}) {
		t.Errorf("servers without a file %v", got)
	}
}

func TestParseLoopAddrs(t *testing.T) {
	got, err := ParseLoopAddrs([]string{"127.0.0.1", " 10.0.0.0/8 ", "::1", "::ffff:192.0.2.1", "192.0.2.77/24"})
	if err != nil {
		t.Fatal(err)
	}
	want := "[127.0.0.1/32 10.0.0.0/8 ::1/128 192.0.2.1/32 192.0.2.0/24]"
	if fmt.Sprint(got) != want {
		t.Errorf("%v, want %s", got, want)
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33", ""} {
		if _, err := ParseLoopAddrs([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
