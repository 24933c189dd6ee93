package app

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/delivery"
	"github.com/hikyaku/hikyaku/internal/dkim"
	"github.com/hikyaku/hikyaku/internal/resolve"
	"github.com/hikyaku/hikyaku/internal/smtpclient"
)

// NewResolver builds the DNS resolver of [delivery] dns_servers; the
// receiver's checks (DNSBL, SPF, DKIM) and the delivery engine use it.
func NewResolver(cfg *config.Config, logger *slog.Logger) (*resolve.Resolver, error) {
	return resolve.New(resolve.Options{
		Servers:   cfg.Delivery.DNSServers,
		LoopAddrs: cfg.LoopNets(),
		SelfNames: []string{cfg.Hostname},
		Logger:    logger,
	})
}

// NewEngine builds the delivery engine from [delivery], signing with the
// DKIM keys under data_dir.
func NewEngine(cfg *config.Config, logger *slog.Logger, onAttempt func(delivery.Attempt)) (*delivery.Engine, error) {
	d := cfg.Delivery
	res, err := NewResolver(cfg, logger)
	if err != nil {
		return nil, err
	}
	// delivery.timeout covers every phase not set on its own.
	phase := func(v config.Duration) time.Duration {
		if v > 0 {
			return v.D()
		}
		return d.Timeout.D()
	}
	t := smtpclient.Timeouts{
		Connect: d.ConnectTimeout.D(), Greeting: phase(d.GreetingTimeout), Helo: phase(d.HeloTimeout),
		StartTLS: d.Timeout.D(), Mail: phase(d.MailTimeout), Rcpt: phase(d.RcptTimeout), Data: phase(d.DataTimeout),
		Block: phase(d.BlockTimeout), Dot: d.DotTimeout.D(), Rset: phase(d.RsetTimeout), Quit: phase(d.QuitTimeout),
	}
	copt := smtpclient.Options{HeloName: OrDefault(d.HeloName, cfg.Hostname), Timeouts: t, Logger: logger}
	signer, err := LoadDKIM(cfg)
	if err != nil {
		return nil, err
	}
	var sign func([]byte) ([]byte, error)
	if signer != nil {
		sign = signer.Sign
	}
	if d.StartTLS == "opportunistic" {
		// Opportunistic TLS (RFC 7435): encrypt when offered, without
		// insisting on a certificate a bulk of MX hosts do not have.
		copt.TLS = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}
	}
	return delivery.New(res, delivery.Options{
		Port: d.SMTPPort, Client: copt, RequireTLS: d.RequireTLS, PerHost: d.PerHost,
		MessagesPerConn: d.MessagesPerConn, IdleTimeout: d.IdleTimeout.D(), RatePerDomain: d.RatePerDomain, Sign: sign,
		Logger: logger, OnAttempt: onAttempt,
	}), nil
}

// LoadDKIM reads every key under <data_dir>/dkim; nil when there are none.
func LoadDKIM(cfg *config.Config) (*dkim.Signer, error) {
	root := DataPaths(cfg).DKIM
	domains, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &dkim.Signer{Keys: map[string][]dkim.Key{}}
	for _, d := range domains {
		if !d.IsDir() {
			continue
		}
		files, err := filepath.Glob(filepath.Join(root, d.Name(), "*.pem"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			sel := strings.TrimSuffix(filepath.Base(f), ".pem")
			k, err := dkim.LoadKey(d.Name(), sel, f)
			if err != nil {
				return nil, fmt.Errorf("DKIM key %s: %w", f, err)
			}
			s.Keys[d.Name()] = append(s.Keys[d.Name()], k)
		}
	}
	if len(s.Keys) == 0 {
		return nil, nil
	}
	return s, nil
}
