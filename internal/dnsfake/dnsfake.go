package dnsfake

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Options say what the server knows and how it misbehaves. Names in the
// maps are matched case-insensitively, with or without the final dot.
type Options struct {
	// Addr is where to listen, "127.0.0.1:0" when empty (a free port).
	// Only loopback addresses are accepted.
	Addr string
	// Zone is RFC 1035 master-file text ($ORIGIN and $TTL allowed).
	Zone string
	// Fail answers every query for the name with this rcode
	// (dns.RcodeServerFailure, dns.RcodeRefused, …).
	Fail map[string]int
	// Drop never answers queries for the name, so the client times out.
	Drop map[string]bool
	// Truncate answers over UDP with TC set and no records; the TCP
	// listener answers fully.
	Truncate map[string]bool
	// Malformed answers with bytes that do not parse as a DNS message.
	Malformed map[string]bool
	// NoFollow answers a CNAME alone, as an authoritative server does
	// when the target is in another zone, so the client must ask for the
	// target itself.
	NoFollow bool
}

// Server is a running fake. Addr is "127.0.0.1:PORT", the same port for
// UDP and TCP.
type Server struct {
	Addr string

	udp, tcp *dns.Server

	queries    atomic.Int64
	tcpQueries atomic.Int64

	noFollow bool

	mu                     sync.RWMutex
	zone                   *zone
	fail                   map[string]int
	drop, trunc, malformed map[string]bool
}

// Start listens on loopback and serves until Close.
func Start(opt Options) (*Server, error) {
	z, err := parseZone(opt.Zone)
	if err != nil {
		return nil, err
	}
	addr := opt.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	s := &Server{
		zone:      z,
		fail:      map[string]int{},
		drop:      names(opt.Drop),
		trunc:     names(opt.Truncate),
		malformed: names(opt.Malformed),
		noFollow:  opt.NoFollow,
	}
	for n, rc := range opt.Fail {
		s.fail[dns.CanonicalName(n)] = rc
	}
	pc, l, err := listenPair(addr)
	if err != nil {
		return nil, err
	}
	s.Addr = pc.LocalAddr().String()
	s.udp = &dns.Server{PacketConn: pc, Handler: s}
	s.tcp = &dns.Server{Listener: l, Handler: s}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		errc := make(chan error, 1)
		go func() { errc <- srv.ActivateAndServe() }()
		select {
		case <-started:
		case err := <-errc:
			s.Close()
			return nil, fmt.Errorf("dnsfake: serve: %w", err)
		}
	}
	return s, nil
}

// listenPair opens UDP and TCP on the same port. With port 0 the kernel
// picks the UDP port, which may be taken for TCP; try a few.
func listenPair(addr string) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dnsfake: listen udp: %w", err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		lastErr = err
		if !strings.HasSuffix(addr, ":0") {
			break
		}
	}
	return nil, nil, fmt.Errorf("dnsfake: listen tcp: %w", lastErr)
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("dnsfake: listen address %q: %w", addr, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("dnsfake: listen address %q is not a loopback IP address", addr)
	}
	return nil
}

func names(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for n, v := range m {
		if v {
			out[dns.CanonicalName(n)] = true
		}
	}
	return out
}

// Close stops both listeners.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var errs []error
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if srv != nil {
			if err := srv.ShutdownContext(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Queries counts the queries received over UDP and TCP, for cache tests.
func (s *Server) Queries() int { return int(s.queries.Load()) }

// TCPQueries counts the queries received over TCP only, for truncation
// and EDNS0 tests.
func (s *Server) TCPQueries() int { return int(s.tcpQueries.Load()) }

// SetZone replaces the zone data while running (the failure maps stay).
func (s *Server) SetZone(text string) error {
	z, err := parseZone(text)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.zone = z
	s.mu.Unlock()
	return nil
}

// ServeDNS answers one query: the misbehaviour maps first, then the zone.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	s.queries.Add(1)
	overTCP := w.LocalAddr().Network() == "tcp"
	if overTCP {
		s.tcpQueries.Add(1)
	}
	resp := new(dns.Msg)
	if len(req.Question) != 1 {
		resp.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)

	s.mu.RLock()
	rcode, failing := s.fail[name]
	drop, trunc, malformed := s.drop[name], s.trunc[name], s.malformed[name]
	z := s.zone
	s.mu.RUnlock()

	switch {
	case drop:
		return
	case malformed:
		w.Write(garbage(req.Id))
		return
	case failing:
		resp.SetRcode(req, rcode)
		w.WriteMsg(resp)
		return
	}

	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = req.RecursionDesired
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = max(int(opt.UDPSize()), dns.MinMsgSize)
		resp.SetEdns0(1232, false)
	}
	if trunc && !overTCP {
		resp.Truncated = true
		w.WriteMsg(resp)
		return
	}
	z.answer(resp, name, q.Qtype, !s.noFollow)
	if !overTCP {
		// A real server sets TC and drops records that do not fit the
		// client's buffer (512 octets without EDNS0, RFC 1035 §4.2.1).
		resp.Truncate(size)
	}
	w.WriteMsg(resp)
}

// garbage is a reply header with the query's id that claims one question
// and then ends: the client cannot unpack it.
func garbage(id uint16) []byte {
	return []byte{byte(id >> 8), byte(id), 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x07, 'b', 'r', 'o'}
}
