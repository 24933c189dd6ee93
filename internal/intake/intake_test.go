package intake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/verp"
)

var testKey = []byte("intake test key, 32 octets long!")

// fakeStore keeps bounces by (campaign, row, key) as the real store does
// (a key seen again is a duplicate) and fails while down is set.
type fakeStore struct {
	mu      sync.Mutex
	rows    map[string]bool // "campaign/row"
	seen    map[string]bool
	records []store.Bounce
	down    bool
	calls   int
}

func newFakeStore(rows ...string) *fakeStore {
	s := &fakeStore{rows: map[string]bool{}, seen: map[string]bool{}}
	for _, r := range rows {
		s.rows[r] = true
	}
	return s
}

func rowKey(c string, r int64) string { return c + "/" + itoa(r) }

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

var errDown = errors.New("status store down")

func (s *fakeStore) RecordBounce(ctx context.Context, b store.Bounce) (store.BounceOutcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.down {
		return "", errDown
	}
	if !s.rows[rowKey(b.Campaign, b.Row)] {
		return store.BounceNoRow, nil
	}
	k := rowKey(b.Campaign, b.Row) + "|" + b.Key
	if s.seen[k] {
		return store.BounceDuplicate, nil
	}
	s.seen[k] = true
	s.records = append(s.records, b)
	return store.BounceRecorded, nil
}

func (s *fakeStore) RowExists(ctx context.Context, c string, r int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return false, errDown
	}
	return s.rows[rowKey(c, r)], nil
}

func (s *fakeStore) recorded() []store.Bounce {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.Bounce(nil), s.records...)
}

func (s *fakeStore) setDown(v bool) {
	s.mu.Lock()
	s.down = v
	s.mu.Unlock()
}

func newIntake(t *testing.T, st Store, retry time.Duration) *Intake {
	t.Helper()
	in, err := New(Options{Dir: filepath.Join(t.TempDir(), "data", DirName), Hostname: "mx.test", Domain: "bounce.example.test",
		Complaints: []string{"FBL@example.test"}, Key: testKey, Store: st, Retry: retry})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// dsn is an RFC 3464 report for row 3 of campaign "spring", as the spool
// holds it: our Received on top.
func dsn(received string) []byte {
	return []byte("Received: " + received + "\r\n" +
		"From: MAILER-DAEMON@mx.peer.test\r\nTo: " + verp.Format("spring", 3, "bounce.example.test", testKey) + "\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <b1@mx.peer.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n" +
		"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.peer.test\r\n\r\n" +
		"Final-Recipient: rfc822; user3@d3.test\r\nAction: failed\r\nStatus: 5.1.1\r\n" +
		"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--b--\r\n")
}

func delivery(id string, data []byte) mailbox.Delivery {
	to := verp.Format("spring", 3, "bounce.example.test", testKey)
	return mailbox.Delivery{Mailbox: MailboxPrefix + to, QueueID: id, Index: 0, ReturnPath: "",
		EnvelopeTo: to, ReceivedAt: time.Unix(1700000000, 0), Data: data}
}

func files(t *testing.T, in *Intake, sub string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(in.Dir(), sub))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCheck(t *testing.T) {
	st := newFakeStore(rowKey("spring", 3))
	in := newIntake(t, st, time.Minute)
	ctx := context.Background()
	good := verp.Format("spring", 3, "bounce.example.test", testKey)
	for _, c := range []struct {
		addr string
		want Verdict
	}{
		{good, Accept},
		{"<" + good[:strings.IndexByte(good, '@')] + "@BOUNCE.Example.TEST>", Accept},
		{verp.Format("spring", 4, "bounce.example.test", testKey), Unknown},                                   // no such row
		{verp.Format("autumn", 3, "bounce.example.test", testKey), Unknown},                                   // no such campaign
		{verp.Format("spring", 3, "bounce.example.test", []byte("another key, 32 octets long!!!!")), Unknown}, // forged hash
		{strings.Replace(good, "-3-", "-4-", 1), Unknown},                                                     // row changed, old hash
		{"bounce+spring-3@bounce.example.test", Unknown},                                                      // the unsigned form
		{"postmaster@bounce.example.test", Unknown},
		{"fbl@example.test", Accept},
		{"someone@example.test", NotOurs},
		{verp.Format("spring", 3, "other.test", testKey), NotOurs},
	} {
		if got := in.Check(ctx, c.addr); got != c.want {
			t.Errorf("Check(%q) = %d, want %d", c.addr, got, c.want)
		}
	}
	st.setDown(true)
	if got := in.Check(ctx, good); got != Accept {
		t.Errorf("Check of a row seen before, with the store down = %d, want Accept", got)
	}
	in2 := newIntake(t, st, time.Minute)
	if got := in2.Check(ctx, good); got != TryLater {
		t.Errorf("Check with the store down = %d, want TryLater", got)
	}
	if got := in.Check(ctx, "bounce+x-1-aaaaaaaaaa@bounce.example.test"); got != Unknown {
		t.Errorf("a forged address with the store down = %d, want Unknown (no store needed)", got)
	}
}

// Deliver makes the mail durable in new/ before it returns, and nothing is
// read before that; once read and recorded it moves to cur/.
func TestDurableFirst(t *testing.T) {
	st := newFakeStore(rowKey("spring", 3))
	in := newIntake(t, st, time.Minute)
	if errs := in.Deliver([]mailbox.Delivery{delivery("Q1", dsn("from a by us; id Q1"))}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	// Not started: the mail is in new/, whole, and the store untouched.
	n := files(t, in, "new")
	if len(n) != 1 || st.calls != 0 {
		t.Fatalf("new/ = %v, store calls %d", n, st.calls)
	}
	b, _ := os.ReadFile(filepath.Join(in.Dir(), "new", n[0]))
	if !strings.Contains(string(b), "Envelope-To: "+verp.Format("spring", 3, "bounce.example.test", testKey)) ||
		!strings.HasSuffix(string(b), "--b--\r\n") {
		t.Errorf("kept mail:\n%s", b)
	}
	in.Start()
	defer in.Stop()
	waitFor(t, "the mail to move to cur/", func() bool { return len(files(t, in, "cur")) == 1 })
	if p, _ := in.Pending(); p != 0 {
		t.Errorf("%d left in new/", p)
	}
	rec := st.recorded()
	if len(rec) == 0 {
		t.Fatal("nothing recorded")
	}
	for _, r := range rec {
		if r.Campaign != "spring" || r.Row != 3 || !strings.Contains(r.Key, "/") || len(r.Key) < 65 {
			t.Errorf("recorded %+v", r)
		}
	}
	// A replay of the same delivery (the spool record survived a crash)
	// writes nothing new.
	if errs := in.Deliver([]mailbox.Delivery{delivery("Q1", dsn("from a by us; id Q1"))}, true); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if n, c := files(t, in, "new"), files(t, in, "cur"); len(n) != 0 || len(c) != 1 {
		t.Errorf("after a replay new/ %v cur/ %v", n, c)
	}
}

// With the store down the mail stays in new/; it is read again after
// Retry and recorded once the store is back.
func TestRetryAfterStoreFailure(t *testing.T) {
	st := newFakeStore(rowKey("spring", 3))
	st.setDown(true)
	in := newIntake(t, st, 50*time.Millisecond)
	in.Start()
	defer in.Stop()
	if errs := in.Deliver([]mailbox.Delivery{delivery("Q2", dsn("from a by us; id Q2"))}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	waitFor(t, "a failed attempt", func() bool { st.mu.Lock(); defer st.mu.Unlock(); return st.calls >= 2 })
	if len(files(t, in, "new")) != 1 || len(files(t, in, "cur")) != 0 || len(st.recorded()) != 0 {
		t.Fatalf("with the store down: new/ %v cur/ %v", files(t, in, "new"), files(t, in, "cur"))
	}
	st.setDown(false)
	waitFor(t, "the mail to be recorded", func() bool { return len(files(t, in, "cur")) == 1 })
	if rec := st.recorded(); len(rec) == 0 || rec[0].Row != 3 {
		t.Errorf("recorded %+v", rec)
	}
}

// A new intake (a restart) reads what an earlier one kept in new/.
func TestReadOnStart(t *testing.T) {
	st := newFakeStore(rowKey("spring", 3))
	in := newIntake(t, st, time.Hour)
	in.Deliver([]mailbox.Delivery{delivery("Q3", dsn("from a by us; id Q3"))}, false)
	in2, err := New(in.opt)
	if err != nil {
		t.Fatal(err)
	}
	in2.Start()
	defer in2.Stop()
	waitFor(t, "the kept mail to be read", func() bool { return len(files(t, in2, "cur")) == 1 })
}

// The same bounce taken in twice — sent again by the remote (another queue
// id and Received), or imported from a saved copy — is a duplicate.
func TestDuplicates(t *testing.T) {
	st := newFakeStore(rowKey("spring", 3))
	in := newIntake(t, st, time.Minute)
	in.Start()
	defer in.Stop()
	in.Deliver([]mailbox.Delivery{delivery("Q4", dsn("from a by us; id Q4"))}, false)
	waitFor(t, "the first copy", func() bool { return len(files(t, in, "cur")) == 1 })
	first := len(st.recorded())
	d := delivery("Q5", dsn("from b by us; id Q5; later"))
	d.ReceivedAt = d.ReceivedAt.Add(time.Hour)
	in.Deliver([]mailbox.Delivery{d}, false)
	waitFor(t, "the second copy", func() bool { return len(files(t, in, "cur")) == 2 })
	if got := len(st.recorded()); got != first || first == 0 {
		t.Errorf("recorded %d after the second copy, %d after the first", got, first)
	}
	// bounce import of the kept file: every recipient a duplicate.
	cur := files(t, in, "cur")
	b, _ := os.ReadFile(filepath.Join(in.Dir(), "cur", cur[0]))
	c, err := in.Process(context.Background(), cur[0], b, "")
	if err != nil || c.Duplicate != first || c.Recorded != 0 {
		t.Errorf("import of the kept copy: %+v %v", c, err)
	}
	// A mail with no envelope and no VERP address anywhere names no row.
	c, err = in.Process(context.Background(), "x", []byte("From: a@b.test\r\nSubject: hi\r\n\r\nhello\r\n"), "")
	if err != nil || c.NoRow != 1 {
		t.Errorf("a stray mail: %+v %v", c, err)
	}
}

func TestSenderContent(t *testing.T) {
	body := "From: a@b.test\r\nReceived: from relay\r\n\r\nx\r\n"
	for _, in := range []string{
		body,
		"Received: from c by us\r\n\tid 1\r\n" + body,
		"Return-Path: <>\r\nDelivered-To: x@y\r\nEnvelope-To: z@w\r\nDelivery-Date: now\r\nReceived: from c by us\r\n" + body,
		"Return-Path: <>\r\nEnvelope-To: z@w\r\nAuthentication-Results: mx.test;\r\n spf=none\r\nReceived-SPF: none\r\nReceived: from c by us\r\n" + body,
	} {
		if got := string(senderContent([]byte(in))); got != body {
			t.Errorf("senderContent(%q) = %q", in, got)
		}
	}
}
