package app

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/verp"
)

// LoadVERPKey reads (creating it when missing) the VERP key that
// campaigns sign with and serve checks with: bounce.verp_secret_file, else
// data_dir/verp.key.
func LoadVERPKey(cfg *config.Config) ([]byte, error) {
	path := OrDefault(cfg.Bounce.VERPSecretFile, filepath.Join(cfg.DataDir, verp.KeyFile))
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("VERP key: %w", err)
	}
	key, err := verp.LoadKey(path, true)
	if err != nil {
		return nil, fmt.Errorf("VERP key %s: %w", path, err)
	}
	return key, nil
}
