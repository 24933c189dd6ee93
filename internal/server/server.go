package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hikyaku/hikyaku/internal/auth"
	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/intake"
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

// TLSProvider hands out the TLS configuration for a handshake;
// *tlsconf.Manager is the real one. An error means TLS cannot be offered
// right now (STARTTLS answers 454 4.7.0).
type TLSProvider interface {
	ServerConfig() (*tls.Config, error)
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
	// TLS is nil when TLS is off: STARTTLS is not offered and implicit-TLS
	// listeners cannot be served.
	TLS TLSProvider
	// Credentials checks AUTH; nil means the Directory.
	Credentials auth.Store
	// Policy decides on clients, senders, recipients and content; nil
	// accepts everything that the rest of the rules accept.
	Policy *Policy
	// Bounces decides on the addresses that take bounces and complaints
	// (*intake.Intake); nil takes none.
	Bounces BounceChecker
}

// BounceChecker tells, at RCPT, whether an address is one the bounce
// intake takes: accepted ones are spooled for the router to hand to the
// intake (Mailbox intake.MailboxPrefix + address).
type BounceChecker interface {
	Check(ctx context.Context, addr string) intake.Verdict
}

// Kind is what a listener is for.
type Kind int

const (
	// MX is smtp.listen: mail from anyone to local users, relay for
	// relay.networks. STARTTLS is offered and never required (RFC 3207
	// §4); AUTH is offered after it when auth.on_mx.
	MX Kind = iota
	// Submission is smtp.submission_listen (RFC 6409, port 587): STARTTLS
	// and AUTH before MAIL.
	Submission
	// Submissions is smtp.submissions_listen (RFC 8314, port 465): TLS from
	// the first byte, then AUTH before MAIL.
	Submissions
)

func (k Kind) String() string {
	switch k {
	case Submission:
		return "submission"
	case Submissions:
		return "submissions"
	}
	return "mx"
}

// Server accepts SMTP sessions on any number of listeners.
type Server struct {
	Deps
	cfg       *config.Config
	relayNets []netip.Prefix
	auth      *auth.Server // nil when there is no credential store
	limiter   *auth.Limiter
	m         sessionMetrics

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
	s := &Server{
		Deps:      d,
		cfg:       d.Config,
		relayNets: d.Config.RelayNets(),
		sessions:  map[*session]struct{}{},
		perIP:     map[netip.Addr]int{},
		idPrefix:  time.Now().UTC().Format("0102150405"),
		m:         newSessionMetrics(d.Metrics),
	}
	store := d.Credentials
	if store == nil && d.Directory != nil {
		store = d.Directory
	}
	if store != nil {
		s.auth = auth.NewServer(store, d.Config.Hostname)
	}
	a := d.Config.Auth
	s.limiter = auth.NewLimiter(a.MaxFailures, a.FailureWindow.D(), a.FailureDelay.D())
	return s
}

// Serve accepts connections on ln until Shutdown, as an MX listener. It
// returns nil after a Shutdown, or the accept error that stopped it.
func (s *Server) Serve(ln net.Listener) error { return s.ServeKind(ln, MX) }

// ServeKind is Serve for a listener of the given kind.
func (s *Server) ServeKind(ln net.Listener, kind Kind) error {
	if kind == Submissions && s.TLS == nil {
		ln.Close()
		return fmt.Errorf("listener %s: implicit TLS needs TLS to be configured", ln.Addr())
	}
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
			s.handle(conn, kind)
		}()
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// handle enforces the session limits, then runs the session.
func (s *Server) handle(conn net.Conn, kind Kind) {
	ip := remoteIP(conn)
	sess := newSession(s, conn, ip, kind)

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
