// Package server owns SMTP sessions: accepting connections, enforcing
// session limits, reading commands, answering each with a reply from the
// code table, and handing every accepted message to the spool before the
// 250. It never writes the spool format, mailboxes or the relay queue
// itself: it asks the spool to commit and the router to take the message
// (Postfix's smtpd/cleanup split, STYLE 1).
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/maillog"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/spool"
)

// Spooler makes a message durable. *spool.Spool is the real one.
type Spooler interface {
	Commit(ctx context.Context, env *spool.Envelope, data []byte) error
	FreeBytes() int64
}

// Router takes a committed message on to its mailboxes and the relay
// queue. It must not block for long: the session is waiting to answer
// the next command.
type Router interface {
	Route(msg *spool.Message)
}

// Quota tells whether a local mailbox is over its quota.
type Quota interface {
	OverQuota(mailbox string, quota int64, extra int64) bool
}

// Deps are the parts a Server talks to, wired in main.
type Deps struct {
	Config    *config.Config
	Directory *mailbox.Directory
	Spool     Spooler
	Router    Router
	Quota     Quota
	Logger    *slog.Logger
	MailLog   *maillog.Log
	Metrics   *metrics.Metrics
}

// Server accepts SMTP sessions on any number of listeners.
type Server struct {
	Deps
	cfg       *config.Config
	relayNets []netip.Prefix

	mu        sync.Mutex
	listeners []net.Listener
	sessions  map[*session]struct{}
	perIP     map[netip.Addr]int
	closing   atomic.Bool
	wg        sync.WaitGroup
	nextID    atomic.Uint64
	idPrefix  string
}

// New builds a server from its parts.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	return &Server{
		Deps:      d,
		cfg:       d.Config,
		relayNets: d.Config.RelayNets(),
		sessions:  map[*session]struct{}{},
		perIP:     map[netip.Addr]int{},
		idPrefix:  time.Now().UTC().Format("0102150405"),
	}
}

// Serve accepts connections on ln until Shutdown. It returns nil after a
// Shutdown, or the accept error that stopped it.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()

	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			// Descriptor exhaustion and the like are temporary: wait and
			// carry on rather than stop serving mail.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(backoff*2, 5*time.Millisecond), time.Second)
				s.Logger.Warn("accept failed; retrying", "err", err, "backoff", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(conn)
		}()
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// handle enforces the session limits, then runs the session.
func (s *Server) handle(conn net.Conn) {
	ip := remoteIP(conn)
	sess := newSession(s, conn, ip)

	s.mu.Lock()
	refuse := codes.Reply{}
	switch {
	case s.closing.Load():
		refuse = codes.ShuttingDown
	case s.cfg.SMTP.MaxSessions > 0 && len(s.sessions) >= s.cfg.SMTP.MaxSessions:
		refuse = codes.TooManySessions
	case s.cfg.SMTP.MaxSessionsPerIP > 0 && s.perIP[ip] >= s.cfg.SMTP.MaxSessionsPerIP:
		refuse = codes.TooManyFromIP
	default:
		s.sessions[sess] = struct{}{}
		s.perIP[ip]++
	}
	s.mu.Unlock()

	if refuse.Code != 0 {
		s.Metrics.SessionsRefused.WithLabelValues(refuse.Name).Inc()
		sess.log.Info("connection refused", "reason", refuse.Name)
		sess.refuse(refuse)
		return
	}
	s.Metrics.SessionsTotal.Inc()
	s.Metrics.SessionsActive.Inc()
	defer func() {
		s.Metrics.SessionsActive.Dec()
		s.mu.Lock()
		delete(s.sessions, sess)
		if s.perIP[ip]--; s.perIP[ip] <= 0 {
			delete(s.perIP, ip)
		}
		s.mu.Unlock()
	}()
	sess.run()
}

// Shutdown stops accepting, tells idle sessions 421 4.3.2 and waits for
// the others to finish their current command, until ctx ends; then it
// closes what is left. A session in the middle of DATA is given the
// chance to finish so that its message is not lost.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	for _, ln := range s.listeners {
		ln.Close()
	}
	for sess := range s.sessions {
		sess.interruptIfIdle()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for sess := range s.sessions {
			sess.conn.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// SessionCount is the number of sessions open now.
func (s *Server) SessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

func (s *Server) newSessionID() string {
	return s.idPrefix + "-" + base36(s.nextID.Add(1))
}

func base36(n uint64) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [13]byte
	i := len(b)
	for {
		i--
		b[i] = digits[n%36]
		n /= 36
		if n == 0 {
			return string(b[i:])
		}
	}
}

func remoteIP(c net.Conn) netip.Addr {
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.IPv6Unspecified()
}

// relayAllowed says whether the client may relay to non-local domains.
func (s *Server) relayAllowed(ip netip.Addr) bool {
	for _, p := range s.relayNets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// reply builds a wire reply from a table entry.
func reply(r codes.Reply, args ...any) protocol.Reply { return protocol.NewReply(r, args...) }
