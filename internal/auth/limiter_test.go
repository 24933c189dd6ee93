package auth

import (
	"net/netip"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestLimiter() (*Limiter, *clock) {
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewLimiter(3, 10*time.Minute, time.Second)
	l.now = c.now
	return l, c
}

var (
	ipA = netip.MustParseAddr("192.0.2.1")
	ipB = netip.MustParseAddr("198.51.100.7")
)

// A client network that fails max times gets 454 (Admit false) until the
// window ends, with a delay that grows; other networks are not affected.
func TestLimiterBlocksNetwork(t *testing.T) {
	l, c := newTestLimiter()
	for i, want := range []time.Duration{time.Second, time.Second, time.Second} {
		if ok, _ := l.Admit(ipA); !ok {
			t.Fatalf("attempt %d refused before the limit", i)
		}
		if hold, thr := l.Settle(ipA, "", false); hold != want || thr {
			t.Fatalf("failure %d held %v (throttled %v), want %v", i, hold, thr, want)
		}
	}
	if ok, hold := l.Admit(ipA); ok || hold != time.Second {
		t.Fatalf("after 3 failures Admit = %v, %v; want refused after 1s", ok, hold)
	}
	if ok, _ := l.Admit(ipB); !ok {
		t.Fatal("another network was refused")
	}
	// Retrying while blocked does not extend the block.
	c.advance(9 * time.Minute)
	l.Admit(ipA)
	c.advance(time.Minute + time.Second)
	if ok, _ := l.Admit(ipA); !ok {
		t.Fatal("still refused after the window")
	}
}

// IPv6 clients are counted per /64, and IPv4-mapped addresses as IPv4.
func TestLimiterGroupsIPv6(t *testing.T) {
	l, _ := newTestLimiter()
	for i := range 3 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
		l.Settle(a, "", false)
	}
	if ok, _ := l.Admit(netip.MustParseAddr("2001:db8::ffff")); ok {
		t.Error("another address of the same /64 was admitted")
	}
	if ok, _ := l.Admit(netip.MustParseAddr("2001:db8:0:1::1")); !ok {
		t.Error("the next /64 was refused")
	}
	l.Settle(netip.MustParseAddr("::ffff:192.0.2.1"), "", false)
	l.Settle(ipA, "", false)
	l.Settle(ipA, "", false)
	if ok, _ := l.Admit(ipA); ok {
		t.Error("IPv4-mapped failures were not counted with the IPv4 address")
	}
}

// A user attacked from many networks is not locked out: past the limit
// its attempts are answered one at a time with growing delays, the right
// password still works, and a success resets everything.
func TestLimiterThrottlesUser(t *testing.T) {
	l, c := newTestLimiter()
	ip := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i), 1}) }
	for i := range 3 {
		l.Settle(ip(i), "Alice@example.test", false)
	}
	// Two attempts at the same moment: the second waits for the first.
	h1, _ := l.Settle(ip(10), "alice@example.test", false)
	h2, _ := l.Settle(ip(11), "alice@example.test", false)
	if h1 != 2*time.Second || h2 != 2*time.Second+4*time.Second {
		t.Fatalf("queued holds %v, %v; want 2s then 6s", h1, h2)
	}
	// Flooding fills the queue: extra attempts are throttled (454).
	throttled := false
	for i := range 200 {
		if _, thr := l.Settle(ip(20+i%200), "alice@example.test", false); thr {
			throttled = true
			break
		}
	}
	if !throttled {
		t.Fatal("a flood of attempts on one user was never throttled")
	}
	c.advance(20 * time.Minute)
	hold, thr := l.Settle(ip(99), "alice@example.test", true)
	if thr {
		t.Fatal("the right password was throttled after the queue drained")
	}
	_ = hold
	if h, _ := l.Settle(ip(98), "alice@example.test", false); h != time.Second {
		t.Errorf("after a success the first failure held %v, want 1s", h)
	}
}

// A success clears the network's record too.
func TestLimiterSuccessResets(t *testing.T) {
	l, _ := newTestLimiter()
	l.Settle(ipA, "a", false)
	l.Settle(ipA, "b", false)
	l.Settle(ipA, "c", true)
	l.Settle(ipA, "d", false)
	if ok, _ := l.Admit(ipA); !ok {
		t.Error("failures before a success still counted")
	}
	var off *Limiter
	if ok, _ := off.Admit(ipA); !ok {
		t.Error("nil limiter refused")
	}
	if h, thr := NewLimiter(0, time.Minute, time.Second).Settle(ipA, "x", false); h != 0 || thr {
		t.Error("disabled limiter delayed")
	}
}
