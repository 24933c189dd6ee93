package main

import (
	"context"
	"errors"
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

// paths are the places under data_dir, named once.
type paths struct{ spool, mail, queue, users, log, tls string }

func dataPaths(cfg *config.Config) paths {
	d := cfg.DataDir
	return paths{
		spool: filepath.Join(d, "spool"),
		mail:  filepath.Join(d, "mail"),
		queue: filepath.Join(d, "queue"),
		users: filepath.Join(d, "users.toml"),
		log:   filepath.Join(d, "log"),
		tls:   filepath.Join(d, "tls"),
	}
}

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve [--config FILE]", stderr)
	cfgPath := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve takes no arguments")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	for _, w := range cfg.Warnings() {
		logger.Warn("configuration", "warning", w)
	}
	p := dataPaths(cfg)
	for _, d := range []string{cfg.DataDir, p.log} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
	}
	mlFile, err := os.OpenFile(filepath.Join(p.log, "mail.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("mail log: %w", err)
	}
	defer mlFile.Close()
	mlog := maillog.New(mlFile)
	m := metrics.New()

	dir, err := mailbox.OpenDirectory(p.users, cfg.Local.Domains)
	if err != nil {
		return err
	}
	store := mailbox.NewStore(p.mail, cfg.Hostname, mailbox.StoreOptions{
		DefaultQuota: int64(cfg.Local.Quota), Logger: logger, SyncFS: cfg.Local.Sync == "syncfs",
		OnSync: func(d time.Duration) { m.MaildirSync.Observe(d.Seconds()) },
	})
	relay, err := queue.OpenStore(p.queue)
	if err != nil {
		return err
	}
	defer relay.Close() // after the router and the runner have stopped
	sp, pending, err := spool.Open(p.spool, spool.Options{Logger: logger, OnSync: m.SpoolSynced})
	if err != nil {
		return err
	}
	eng, err := newEngine(cfg, logger, func(a delivery.Attempt) {
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
	bstore := &lazyStore{cfg: cfg}
	defer bstore.Close() // after the intake has stopped
	if cfg.Campaign.ReturnPathDomain != "" || len(cfg.Bounce.ComplaintAddresses) > 0 {
		if bounces, err = newIntake(cfg, bstore, logger, mlog, m); err != nil {
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
	ropt := runnerOptions(cfg)
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
	res, err := newResolver(cfg, logger)
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
			Hostname: cfg.Hostname, Dir: p.tls, Logger: logger})
		if err != nil {
			router.Stop()
			runner.Stop()
			sp.Close()
			return fmt.Errorf("[tls]: %w", err)
		}
		deps.TLS = certs
	}
	srv := server.New(deps)

	type listener struct {
		net.Listener
		kind server.Kind
	}
	var lns []listener
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
				return fmt.Errorf("listen %s: %w", addr, err)
			}
			lns = append(lns, listener{ln, l.kind})
		}
	}
	errc := make(chan error, len(lns)+1)
	for _, ln := range lns {
		logger.Info("SMTP listening", "addr", ln.Addr().String(), "kind", ln.kind.String(), "tls", cfg.TLS.Enabled,
			"hostname", cfg.Hostname, "data_dir", cfg.DataDir, "config", orDefault(cfg.File, "(embedded defaults)"))
		go func() { errc <- srv.ServeKind(ln.Listener, ln.kind) }()
	}
	var httpSrv *http.Server
	if cfg.HTTP.Listen != "" {
		httpSrv, err = startHTTP(cfg.HTTP.Listen, m, srv, logger)
		if err != nil {
			srv.Shutdown(context.Background())
			return err
		}
	}

	// Users and aliases edited by `hikyaku user` take effect without a
	// restart.
	stopReload := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopReload:
				return
			case <-t.C:
				if err := dir.Reload(); err != nil {
					logger.Error("reloading users", "err", err)
				}
			}
		}
	}()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	var runErr error
wait:
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
		case err := <-errc:
			runErr = err
			logger.Error("listener failed; shutting down", "err", err)
		}
		break wait
	}
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

func startHTTP(addr string, m *metrics.Metrics, srv *server.Server, logger *slog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "ok sessions=%d\n", srv.SessionCount())
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("HTTP listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server", "err", err)
		}
	}()
	logger.Info("HTTP listening", "addr", ln.Addr().String(), "paths", "/metrics /healthz")
	return hs, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(cfg.LogLevel) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
