package queue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hikyaku/hikyaku/internal/spool"
)

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func relayMessage(id string, to ...string) *spool.Message {
	var rcpts []spool.Recipient
	for _, a := range to {
		rcpts = append(rcpts, spool.Recipient{Address: a, Relay: a})
	}
	m := message(id, rcpts...)
	m.Data = []byte("Subject: " + id + "\r\n\r\nbody of " + id + "\r\n")
	m.Size = int64(len(m.Data))
	return m
}

// Many writers at once: every Add is committed (shared commits), each
// item comes back whole, and a reopened store still has them all.
func TestStoreConcurrentAddsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := relayMessage(fmt.Sprintf("Q%04d", i), fmt.Sprintf("r%d@remote.example", i))
			errs <- s.Add(m, m.Recipients)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A replay after a crash changes nothing.
	again := relayMessage("Q0007", "other@remote.example")
	if err := s.Add(again, again.Recipients); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	items, err := s.List()
	if err != nil || len(items) != n {
		t.Fatalf("after reopening: %d items, %v", len(items), err)
	}
	it, data, err := s.Load("Q0007")
	if err != nil || it.Recipients[0].Address != "r7@remote.example" || string(data) != "Subject: Q0007\r\n\r\nbody of Q0007\r\n" {
		t.Fatalf("Q0007: %+v %q %v", it, data, err)
	}
	es, err := s.Entries()
	if err != nil || len(es) != n {
		t.Fatalf("Entries: %d, %v", len(es), err)
	}
}

// The runner's schedule follows Update; hold and retry are flags beside
// the item that the item's own updates leave alone.
func TestStoreScheduleHoldRetry(t *testing.T) {
	s := openStore(t, t.TempDir())
	m := relayMessage("Q1", "a@remote.example", "b@remote.example")
	if err := s.Add(m, m.Recipients); err != nil {
		t.Fatal(err)
	}
	entry := func() Entry {
		t.Helper()
		es, err := s.Entries()
		if err != nil || len(es) != 1 {
			t.Fatalf("Entries: %v %v", es, err)
		}
		return es[0]
	}
	if e := entry(); !e.NextAt.IsZero() || e.Hold || e.Retry {
		t.Errorf("a new item: %+v, want due now", e)
	}
	later := time.Unix(1800000000, 0)
	it, _ := s.Get("Q1")
	it.Recipients[0].Status, it.Recipients[0].NextAttempt = StatusDeferred, later
	it.Recipients[1].Status = StatusDelivered
	if err := s.Update(it); err != nil {
		t.Fatal(err)
	}
	if e := entry(); !e.NextAt.Equal(later) {
		t.Errorf("NextAt %v, want %v (the one recipient not final)", e.NextAt, later)
	}
	if err := s.SetHold("Q1", true); err != nil {
		t.Fatal(err)
	}
	it.Recipients[0].LastCode = 451
	if err := s.Update(it); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Get("Q1"); !got.Hold || !s.Held("Q1") || got.Recipients[0].LastCode != 451 {
		t.Errorf("held item after an update: %+v", got)
	}
	if err := s.RequestRetry("Q1"); err != nil {
		t.Fatal(err)
	}
	if e := entry(); !e.Retry || !e.Hold {
		t.Errorf("entry %+v, want retry and hold", e)
	}
	if !s.TakeRetryRequest("Q1") || s.TakeRetryRequest("Q1") {
		t.Error("a retry request is taken exactly once")
	}
	if err := s.SetHold("Q1", false); err != nil || s.Held("Q1") {
		t.Errorf("release: %v", err)
	}
	for _, f := range []func(string) error{s.RequestRetry, s.Delete, func(id string) error { return s.SetHold(id, true) }} {
		if err := f("nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("on a missing id: %v, want ErrNotFound", err)
		}
	}
}

// The files of the earlier one-file-per-message queue are taken in, with
// their status and markers, and removed; leftovers of interrupted writes
// go.
func TestStoreImportsFileQueue(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	old := Item{ID: "OLD1", From: "s@example.net", ReceivedAt: time.Unix(1700000000, 0), Size: 9,
		Recipients: []Recipient{{Address: "x@remote.example", Status: StatusDeferred, Attempts: 2, LastCode: 451}}}
	meta, _ := json.MarshalIndent(old, "", "  ")
	write("OLD1.json", string(meta))
	write("OLD1.eml", "Subject: old\r\n")
	write("OLD1.hold", "")
	old.ID = "OLD2"
	meta, _ = json.Marshal(old)
	write("OLD2.json", string(meta))
	write("OLD2.eml", "Subject: two\r\n")
	write("OLD2.retry", "")
	write("ORPHAN.eml", "data whose envelope never came")
	write("OLD3.json.17.tmp", "half")

	s := openStore(t, dir)
	items, err := s.List()
	if err != nil || len(items) != 2 {
		t.Fatalf("imported %d items: %v", len(items), err)
	}
	it, data, err := s.Load("OLD1")
	if err != nil || !it.Hold || it.Recipients[0].Attempts != 2 || it.Recipients[0].LastCode != 451 || string(data) != "Subject: old\r\n" {
		t.Errorf("OLD1: %+v %q %v", it, data, err)
	}
	if !s.TakeRetryRequest("OLD2") {
		t.Error("OLD2 lost its retry request")
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); n != DBFile && n != DBFile+"-wal" && n != DBFile+"-shm" {
			left = append(left, n)
		}
	}
	sort.Strings(left)
	if len(left) > 0 {
		t.Errorf("files left in the queue directory: %v", left)
	}
}

// A broken file of the earlier queue is not lost: opening fails, naming it.
func TestStoreImportRefusesBrokenFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "BAD.json"), []byte("{not json"), 0o640)
	if s, err := OpenStore(dir); err == nil {
		s.Close()
		t.Fatal("opened over an unreadable queue file")
	}
	if _, err := os.Stat(filepath.Join(dir, "BAD.json")); err != nil {
		t.Errorf("the unreadable file went: %v", err)
	}
}

// After Close, changes fail instead of hanging.
func TestStoreClosed(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	m := relayMessage("Q1", "a@remote.example")
	if err := s.Add(m, m.Recipients); err == nil {
		t.Error("Add after Close succeeded")
	}
}

// A full disk fails Add with a clear error and keeps what was queued; the
// router keeps the message in the spool (not reclaimed) and queues it once
// there is room again. It needs a small tmpfs, hence root; skipped
// otherwise.
func TestRelayQueueDiskFull(t *testing.T) {
	root := t.TempDir()
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=512k"); err != nil {
		t.Skipf("cannot mount a small tmpfs (%v)", err)
	}
	t.Cleanup(func() { unix.Unmount(root, 0) })
	relay := openStore(t, filepath.Join(root, "queue")) // closed before the unmount
	small := relayMessage("SMALL", "a@remote.example")
	if err := relay.Add(small, small.Recipients); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(root, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()

	big := relayMessage("BIG", "b@remote.example")
	big.Data = append(big.Data, bytes.Repeat([]byte("0123456789abcdef\r\n"), 4000)...)
	if err := relay.Add(big, big.Recipients); err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("Add on a full disk: %v, want a database-full error", err)
	}

	rec := &reclaimed{}
	r := NewRouter(&flakyLocal{}, relay, rec, RouterOptions{RetryDelay: 20 * time.Millisecond})
	r.Start()
	t.Cleanup(r.Stop)
	r.Route(big)
	time.Sleep(300 * time.Millisecond)
	if got := rec.list(); len(got) != 0 {
		t.Fatalf("reclaimed %v while the relay queue could not take the message", got)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	wait(t, r)
	if got := rec.list(); len(got) != 1 || got[0] != "BIG" {
		t.Errorf("reclaimed %v, want [BIG]", got)
	}
	if _, data, err := relay.Load("BIG"); err != nil || !bytes.Equal(data, big.Data) {
		t.Errorf("BIG after the disk had room: %d octets, %v", len(data), err)
	}
	if _, err := relay.Get("SMALL"); err != nil {
		t.Errorf("SMALL, queued before the disk filled: %v", err)
	}
}
