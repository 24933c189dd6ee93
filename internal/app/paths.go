package app

import (
	"path/filepath"

	"github.com/hikyaku/hikyaku/internal/config"
)

// Paths are the places under data_dir, named once.
type Paths struct{ Spool, Mail, Queue, Users, Log, TLS, DKIM string }

// DataPaths gives the places under cfg's data_dir.
func DataPaths(cfg *config.Config) Paths {
	d := cfg.DataDir
	return Paths{
		Spool: filepath.Join(d, "spool"),
		Mail:  filepath.Join(d, "mail"),
		Queue: filepath.Join(d, "queue"),
		Users: filepath.Join(d, "users.toml"),
		Log:   filepath.Join(d, "log"),
		TLS:   filepath.Join(d, "tls"),
		// DKIM keys live at <data_dir>/dkim/<domain>/<selector>.pem:
		// keygen writes them and serve/send sign outgoing mail with every
		// key there whose domain is the From: domain (or its parent).
		DKIM: filepath.Join(d, "dkim"),
	}
}

// OrDefault is s, or def when s is "".
func OrDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
