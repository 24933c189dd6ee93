package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/delivery"
	"github.com/hikyaku/hikyaku/internal/intake"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/maillog"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/queue"
	"github.com/hikyaku/hikyaku/internal/server"
	"github.com/hikyaku/hikyaku/internal/spool"
	"github.com/hikyaku/hikyaku/internal/tlsconf"
)

// HTTPDeps are the parts of serve its HTTP listener (metrics, health, the
// dashboard) shows and manages.
type HTTPDeps struct {
	Config    *config.Config // http.listen, http.admins, http.token, the status store's DSN
	Metrics   *metrics.Metrics
	Server    *server.Server     // its open sessions
	Queue     *queue.Store       // the relay queue, open while serve runs
	Directory *mailbox.Directory // users, whose admins may log in
	Logger    *slog.Logger
}

// HTTPStarter starts serve's HTTP listener on d.Config.HTTP.Listen;
// cmd/hikyaku gives the function that builds its handlers.
type HTTPStarter func(d HTTPDeps) (*http.Server, error)

// Serve runs the SMTP receiver, the delivery queue, the bounce intake and
// the HTTP listener of cfg until SIGTERM or SIGINT (SIGHUP reloads the TLS
// certificate), logging to stderr, then stops cleanly: what was accepted
// is delivered or left in the spool for the next start.
func Serve(cfg *config.Config, stderr io.Writer, startHTTP HTTPStarter) error {
	// Caught from the start: a signal that comes while serve starts (once
	// a listener accepts, say) stops it cleanly rather than killing it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	logger := NewLogger(cfg, stderr)
	for _, w := range cfg.Warnings() {
		logger.Warn("configuration", "warning", w)
	}
	p := DataPaths(cfg)
	for _, d := range []string{cfg.DataDir, p.Log} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	mlFile, err := os.OpenFile(filepath.Join(p.Log, "mail.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("mail log: %w", err)
	}
	defer mlFile.Close()
	mlog := maillog.New(mlFile)
	m := metrics.New()

	dir, err := mailbox.OpenDirectory(p.Users, cfg.Local.Domains)
	if err != nil {
		return err
	}
	store := mailbox.NewStore(p.Mail, cfg.Hostname, mailbox.StoreOptions{
		DefaultQuota: int64(cfg.Local.Quota), Logger: logger, SyncFS: cfg.Local.Sync == "syncfs",
		OnSync: func(d time.Duration) { m.MaildirSync.Observe(d.Seconds()) },
	})
	relay, err := queue.OpenStore(p.Queue)
	if err != nil {
		return err
	}
	defer relay.Close() // after the router and the runner have stopped
	sp, pending, err := spool.Open(p.Spool, spool.Options{Logger: logger, OnSync: m.SpoolSynced})
	if err != nil {
		return err
	}
	eng, err := NewEngine(cfg, logger, func(a delivery.Attempt) {
		r := a.Result
		mlog.Attempt(a.QueueID, a.Recipient, r.Host, r.IP, fmt.Sprint(r.Phase), r.Code, r.Enhanced, r.Text, a.Duration)
		m.DeliveryResults.WithLabelValues(strconv.Itoa(r.Code), a.Domain).Inc()
		m.DeliveryDuration.Observe(a.Duration.Seconds())
	})
	if err != nil {
		sp.Close()
		return err
	}
	defer eng.Close()
	// The bounce intake, when campaigns send with VERP or complaint
	// addresses are set: mail to them is kept in data_dir/bounces, read
	// and recorded in the status store (opened on first use).
	var bounces *intake.Intake
	bstore := NewLazyStore(cfg)
	defer bstore.Close() // after the intake has stopped
	if cfg.Campaign.ReturnPathDomain != "" || len(cfg.Bounce.ComplaintAddresses) > 0 {
		if bounces, err = NewIntake(cfg, bstore, logger, mlog, m); err != nil {
			sp.Close()
			return err
		}
	}
	var runner *delivery.Runner
	ropts := queue.RouterOptions{Logger: logger, MailLog: mlog, Metrics: m,
		OnQueued: func(id string) { runner.Notify(id) }}
	if bounces != nil {
		ropts.Intake = bounces
	}
	router := queue.NewRouter(store, relay, sp, ropts)
	sub := &submitter{cfg: cfg, dir: dir, spool: sp, router: router}
	ropt := RunnerOptions(cfg)
	ropt.Logger, ropt.Bounce = logger, bouncer(cfg, relay, sub)
	runner = delivery.NewRunner(relay, eng, ropt)
	router.Start()
	runner.Start()
	if bounces != nil {
		bounces.Start()
		defer bounces.Stop() // after the router has handed over what it had
	}
	if len(pending) > 0 {
		logger.Info("recovering spooled messages", "count", len(pending))
	}
	for _, msg := range pending {
		router.Recover(msg)
	}

	deps := server.Deps{
		Config: cfg, Directory: dir, Spool: sp, Router: router, Quota: store,
		Logger: logger, MailLog: mlog, Metrics: m,
	}
	if bounces != nil {
		deps.Bounces = bounces
		logger.Info("bounce intake", "dir", bounces.Dir(), "return_path_domain", cfg.Campaign.ReturnPathDomain,
			"complaint_addresses", strings.Join(cfg.Bounce.ComplaintAddresses, ","))
	}
	res, err := NewResolver(cfg, logger)
	if err == nil {
		deps.Policy, err = server.NewPolicy(cfg, res, logger)
	}
	if err != nil {
		router.Stop()
		runner.Stop()
		sp.Close()
		return err
	}
	var certs *tlsconf.Manager
	if cfg.TLS.Enabled {
		certs, err = tlsconf.New(tlsconf.Options{CertFile: cfg.TLS.CertFile, KeyFile: cfg.TLS.KeyFile,
			Hostname: cfg.Hostname, Dir: p.TLS, Logger: logger})
		if err != nil {
			router.Stop()
			runner.Stop()
			sp.Close()
			return fmt.Errorf("[tls]: %w", err)
		}
		deps.TLS = certs
	}
	srv := server.New(deps)

	lns, err := listenSMTP(cfg)
	if err != nil {
		return err
	}
	errc := make(chan error, len(lns)+1)
	for _, ln := range lns {
		logger.Info("SMTP listening", "addr", ln.Addr().String(), "kind", ln.kind.String(), "tls", cfg.TLS.Enabled,
			"hostname", cfg.Hostname, "data_dir", cfg.DataDir, "config", OrDefault(cfg.File, "(embedded defaults)"))
		go func() { errc <- srv.ServeKind(ln.Listener, ln.kind) }()
	}
	var httpSrv *http.Server
	if cfg.HTTP.Listen != "" {
		httpSrv, err = startHTTP(HTTPDeps{Config: cfg, Metrics: m, Server: srv, Queue: relay, Directory: dir, Logger: logger})
		if err != nil {
			srv.Shutdown(context.Background())
			return err
		}
	}

	stopReload := reloadUsers(dir, logger)
	runErr := waitForStop(sigs, errc, certs, logger)
	close(stopReload)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	if httpSrv != nil {
		httpSrv.Shutdown(ctx)
	}
	// Deliver what was accepted; anything left is recovered from the
	// spool at the next start.
	if err := router.Wait(ctx); err != nil {
		logger.Warn("stopping with messages still in the spool; they are delivered at the next start")
	}
	router.Stop()
	runner.Stop()
	if err := sp.Close(); err != nil {
		logger.Error("closing spool", "err", err)
	}
	logger.Info("stopped")
	return runErr
}

// smtpListener is one SMTP listening socket and the kind of service on it.
type smtpListener struct {
	net.Listener
	kind server.Kind
}

// listenSMTP opens every SMTP listener of [smtp]; on a failure none is
// left open.
func listenSMTP(cfg *config.Config) ([]smtpListener, error) {
	var lns []smtpListener
	for _, l := range []struct {
		kind  server.Kind
		addrs []string
	}{
		{server.MX, cfg.SMTP.Listen}, {server.Submission, cfg.SMTP.SubmissionListen}, {server.Submissions, cfg.SMTP.SubmissionsListen},
	} {
		for _, addr := range l.addrs {
			// SMTP has its own timeouts; kernel keepalives would cost four
			// setsockopt calls per accepted connection for nothing.
			lc := net.ListenConfig{KeepAlive: -1}
			ln, err := lc.Listen(context.Background(), "tcp", addr)
			if err != nil {
				for _, l := range lns {
					l.Close()
				}
				return nil, fmt.Errorf("listen %s: %w", addr, err)
			}
			lns = append(lns, smtpListener{ln, l.kind})
		}
	}
	return lns, nil
}

// reloadUsers reads users and aliases again every second, so that those
// edited by `hikyaku user` take effect without a restart, until the
// returned channel is closed.
func reloadUsers(dir *mailbox.Directory, logger *slog.Logger) chan struct{} {
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := dir.Reload(); err != nil {
					logger.Error("reloading users", "err", err)
				}
			}
		}
	}()
	return stop
}

// waitForStop returns at SIGTERM or SIGINT (nil) or when a listener fails
// (its error); SIGHUP reloads the TLS certificate meanwhile. The signals
// stay caught after it returns, so that another one does not cut the
// clean stop short.
func waitForStop(sigs <-chan os.Signal, errc <-chan error, certs *tlsconf.Manager, logger *slog.Logger) error {
	for {
		select {
		case s := <-sigs:
			if s == syscall.SIGHUP {
				// A renewed certificate takes effect without a restart;
				// a bad one is logged and the old one kept.
				logger.Info("SIGHUP: reloading the TLS certificate")
				if certs != nil {
					if err := certs.Reload(); err != nil {
						logger.Error("TLS certificate reload failed", "err", err)
					}
				}
				continue
			}
			logger.Info("shutting down", "signal", s.String())
			return nil
		case err := <-errc:
			logger.Error("listener failed; shutting down", "err", err)
			return err
		}
	}
}
