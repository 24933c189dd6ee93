package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/store"
)

// OpenStore opens the status store of [store] dsn: the embedded file under
// data_dir when it is "". A store that cannot be opened is a *store.Error
// carrying -100 or -101.
func OpenStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	return openStore(ctx, cfg, store.Options{Threshold: cfg.CampaignThreshold()})
}

// OpenBounceStore opens the status store with the weights of
// campaign.weights too, which RecordBounce applies. The other commands do
// without them, so that a bad weights key does not stop a report.
func OpenBounceStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	weights, err := cfg.CampaignWeights()
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg, store.Options{Threshold: cfg.CampaignThreshold(), Weights: weights})
}

func openStore(ctx context.Context, cfg *config.Config, opt store.Options) (*store.Store, error) {
	dsn := cfg.Store.DSN
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(cfg.DataDir, store.DefaultFile)
	}
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, &store.Error{Code: store.CodeInit, Err: err}
		}
	}
	return store.Open(ctx, dsn, opt)
}
