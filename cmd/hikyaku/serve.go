package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/web"
)

func (a *cli) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "run the SMTP receiver and the delivery queue",
		Long: "serve runs the SMTP receiver, the delivery queue, the bounce intake and the\n" +
			"HTTP listener ([http] listen: the dashboard at /, its JSON API under /api/,\n" +
			"/metrics and /healthz) until SIGTERM or SIGINT;\n" +
			"SIGHUP reloads the TLS certificate.",
		Args: exactArgs(0, "serve takes no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			return app.Serve(cfg, a.stderr, startHTTP)
		},
	}
}

// startHTTP builds serve's HTTP handlers and starts listening on addr.
func startHTTP(d app.HTTPDeps) (*http.Server, error) {
	cfg, addr, logger := d.Config, d.Config.HTTP.Listen, d.Logger
	// The dashboard (internal/web) serves /metrics and /healthz as well.
	// The status store is opened on first use (serve runs without one),
	// with a second handle for the snapshots' slow queries so that a page
	// never waits behind them.
	open := func(ctx context.Context) (*store.Store, error) { return app.OpenStore(ctx, cfg) }
	st, bg := web.NewLazyStore(open), web.NewLazyStore(open)
	dash := web.New(web.Options{Listen: addr, Metrics: d.Metrics.Handler(), Gatherer: d.Metrics.Registry,
		Sessions: d.Server.SessionCount, Store: st.Get, Background: bg.Get, Queue: d.Queue,
		Users: d.Directory, Admins: cfg.HTTP.Admins, Token: cfg.HTTP.Token, Logger: logger})
	closeAll := func() {
		dash.Close()
		st.Close()
		bg.Close()
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("HTTP listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: dash, ReadHeaderTimeout: 10 * time.Second}
	hs.RegisterOnShutdown(closeAll)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server", "err", err)
		}
	}()
	logger.Info("HTTP listening", "addr", ln.Addr().String(), "paths", "/ /api/ /metrics /healthz", "login", !web.IsLoopback(addr))
	return hs, nil
}
