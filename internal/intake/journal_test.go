package intake

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/verp"
)

func segments(t *testing.T, in *Intake) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(in.Dir(), journalDir))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, filepath.Join(in.Dir(), journalDir, e.Name()))
	}
	return out
}

// What a power cut can do to mail Deliver acknowledged: its file in new/
// gone or cut short, one in cur/ (read, recorded) emptied, the last
// record of the journal torn. A restart writes each file again from the
// journal, whole, records the mail that was not recorded exactly once,
// and deletes the segments once the files are synced.
func TestJournalReplay(t *testing.T) {
	st := newFakeStore(rowKey("spring", 3))
	in := newIntake(t, st, time.Hour)
	var ds []mailbox.Delivery
	for i := range 3 {
		id := fmt.Sprintf("J%d", i)
		data := bytes.Replace(dsn("from a by us; id "+id), []byte("<b1@"), []byte("<"+id+"@"), 1)
		ds = append(ds, delivery(id, data))
	}
	for _, err := range in.Deliver(ds, false) {
		if err != nil {
			t.Fatal(err)
		}
	}
	segs := segments(t, in)
	if len(segs) != 1 {
		t.Fatalf("journal segments %v, want one", segs)
	}
	kept := files(t, in, "new")
	if len(kept) != 3 {
		t.Fatalf("new/ %v", kept)
	}
	want := map[string][]byte{}
	for _, n := range kept {
		b, err := os.ReadFile(filepath.Join(in.Dir(), "new", n))
		if err != nil {
			t.Fatal(err)
		}
		want[n] = b
	}
	// J0 was read and recorded before the cut: in cur/, but empty.
	if _, err := in.Process(t.Context(), kept[0], want[kept[0]], ""); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(in.Dir(), "new", kept[0]), filepath.Join(in.Dir(), "cur", kept[0]+":2,S")); err != nil {
		t.Fatal(err)
	}
	os.Truncate(filepath.Join(in.Dir(), "cur", kept[0]+":2,S"), 0)
	os.Remove(filepath.Join(in.Dir(), "new", kept[1]))
	os.Truncate(filepath.Join(in.Dir(), "new", kept[2]), 100)
	// A torn, unacknowledged batch after the good records.
	f, err := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("HKBJ\xff\x00\x00\x00garbage"))
	f.Close()
	in.jour.close()

	in2, err := New(in.opt)
	if err != nil {
		t.Fatal(err)
	}
	in2.Start()
	defer in2.Stop()
	waitFor(t, "every mail in cur/", func() bool { return len(files(t, in2, "cur")) == 3 })
	for _, n := range files(t, in2, "cur") {
		base, _, _ := strings.Cut(n, ":")
		b, _ := os.ReadFile(filepath.Join(in2.Dir(), "cur", n))
		if !bytes.Equal(b, want[base]) {
			t.Errorf("cur/%s after the replay: %d octets, want %d", n, len(b), len(want[base]))
		}
	}
	if n := files(t, in2, "new"); len(n) != 0 {
		t.Errorf("new/ %v after the replay", n)
	}
	// Three mails of one row, one bounce each: each key once.
	if rec := st.recorded(); len(rec) != 3 {
		t.Errorf("%d bounces recorded, want 3 (each mail once)", len(rec))
	}
	if s := segments(t, in2); len(s) != 0 {
		t.Errorf("segments left after the replay: %v", s)
	}
}

// Segments are deleted only by a checkpoint, which first syncs the files;
// a spool replay of a journaled delivery writes nothing again.
func TestJournalCheckpoint(t *testing.T) {
	st := newFakeStore(rowKey("spring", 3))
	in := newIntake(t, st, time.Hour)
	in.Start()
	if errs := in.Deliver([]mailbox.Delivery{delivery("C1", dsn("from a by us; id C1"))}, false); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if len(segments(t, in)) != 1 {
		t.Fatalf("segments %v after a delivery", segments(t, in))
	}
	waitFor(t, "the checkpoint", func() bool { return len(segments(t, in)) == 0 })
	waitFor(t, "the mail in cur/", func() bool { return len(files(t, in, "cur")) == 1 })
	if errs := in.Deliver([]mailbox.Delivery{delivery("C1", dsn("from a by us; id C1"))}, true); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if len(segments(t, in)) != 0 || len(files(t, in, "new")) != 0 {
		t.Errorf("a replay journaled or wrote again: segments %v new/ %v", segments(t, in), files(t, in, "new"))
	}
	// Stop syncs what came last.
	in.Deliver([]mailbox.Delivery{delivery("C2", dsn("from a by us; id C2"))}, false)
	in.Stop()
	if s := segments(t, in); len(s) != 0 {
		t.Errorf("segments left after Stop: %v", s)
	}
}

// spanStore is a fakeStore that also gives campaign spans, counting the
// store's answers.
type spanStore struct {
	*fakeStore
	spanCalls, existsCalls int
}

func (s *spanStore) RowSpan(ctx context.Context, c string) (lo, hi, n int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spanCalls++
	if s.down {
		return 0, 0, 0, errDown
	}
	for k := range s.rows {
		name, r, _ := strings.Cut(k, "/")
		if name != c {
			continue
		}
		var row int64
		fmt.Sscan(r, &row)
		if n == 0 || row < lo {
			lo = row
		}
		hi = max(hi, row)
		n++
	}
	return lo, hi, n, nil
}

func (s *spanStore) RowExists(ctx context.Context, c string, r int64) (bool, error) {
	s.mu.Lock()
	s.existsCalls++
	s.mu.Unlock()
	return s.fakeStore.RowExists(ctx, c, r)
}

// With a RowSpanner, Check asks the store once for a campaign without
// gaps and answers its rows from that; a row past the span and the rows
// of a campaign with gaps are still asked one by one, exactly.
func TestCheckSpan(t *testing.T) {
	var rows []string
	for r := int64(1); r <= 50; r++ {
		rows = append(rows, rowKey("spring", r))
	}
	rows = append(rows, rowKey("gaps", 1), rowKey("gaps", 3))
	st := &spanStore{fakeStore: newFakeStore(rows...)}
	in := newIntake(t, st, time.Minute)
	ctx := context.Background()
	addr := func(c string, r int64) string { return verp.Format(c, r, "bounce.example.test", testKey) }
	for r := int64(1); r <= 50; r++ {
		if got := in.Check(ctx, addr("spring", r)); got != Accept {
			t.Fatalf("row %d: %d, want Accept", r, got)
		}
	}
	if st.spanCalls != 1 || st.existsCalls != 0 {
		t.Errorf("50 rows of a campaign without gaps: %d span and %d row queries, want 1 and 0", st.spanCalls, st.existsCalls)
	}
	if got := in.Check(ctx, addr("spring", 51)); got != Unknown || st.existsCalls != 1 {
		t.Errorf("a row past the span: %d after %d row queries, want Unknown after 1", got, st.existsCalls)
	}
	for r, want := range map[int64]Verdict{1: Accept, 2: Unknown, 3: Accept} {
		if got := in.Check(ctx, addr("gaps", r)); got != want {
			t.Errorf("gaps row %d: %d, want %d", r, got, want)
		}
	}
	if st.existsCalls != 4 {
		t.Errorf("a campaign with gaps: %d row queries in all, want 4 (one per row)", st.existsCalls)
	}
}
