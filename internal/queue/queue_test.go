package queue

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/spool"
)

// reclaimed records the spool's Done calls.
type reclaimed struct {
	mu  sync.Mutex
	ids []string
}

func (r *reclaimed) Done(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
}

func (r *reclaimed) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// flakyLocal fails the first n Deliver calls, then delivers to a real
// Maildir store.
type flakyLocal struct {
	mu    sync.Mutex
	fails int
	real  *mailbox.Store
	calls int
}

func (f *flakyLocal) Deliver(ds []mailbox.Delivery, recovering bool) []error {
	f.mu.Lock()
	f.calls++
	fail := f.fails > 0
	if fail {
		f.fails--
	}
	f.mu.Unlock()
	if fail {
		errs := make([]error, len(ds))
		for i := range errs {
			errs[i] = errors.New("disk on fire")
		}
		return errs
	}
	return f.real.Deliver(ds, recovering)
}

func message(id string, rcpts ...spool.Recipient) *spool.Message {
	return &spool.Message{
		Envelope: spool.Envelope{ID: id, From: "s@example.net", Recipients: rcpts, ReceivedAt: time.Unix(1700000000, 0)},
		Data:     []byte("Subject: t\r\n\r\nbody\r\n"),
	}
}

func newRouter(t *testing.T, local LocalDeliverer) (*Router, *Store, *reclaimed, string) {
	t.Helper()
	dir := t.TempDir()
	relay := openStore(t, filepath.Join(dir, "queue"))
	rec := &reclaimed{}
	r := NewRouter(local, relay, rec, RouterOptions{RetryDelay: 20 * time.Millisecond})
	r.Start()
	t.Cleanup(r.Stop)
	return r, relay, rec, dir
}

func wait(t *testing.T, r *Router) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Wait(ctx); err != nil {
		t.Fatal("router did not finish:", err)
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// A message with local and relay recipients is delivered, queued, and
// only then reclaimed from the spool.
func TestRouteLocalAndRelay(t *testing.T) {
	dir := t.TempDir()
	store := mailbox.NewStore(filepath.Join(dir, "mail"), "mx.test", mailbox.StoreOptions{})
	r, relay, rec, _ := newRouter(t, store)
	r.Route(message("Q1",
		spool.Recipient{Address: "a@example.test", Mailbox: "example.test/a"},
		spool.Recipient{Address: "x@remote.example", Relay: "x@remote.example"},
	))
	wait(t, r)
	if n := countFiles(t, filepath.Join(dir, "mail", "example.test", "a", "new")); n != 1 {
		t.Errorf("%d files in the mailbox, want 1", n)
	}
	it, err := relay.Get("Q1")
	if err != nil || len(it.Recipients) != 1 || it.Recipients[0].Address != "x@remote.example" {
		t.Errorf("relay item %+v, %v", it, err)
	}
	if got := rec.list(); len(got) != 1 || got[0] != "Q1" {
		t.Errorf("reclaimed %v, want [Q1]", got)
	}
}

// Replaying the same messages (the spool after a crash) delivers
// nothing twice and queues nothing twice.
func TestRecoverIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	store := mailbox.NewStore(filepath.Join(dir, "mail"), "mx.test", mailbox.StoreOptions{})
	r, relay, _, _ := newRouter(t, store)
	msgs := []*spool.Message{
		message("Q1", spool.Recipient{Address: "a@example.test", Mailbox: "example.test/a"}),
		message("Q2", spool.Recipient{Address: "a@example.test", Mailbox: "example.test/a"}, spool.Recipient{Address: "x@remote.example", Relay: "x@remote.example"}),
	}
	for _, m := range msgs {
		r.Route(m)
	}
	wait(t, r)
	for i := 0; i < 2; i++ {
		for _, m := range msgs {
			r.Recover(m)
		}
		wait(t, r)
	}
	if n := countFiles(t, filepath.Join(dir, "mail", "example.test", "a", "new")); n != 2 {
		t.Errorf("%d files in the mailbox after replays, want 2", n)
	}
	items, err := relay.List()
	if err != nil || len(items) != 1 {
		t.Errorf("relay queue has %d items (%v), want 1", len(items), err)
	}
}

// A failed local delivery keeps the message out of reclaim and is
// retried until it succeeds.
func TestLocalFailureRetried(t *testing.T) {
	dir := t.TempDir()
	local := &flakyLocal{fails: 2, real: mailbox.NewStore(filepath.Join(dir, "mail"), "mx.test", mailbox.StoreOptions{})}
	r, _, rec, _ := newRouter(t, local)
	r.Route(message("Q1", spool.Recipient{Address: "a@example.test", Mailbox: "example.test/a"}))
	wait(t, r)
	if local.calls != 3 {
		t.Errorf("Deliver called %d times, want 3 (two failures, one success)", local.calls)
	}
	if got := rec.list(); len(got) != 1 {
		t.Errorf("reclaimed %v", got)
	}
	if n := countFiles(t, filepath.Join(dir, "mail", "example.test", "a", "new")); n != 1 {
		t.Errorf("%d files, want 1", n)
	}
}

// Many messages are delivered in few batches.
func TestBatching(t *testing.T) {
	dir := t.TempDir()
	local := &flakyLocal{real: mailbox.NewStore(filepath.Join(dir, "mail"), "mx.test", mailbox.StoreOptions{})}
	relay := openStore(t, filepath.Join(dir, "queue"))
	rec := &reclaimed{}
	r := NewRouter(local, relay, rec, RouterOptions{})
	// Fill the input before the worker starts, so that batching is
	// deterministic.
	for i := 0; i < 300; i++ {
		r.Route(message(spool.NewID(), spool.Recipient{Address: "a@example.test", Mailbox: "example.test/a"}))
	}
	r.Start()
	defer r.Stop()
	wait(t, r)
	if local.calls != 2 {
		t.Errorf("300 messages took %d Deliver calls, want 2 (batches of 256)", local.calls)
	}
	if len(rec.list()) != 300 {
		t.Errorf("reclaimed %d", len(rec.list()))
	}
}

// The store refuses ids that would leave the queue directory.
func TestStoreRejectsPathIDs(t *testing.T) {
	s := openStore(t, t.TempDir())
	for _, id := range []string{"../x", "a/b", "", ".."} {
		if _, err := s.Get(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
		if err := s.Delete(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Delete(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

// Delete removes the item and its octets; Update rewrites the status.
func TestStoreUpdateDelete(t *testing.T) {
	s := openStore(t, t.TempDir())
	m := message("Q9", spool.Recipient{Address: "x@r.example", Relay: "x@r.example"})
	if err := s.Add(m, m.Recipients); err != nil {
		t.Fatal(err)
	}
	it, _ := s.Get("Q9")
	it.Recipients[0].Status = "deferred"
	it.Recipients[0].LastCode = 451
	if err := s.Update(it); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("Q9"); got.Recipients[0].Status != "deferred" || got.Recipients[0].LastCode != 451 {
		t.Errorf("after Update: %+v", got.Recipients[0])
	}
	if err := s.Delete("Q9"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Data("Q9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("octets left behind: %v", err)
	}
	if _, err := s.Get("Q9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
}
