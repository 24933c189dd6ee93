package main

import (
	"log/slog"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/resolve"
)

// newResolver builds the DNS resolver of [delivery] dns_servers; the
// receiver's checks (DNSBL, SPF, DKIM) and the delivery engine use it.
func newResolver(cfg *config.Config, logger *slog.Logger) (*resolve.Resolver, error) {
	return resolve.New(resolve.Options{
		Servers:   cfg.Delivery.DNSServers,
		LoopAddrs: cfg.LoopNets(),
		SelfNames: []string{cfg.Hostname},
		Logger:    logger,
	})
}
