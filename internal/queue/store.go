// Package queue owns what happens to a message after the spool made it
// durable: the Router hands each one to its local mailboxes and to the
// relay queue, then tells the spool it may reclaim the record; the Store
// keeps the relay queue as files a person can read (one JSON file of
// envelope and per-recipient status, one file of message octets, STYLE 11).
package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hikyaku/hikyaku/internal/spool"
)

// Recipient is one relay recipient and where its delivery stands.
type Recipient struct {
	Address       string    `json:"address"`            // where to send
	Original      string    `json:"original,omitempty"` // RCPT TO as received, when it differs (aliases)
	Notify        string    `json:"notify,omitempty"`
	ORCPT         string    `json:"orcpt,omitempty"`
	Status        string    `json:"status"` // queued, deferred, delivered, failed
	Attempts      int       `json:"attempts"`
	LastCode      int       `json:"last_code,omitempty"`
	LastEnhanced  string    `json:"last_enhanced,omitempty"`
	LastText      string    `json:"last_text,omitempty"`
	LastHost      string    `json:"last_host,omitempty"`
	LastAttempt   time.Time `json:"last_attempt,omitzero"`
	NextAttempt   time.Time `json:"next_attempt,omitzero"`
	DelayNotified bool      `json:"delay_notified,omitempty"`
}

// Final says the recipient needs no more attempts.
func (r Recipient) Final() bool {
	switch r.Status {
	case StatusDelivered, StatusFailed, StatusUnknown:
		return true
	}
	return false
}

// Recipient statuses.
const (
	StatusQueued    = "queued"    // not tried yet
	StatusDeferred  = "deferred"  // a transient failure; NextAttempt says when
	StatusDelivered = "delivered" // a 2xx from the next hop
	StatusFailed    = "failed"    // permanent failure or expired; a DSN went to the sender
	StatusUnknown   = "unknown"   // lost after the final dot: possibly delivered, not re-sent
)

// Item is one message in the relay queue.
type Item struct {
	ID         string      `json:"id"`
	From       string      `json:"from"`
	ReceivedAt time.Time   `json:"received_at"`
	ClientIP   string      `json:"client_ip,omitempty"`
	Size       int64       `json:"size"`
	SMTPUTF8   bool        `json:"smtputf8,omitempty"`
	Body       string      `json:"body,omitempty"`
	EnvID      string      `json:"envid,omitempty"`
	Ret        string      `json:"ret,omitempty"`
	Hold       bool        `json:"hold,omitempty"`
	Recipients []Recipient `json:"recipients"`
}

// Store is the relay queue directory. Writers of different items never
// wait for each other's fsyncs; the delivery runner gives each item to one
// worker at a time, and operator commands use marker files.
type Store struct {
	dir  string
	dirs dirSyncer // group commit for directory fsyncs
}

// ErrNotFound is returned for an id that is not in the queue.
var ErrNotFound = errors.New("no such message in the queue")

// OpenStore opens (creating) the relay queue directory.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("relay queue: %w", err)
	}
	return &Store{dir: dir}, nil
}

func (s *Store) metaPath(id string) string { return filepath.Join(s.dir, id+".json") }

// DataPath is where the message octets of id are kept.
func (s *Store) DataPath(id string) string { return filepath.Join(s.dir, id+".eml") }

// Add puts the relay recipients of a committed message in the queue,
// durably. It is idempotent: a message already queued (a replay after a
// crash) is left as it is.
func (s *Store) Add(msg *spool.Message, rcpts []spool.Recipient) error {
	if _, err := os.Stat(s.metaPath(msg.ID)); err == nil {
		return nil
	}
	item := Item{
		ID: msg.ID, From: msg.From, ReceivedAt: msg.ReceivedAt, ClientIP: msg.ClientIP,
		Size: msg.Size, SMTPUTF8: msg.SMTPUTF8, Body: msg.Body, EnvID: msg.EnvID, Ret: msg.Ret,
	}
	for _, r := range rcpts {
		qr := Recipient{Address: r.Relay, Notify: r.Notify, ORCPT: r.ORCPT, Status: StatusQueued}
		if !strings.EqualFold(r.Address, r.Relay) {
			qr.Original = r.Address
		}
		item.Recipients = append(item.Recipients, qr)
	}
	// Data first: a meta file always has its data beside it.
	if err := writeFile(s.DataPath(msg.ID), msg.Data, true); err != nil {
		return err
	}
	meta, err := json.MarshalIndent(item, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(s.metaPath(msg.ID), append(meta, '\n'), true); err != nil {
		return err
	}
	return s.dirs.sync(s.dir)
}

// List returns every queued item, oldest first. Files that cannot be
// read are reported in the error but do not hide the others.
func (s *Store) List() ([]Item, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var items []Item
	var errs []error
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		it, err := s.Get(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		items = append(items, it)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].ReceivedAt.Before(items[j].ReceivedAt) })
	return items, errors.Join(errs...)
}

// IDs lists the ids in the queue and those with a retry request, from
// the directory alone (no file is read), for the runner's rescans.
func (s *Store) IDs() (ids []string, retry map[string]bool, err error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	retry = map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if id, ok := strings.CutSuffix(name, ".json"); ok {
			ids = append(ids, id)
		} else if id, ok := strings.CutSuffix(name, ".retry"); ok {
			retry[id] = true
		}
	}
	return ids, retry, nil
}

// Get reads one item.
func (s *Store) Get(id string) (Item, error) {
	if !validID(id) {
		return Item{}, fmt.Errorf("%q: %w", id, ErrNotFound)
	}
	b, err := os.ReadFile(s.metaPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return Item{}, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Item{}, err
	}
	var it Item
	if err := json.Unmarshal(b, &it); err != nil {
		return Item{}, fmt.Errorf("relay queue file %s: %w", s.metaPath(id), err)
	}
	return it, nil
}

// Update rewrites an item's metadata durably.
func (s *Store) Update(it Item) error { return s.update(it, true) }

// Note rewrites an item's metadata without waiting for the disk: for
// records whose loss in a crash costs only an earlier retry (the attempt
// noted before dialling, STYLE 10).
func (s *Store) Note(it Item) error { return s.update(it, false) }

func (s *Store) update(it Item, durable bool) error {
	if _, err := os.Stat(s.metaPath(it.ID)); err != nil {
		return fmt.Errorf("%s: %w", it.ID, ErrNotFound)
	}
	meta, err := json.MarshalIndent(it, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(s.metaPath(it.ID), append(meta, '\n'), durable)
}

// Delete removes an item: metadata first, so that a crash between the two
// leaves only an orphan data file, never a queue entry without data.
func (s *Store) Delete(id string) error {
	if !validID(id) {
		return fmt.Errorf("%q: %w", id, ErrNotFound)
	}
	if err := os.Remove(s.metaPath(id)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", id, ErrNotFound)
		}
		return err
	}
	// One unlink each: os.Remove follows a failed unlink with an rmdir,
	// and the markers are usually absent (measured: the four removes were
	// a quarter of the CPU of draining a queue into smtp-sink).
	for _, p := range []string{s.DataPath(id), filepath.Join(s.dir, id+".hold"), filepath.Join(s.dir, id+".retry")} {
		syscall.Unlink(p)
	}
	return s.dirs.sync(s.dir)
}

// Operator controls are marker files beside the item, so that a command
// run while the server delivers never races with its metadata writes.

// SetHold holds (or releases) an item: the runner leaves it alone.
func (s *Store) SetHold(id string, hold bool) error {
	if _, err := s.Get(id); err != nil {
		return err
	}
	p := filepath.Join(s.dir, id+".hold")
	if !hold {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return os.WriteFile(p, nil, 0o640)
}

// Held says whether an item is on hold.
func (s *Store) Held(id string) bool {
	_, err := os.Stat(filepath.Join(s.dir, id+".hold"))
	return err == nil
}

// RequestRetry asks the runner to try an item's deferred recipients now.
func (s *Store) RequestRetry(id string) error {
	if _, err := s.Get(id); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, id+".retry"), nil, 0o640)
}

// TakeRetryRequest reports and clears a retry request.
func (s *Store) TakeRetryRequest(id string) bool {
	return os.Remove(filepath.Join(s.dir, id+".retry")) == nil
}

// validID keeps ids from naming files outside the queue.
func validID(id string) bool {
	return id != "" && !strings.ContainsAny(id, `/\`) && id != "." && id != ".."
}

// writeFile writes a file under a temporary name, syncs it when durable
// and renames it into place; the caller syncs the directory. Temporary
// names are unique so that concurrent writers never share one.
func writeFile(path string, data []byte, durable bool) error {
	tmp := fmt.Sprintf("%s.%d.tmp", path, tmpSeq.Add(1))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if durable {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

var tmpSeq atomic.Uint64

// dirSyncer shares one directory fsync among every writer waiting for one
// (group commit): a writer that arrives while a sync runs waits for the
// next, which covers it.
type dirSyncer struct {
	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	started uint64 // syncs begun
	done    uint64 // syncs finished
	err     error
}

func (d *dirSyncer) sync(dir string) error {
	d.mu.Lock()
	if d.cond == nil {
		d.cond = sync.NewCond(&d.mu)
	}
	// Only a sync that begins after our change covers it.
	need := d.started + 1
	for d.done < need {
		if !d.running {
			d.running = true
			d.started++
			d.mu.Unlock()
			err := syncDir(dir)
			d.mu.Lock()
			d.running = false
			d.done = d.started
			d.err = err
			d.cond.Broadcast()
			continue
		}
		d.cond.Wait()
	}
	err := d.err
	d.mu.Unlock()
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
