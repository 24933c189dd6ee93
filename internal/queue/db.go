package queue

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/hikyaku/hikyaku/internal/spool"
)

// Store is the relay queue: one SQLite database (queue.db in the queue
// directory) holding each message's envelope and per-recipient status as
// JSON beside its octets. A file per message cost more than delivering it:
// creating and unlinking two small files per message (with the directory
// fsync) was half the CPU of draining a queue into smtp-sink, and on a
// file system mounted with discard each unlink frees blocks synchronously.
// In one database the space of a delivered message is reused, and every
// change from every worker rides a shared commit (group commit, docs/conventions.md habit 9).
type Store struct {
	dir   string
	db    *sql.DB
	stmts map[string]*sql.Stmt // the frequent statements, prepared once
	ops   chan op
	quit  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// op is one change, applied inside the writer's transaction.
type op struct {
	apply func(*sql.Tx) error
	done  chan error
}

// maxBatch bounds how many changes share one commit.
const maxBatch = 256

// DBFile is the database's name inside the queue directory.
const DBFile = "queue.db"

const schema = `
CREATE TABLE IF NOT EXISTS items (
	id          TEXT PRIMARY KEY,
	received_at INTEGER NOT NULL,           -- unix ns, for listing
	next_at     INTEGER NOT NULL DEFAULT 0, -- unix ns of the next attempt; 0: due now
	hold        INTEGER NOT NULL DEFAULT 0,
	retry       INTEGER NOT NULL DEFAULT 0, -- an operator asked for a retry
	meta        TEXT NOT NULL,              -- Item as JSON
	data        BLOB NOT NULL               -- the message octets, last: scans never read them
);
-- The runner's rescan reads this index alone, never the rows.
CREATE INDEX IF NOT EXISTS items_schedule ON items (next_at, id, retry, hold);
`

// OpenStore opens (creating) the relay queue in dir. Files left by the
// earlier one-file-per-message queue are taken into the database first.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("relay queue: %w", err)
	}
	// WAL lets `hikyaku queue list` read while the server writes;
	// synchronous=FULL makes every commit durable before Add returns, so
	// the spool may reclaim the message; txlock=immediate makes a second
	// process (`queue hold` while the server runs) wait for the write
	// lock at BEGIN instead of failing on an upgrade.
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", filepath.Join(dir, DBFile)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("relay queue: %w", err)
	}
	// Readers in parallel (the delivery workers); writes go through the
	// one writer goroutine.
	// one writer goroutine. Idle connections stay open: opening one
	// costs more than a hundred lookups.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxLifetime(0)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("relay queue %s: %w", filepath.Join(dir, DBFile), err)
	}
	s := &Store{dir: dir, db: db, stmts: map[string]*sql.Stmt{}, ops: make(chan op), quit: make(chan struct{})}
	for _, q := range []string{qLoad, qLoadData, qHold, qUpdate, qDelete, qInsert} {
		st, err := db.Prepare(q)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("relay queue: %w", err)
		}
		s.stmts[q] = st
	}
	s.wg.Add(1)
	go s.writer()
	if err := s.importFiles(); err != nil {
		s.Close()
		return nil, fmt.Errorf("relay queue: taking in the files of the earlier queue: %w", err)
	}
	return s, nil
}

const (
	qLoad     = `SELECT meta, hold FROM items WHERE id = ?`
	qLoadData = `SELECT meta, hold, data FROM items WHERE id = ?`
	qHold     = `SELECT hold FROM items WHERE id = ?`
	qUpdate   = `UPDATE items SET meta = ?, next_at = ? WHERE id = ?`
	qDelete   = `DELETE FROM items WHERE id = ?`
	qInsert   = `INSERT INTO items (id, received_at, next_at, hold, retry, meta, data)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`
)

// Close ends the writer and closes the database.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.quit)
		s.wg.Wait()
		for _, st := range s.stmts {
			st.Close()
		}
		err = s.db.Close()
	})
	return err
}

var errClosed = errors.New("relay queue closed")

// change runs apply in a shared transaction and returns once it is
// committed (durably).
func (s *Store) change(apply func(*sql.Tx) error) error {
	o := op{apply: apply, done: make(chan error, 1)}
	select {
	case s.ops <- o:
	case <-s.quit:
		return errClosed
	}
	return <-o.done
}

// writer commits the changes waiting at once in one transaction. When that
// fails, each is tried alone, so one bad change (or a full disk that has
// room for some) does not fail the others.
func (s *Store) writer() {
	defer s.wg.Done()
	for {
		var batch []op
		select {
		case o := <-s.ops:
			batch = append(batch, o)
		case <-s.quit:
			return
		}
	more:
		for len(batch) < maxBatch {
			select {
			case o := <-s.ops:
				batch = append(batch, o)
			default:
				break more
			}
		}
		if len(batch) > 1 {
			if err := s.commit(batch); err == nil {
				for _, o := range batch {
					o.done <- nil
				}
				continue
			}
		}
		for _, o := range batch {
			o.done <- s.commit([]op{o})
		}
	}
}

func (s *Store) commit(batch []op) error {
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	for _, o := range batch {
		if err := o.apply(tx); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// exec is a change of one statement that must touch the row of id.
func (s *Store) exec(id, query string, args ...any) error {
	if !validID(id) {
		return notFound(id)
	}
	var n int64
	err := s.change(func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if st, ok := s.stmts[query]; ok {
			res, err = tx.Stmt(st).Exec(args...)
		} else {
			res, err = tx.Exec(query, args...)
		}
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(id)
	}
	return nil
}

// Add puts the relay recipients of a committed message in the queue,
// durably. It is idempotent: a message already queued (a replay after a
// crash) is left as it is.
func (s *Store) Add(msg *spool.Message, rcpts []spool.Recipient) error {
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
	return s.insert(item, msg.Data, false, false)
}

func (s *Store) insert(it Item, data []byte, hold, retry bool) error {
	if !validID(it.ID) {
		return fmt.Errorf("relay queue: bad id %q", it.ID)
	}
	meta, err := json.Marshal(it)
	if err != nil {
		return err
	}
	if data == nil {
		data = []byte{} // NOT NULL
	}
	return s.change(func(tx *sql.Tx) error {
		_, err := tx.Stmt(s.stmts[qInsert]).Exec(it.ID, it.ReceivedAt.UnixNano(), nextAtColumn(it), hold, retry, string(meta), data)
		return err
	})
}

func nextAtColumn(it Item) int64 {
	if at, ok := it.NextAttempt(); ok && !at.IsZero() {
		return at.UnixNano()
	}
	return 0
}

// List returns every queued item, oldest first. Rows that cannot be read
// are reported in the error but do not hide the others.
func (s *Store) List() ([]Item, error) {
	rows, err := s.db.Query(`SELECT id, meta, hold FROM items ORDER BY received_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []Item
	var errs []error
	for rows.Next() {
		var id, meta string
		var hold bool
		if err := rows.Scan(&id, &meta, &hold); err != nil {
			return items, err
		}
		it, err := decode(id, meta, hold)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		items = append(items, it)
	}
	return items, errors.Join(append(errs, rows.Err())...)
}

// Entries lists every item's schedule from the index alone, for the
// runner's scans.
func (s *Store) Entries() ([]Entry, error) {
	rows, err := s.db.Query(`SELECT id, next_at, retry, hold FROM items INDEXED BY items_schedule`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var es []Entry
	for rows.Next() {
		var e Entry
		var next int64
		if err := rows.Scan(&e.ID, &next, &e.Retry, &e.Hold); err != nil {
			return es, err
		}
		if next != 0 {
			e.NextAt = time.Unix(0, next)
		}
		es = append(es, e)
	}
	return es, rows.Err()
}

func decode(id, meta string, hold bool) (Item, error) {
	var it Item
	if err := json.Unmarshal([]byte(meta), &it); err != nil {
		return Item{}, fmt.Errorf("relay queue item %s: %w", id, err)
	}
	it.Hold = hold
	return it, nil
}

// Get reads one item's envelope and status.
func (s *Store) Get(id string) (Item, error) {
	it, _, err := s.load(id, false)
	return it, err
}

// Load reads one item with its octets.
func (s *Store) Load(id string) (Item, []byte, error) { return s.load(id, true) }

func (s *Store) load(id string, withData bool) (Item, []byte, error) {
	if !validID(id) {
		return Item{}, nil, notFound(id)
	}
	var meta string
	var hold bool
	var data []byte
	var err error
	if withData {
		err = s.stmts[qLoadData].QueryRow(id).Scan(&meta, &hold, &data)
	} else {
		err = s.stmts[qLoad].QueryRow(id).Scan(&meta, &hold)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Item{}, nil, notFound(id)
	}
	if err != nil {
		return Item{}, nil, err
	}
	it, err := decode(id, meta, hold)
	return it, data, err
}

// Data reads one item's octets.
func (s *Store) Data(id string) ([]byte, error) {
	_, data, err := s.load(id, true)
	return data, err
}

// Update records an item's status durably.
func (s *Store) Update(it Item) error {
	hold := it.Hold
	it.Hold = false // a column of its own, changed only by SetHold
	meta, err := json.Marshal(it)
	it.Hold = hold
	if err != nil {
		return err
	}
	return s.exec(it.ID, qUpdate, string(meta), nextAtColumn(it), it.ID)
}

// Delete removes an item.
func (s *Store) Delete(id string) error {
	return s.exec(id, qDelete, id)
}

// SetHold holds (or releases) an item: the runner leaves it alone.
func (s *Store) SetHold(id string, hold bool) error {
	return s.exec(id, `UPDATE items SET hold = ? WHERE id = ?`, hold, id)
}

// Held says whether an item is on hold.
func (s *Store) Held(id string) bool {
	var hold bool
	err := s.stmts[qHold].QueryRow(id).Scan(&hold)
	return err == nil && hold
}

// RequestRetry asks the runner to try an item's deferred recipients now.
func (s *Store) RequestRetry(id string) error {
	return s.exec(id, `UPDATE items SET retry = 1 WHERE id = ?`, id)
}

// TakeRetryRequest reports and clears a retry request.
func (s *Store) TakeRetryRequest(id string) bool {
	return s.exec(id, `UPDATE items SET retry = 0 WHERE id = ? AND retry = 1`, id) == nil
}
