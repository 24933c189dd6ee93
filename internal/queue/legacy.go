package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// importFiles takes in a queue left by hikyaku's earlier relay queue, one
// <id>.json (envelope and status) and one <id>.eml (octets) per message,
// with <id>.hold and <id>.retry markers, so that an upgrade loses nothing.
// Each file goes only after the database holds its item durably; a crash
// in between imports it again, which changes nothing (Add is idempotent).
func (s *Store) importFiles() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() || !validID(id) {
			continue
		}
		if err := s.importFile(id); err != nil {
			errs = append(errs, err)
		}
	}
	// What is left is what the earlier queue left half-done: temporary
	// files, and octets whose envelope was never written (the data went
	// first) or already removed (the envelope went first).
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".eml") || strings.HasSuffix(name, ".hold") || strings.HasSuffix(name, ".retry") {
			id := name[:strings.LastIndexByte(name, '.')]
			if _, err := os.Stat(filepath.Join(s.dir, id+".json")); errors.Is(err, fs.ErrNotExist) {
				os.Remove(filepath.Join(s.dir, name))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Store) importFile(id string) error {
	base := filepath.Join(s.dir, id)
	meta, err := os.ReadFile(base + ".json")
	if err != nil {
		return err
	}
	var it Item
	if err := json.Unmarshal(meta, &it); err != nil {
		return fmt.Errorf("%s.json: %w", base, err)
	}
	if it.ID != id {
		return fmt.Errorf("%s.json: holds id %q", base, it.ID)
	}
	data, err := os.ReadFile(base + ".eml")
	if err != nil {
		return err
	}
	_, herr := os.Stat(base + ".hold")
	_, rerr := os.Stat(base + ".retry")
	if err := s.insert(it, data, herr == nil, rerr == nil); err != nil {
		return err
	}
	// The envelope first, as the earlier queue removed items.
	for _, ext := range []string{".json", ".eml", ".hold", ".retry"} {
		if err := os.Remove(base + ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
