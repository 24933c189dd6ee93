package spool

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"unicode/utf8"
)

const (
	hdrSize       = 20
	recordVersion = 1
	// maxBody bounds one record. It is far above any sane SIZE limit and
	// keeps the length field honest on 32-bit platforms.
	maxBody = 1 << 30
)

var (
	recordMagic = [4]byte{'H', 'K', 'S', 'P'}
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
)

var jsonBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encodeRecord builds header + envelope line + data in one fresh allocation,
// so the caller may reuse data as soon as Commit returns, even when Commit
// gave up waiting before the writer got to the record.
func encodeRecord(env *Envelope, data []byte) ([]byte, error) {
	if err := checkEnvelope(env); err != nil {
		return nil, err
	}
	jb := jsonBufs.Get().(*bytes.Buffer)
	defer jsonBufs.Put(jb)
	jb.Reset()
	enc := json.NewEncoder(jb)
	enc.SetEscapeHTML(false) // keep addresses readable in the file
	if err := enc.Encode(env); err != nil {
		return nil, fmt.Errorf("spool: encoding envelope %s: %w", env.ID, err)
	}
	bodyLen := jb.Len() + len(data)
	if bodyLen > maxBody {
		return nil, fmt.Errorf("spool: message %s is %d octets, over the %d-octet record limit", env.ID, bodyLen, maxBody)
	}
	rec := make([]byte, hdrSize+bodyLen)
	n := copy(rec[hdrSize:], jb.Bytes())
	copy(rec[hdrSize+n:], data)
	putHeader(rec[:hdrSize], rec[hdrSize:])
	return rec, nil
}

// checkEnvelope refuses envelopes that would not survive the JSON round trip
// unchanged in the fields that route mail: encoding/json silently replaces
// invalid UTF-8 with U+FFFD, which would change an address. Other fields
// (HELO text and the like) are informational and may be mangled.
func checkEnvelope(env *Envelope) error {
	if env == nil || env.ID == "" {
		return errors.New("spool: envelope without an ID")
	}
	bad := func(field, v string) error {
		if utf8.ValidString(v) {
			return nil
		}
		return fmt.Errorf("spool: envelope %s: %s is not valid UTF-8", env.ID, field)
	}
	errs := []error{bad("id", env.ID), bad("from", env.From)}
	for _, r := range env.Recipients {
		errs = append(errs, bad("recipient address", r.Address), bad("recipient mailbox", r.Mailbox),
			bad("recipient relay", r.Relay), bad("recipient orcpt", r.ORCPT))
	}
	return errors.Join(errs...)
}

func putHeader(h, body []byte) {
	copy(h[0:4], recordMagic[:])
	h[4] = recordVersion
	h[5], h[6], h[7] = 0, 0, 0
	binary.LittleEndian.PutUint32(h[8:12], uint32(len(body)))
	binary.LittleEndian.PutUint32(h[12:16], crc32.Checksum(body, castagnoli))
	binary.LittleEndian.PutUint32(h[16:20], crc32.Checksum(h[:16], castagnoli))
}

// scanned is one intact record found in a segment.
type scanned struct {
	off, end int64  // the record occupies [off, end) of the file
	raw      []byte // header + body, a slice of the file contents
	msg      *Message
}

// badSpan is a damaged region in the middle of a segment.
type badSpan struct {
	off, end int64
	reason   string
}

// scanResult is what a segment holds.
type scanResult struct {
	records []scanned
	damaged []badSpan // damage followed by intact records, or unreadable intact records
	tornAt  int64     // offset where an unusable tail starts; -1 if none
	tornWhy string
}

// recordStatus classifies the bytes at one offset.
type recordStatus int

const (
	recOK         recordStatus = iota
	recShort                   // valid header, body runs past the end of the file; or header cut short
	recCorrupt                 // magic, checksum: nothing here can be trusted, not even the length
	recUnreadable              // checksums hold but we cannot read it (unknown version, bad envelope)
)

// checkAt validates the framing of the record at off. For recOK and
// recUnreadable it returns the record length.
func checkAt(buf []byte, off int64) (recordStatus, int64, string) {
	rest := buf[off:]
	if len(rest) < hdrSize {
		if !bytes.HasPrefix(recordMagic[:], rest[:min(len(rest), 4)]) {
			return recCorrupt, 0, "bad magic"
		}
		return recShort, 0, "header cut short"
	}
	h := rest[:hdrSize]
	if !bytes.Equal(h[0:4], recordMagic[:]) {
		return recCorrupt, 0, "bad magic"
	}
	if crc32.Checksum(h[:16], castagnoli) != binary.LittleEndian.Uint32(h[16:20]) {
		return recCorrupt, 0, "bad header checksum"
	}
	bodyLen := int64(binary.LittleEndian.Uint32(h[8:12]))
	if int64(len(rest)) < hdrSize+bodyLen {
		return recShort, 0, "body cut short"
	}
	body := rest[hdrSize : hdrSize+bodyLen]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(h[12:16]) {
		return recCorrupt, 0, "bad body checksum"
	}
	if h[4] != recordVersion {
		return recUnreadable, hdrSize + bodyLen, fmt.Sprintf("unknown record version %d", h[4])
	}
	return recOK, hdrSize + bodyLen, ""
}

// decodeBody splits a checked body into envelope and message data. Data is a
// capacity-limited slice of buf, so appending to it cannot clobber the next
// record.
func decodeBody(body []byte) (*Message, error) {
	nl := bytes.IndexByte(body, '\n')
	if nl < 0 {
		return nil, errors.New("no envelope line")
	}
	m := new(Message)
	if err := json.Unmarshal(body[:nl], &m.Envelope); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if m.ID == "" {
		return nil, errors.New("envelope without an ID")
	}
	m.Data = body[nl+1 : len(body) : len(body)]
	return m, nil
}

// nextIntact finds the next offset after from where an intact record starts,
// or -1. It is how damage in the middle is told from a torn tail. It looks
// inside damaged bytes, so a whole record embedded in a damaged message's
// data (a BINARYMIME body could carry one) would be taken for a record; that
// needs disk damage right before it plus a sender who planted a record with
// valid checksums; we accept that over losing the records after the damage.
func nextIntact(buf []byte, from int64) int64 {
	for from < int64(len(buf)) {
		i := bytes.Index(buf[from:], recordMagic[:])
		if i < 0 {
			return -1
		}
		at := from + int64(i)
		if st, _, _ := checkAt(buf, at); st == recOK || st == recUnreadable {
			return at
		}
		from = at + 1
	}
	return -1
}

// scanSegment reads every record of a segment's contents. It never fails:
// whatever cannot be used is described in the result.
func scanSegment(buf []byte) scanResult {
	res := scanResult{tornAt: -1}
	off := int64(0)
	for off < int64(len(buf)) {
		st, n, why := checkAt(buf, off)
		switch st {
		case recOK:
			m, err := decodeBody(buf[off+hdrSize : off+n])
			if err != nil {
				res.damaged = append(res.damaged, badSpan{off, off + n, err.Error()})
			} else {
				res.records = append(res.records, scanned{off: off, end: off + n, raw: buf[off : off+n : off+n], msg: m})
			}
			off += n
		case recUnreadable:
			res.damaged = append(res.damaged, badSpan{off, off + n, why})
			off += n
		case recShort:
			res.tornAt, res.tornWhy = off, why
			return res
		case recCorrupt:
			next := nextIntact(buf, off+1)
			if next < 0 {
				res.tornAt, res.tornWhy = off, why
				return res
			}
			res.damaged = append(res.damaged, badSpan{off, next, why})
			off = next
		}
	}
	return res
}
