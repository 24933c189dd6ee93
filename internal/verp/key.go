package verp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyFile is the secret's file under data_dir when bounce.verp_secret_file
// is "".
const KeyFile = "verp.key"

// KeyLen is the length of a key LoadKey creates.
const KeyLen = 32

// LoadKey reads the secret at path, creating it (KeyLen random octets,
// mode 0600) when it does not exist and create is true. The new key is
// made durable before it is used: written to a temp file, fsynced,
// renamed into place, and the directory fsynced; two processes creating
// it at once both end up with the one that won the link. A key shorter
// than 16 octets is refused.
func LoadKey(path string, create bool) ([]byte, error) {
	k, err := os.ReadFile(path)
	if err == nil {
		if len(k) < 16 {
			return nil, fmt.Errorf("verp: %s: the key is %d octets, want at least 16", path, len(k))
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) || !create {
		return nil, fmt.Errorf("verp: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("verp: %w", err)
	}
	k = make([]byte, KeyLen)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("verp: %w", err)
	}
	f, err := os.CreateTemp(dir, ".verp.key.*")
	if err != nil {
		return nil, fmt.Errorf("verp: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("verp: %w", err)
	}
	if _, err := f.Write(k); err != nil {
		f.Close()
		return nil, fmt.Errorf("verp: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("verp: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("verp: %w", err)
	}
	// Link, not rename: a key another process made meanwhile is kept
	// and read back, so every process signs with the same key.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadKey(path, false)
		}
		return nil, fmt.Errorf("verp: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return nil, fmt.Errorf("verp: %w", err)
		}
	}
	return k, nil
}
