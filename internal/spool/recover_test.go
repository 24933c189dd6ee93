package spool

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fixture is a spool directory's segments as bytes, with the records' IDs
// and positions, to be damaged in copies.
type fixture struct {
	segs [][]byte    // contents of segName(0), segName(1), ...
	ids  [][]string  // per segment, record IDs in order
	recs [][]scanned // per segment, record positions
}

// makeFixture commits one group of messages per segment (reopening between
// groups, which starts a new segment).
func makeFixture(t *testing.T, sizes ...[]int) fixture {
	t.Helper()
	dir := t.TempDir()
	opt, _ := testOptions()
	var fx fixture
	for _, group := range sizes {
		s, _ := openT(t, dir, opt)
		for i, size := range group {
			env := testEnvelope(i)
			commitT(t, s, env, testData(env.ID, size))
		}
		s.Close()
	}
	for i := range sizes {
		b, err := os.ReadFile(filepath.Join(dir, segName(uint64(i))))
		if err != nil {
			t.Fatal(err)
		}
		res := scanSegment(b)
		if res.tornAt >= 0 || len(res.damaged) > 0 || len(res.records) != len(sizes[i]) {
			t.Fatalf("fixture segment %d does not scan clean: %+v", i, res)
		}
		fx.segs = append(fx.segs, b)
		fx.recs = append(fx.recs, res.records)
		var ids []string
		for _, r := range res.records {
			ids = append(ids, r.msg.ID)
		}
		fx.ids = append(fx.ids, ids)
	}
	return fx
}

// install writes (possibly damaged) segments into an empty directory.
func install(t *testing.T, dir string, segs [][]byte) {
	t.Helper()
	for i, b := range segs {
		if err := os.WriteFile(filepath.Join(dir, segName(uint64(i))), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTornTailTruncated(t *testing.T) {
	fx := makeFixture(t, []int{500, 700, 120})
	seg := fx.segs[0]
	last := fx.recs[0][2]
	keep := fx.ids[0][:2]
	dir := t.TempDir()
	opt, logs := testOptions()

	check := func(t *testing.T, contents []byte, want []string, wantSize int64, warned bool) {
		t.Helper()
		logs.reset()
		install(t, dir, [][]byte{contents})
		s, pending, err := Open(dir, opt)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer func() {
			s.Close()
			os.Remove(filepath.Join(dir, segName(0)))
		}()
		if got := ids(pending); !slices.Equal(got, want) {
			t.Fatalf("pending %v, want %v", got, want)
		}
		if st, err := os.Stat(filepath.Join(dir, segName(0))); err != nil || st.Size() != wantSize {
			t.Fatalf("segment after recovery: %v, %v; want %d octets", st.Size(), err, wantSize)
		}
		if got := logs.count(slogWarn, "torn tail"); (got == 1) != warned {
			t.Errorf("torn-tail warnings: %d, want logged=%v", got, warned)
		}
		if b := files(t, dir, brokenSuffix); len(b) != 0 {
			t.Errorf("a torn tail must not be quarantined: %v", b)
		}
	}

	// A crash can stop the last write at any octet.
	for cut := last.off + 1; cut < last.end; cut++ {
		check(t, seg[:cut], keep, last.off, true)
		if t.Failed() {
			t.Fatalf("failed at cut %d (record at %d..%d)", cut, last.off, last.end)
		}
	}
	cases := []struct {
		name     string
		contents []byte
		want     []string
		size     int64
		warned   bool
		why      string
	}{
		{"cut at a record boundary", seg[:last.off], keep, last.off, false, "a clean end is not damage"},
		{"size grew, data never written", append(slices.Clone(seg[:last.off]), make([]byte, last.end-last.off)...), keep, last.off, true,
			"after power loss some file systems show the new size filled with zeros"},
		{"zeros after complete records", append(slices.Clone(seg), make([]byte, 4096)...), fx.ids[0], int64(len(seg)), true,
			"same, with the last record complete"},
		{"short garbage after complete records", append(slices.Clone(seg), "HKS"...), fx.ids[0], int64(len(seg)), true,
			"a header cut inside its magic"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, c.contents, c.want, c.size, c.warned) })
	}
}

func TestDamageQuarantined(t *testing.T) {
	fx := makeFixture(t, []int{400, 600, 300}, []int{200})
	a, b, c := fx.ids[0][0], fx.ids[0][1], fx.ids[0][2]
	d := fx.ids[1][0]
	recB, recC := fx.recs[0][1], fx.recs[0][2]
	flip := func(at int64) func([]byte) {
		return func(s []byte) { s[at] ^= 0x10 }
	}
	// rehead rewrites C's header with version v and a correct header
	// checksum: intact framing that this version cannot read.
	rehead := func(s []byte) {
		h := s[recC.off : recC.off+hdrSize]
		h[4] = 2
		binary.LittleEndian.PutUint32(h[16:20], crc32.Checksum(h[:16], castagnoli))
	}
	// badEnvelope turns B's envelope line into non-JSON with both checksums
	// recomputed.
	badEnvelope := func(s []byte) {
		s[recB.off+hdrSize] = '!'
		putHeader(s[recB.off:recB.off+hdrSize], s[recB.off+hdrSize:recB.end])
	}
	cases := []struct {
		name    string
		damage  func([]byte)
		seg     int
		want    []string
		broken  bool
		errLogs int
		why     string
	}{
		{"magic of middle record", flip(recB.off + 1), 0, []string{a, c, d}, true, 2, "resync finds C after B"},
		{"length of middle record", flip(recB.off + 9), 0, []string{a, c, d}, true, 2, "the header checksum stops us trusting a wrong length"},
		{"header checksum of middle record", flip(recB.off + 17), 0, []string{a, c, d}, true, 2, "damage to the checksum itself"},
		{"envelope of middle record", flip(recB.off + hdrSize + 5), 0, []string{a, c, d}, true, 2, "body checksum covers the envelope"},
		{"data of middle record", flip(recB.end - 3), 0, []string{a, c, d}, true, 2, "body checksum covers the message"},
		{"tail of an older segment", flip(recC.end - 3), 0, []string{a, b, d}, true, 2,
			"a sealed segment was synced before its successor existed, so its tail is bit rot, not a torn write"},
		{"unknown version", rehead, 0, []string{a, b, d}, true, 2, "a record from a newer hikyaku is kept, not truncated"},
		{"unreadable envelope with good checksums", badEnvelope, 0, []string{a, c, d}, true, 2, "kept for inspection, the rest saved"},
		{"last record of the newest segment", flip(fx.recs[1][0].end - 3), 1, []string{a, b, c}, false, 0,
			"indistinguishable from a torn write, which only an unacknowledged batch can leave"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			segs := [][]byte{slices.Clone(fx.segs[0]), slices.Clone(fx.segs[1])}
			tc.damage(segs[tc.seg])
			install(t, dir, segs)
			opt, logs := testOptions()
			s, pending := openT(t, dir, opt)
			if got := ids(pending); !slices.Equal(got, tc.want) {
				t.Fatalf("pending %v, want %v", got, tc.want)
			}
			broken := files(t, dir, brokenSuffix)
			if (len(broken) == 1) != tc.broken {
				t.Fatalf("quarantined files %v, want quarantine=%v", broken, tc.broken)
			}
			if got := logs.count(slogError, "quarantin"); got != tc.errLogs {
				t.Errorf("quarantine error logs: %d, want %d", got, tc.errLogs)
			}
			if tc.broken {
				kept, _ := os.ReadFile(filepath.Join(dir, broken[0]))
				if !bytes.Equal(kept, segs[tc.seg]) {
					t.Errorf("the quarantined file must keep the damaged bytes as found")
				}
			}
			for _, m := range pending {
				if !bytes.Equal(m.Data, testData(m.ID, len(m.Data))) {
					t.Errorf("%s: data changed", m.ID)
				}
			}
			// Saved records live in a healthy segment now: a second
			// restart finds the same messages and nothing new to repair.
			s.Close()
			opt2, logs2 := testOptions()
			_, pending = openT(t, dir, opt2)
			// Saved records now follow D in file order, so compare as sets.
			if got := ids(pending); !slices.Equal(sorted(got), sorted(tc.want)) {
				t.Errorf("second reopen: pending %v, want %v", got, tc.want)
			}
			if n := len(files(t, dir, brokenSuffix)); n != len(broken) {
				t.Errorf("second reopen quarantined again")
			}
			if logs2.count(slogError, "") != 0 || logs2.count(slogWarn, "") != 0 {
				t.Errorf("second reopen still found damage: %v", logs2.recs)
			}
		})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestDuplicateIDsAcrossSegments(t *testing.T) {
	// A record can exist twice after a crash between saving a damaged
	// segment's records and renaming it; it is returned once and Done
	// frees both copies.
	fx := makeFixture(t, []int{100, 100})
	dir := t.TempDir()
	install(t, dir, [][]byte{fx.segs[0], fx.segs[0]})
	opt, _ := testOptions()
	s, pending := openT(t, dir, opt)
	if got := ids(pending); !slices.Equal(got, fx.ids[0]) {
		t.Fatalf("pending %v, want %v once", got, fx.ids[0])
	}
	for _, id := range fx.ids[0] {
		s.Done(id)
	}
	if got := files(t, dir, ".log"); len(got) != 0 {
		t.Errorf("both copies done, segments left: %v", got)
	}
}
