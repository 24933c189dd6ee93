package server

import (
	"crypto/tls"
	"errors"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/prometheus/client_golang/prometheus"
)

// sessionMetrics are the TLS and AUTH instruments. They are registered on
// the shared registry here, beside the session code that counts them.
type sessionMetrics struct {
	tlsSessions     *prometheus.CounterVec // by how (starttls, implicit) and version
	tlsFailures     *prometheus.CounterVec // handshakes that failed, by how
	tlsInjections   prometheus.Counter     // plaintext discarded after STARTTLS
	authAttempts    *prometheus.CounterVec // by mechanism and result
	authHashSeconds prometheus.Histogram   // time to check credentials (the hash cost)
}

func newSessionMetrics(m *metrics.Metrics) sessionMetrics {
	return sessionMetrics{
		tlsSessions: register(m, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hikyaku_smtp_tls_sessions_total",
			Help: "SMTP sessions that completed a TLS handshake, by how (starttls, implicit) and TLS version."}, []string{"how", "version"})),
		tlsFailures: register(m, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hikyaku_smtp_tls_handshake_failures_total",
			Help: "TLS handshakes that failed, by how (starttls, implicit)."}, []string{"how"})),
		tlsInjections: register(m, prometheus.NewCounter(prometheus.CounterOpts{Name: "hikyaku_smtp_starttls_discarded_total",
			Help: "STARTTLS commands followed by pipelined plaintext, which was discarded (RFC 3207 §4.2; command injection)."})),
		authAttempts: register(m, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hikyaku_smtp_auth_total",
			Help: "AUTH attempts, by mechanism and result (success, failure, throttled, unavailable, cancelled, error)."}, []string{"mechanism", "result"})),
		authHashSeconds: register(m, prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hikyaku_smtp_auth_check_seconds",
			Help: "Time to check AUTH credentials, throttling delays excluded.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)})),
	}
}

// register adds c to the registry, or returns the collector already
// there under the same name (several servers may share one Metrics).
func register[C prometheus.Collector](m *metrics.Metrics, c C) C {
	if err := m.Registry.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		panic(err)
	}
	return c
}

// cmdSTARTTLS upgrades the connection (RFC 3207).
func (c *session) cmdSTARTTLS(arg string) protocol.Reply {
	switch {
	case c.tls != nil:
		return reply(codes.StartTLSActive)
	case c.srv.TLS == nil:
		return reply(codes.StartTLSNotHere)
	case strings.TrimSpace(arg) != "":
		return reply(codes.NoArgAllowed, "STARTTLS")
	case !c.greeted:
		return reply(codes.NeedHelo)
	case c.tx != nil:
		return reply(codes.StartTLSInTx)
	}
	conf, err := c.srv.TLS.ServerConfig()
	if err != nil {
		c.log.Error("STARTTLS: TLS unavailable", "err", err)
		return reply(codes.StartTLSTemp)
	}
	c.send(reply(codes.StartTLSReady))
	if c.flush() != nil {
		return closeReply()
	}
	// Whatever the client sent after STARTTLS and before the handshake
	// was sent in clear, and a man in the middle may have put it there:
	// it must never be read as coming from inside TLS (RFC 3207 §4.2,
	// CVE-2011-0411). Drop it with the reader.
	if n := c.buffered() + len(c.in.prefix); n > 0 {
		c.srv.m.tlsInjections.Inc()
		c.log.Warn("discarding plaintext pipelined after STARTTLS (command injection?)", "bytes", n)
	}
	c.in.prefix = nil
	if c.br != nil {
		c.br.Reset(nil)
		readerPool.Put(c.br)
		c.br = nil
	}
	if !c.handshake(conf, "starttls") {
		return closeReply()
	}
	return protocol.Reply{}
}

// implicitTLS runs the handshake a Submissions listener starts with.
func (c *session) implicitTLS() bool {
	conf, err := c.srv.TLS.ServerConfig()
	if err != nil {
		c.log.Error("implicit TLS: TLS unavailable; closing", "err", err)
		return false
	}
	return c.handshake(conf, "implicit")
}

// handshake runs the server side of the TLS handshake on the raw
// connection and, when it succeeds, moves the session onto it with every
// piece of state learnt before forgotten (RFC 3207 §4.2: the client must
// say EHLO again, and no AUTH or transaction carries over).
func (c *session) handshake(conf *tls.Config, how string) bool {
	tc := tls.Server(c.conn, conf)
	c.conn.SetDeadline(time.Now().Add(c.srv.cfg.SMTP.CommandTimeout.D()))
	err := tc.Handshake()
	c.conn.SetDeadline(time.Time{})
	if err != nil {
		c.srv.m.tlsFailures.WithLabelValues(how).Inc()
		c.log.Info("TLS handshake failed", "how", how, "err", err)
		return false
	}
	cs := tc.ConnectionState()
	c.tls = &cs
	c.in = &prefixConn{Conn: tc}
	c.w.Reset(tc)
	c.helo, c.esmtp, c.greeted, c.tx = "", false, false, nil
	c.authUser, c.authMech, c.authAdv = "", "", false
	version := tlsVersion(cs.Version)
	c.srv.m.tlsSessions.WithLabelValues(how, version).Inc()
	c.log = c.log.With("tls", version)
	c.log.Debug("TLS established", "how", how, "cipher", tls.CipherSuiteName(cs.CipherSuite), "sni", cs.ServerName)
	return true
}

// tlsVersion names a version the way Received fields usually do
// ("TLSv1.3", as OpenSSL and Postfix write it).
func tlsVersion(v uint16) string {
	return strings.Replace(tls.VersionName(v), "TLS ", "TLSv", 1)
}

// tlsComment is the Received comment for an encrypted session.
func (c *session) tlsComment() string {
	if c.tls == nil {
		return ""
	}
	return "(using " + tlsVersion(c.tls.Version) + " with cipher " + tls.CipherSuiteName(c.tls.CipherSuite) + ")"
}
