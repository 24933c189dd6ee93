package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/hikyaku/hikyaku/internal/app"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/server"
	"github.com/hikyaku/hikyaku/internal/web"
)

func (a *cli) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "run the SMTP receiver and the delivery queue",
		Long: "serve runs the SMTP receiver, the delivery queue, the bounce intake and the\n" +
			"HTTP listener ([http] listen: /metrics, /healthz) until SIGTERM or SIGINT;\n" +
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
func startHTTP(addr string, m *metrics.Metrics, srv *server.Server, logger *slog.Logger) (*http.Server, error) {
	// The dashboard (internal/web) serves /metrics and /healthz as well.
	// The status store, the relay queue and the admins' logins need
	// app.HTTPStarter to hand over the config, queue and directory; until
	// it does, those pages say that nothing is configured.
	dash := web.New(web.Options{Listen: addr, Metrics: m.Handler(), Gatherer: m.Registry,
		Sessions: srv.SessionCount, Logger: logger})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		dash.Close()
		return nil, fmt.Errorf("HTTP listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: dash, ReadHeaderTimeout: 10 * time.Second}
	hs.RegisterOnShutdown(dash.Close)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("HTTP server", "err", err)
		}
	}()
	logger.Info("HTTP listening", "addr", ln.Addr().String(), "paths", "/ /api/ /metrics /healthz", "login", !web.IsLoopback(addr))
	return hs, nil
}
