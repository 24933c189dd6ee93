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
