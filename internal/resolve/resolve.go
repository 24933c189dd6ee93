package resolve

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/hikyaku/hikyaku/internal/outcome"
)

// Options configure a Resolver. Zero values take the defaults given.
type Options struct {
	// Servers are "ip:port" of recursive servers; empty means the
	// nameservers of /etc/resolv.conf (127.0.0.1:53 if it names none).
	Servers []string
	// Timeout bounds one try of one query at one server; default 5s.
	Timeout time.Duration
	// Attempts is the number of rounds over the servers; default 2.
	Attempts int
	// LoopAddrs are addresses that are this machine: a mail host there is
	// a loop. Empty means 127.0.0.0/8, ::1/128 and every address of the
	// host's interfaces. The unspecified addresses (0.0.0.0, ::) always
	// count, since connecting to them reaches this machine.
	LoopAddrs []netip.Prefix
	// SelfNames are this host's own names: an MX naming one is this host.
	SelfNames []string
	// CacheSize is the number of answers kept; default 10000.
	CacheSize int
	// Rand shuffles MX hosts of equal preference; nil seeds one randomly.
	Rand *rand.Rand
	// Now is the clock for cache expiry; nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Host is one mail host: the MX target (or the domain itself for an
// implicit MX) and its addresses, A records first, then AAAA.
type Host struct {
	Name  string
	Pref  int
	Addrs []netip.Addr
}

// Route is where mail for a domain goes.
type Route struct {
	Domain   string // as asked of DNS: lower case, A-labels
	Hosts    []Host // in the order to try: ascending preference, equal preferences shuffled
	Implicit bool   // no MX records: the domain's own A/AAAA (RFC 5321 §5.1)
	Literal  bool   // an address literal ("[192.0.2.1]"): no DNS asked
}

// Error is a resolution that gives no host to try. Result.Code is one of
// 608 611 700 710 711 720 730, with the DSN status of the code table (or
// 5.1.10 for a null MX).
type Error struct{ Result outcome.Result }

func (e *Error) Error() string { return "resolve: " + e.Result.String() }

func newError(code int, detail string) *Error {
	return &Error{Result: outcome.Own(code, detail)}
}

// Resolver answers Route and the Lookup questions. It is safe for
// concurrent use; concurrent questions for the same name share one query.
type Resolver struct {
	servers   []string
	timeout   time.Duration
	attempts  int
	loop      []netip.Prefix
	selfNames map[string]bool
	now       func() time.Time
	log       *slog.Logger

	randMu sync.Mutex
	rand   *rand.Rand

	mu       sync.Mutex
	cache    *cache
	inflight map[qkey]*flight
}

// New checks the options and fills in the defaults.
func New(opt Options) (*Resolver, error) {
	r := &Resolver{
		timeout:   opt.Timeout,
		attempts:  opt.Attempts,
		loop:      opt.LoopAddrs,
		selfNames: map[string]bool{},
		now:       opt.Now,
		log:       opt.Logger,
		rand:      opt.Rand,
		inflight:  map[qkey]*flight{},
	}
	if r.timeout <= 0 {
		r.timeout = 5 * time.Second
	}
	if r.attempts <= 0 {
		r.attempts = 2
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.rand == nil {
		r.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	size := opt.CacheSize
	if size <= 0 {
		size = 10000
	}
	r.cache = newCache(size)

	servers := opt.Servers
	if len(servers) == 0 {
		servers = systemServers("/etc/resolv.conf", r.log)
	}
	for _, s := range servers {
		host, port, err := net.SplitHostPort(s)
		if err != nil {
			return nil, fmt.Errorf("resolve: DNS server %q: want ip:port: %v", s, err)
		}
		if _, err := netip.ParseAddr(host); err != nil {
			return nil, fmt.Errorf("resolve: DNS server %q: %q is not an IP address", s, host)
		}
		if port == "" {
			return nil, fmt.Errorf("resolve: DNS server %q: no port", s)
		}
		r.servers = append(r.servers, net.JoinHostPort(host, port))
	}

	if len(r.loop) == 0 {
		r.loop = defaultLoopAddrs(r.log)
	}
	for _, n := range opt.SelfNames {
		if n = canonical(n); n == "" {
			continue
		}
		if a, _, err := normalizeDomain(n); err == nil {
			n = a
		}
		r.selfNames[n] = true
	}
	return r, nil
}

// systemServers reads the nameserver lines of resolv.conf. Like libc, a
// file without any means the local host.
func systemServers(path string, log *slog.Logger) []string {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil || len(cfg.Servers) == 0 {
		log.Warn("resolve: no nameserver in resolv.conf, using 127.0.0.1:53", "file", path, "err", err)
		return []string{"127.0.0.1:53"}
	}
	var out []string
	for _, s := range cfg.Servers {
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	return out
}

func defaultLoopAddrs(log *slog.Logger) []netip.Prefix {
	out := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		log.Warn("resolve: cannot list this host's addresses for loop detection", "err", err)
	}
	for _, a := range ifaddrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if ip, ok := netip.AddrFromSlice(ipn.IP); ok {
			ip = ip.Unmap().WithZone("")
			out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	return out
}

// ParseLoopAddrs reads the loop_addresses setting: addresses ("127.0.0.1")
// or prefixes ("127.0.0.0/8").
func ParseLoopAddrs(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("loop address %q: %v", s, err)
			}
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("loop address %q: %v", s, err)
		}
		ip = ip.Unmap()
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}

// isLoop says an address is this machine.
func (r *Resolver) isLoop(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsUnspecified() {
		return true
	}
	for _, p := range r.loop {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
