package policy

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

func newTestLimiter(conn, msg int) (*RateLimiter, *fakeClock) {
	r := NewRateLimiter(conn, msg)
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	r.now = c.Now
	return r, c
}

func count(f func(netip.Addr) bool, ip netip.Addr, n int) int {
	ok := 0
	for range n {
		if f(ip) {
			ok++
		}
	}
	return ok
}

func TestRateLimitWindow(t *testing.T) {
	r, clock := newTestLimiter(10, 0)
	ip := netip.MustParseAddr("192.0.2.1")
	other := netip.MustParseAddr("192.0.2.2")

	if got := count(r.AllowConnection, ip, 15); got != 10 {
		t.Fatalf("first minute: %d allowed, want the limit 10", got)
	}
	if got := count(r.AllowConnection, other, 3); got != 3 {
		t.Fatalf("another client: %d allowed; clients have separate budgets", got)
	}
	if !r.AllowMessage(ip) {
		t.Fatal("a message limit of 0 is unlimited")
	}

	// At the minute boundary all of the previous minute still lies in
	// the window: a fixed window would allow 10 more here.
	clock.Advance(60 * time.Second)
	if got := count(r.AllowConnection, ip, 10); got != 0 {
		t.Fatalf("at the next minute: %d allowed, want 0 (sliding window)", got)
	}
	// Half way through, half the previous minute counts: 5 are allowed.
	clock.Advance(30 * time.Second)
	if got := count(r.AllowConnection, ip, 10); got != 5 {
		t.Fatalf("half way: %d allowed, want 5", got)
	}
	// Two idle minutes later the budget is whole again.
	clock.Advance(3 * time.Minute)
	if got := count(r.AllowConnection, ip, 20); got != 10 {
		t.Fatalf("after idling: %d allowed, want 10", got)
	}
}

func TestRateLimitSeparateKinds(t *testing.T) {
	r, _ := newTestLimiter(2, 3)
	ip := netip.MustParseAddr("2001:db8::1")
	if got := count(r.AllowMessage, ip, 5); got != 3 {
		t.Fatalf("messages: %d, want 3", got)
	}
	if got := count(r.AllowConnection, ip, 5); got != 2 {
		t.Fatalf("connections: %d, want 2; messages must not use the connection budget", got)
	}
}

func TestRateLimitIPv6Slash64(t *testing.T) {
	r, _ := newTestLimiter(3, 0)
	// One host hopping across its /64 is one client.
	n := 0
	for i := range 10 {
		if r.AllowConnection(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})) {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d connections allowed across one /64, want 3", n)
	}
	if !r.AllowConnection(netip.MustParseAddr("2001:db8:0:1::1")) {
		t.Fatal("another /64 is another client")
	}
	if !r.AllowConnection(netip.MustParseAddr("::ffff:192.0.2.1")) || r.Clients() != 3 {
		t.Fatal("a mapped IPv4 client is its own IPv4 client")
	}
}

func TestRateLimitMemoryBounded(t *testing.T) {
	r, clock := newTestLimiter(5, 5)
	r.maxClients = 100
	for i := range 1000 {
		r.AllowConnection(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	if n := r.Clients(); n > 100 {
		t.Fatalf("%d clients tracked, over the bound 100", n)
	}
	clock.Advance(3 * time.Minute)
	r.AllowConnection(netip.MustParseAddr("192.0.2.1"))
	if n := r.Clients(); n != 1 {
		t.Fatalf("%d clients after everyone idled, want only the new one", n)
	}
}

func TestRateLimitConcurrent(t *testing.T) {
	r := NewRateLimiter(1000, 1000)
	ip := netip.MustParseAddr("192.0.2.1")
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			n := count(r.AllowMessage, ip, 200)
			mu.Lock()
			ok += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if ok != 1000 {
		t.Fatalf("%d allowed from 1600 concurrent tries, want exactly 1000", ok)
	}
}

func TestRateLimitNil(t *testing.T) {
	var r *RateLimiter
	if !r.AllowConnection(netip.MustParseAddr("192.0.2.1")) {
		t.Fatal("a nil limiter limits nothing")
	}
}

func BenchmarkAllowMessage(b *testing.B) {
	r := NewRateLimiter(0, 1<<30)
	ips := make([]netip.Addr, 1024)
	for i := range ips {
		ips[i] = netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
	}
	b.ResetTimer()
	for i := range b.N {
		r.AllowMessage(ips[i%len(ips)])
	}
}
