package delivery

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/peertest"
	"github.com/hikyaku/hikyaku/internal/queue"
	"github.com/hikyaku/hikyaku/internal/spool"
)

type bounces struct {
	mu   sync.Mutex
	sent []string // "action rcpt code"
}

func (b *bounces) fn(ctx context.Context, it queue.Item, rcpts []queue.Recipient, action string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range rcpts {
		b.sent = append(b.sent, fmt.Sprintf("%s %s %d", action, r.Address, r.LastCode))
	}
	return nil
}

func (b *bounces) list() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.sent...)
}

// queueOne puts a message in a fresh relay queue.
func queueOne(t *testing.T, rcpts ...string) (*queue.Store, string) {
	t.Helper()
	st, err := queue.OpenStore(filepath.Join(t.TempDir(), "queue"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := &spool.Message{Envelope: spool.Envelope{ID: spool.NewID(), From: "s@self.test", ReceivedAt: time.Now()},
		Data: []byte("Subject: q\r\n\r\nqueued\r\n")}
	for _, r := range rcpts {
		m.Recipients = append(m.Recipients, spool.Recipient{Address: r, Relay: r})
	}
	if err := st.Add(m, m.Recipients); err != nil {
		t.Fatal(err)
	}
	return st, m.ID
}

func runUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A 4xx is retried and then delivered; the item leaves the queue.
func TestRunnerRetryThenSuccess(t *testing.T) {
	w := newWorld(t, map[string]peertest.Script{"127.0.0.2": {Replies: map[string]string{"RCPT": "451 4.3.0 try later"}}})
	st, id := queueOne(t, "a@good.test")
	b := &bounces{}
	// One message per connection, so that the new script is seen.
	e := w.engine(func(o *Options) { o.MessagesPerConn = 1 })
	r := NewRunner(st, e, RunnerOptions{Lifetime: time.Hour, RetryMin: 100 * time.Millisecond, RetryMax: 200 * time.Millisecond, Concurrency: 2, Scan: 50 * time.Millisecond, Bounce: b.fn})
	r.Start()
	defer r.Stop()
	runUntil(t, func() bool {
		it, err := st.Get(id)
		return err == nil && it.Recipients[0].Status == queue.StatusDeferred
	})
	it, _ := st.Get(id)
	if rc := it.Recipients[0]; rc.LastCode != 451 || rc.Attempts != 1 || rc.NextAttempt.IsZero() {
		t.Errorf("after the first attempt: %+v", rc)
	}
	w.peers["127.0.0.2"].SetScript(peertest.Script{})
	runUntil(t, func() bool { _, err := st.Get(id); return err != nil })
	if n := len(w.peers["127.0.0.2"].Messages()); n != 1 {
		t.Errorf("peer got %d messages, want 1", n)
	}
	if got := b.list(); len(got) != 0 {
		t.Errorf("DSNs sent for a delivered message: %v", got)
	}
}

// A permanent failure ends at once with a failure DSN; other recipients
// of the same message are unaffected.
func TestRunnerPermanentFailureBounces(t *testing.T) {
	w := newWorld(t, map[string]peertest.Script{"127.0.0.2": {RcptReplies: map[string]string{"bad@good.test": "550 5.1.1 no such user"}}})
	st, id := queueOne(t, "ok@good.test", "bad@good.test")
	b := &bounces{}
	r := NewRunner(st, w.engine(nil), RunnerOptions{Lifetime: time.Hour, RetryMin: time.Second, Concurrency: 1, Scan: 50 * time.Millisecond, Bounce: b.fn})
	r.Start()
	defer r.Stop()
	runUntil(t, func() bool { _, err := st.Get(id); return err != nil })
	if got := b.list(); len(got) != 1 || got[0] != "failed bad@good.test 550" {
		t.Errorf("DSNs %v, want one failed for bad@good.test", got)
	}
}

// Past the lifetime a transient failure becomes 606, with the last code
// kept in the text, and a DSN.
func TestRunnerExpiry606(t *testing.T) {
	w := newWorld(t, map[string]peertest.Script{"127.0.0.2": {Replies: map[string]string{"RCPT": "451 4.7.1 greylisted"}}})
	st, id := queueOne(t, "a@good.test")
	b := &bounces{}
	r := NewRunner(st, w.engine(nil), RunnerOptions{Lifetime: 300 * time.Millisecond, RetryMin: 100 * time.Millisecond, RetryMax: 100 * time.Millisecond, Concurrency: 1, Scan: 50 * time.Millisecond, Bounce: b.fn})
	var (
		mu   sync.Mutex
		last queue.Item
	)
	r.opt.Bounce = func(ctx context.Context, it queue.Item, rc []queue.Recipient, action string) error {
		mu.Lock()
		last = it
		mu.Unlock()
		return b.fn(ctx, it, rc, action)
	}
	r.Start()
	defer r.Stop()
	runUntil(t, func() bool { return len(b.list()) > 0 })
	if got := b.list(); got[0] != "failed a@good.test 606" {
		t.Fatalf("DSNs %v", got)
	}
	mu.Lock()
	rc := last.Recipients[0]
	mu.Unlock()
	if rc.LastEnhanced != "4.7.1" || !strings.Contains(rc.LastText, "451 4.7.1 greylisted") || rc.Attempts < 2 {
		t.Errorf("expired recipient %+v", rc)
	}
	runUntil(t, func() bool { _, err := st.Get(id); return err != nil })
}

// A connection lost after the final dot is final ("unknown"), not
// re-sent, and bounces nobody.
func TestRunnerDotLossNotResent(t *testing.T) {
	w := newWorld(t, map[string]peertest.Script{"127.0.0.2": {Actions: map[codes.Phase]peertest.Action{codes.PhaseDot: peertest.Cut}}})
	st, id := queueOne(t, "a@good.test")
	b := &bounces{}
	r := NewRunner(st, w.engine(nil), RunnerOptions{Lifetime: time.Hour, RetryMin: 50 * time.Millisecond, Concurrency: 1, Scan: 50 * time.Millisecond, Bounce: b.fn})
	r.Start()
	defer r.Stop()
	runUntil(t, func() bool { _, err := st.Get(id); return err != nil })
	time.Sleep(200 * time.Millisecond)
	if n := w.peers["127.0.0.2"].Connections(); n != 1 {
		t.Errorf("%d connections: the message was sent again", n)
	}
	if got := b.list(); len(got) != 0 {
		t.Errorf("DSNs %v for a possibly delivered message", got)
	}
}

// A held item is left alone until released.
func TestRunnerHold(t *testing.T) {
	w := newWorld(t, nil)
	st, id := queueOne(t, "a@good.test")
	if err := st.SetHold(id, true); err != nil {
		t.Fatal(err)
	}
	r := NewRunner(st, w.engine(nil), RunnerOptions{Lifetime: time.Hour, RetryMin: 50 * time.Millisecond, Concurrency: 1, Scan: 50 * time.Millisecond})
	r.Start()
	defer r.Stop()
	time.Sleep(300 * time.Millisecond)
	if n := len(w.peers["127.0.0.2"].Messages()); n != 0 {
		t.Fatalf("held message delivered")
	}
	st.SetHold(id, false)
	runUntil(t, func() bool { _, err := st.Get(id); return err != nil })
}

// Backoff doubles from RetryMin to RetryMax, with jitter within ±20%.
func TestBackoff(t *testing.T) {
	r := NewRunner(nil, nil, RunnerOptions{RetryMin: time.Minute, RetryMax: 10 * time.Minute})
	for _, tc := range []struct {
		attempts int
		base     time.Duration
	}{{1, time.Minute}, {2, 2 * time.Minute}, {3, 4 * time.Minute}, {4, 8 * time.Minute}, {5, 10 * time.Minute}, {20, 10 * time.Minute}} {
		for i := 0; i < 20; i++ {
			d := r.backoff(tc.attempts)
			if d < tc.base*8/10 || d > tc.base*12/10 {
				t.Fatalf("backoff(%d) = %v, want %v ±20%%", tc.attempts, d, tc.base)
			}
		}
	}
}
