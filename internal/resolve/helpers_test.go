package resolve

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/dnsfake"
)

// fakeClock is an injectable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeDNS starts a dnsfake server for the test.
func fakeDNS(t *testing.T, opt dnsfake.Options) *dnsfake.Server {
	t.Helper()
	s, err := dnsfake.Start(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newResolver points a resolver at servers with test-sized timeouts and
// loop addresses that leave 192.0.2.0/24 and 2001:db8::/32 usable.
func newResolver(t *testing.T, opt Options, servers ...string) *Resolver {
	t.Helper()
	opt.Servers = servers
	if opt.Timeout == 0 {
		opt.Timeout = time.Second // generous: the race detector on a loaded machine is slow
	}
	if opt.Attempts == 0 {
		opt.Attempts = 1
	}
	if opt.LoopAddrs == nil {
		opt.LoopAddrs = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if opt.Rand == nil {
		opt.Rand = rand.New(rand.NewPCG(1, 2))
	}
	r, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// closedPort is a loopback UDP address nobody listens on: queries to it
// come back as ICMP port unreachable, read as connection refused.
func closedPort(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// code returns the result code of a resolve error, 0 for nil, -1 for an
// error of another type.
func code(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if !errors.As(err, &e) {
		return -1
	}
	return e.Result.Code
}
