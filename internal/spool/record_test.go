package spool

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

func mustRecord(t testing.TB, id string, data string) []byte {
	t.Helper()
	env := testEnvelope(0)
	env.ID = id
	rec, err := encodeRecord(env, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestRecordIsReadable(t *testing.T) {
	// docs/conventions.md habit 11: a person with `less` sees the envelope as a JSON line,
	// addresses unescaped, then the message.
	rec := mustRecord(t, "1KnPH0-0Bx3-00Qa", "Subject: hi\r\n\r\nbody\r\n")
	body := string(rec[hdrSize:])
	want := `{"id":"1KnPH0-0Bx3-00Qa","from":"sender0@example.org","recipients":[{"address":"user@example.com","mailbox":"example.com/user"},`
	if !bytes.HasPrefix([]byte(body), []byte(want)) {
		t.Errorf("record body starts %q, want %q", body[:min(len(body), 120)], want)
	}
	if !bytes.HasSuffix(rec, []byte("}\nSubject: hi\r\n\r\nbody\r\n")) {
		t.Errorf("envelope line is not followed by the message: %q", body)
	}
}

func TestCheckAt(t *testing.T) {
	rec := mustRecord(t, "id-1", "hello")
	withVersion := func(v byte) []byte {
		r := bytes.Clone(rec)
		r[4] = v
		binary.LittleEndian.PutUint32(r[16:20], crc32.Checksum(r[:16], castagnoli))
		return r
	}
	flipped := func(at int) []byte {
		r := bytes.Clone(rec)
		r[at] ^= 1
		return r
	}
	cases := []struct {
		name string
		buf  []byte
		want recordStatus
		why  string
	}{
		{"intact", rec, recOK, "baseline"},
		{"empty-ish header", rec[:5], recShort, "a crash inside the header"},
		{"header only", rec[:hdrSize], recShort, "a crash before any body octet"},
		{"body cut", rec[:len(rec)-1], recShort, "the header is trusted, the body is missing"},
		{"zeros", make([]byte, 64), recCorrupt, "preallocated or never-written blocks"},
		{"bad magic", flipped(0), recCorrupt, "not a record"},
		{"bad length", flipped(9), recCorrupt, "the header checksum guards the length"},
		{"bad body", flipped(len(rec) - 1), recCorrupt, "the body checksum guards the content"},
		{"future version", withVersion(9), recUnreadable, "intact but not ours to read: keep it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, _, why := checkAt(c.buf, 0); got != c.want {
				t.Errorf("checkAt = %d (%s), want %d", got, why, c.want)
			}
		})
	}
}

// FuzzScanSegment feeds arbitrary bytes, and damaged valid segments, to the
// recovery scanner: it must never panic, and what it reports must be
// consistent (records in order, inside the file, checksums true).
func FuzzScanSegment(f *testing.F) {
	r1 := mustRecord(f, "1KnPH0-0Bx3-00Qa", "Subject: a\r\n\r\nA\r\n")
	r2 := mustRecord(f, "1KnPH0-0Bx4-00Qa", "")
	r3 := mustRecord(f, "1KnPH0-0Bx5-00Qa", "x\x00y\nHKSP")
	all := bytes.Join([][]byte{r1, r2, r3}, nil)
	f.Add(all, uint16(0), byte(0))
	f.Add(all, uint16(len(r1)+3), byte(0x40))
	f.Add(all[:len(all)-4], uint16(0), byte(0))
	f.Add(append(bytes.Clone(all), make([]byte, 40)...), uint16(0), byte(0))
	f.Add([]byte("HKSP"), uint16(0), byte(0))
	f.Add(append(bytes.Clone(r1), r1[:hdrSize]...), uint16(0), byte(0))
	f.Fuzz(func(t *testing.T, buf []byte, at uint16, mask byte) {
		if len(buf) > 0 {
			buf[int(at)%len(buf)] ^= mask
		}
		res := scanSegment(buf)
		prev := int64(0)
		for _, r := range res.records {
			if r.off < prev || r.end > int64(len(buf)) || r.end-r.off < hdrSize {
				t.Fatalf("record [%d,%d) out of order or bounds (file %d)", r.off, r.end, len(buf))
			}
			if len(res.damaged) == 0 && r.off != prev {
				t.Fatalf("gap before record at %d with no damage reported", r.off)
			}
			if st, n, _ := checkAt(buf, r.off); st != recOK || r.off+n != r.end {
				t.Fatalf("reported record at %d does not check: %d", r.off, st)
			}
			if r.msg.ID == "" || !bytes.HasSuffix(r.raw, r.msg.Data) {
				t.Fatalf("record at %d: bad message", r.off)
			}
			prev = r.end
		}
		for _, d := range res.damaged {
			if d.off < 0 || d.end <= d.off || d.end > int64(len(buf)) {
				t.Fatalf("damaged span [%d,%d) out of bounds", d.off, d.end)
			}
		}
		if res.tornAt > int64(len(buf)) || (res.tornAt >= 0 && res.tornAt < prev) {
			t.Fatalf("torn at %d, before last record end %d, file %d", res.tornAt, prev, len(buf))
		}
		if len(res.damaged) == 0 && res.tornAt < 0 && prev != int64(len(buf)) {
			t.Fatalf("clean scan ended at %d of %d", prev, len(buf))
		}
	})
}
