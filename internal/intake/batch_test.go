package intake

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/verp"
)

// batchStore is a fakeStore with RecordBounces: all or nothing, as one
// transaction. Each call waits for a token on gate when gate is set, and
// a batch holding a bounce of row poison fails.
type batchStore struct {
	*fakeStore
	gate    chan struct{}
	poison  int64
	batches []int
}

func (s *batchStore) RecordBounces(ctx context.Context, bs []store.Bounce) ([]store.BounceOutcome, error) {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.batches = append(s.batches, len(bs))
	if s.down {
		return nil, errDown
	}
	for _, b := range bs {
		if s.poison != 0 && b.Row == s.poison {
			return nil, fmt.Errorf("row %d: %w", b.Row, errDown)
		}
	}
	outs := make([]store.BounceOutcome, len(bs))
	for i, b := range bs {
		k := rowKey(b.Campaign, b.Row) + "|" + b.Key
		switch {
		case !s.rows[rowKey(b.Campaign, b.Row)]:
			outs[i] = store.BounceNoRow
		case s.seen[k]:
			outs[i] = store.BounceDuplicate
		default:
			s.seen[k] = true
			s.records = append(s.records, b)
			outs[i] = store.BounceRecorded
		}
	}
	return outs, nil
}

func (s *batchStore) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.batches...)
}

// rowDSN is the DSN of one row of campaign "spring", delivered.
func rowDSN(row int64) mailbox.Delivery {
	to := verp.Format("spring", row, "bounce.example.test", testKey)
	data := strings.ReplaceAll(string(dsn(fmt.Sprintf("from a by us; id R%d", row))),
		verp.Format("spring", 3, "bounce.example.test", testKey), to)
	data = strings.ReplaceAll(data, "user3@d3.test", fmt.Sprintf("user%d@d.test", row))
	return mailbox.Delivery{Mailbox: MailboxPrefix + to, QueueID: fmt.Sprintf("R%d", row), ReturnPath: "",
		EnvelopeTo: to, ReceivedAt: time.Unix(1700000000, 0), Data: []byte(data)}
}

// Many mails kept before the start are recorded in a few store calls,
// each mail once, every mail then in cur/.
func TestBatches(t *testing.T) {
	const n = 300
	var rows []string
	var ds []mailbox.Delivery
	for r := int64(1); r <= n; r++ {
		rows = append(rows, rowKey("spring", r))
		ds = append(ds, rowDSN(r))
	}
	st := &batchStore{fakeStore: newFakeStore(rows...)}
	in, err := New(Options{Dir: filepath.Join(t.TempDir(), "data", DirName), Hostname: "mx.test", Domain: "bounce.example.test",
		Key: testKey, Store: st, Retry: time.Minute, BatchSize: 64, BatchWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range in.Deliver(ds, false) {
		if err != nil {
			t.Fatal(err)
		}
	}
	in.Start()
	defer in.Stop()
	waitFor(t, "every mail in cur/", func() bool { return len(files(t, in, "cur")) == n })
	if got := len(st.recorded()); got != n {
		t.Errorf("recorded %d, want %d", got, n)
	}
	sizes := st.sizes()
	total := 0
	for _, s := range sizes {
		total += s
		if s > 64+1 {
			t.Errorf("a batch of %d results, over BatchSize 64 (+ the last mail's)", s)
		}
	}
	if total != n || len(sizes) > n/8 {
		t.Errorf("%d results in %d store calls %v: want %d in a few", total, len(sizes), sizes, n)
	}
}

// A mail leaves new/ only once its batch committed; with the store down
// it stays there, and a mail the store refuses keeps only itself back.
func TestBatchCommitFirst(t *testing.T) {
	st := &batchStore{fakeStore: newFakeStore(rowKey("spring", 1), rowKey("spring", 2), rowKey("spring", 3)), gate: make(chan struct{})}
	in, err := New(Options{Dir: filepath.Join(t.TempDir(), "data", DirName), Hostname: "mx.test", Domain: "bounce.example.test",
		Key: testKey, Store: st, Retry: 50 * time.Millisecond, BatchWait: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	in.Start()
	defer in.Stop()
	in.Deliver([]mailbox.Delivery{rowDSN(1)}, false)
	// The recorder is in the store call, which has not committed.
	time.Sleep(100 * time.Millisecond)
	if n, c := files(t, in, "new"), files(t, in, "cur"); len(n) != 1 || len(c) != 0 {
		t.Fatalf("before the commit: new/ %v cur/ %v", n, c)
	}
	st.gate <- struct{}{}
	waitFor(t, "the mail in cur/", func() bool { return len(files(t, in, "cur")) == 1 })
	close(st.gate) // no more waiting

	st.setDown(true)
	in.Deliver([]mailbox.Delivery{rowDSN(2)}, false)
	waitFor(t, "failed attempts", func() bool { return len(st.sizes()) >= 3 })
	if n := files(t, in, "new"); len(n) != 1 || len(files(t, in, "cur")) != 1 {
		t.Fatalf("store down: new/ %v cur/ %v", n, files(t, in, "cur"))
	}
	st.mu.Lock()
	st.down, st.poison = false, 3
	st.mu.Unlock()
	in.Deliver([]mailbox.Delivery{rowDSN(3)}, false)
	waitFor(t, "row 2 recorded beside the refused row 3", func() bool { return len(files(t, in, "cur")) == 2 })
	time.Sleep(100 * time.Millisecond)
	if n := files(t, in, "new"); len(n) != 1 {
		t.Fatalf("new/ %v: want the refused mail alone", n)
	}
	st.mu.Lock()
	st.poison = 0
	st.mu.Unlock()
	waitFor(t, "row 3 recorded on a retry", func() bool { return len(files(t, in, "cur")) == 3 })
	if got := len(st.recorded()); got != 3 {
		t.Errorf("recorded %d, want 3", got)
	}
}
