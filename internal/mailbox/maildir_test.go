package mailbox

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var (
	testReceived = time.Date(2008, 10, 8, 12, 1, 8, 0, time.FixedZone("JST", 9*3600))
	testNow      = time.Date(2008, 10, 8, 12, 1, 9, 0, time.FixedZone("JST", 9*3600))
)

func newTestStore(t testing.TB, opt StoreOptions) *Store {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s := NewStore(filepath.Join(t.TempDir(), "mail"), "mx.example.test", opt)
	s.now = func() time.Time { return testNow }
	return s
}

func delivery(box, qid string, index int, data string) Delivery {
	return Delivery{Mailbox: box, QueueID: qid, Index: index, ReturnPath: "c1e08@st.seiai.ed.jp",
		EnvelopeTo: "C1E08@st.seiai.ed.jp", ReceivedAt: testReceived, Data: []byte(data)}
}

func listDir(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func noErrors(t testing.TB, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
}

// The stored message of seed 003, with our field names and a forged
// Return-Path in the header (removed) and one in the body (kept).
func TestDeliverBytes(t *testing.T) {
	s := newTestStore(t, StoreOptions{})
	msg := "Received: from vine42.st.seiai.ed.jp ([10.20.20.42])\r\n" +
		"\tby mx.example.test with SMTP id 1KnPH0-0006v3-QO;\r\n" +
		"\tWed, 08 Oct 2008 12:01:08 +0900\r\n" +
		"Return-Path: <forged@evil.example>\r\n" +
		"from:c1e08@st.seiai.ed.jp\r\n" +
		"subject:abc\r\n" +
		"\r\n" +
		"abcdef\r\n" +
		"Return-Path: <kept@body.example>\r\n"
	d := delivery("st.seiai.ed.jp/c1e08", "1KnPH0-0006v3-QO", 0, msg)
	noErrors(t, s.Deliver([]Delivery{d}, false))

	name := "1223434868.1KnPH0-0006v3-QO_0.mx.example.test"
	got, err := os.ReadFile(filepath.Join(s.root, "st.seiai.ed.jp", "c1e08", "new", name))
	if err != nil {
		t.Fatalf("file not where its deterministic name says: %v", err)
	}
	want := "Return-Path: <c1e08@st.seiai.ed.jp>\r\n" +
		"Delivered-To: c1e08@st.seiai.ed.jp\r\n" +
		"Envelope-To: C1E08@st.seiai.ed.jp\r\n" +
		"Delivery-Date: Wed, 08 Oct 2008 12:01:09 +0900\r\n" +
		"Received: from vine42.st.seiai.ed.jp ([10.20.20.42])\r\n" +
		"\tby mx.example.test with SMTP id 1KnPH0-0006v3-QO;\r\n" +
		"\tWed, 08 Oct 2008 12:01:08 +0900\r\n" +
		"from:c1e08@st.seiai.ed.jp\r\n" +
		"subject:abc\r\n" +
		"\r\n" +
		"abcdef\r\n" +
		"Return-Path: <kept@body.example>\r\n"
	if string(got) != want {
		t.Errorf("stored message:\n%q\nwant:\n%q", got, want)
	}
	if left := listDir(t, filepath.Join(s.root, "st.seiai.ed.jp", "c1e08", "tmp")); len(left) != 0 {
		t.Errorf("tmp/ not empty after delivery: %v", left)
	}
	fi, _ := os.Stat(filepath.Join(s.root, "st.seiai.ed.jp", "c1e08", "new", name))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("message mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestDeliverNullSenderAndLF(t *testing.T) {
	s := newTestStore(t, StoreOptions{})
	d := delivery("example.test/alice", "Q1", 3, "Subject: bounce\n\nbody\n")
	d.ReturnPath = ""
	d.EnvelopeTo = "alice+tag@example.test"
	noErrors(t, s.Deliver([]Delivery{d}, false))
	got, _ := os.ReadFile(filepath.Join(s.root, "example.test", "alice", "new", "1223434868.Q1_3.mx.example.test"))
	want := "Return-Path: <>\n" + // the null sender of a bounce
		"Delivered-To: alice@example.test\n" + // the mailbox, after plus-addressing
		"Envelope-To: alice+tag@example.test\n" + // as given in RCPT TO
		"Delivery-Date: Wed, 08 Oct 2008 12:01:09 +0900\n" +
		"Subject: bounce\n\nbody\n" // an LF message keeps LF: no mixed endings
	if string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// A mailbox removed by hand after our first delivery is created again, and
// a Return-Path given with its brackets gets no second pair.
func TestDeliverMailboxRemoved(t *testing.T) {
	s := newTestStore(t, StoreOptions{})
	d := delivery("example.test/alice", "M", 0, "A: 1\r\n\r\n")
	d.ReturnPath = "<bob@example.test>"
	noErrors(t, s.Deliver([]Delivery{d}, false))
	os.RemoveAll(filepath.Join(s.root, "example.test"))
	d.Index = 1
	noErrors(t, s.Deliver([]Delivery{d}, false))
	got, err := os.ReadFile(filepath.Join(s.root, "example.test", "alice", "new", "1223434868.M_1.mx.example.test"))
	if err != nil || !strings.HasPrefix(string(got), "Return-Path: <bob@example.test>\r\nDelivered-To:") {
		t.Errorf("got %q, %v", got, err)
	}
}

func TestWithoutReturnPath(t *testing.T) {
	tests := []struct {
		name, in, want, why string
	}{
		{"none", "A: 1\r\n\r\nbody\r\n", "A: 1\r\n\r\nbody\r\n", "untouched"},
		{"first", "Return-Path: <x@y>\r\nA: 1\r\n\r\nb\r\n", "A: 1\r\n\r\nb\r\n", "at the top"},
		{"middle", "A: 1\r\nReturn-Path: <x@y>\r\nB: 2\r\n\r\nb\r\n", "A: 1\r\nB: 2\r\n\r\nb\r\n", "between fields"},
		{"last", "A: 1\r\nReturn-Path: <x@y>\r\n\r\nb\r\n", "A: 1\r\n\r\nb\r\n", "just before the empty line"},
		{"folded", "A: 1\r\nReturn-Path:\r\n <x@y>\r\n\t(comment)\r\nB: 2\r\n\r\nb\r\n", "A: 1\r\nB: 2\r\n\r\nb\r\n", "continuation lines go with the field"},
		{"several", "Return-Path: <a@b>\r\nreturn-path: <c@d>\r\nA: 1\r\nRETURN-PATH: <e@f>\r\n\r\nb\r\n", "A: 1\r\n\r\nb\r\n", "every one, any case"},
		{"obsolete colon", "Return-Path : <x@y>\r\nA: 1\r\n\r\nb\r\n", "A: 1\r\n\r\nb\r\n", "RFC 5322 §4.5.1 allows space before the colon"},
		{"only in body", "A: 1\r\n\r\nReturn-Path: <x@y>\r\n", "A: 1\r\n\r\nReturn-Path: <x@y>\r\n", "the body is never touched"},
		{"folded continuation of other", "A: 1\r\n Return-Path: <x@y>\r\n\r\nb\r\n", "A: 1\r\n Return-Path: <x@y>\r\n\r\nb\r\n", "text inside another field's continuation is not a field"},
		{"similar name", "Return-Path-X: 1\r\nX-Return-Path: 2\r\n\r\n", "Return-Path-X: 1\r\nX-Return-Path: 2\r\n\r\n", "only the exact field name"},
		{"no blank line", "A: 1\r\nnot a header line\r\nReturn-Path: <x@y>\r\n", "A: 1\r\nnot a header line\r\nReturn-Path: <x@y>\r\n", "a non-field line starts the body"},
		{"headers only", "A: 1\r\nReturn-Path: <x@y>\r\n", "A: 1\r\n", "a message without body"},
		{"no final newline", "Return-Path: <x@y>", "", "truncated input"},
		{"LF", "Return-Path: <x@y>\nA: 1\n\nReturn-Path: b\n", "A: 1\n\nReturn-Path: b\n", "bare LF messages"},
		{"leading continuation", " x\r\nReturn-Path: <x@y>\r\n\r\n", " x\r\nReturn-Path: <x@y>\r\n\r\n", "no field yet: not a header section"},
		{"empty", "", "", "empty message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(joinPieces(withoutReturnPath([]byte(tt.in))))
			if got != tt.want {
				t.Errorf("got %q, want %q (%s)", got, tt.want, tt.why)
			}
		})
	}
}

func joinPieces(pieces [][]byte) []byte {
	var out []byte
	for _, p := range pieces {
		out = append(out, p...)
	}
	return out
}

// The brief's batch: 100 deliveries to 10 mailboxes in one call.
func TestDeliverBatch(t *testing.T) {
	var syncs []time.Duration
	s := newTestStore(t, StoreOptions{OnSync: func(d time.Duration) { syncs = append(syncs, d) }})
	ds := batch(100, 10, "B")
	noErrors(t, s.Deliver(ds, false))
	for m := range 10 {
		box := filepath.Join(s.root, "example.test", fmt.Sprintf("user%d", m))
		if n := len(listDir(t, filepath.Join(box, "new"))); n != 10 {
			t.Errorf("user%d: %d messages in new/, want 10", m, n)
		}
		if n := len(listDir(t, filepath.Join(box, "tmp"))); n != 0 {
			t.Errorf("user%d: %d files left in tmp/", m, n)
		}
	}
	if len(syncs) != 1 {
		t.Errorf("OnSync called %d times, want once per Deliver", len(syncs))
	}
}

func batch(n, boxes int, qid string) []Delivery {
	ds := make([]Delivery, n)
	for i := range ds {
		ds[i] = delivery(fmt.Sprintf("example.test/user%d", i%boxes), qid, i,
			"Subject: m\r\n\r\n"+strings.Repeat("x", 1000)+"\r\n")
	}
	return ds
}

// A crash after the files were renamed but before the queue recorded it
// replays the batch with recovering set; nothing may be stored twice, even
// when a mail reader has already moved and flagged the first copies.
func TestDeliverReplay(t *testing.T) {
	s := newTestStore(t, StoreOptions{})
	ds := batch(20, 2, "R")
	noErrors(t, s.Deliver(ds, false))
	box0 := filepath.Join(s.root, "example.test", "user0")
	moved := 0
	for _, n := range listDir(t, filepath.Join(box0, "new")) {
		if moved < 5 {
			os.Rename(filepath.Join(box0, "new", n), filepath.Join(box0, "cur", n+":2,S"))
			moved++
		}
	}
	// Maildir++ readers may add the size before the flags.
	n := listDir(t, filepath.Join(box0, "new"))[0]
	os.Rename(filepath.Join(box0, "new", n), filepath.Join(box0, "cur", n+",S=1061:2,RS"))
	// A tmp file left by the crash is overwritten, not delivered twice.
	os.WriteFile(filepath.Join(box0, "tmp", n), []byte("partial"), 0o600)

	noErrors(t, s.Deliver(ds, true))
	for _, user := range []string{"user0", "user1"} {
		box := filepath.Join(s.root, "example.test", user)
		total := len(listDir(t, filepath.Join(box, "new"))) + len(listDir(t, filepath.Join(box, "cur")))
		if total != 10 {
			t.Errorf("%s: %d messages after replay, want 10", user, total)
		}
		if left := listDir(t, filepath.Join(box, "tmp")); len(left) != 0 {
			t.Errorf("%s: tmp/ holds %v after replay", user, left)
		}
	}
	// Without recovering only new/ is checked (by the rename refusing to
	// overwrite): a copy still there is not doubled, nor is the same
	// (QueueID, Index) twice in one batch.
	noErrors(t, s.Deliver([]Delivery{ds[1], ds[1]}, false))
	if n := len(listDir(t, filepath.Join(s.root, "example.test", "user1", "new"))); n != 10 {
		t.Errorf("user1: %d in new/ after a doubled delivery, want 10", n)
	}
}

func TestDeliverBadInput(t *testing.T) {
	s := newTestStore(t, StoreOptions{})
	good := delivery("example.test/alice", "Q", 0, "A: 1\r\n\r\n")
	tests := []struct {
		name string
		d    Delivery
	}{
		{"escape", delivery("../etc", "Q", 1, "x")},                // path traversal
		{"dotdot local", delivery("example.test/..", "Q", 2, "x")}, // would be the domain dir
		{"no slash", delivery("alice", "Q", 3, "x")},
		{"queue id slash", delivery("example.test/alice", "a/b", 4, "x")},
		{"queue id colon", delivery("example.test/alice", "a:b", 5, "x")}, // would fake Maildir flags
		{"header injection", func() Delivery {
			d := delivery("example.test/alice", "Q", 6, "x")
			d.ReturnPath = "a@b>\r\nX-Injected: 1"
			return d
		}()},
	}
	ds := []Delivery{good}
	for _, tt := range tests {
		ds = append(ds, tt.d)
	}
	errs := s.Deliver(ds, false)
	if errs[0] != nil {
		t.Errorf("a good delivery failed beside bad ones: %v", errs[0])
	}
	for i, tt := range tests {
		if errs[i+1] == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	if n := len(listDir(t, filepath.Join(s.root, "example.test", "alice", "new"))); n != 1 {
		t.Errorf("%d files in new/, want 1", n)
	}
}

// One mailbox that cannot be written fails only its own deliveries.
func TestDeliverPerDeliveryErrors(t *testing.T) {
	s := newTestStore(t, StoreOptions{})
	broken := filepath.Join(s.root, "example.test", "broken")
	os.MkdirAll(broken, 0o700)
	os.WriteFile(filepath.Join(broken, "tmp"), nil, 0o600) // a file where tmp/ should be
	errs := s.Deliver([]Delivery{
		delivery("example.test/ok", "E", 0, "A: 1\r\n\r\n"),
		delivery("example.test/broken", "E", 1, "A: 1\r\n\r\n"),
	}, false)
	if errs[0] != nil || errs[1] == nil || !strings.Contains(errs[1].Error(), "example.test/broken") {
		t.Errorf("errs = %v", errs)
	}
}

// A full disk fails the delivery with ENOSPC and leaves no partial file.
// It needs a small tmpfs, hence root; skipped otherwise.
func TestDeliverDiskFull(t *testing.T) {
	root := t.TempDir()
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a small tmpfs (%v)", err)
	}
	t.Cleanup(func() { unix.Unmount(root, 0) })
	s := NewStore(root, "mx", StoreOptions{Logger: slog.New(slog.DiscardHandler)})
	small := delivery("example.test/alice", "F", 0, "A: 1\r\n\r\nsmall\r\n")
	big := delivery("example.test/alice", "F", 1, "A: 1\r\n\r\n"+strings.Repeat("y", 200<<10))
	errs := s.Deliver([]Delivery{small, big}, false)
	if errs[0] != nil {
		t.Errorf("small delivery: %v", errs[0])
	}
	if !errors.Is(errs[1], syscall.ENOSPC) {
		t.Errorf("big delivery: %v, want ENOSPC", errs[1])
	}
	box := filepath.Join(root, "example.test", "alice")
	if n := listDir(t, filepath.Join(box, "new")); len(n) != 1 {
		t.Errorf("new/ = %v, want only the small message", n)
	}
	if n := listDir(t, filepath.Join(box, "tmp")); len(n) != 0 {
		t.Errorf("tmp/ = %v, want the partial file removed", n)
	}
}

func TestQuota(t *testing.T) {
	s := newTestStore(t, StoreOptions{DefaultQuota: 5000})
	clock := testNow
	s.now = func() time.Time { return clock }
	box := "example.test/alice"
	if u := s.Usage(box); u != 0 {
		t.Errorf("usage of a mailbox never delivered to: %d", u)
	}
	d := delivery(box, "U", 0, "A: 1\r\n\r\n"+strings.Repeat("z", 1000))
	noErrors(t, s.Deliver([]Delivery{d}, false))
	one := s.walk(box)
	if one < 1000 || s.Usage(box) != one {
		t.Fatalf("usage %d after one delivery; the walk says %d", s.Usage(box), one)
	}
	d.Index = 1
	noErrors(t, s.Deliver([]Delivery{d}, false))
	if got := s.Usage(box); got != 2*one {
		t.Errorf("usage %d after a second delivery, want %d (kept in memory)", got, 2*one)
	}

	tests := []struct {
		name         string
		quota, extra int64
		want         bool
	}{
		{"default fits", 0, 100, false},         // 2*~1100 + 100 < 5000
		{"default exceeded", 0, 4000, true},     // StoreOptions.DefaultQuota applies for 0
		{"own quota", 2 * one, 1, true},         // the user's quota wins over the default
		{"exactly full", 2*one + 10, 10, false}, // reaching the quota is allowed, passing it is not
		{"unlimited user", -1, 1 << 40, false},  // negative = no limit
	}
	for _, tt := range tests {
		if got := s.OverQuota(box, tt.quota, tt.extra); got != tt.want {
			t.Errorf("%s: OverQuota(%d, %d) = %v, want %v", tt.name, tt.quota, tt.extra, got, tt.want)
		}
	}
	if s2 := newTestStore(t, StoreOptions{}); s2.OverQuota(box, 0, 1<<40) {
		t.Error("no default quota means unlimited")
	}

	// A mail reader deletes a message behind our back: seen after usageTTL.
	files := listDir(t, filepath.Join(s.root, "example.test", "alice", "new"))
	os.Remove(filepath.Join(s.root, "example.test", "alice", "new", files[0]))
	if got := s.Usage(box); got != 2*one {
		t.Errorf("usage re-walked too early: %d", got)
	}
	clock = clock.Add(usageTTL + time.Second)
	if got := s.Usage(box); got != one {
		t.Errorf("usage %d after the TTL, want %d", got, one)
	}
}

// Sessions deliver from many goroutines at once, to shared mailboxes that
// do not exist yet; usage must match what the walk finds.
func TestDeliverConcurrent(t *testing.T) {
	s := newTestStore(t, StoreOptions{})
	for m := range 3 {
		s.Usage(fmt.Sprintf("example.test/user%d", m)) // tracked from the start
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 10 {
				errs := s.Deliver(batch(6, 3, fmt.Sprintf("G%dK%d", g, k)), false)
				for _, err := range errs {
					if err != nil {
						t.Error(err)
					}
				}
				s.Usage("example.test/user0")
			}
		})
	}
	wg.Wait()
	for m := range 3 {
		box := fmt.Sprintf("example.test/user%d", m)
		if n := len(listDir(t, filepath.Join(s.root, box, "new"))); n != 160 {
			t.Errorf("%s: %d messages, want 160", box, n)
		}
		if got, walked := s.Usage(box), s.walk(box); got != walked {
			t.Errorf("%s: usage %d, walk %d", box, got, walked)
		}
	}
}

func TestFileNameHostEncoding(t *testing.T) {
	s := NewStore(t.TempDir(), "odd/host:name,x", StoreOptions{})
	d := delivery("example.test/a", "Q", 7, "")
	if got, want := s.fileName(&d), `1223434868.Q_7.odd\057host\072name\054x`; got != want {
		t.Errorf("fileName = %q, want %q", got, want)
	}
}
