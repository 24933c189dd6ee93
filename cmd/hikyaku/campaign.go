package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/store"
)

// runCampaign dispatches `hikyaku campaign …`. Each sub-command lives in
// its own file: run and worker (campaign_run.go), status, report, list and
// export (campaign_report.go), rules (campaign_rules.go).
func runCampaign(args []string, stdout, stderr io.Writer) error {
	return subcommand("campaign", args, map[string]func([]string) error{
		"run":      func(a []string) error { return runCampaignRun(a, stdout, stderr) },
		"worker":   func(a []string) error { return runCampaignWorker(a, stdout, stderr) },
		"rules":    func(a []string) error { return runCampaignRules(a, stdout, stderr) },
		"list":     func(a []string) error { return runCampaignList(a, stdout, stderr) },
		"status":   func(a []string) error { return runCampaignStatus(a, stdout, stderr) },
		"report":   func(a []string) error { return runCampaignReport(a, stdout, stderr) },
		"export":   func(a []string) error { return runCampaignExport(a, stdout, stderr) },
		"suppress": func(a []string) error { return runCampaignSuppress(a, stdout, stderr) },
	}, stderr)
}

// openStore opens the status store of [store] dsn: the embedded file under
// data_dir when it is "".
func openStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	dsn := cfg.Store.DSN
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(cfg.DataDir, store.DefaultFile)
	}
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, &store.Error{Code: store.CodeInit, Err: err}
		}
	}
	return store.Open(ctx, dsn, store.Options{Threshold: cfg.CampaignThreshold()})
}
