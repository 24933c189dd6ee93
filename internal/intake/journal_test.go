package intake

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/mailbox"
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
