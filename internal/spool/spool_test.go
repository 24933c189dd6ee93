package spool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCommitThenReopen(t *testing.T) {
	utf8env := testEnvelope(3)
	utf8env.From, utf8env.SMTPUTF8 = "送信者@例え.jp", true
	utf8env.Recipients = []Recipient{{Address: "受信者@例え.jp", Mailbox: "例え.jp/受信者"}}
	nullSender := testEnvelope(4)
	nullSender.From, nullSender.Ret, nullSender.EnvID, nullSender.Body = "", "HDRS", "QQ314159", "BINARYMIME"
	html := testEnvelope(5)
	html.From = "a<b>&c@example.org" // must not come back as \u003c escapes changed into something else

	cases := []struct {
		name string
		env  *Envelope
		data []byte
		why  string
	}{
		{"plain 1KiB", testEnvelope(1), testData("x", 1024), "the common case"},
		{"empty data", testEnvelope(2), nil, "a zero-length message must not confuse the envelope line split"},
		{"utf8 envelope", utf8env, testData("ü", 300), "SMTPUTF8 addresses must round-trip exactly"},
		{"null sender and DSN fields", nullSender, []byte("a\x00b\nc\r\n.\r\n\n\n"), "binary data with NULs and bare LFs is stored as octets"},
		{"html-ish address", html, testData("h", 10), "addresses survive JSON escaping"},
		{"3 MiB", testEnvelope(6), testData("big", 3<<20), "a large message is one record"},
	}
	dir := t.TempDir()
	opt, _ := testOptions()
	s, pending := openT(t, dir, opt)
	if len(pending) != 0 {
		t.Fatalf("fresh spool has %d pending", len(pending))
	}
	for _, c := range cases {
		buf := slices.Clone(c.data)
		commitT(t, s, c.env, buf)
		for i := range buf { // the caller may reuse data after Commit returns
			buf[i] = '#'
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, pending = openT(t, dir, opt)
	if len(pending) != len(cases) {
		t.Fatalf("reopen: %d pending, want %d", len(pending), len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) { sameMessage(t, pending[i], c.env, c.data) })
	}
}

func TestDoneAndRotationDeleteSegments(t *testing.T) {
	dir := t.TempDir()
	opt, _ := testOptions()
	opt.SegmentSize = 4 << 10
	s, _ := openT(t, dir, opt)
	var envs []*Envelope
	for i := range 20 {
		env := testEnvelope(i)
		commitT(t, s, env, testData(env.ID, 1024))
		envs = append(envs, env)
	}
	if n := len(files(t, dir, ".log")); n < 5 {
		t.Fatalf("20 KiB in 4 KiB segments made only %d segments", n)
	}
	// Keep two messages; everything else is done.
	keep := map[string]bool{envs[3].ID: true, envs[17].ID: true}
	for _, env := range envs {
		if !keep[env.ID] {
			s.Done(env.ID)
		}
	}
	s.Done(envs[0].ID) // a second Done is harmless
	s.Done("no-such-id")
	segs := files(t, dir, ".log")
	if len(segs) > 3 { // the two holding kept messages, plus perhaps the open one
		t.Errorf("after Done, segments left: %v", segs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, pending := openT(t, dir, opt)
	got := ids(pending)
	for id := range keep {
		if !slices.Contains(got, id) {
			t.Errorf("kept message %s not pending after reopen (got %v)", id, got)
		}
	}
	if len(got) > 8 { // at most the other records sharing those two segments
		t.Errorf("too many pending after reopen: %v", got)
	}
	for _, id := range got {
		s.Done(id)
	}
	if segs := files(t, dir, ".log"); len(segs) != 0 {
		t.Errorf("all recovered messages done, yet segments remain: %v", segs)
	}
}

func TestSegmentAgeSealsQuietSegment(t *testing.T) {
	dir := t.TempDir()
	opt, _ := testOptions()
	opt.SegmentAge = 30 * time.Millisecond
	s, _ := openT(t, dir, opt)
	env := testEnvelope(1)
	commitT(t, s, env, testData(env.ID, 100))
	s.Done(env.ID)
	// The open segment is not deleted on Done; the age timer seals it and
	// sealing an all-done segment deletes it, with no further traffic.
	deadline := time.Now().Add(5 * time.Second)
	for len(files(t, dir, ".log")) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("quiet segment never sealed: %v", files(t, dir, ".log"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	env2 := testEnvelope(2) // and the next commit opens a new one
	commitT(t, s, env2, nil)
	if n := len(files(t, dir, ".log")); n != 1 {
		t.Errorf("after a new commit: %d segments", n)
	}
}

// slowDisk makes fdatasync cost what it costs on a real disk, so that the
// group-commit assertion does not depend on how fast the test machine's disk
// is.
func slowDisk(d time.Duration) *fileOps {
	return &fileOps{
		pwritev: unix.Pwritev,
		fdatasync: func(fd int) error {
			time.Sleep(d)
			return datasync(fd)
		},
	}
}

func TestGroupCommit(t *testing.T) {
	const sessions, each = 20, 500
	dir := t.TempDir()
	opt, _ := testOptions()
	opt.SegmentSize = 1 << 20 // rotate often while committing
	opt.ops = slowDisk(500 * time.Microsecond)
	var syncs, synced atomic.Int64
	opt.OnSync = func(_ time.Duration, records int) {
		syncs.Add(1)
		synced.Add(int64(records))
	}
	s, _ := openT(t, dir, opt)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		want = make(map[string]string)
	)
	for g := range sessions {
		wg.Go(func() {
			for i := range each {
				env := testEnvelope(g*each + i)
				data := testData(env.ID, 1024)
				if err := s.Commit(context.Background(), env, data); err != nil {
					t.Errorf("Commit: %v", err)
					return
				}
				mu.Lock()
				want[env.ID] = string(data)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	commits := int64(sessions * each)
	if synced.Load() != commits {
		t.Errorf("OnSync counted %d records, want %d", synced.Load(), commits)
	}
	t.Logf("%d commits, %d fdatasyncs, %.1f records per sync", commits, syncs.Load(), float64(commits)/float64(syncs.Load()))
	if syncs.Load()*5 > commits {
		t.Errorf("%d fdatasyncs for %d commits: group commit is not grouping", syncs.Load(), commits)
	}
	_, pending := openT(t, dir, opt)
	if len(pending) != len(want) {
		t.Errorf("reopen: %d pending, want %d", len(pending), len(want))
	}
	for _, m := range pending {
		if w, ok := want[m.ID]; !ok || w != string(m.Data) {
			t.Errorf("%s: unexpected or changed message", m.ID)
		}
	}
}

func TestNoSpace(t *testing.T) {
	dir := t.TempDir()
	opt, _ := testOptions()
	var full atomic.Bool
	opt.ops = &fileOps{
		pwritev: func(fd int, iovs [][]byte, off int64) (int, error) {
			if full.Load() {
				// Half a record reaches the file before the disk fills.
				n, err := unix.Pwrite(fd, iovs[0][:len(iovs[0])/2], off)
				if err != nil {
					return n, err
				}
				return n, unix.ENOSPC
			}
			return unix.Pwritev(fd, iovs, off)
		},
		fdatasync: datasync,
	}
	s, _ := openT(t, dir, opt)
	before := testEnvelope(1)
	commitT(t, s, before, testData(before.ID, 500))
	seg := onlySegment(t, dir)
	st, _ := os.Stat(seg)
	good := st.Size()

	full.Store(true)
	for i := range 3 {
		err := s.Commit(context.Background(), testEnvelope(10+i), testData("refused", 800))
		if !errors.Is(err, ErrNoSpace) || !errors.Is(err, unix.ENOSPC) {
			t.Fatalf("full disk: err = %v, want ErrNoSpace wrapping ENOSPC", err)
		}
		if st, _ := os.Stat(seg); st.Size() != good {
			t.Fatalf("after a failed write the segment is %d octets, want %d (half record left)", st.Size(), good)
		}
	}
	full.Store(false)
	after := testEnvelope(2)
	commitT(t, s, after, testData(after.ID, 700))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, pending := openT(t, dir, opt)
	if got := ids(pending); !slices.Equal(got, []string{before.ID, after.ID}) {
		t.Fatalf("pending = %v, want exactly the two acknowledged messages", got)
	}
	sameMessage(t, pending[1], after, testData(after.ID, 700))
}

func TestFsyncFailureAbandonsSegment(t *testing.T) {
	dir := t.TempDir()
	opt, logs := testOptions()
	var fail atomic.Bool
	opt.ops = &fileOps{
		pwritev: unix.Pwritev,
		fdatasync: func(fd int) error {
			if fail.Swap(false) {
				return unix.EIO
			}
			return datasync(fd)
		},
	}
	s, _ := openT(t, dir, opt)
	first := testEnvelope(1)
	commitT(t, s, first, testData(first.ID, 300))
	firstSeg := onlySegment(t, dir)

	fail.Store(true)
	lost := testEnvelope(2)
	err := s.Commit(context.Background(), lost, testData(lost.ID, 300))
	if err == nil || !errors.Is(err, unix.EIO) || errors.Is(err, ErrNoSpace) {
		t.Fatalf("fdatasync EIO: err = %v, want an error wrapping EIO (not ErrNoSpace)", err)
	}
	if logs.count(slogError, "fdatasync failed") != 1 {
		t.Errorf("fdatasync failure not logged")
	}
	next := testEnvelope(3)
	commitT(t, s, next, testData(next.ID, 300))
	segs := files(t, dir, ".log")
	if len(segs) != 2 || filepath.Join(dir, segs[0]) != firstSeg {
		t.Fatalf("after the failed fdatasync the next record must go to a new file; segments %v", segs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, pending := openT(t, dir, opt)
	if got := ids(pending); !slices.Equal(got, []string{first.ID, next.ID}) {
		t.Fatalf("pending = %v, want the two acknowledged messages", got)
	}
}

func TestCommitAfterClose(t *testing.T) {
	dir := t.TempDir()
	opt, _ := testOptions()
	s, _ := openT(t, dir, opt)
	env := testEnvelope(1)
	commitT(t, s, env, nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(context.Background(), testEnvelope(2), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	s.Done(env.ID) // must not delete anything once closed
	if len(files(t, dir, ".log")) != 1 {
		t.Errorf("Done after Close touched the directory")
	}
}

func TestCloseFlushesQueuedCommits(t *testing.T) {
	dir := t.TempDir()
	opt, _ := testOptions()
	opt.ops = slowDisk(2 * time.Millisecond)
	s, _, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var acked sync.Map
	for i := range 50 {
		wg.Go(func() {
			env := testEnvelope(i)
			switch err := s.Commit(context.Background(), env, testData(env.ID, 200)); {
			case err == nil:
				acked.Store(env.ID, true)
			case !errors.Is(err, ErrClosed):
				t.Errorf("Commit racing Close: %v", err)
			}
		})
	}
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	_, pending := openT(t, dir, opt)
	got := ids(pending)
	acked.Range(func(k, _ any) bool {
		if !slices.Contains(got, k.(string)) {
			t.Errorf("acknowledged %s lost across Close", k)
		}
		return true
	})
}

func TestCommitRefuses(t *testing.T) {
	dir := t.TempDir()
	opt, _ := testOptions()
	s, _ := openT(t, dir, opt)
	badFrom := testEnvelope(1)
	badFrom.From = "caf\xe9@example.org"
	badRcpt := testEnvelope(2)
	badRcpt.Recipients[0].Address = "\xff@example.com"
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		env  *Envelope
		want error
		why  string
	}{
		{"no ID", context.Background(), &Envelope{From: "a@b"}, nil, "an unnamed record could never be Done"},
		{"nil envelope", context.Background(), nil, nil, "a programming error must not panic the writer"},
		{"Latin-1 sender", context.Background(), badFrom, nil, "JSON would turn it into U+FFFD and change the address"},
		{"invalid recipient", context.Background(), badRcpt, nil, "same, for a routing field"},
		{"cancelled context", cancelled, testEnvelope(3), context.Canceled, "a session that is gone stops waiting"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Commit(c.ctx, c.env, []byte("x"))
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Errorf("Commit = %v, want an error (%v)", err, c.want)
			}
		})
	}
}

func TestSecondOpenRefused(t *testing.T) {
	dir := t.TempDir()
	opt, _ := testOptions()
	s, _ := openT(t, dir, opt)
	if _, _, err := Open(dir, opt); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open of a live spool: %v, want refusal", err)
	}
	s.Close()
	s2, _ := openT(t, dir, opt) // the lock goes with Close
	s2.Close()
}

func TestLeftoversRemoved(t *testing.T) {
	dir := t.TempDir()
	opt, logs := testOptions()
	os.WriteFile(filepath.Join(dir, "seg-0000000000000007.log.tmp"), []byte("junk"), 0o600)
	os.WriteFile(filepath.Join(dir, segName(3)), nil, 0o600) // created, crashed before any record
	os.WriteFile(filepath.Join(dir, segName(9)+brokenSuffix), []byte("kept"), 0o600)
	s, pending := openT(t, dir, opt)
	if len(pending) != 0 {
		t.Fatalf("pending from junk: %v", ids(pending))
	}
	if got := files(t, dir, ".tmp"); len(got) != 0 {
		t.Errorf("temporary files left: %v", got)
	}
	if got := files(t, dir, ".log"); len(got) != 0 {
		t.Errorf("empty segment left: %v", got)
	}
	if logs.count(slogWarn, "leftover") != 1 {
		t.Errorf("removing a leftover was not logged")
	}
	commitT(t, s, testEnvelope(1), nil)
	// New segments never reuse a number, even one only a .broken file holds.
	if got := files(t, dir, ".log"); len(got) != 1 || got[0] != segName(10) {
		t.Errorf("new segment %v, want %s", got, segName(10))
	}
}

func TestFreeBytes(t *testing.T) {
	opt, _ := testOptions()
	s, _ := openT(t, t.TempDir(), opt)
	if free := s.FreeBytes(); free <= 0 {
		t.Errorf("FreeBytes = %d", free)
	}
}
