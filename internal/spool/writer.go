package spool

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// iovMax is Linux's IOV_MAX: the most buffers one pwritev takes, and so the
// most records one batch holds.
const iovMax = 1024

func segName(seq uint64) string { return fmt.Sprintf("seg-%016x.log", seq) }

// run is the writer goroutine. Requests that arrive while a batch is being
// written and synced wait in s.reqs and form the next batch: that is the
// group commit.
func (s *Spool) run() {
	defer close(s.stopped)
	age := time.NewTimer(s.opt.SegmentAge)
	defer age.Stop()
	armed := s.active // the segment the age timer is running for
	if armed == nil {
		age.Stop()
	}
	var carry *request
	batch := make([]*request, 0, iovMax)
	for {
		first := carry
		carry = nil
		if first == nil {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					return
				}
				first = r
			case <-age.C:
				if s.active == nil {
					continue
				}
				if left := s.opt.SegmentAge - time.Since(s.active.created); left > 0 {
					age.Reset(left)
					continue
				}
				s.closeActive()
				continue
			}
		}
		batch, carry = s.gather(batch[:0], first)
		s.commitBatch(batch)
		clear(batch) // let finished requests be collected
		if s.active != nil && s.active != armed {
			armed = s.active
			age.Reset(s.opt.SegmentAge)
		}
	}
}

// gather takes first plus whatever else is already queued, without waiting,
// up to iovMax records and one segment's worth of octets. A request that does
// not fit is returned as carry for the next batch.
func (s *Spool) gather(batch []*request, first *request) ([]*request, *request) {
	batch = append(batch, first)
	size := int64(len(first.rec))
	for len(batch) < iovMax {
		select {
		case r, ok := <-s.reqs:
			if !ok {
				return batch, nil // run sees the closed channel next
			}
			if size+int64(len(r.rec)) > s.opt.SegmentSize {
				return batch, r
			}
			batch = append(batch, r)
			size += int64(len(r.rec))
		default:
			return batch, nil
		}
	}
	return batch, nil
}

// commitBatch writes a batch with one pwritev and one fdatasync, records
// where each message lives, and only then answers every request.
func (s *Spool) commitBatch(batch []*request) {
	var total int64
	for _, r := range batch {
		total += int64(len(r.rec))
	}
	if seg := s.active; seg != nil && seg.size > 0 && seg.size+total > s.opt.SegmentSize {
		s.closeActive()
	}
	if s.active == nil {
		seg, err := s.newSegment()
		if err != nil {
			fail(batch, err)
			return
		}
		s.active = seg
	}
	seg := s.active

	s.iovs = s.iovs[:0]
	for _, r := range batch {
		s.iovs = append(s.iovs, r.rec)
	}
	n, err := writeAll(s.ops.pwritev, seg.fd, s.iovs, seg.size)
	clear(s.iovs)
	if err != nil {
		err = fileErr("write", seg.path, err)
		s.log.Error("spool: write failed; batch refused", "segment", seg.path, "records", len(batch), "written", n, "err", err)
		s.undoWrite(seg)
		fail(batch, err)
		return
	}

	start := time.Now()
	err = s.ops.fdatasync(seg.fd)
	if s.opt.OnSync != nil {
		s.opt.OnSync(time.Since(start), len(batch))
	}
	if err != nil {
		// fsyncgate: after a failed fdatasync the kernel may have dropped
		// the dirty pages and a retry may "succeed" on nothing. Nothing of
		// this batch is acknowledged, and this file takes no more records.
		err = fileErr("fdatasync", seg.path, err)
		s.log.Error("spool: fdatasync failed; batch refused, segment abandoned", "segment", seg.path, "records", len(batch), "err", err)
		s.abandon(seg)
		fail(batch, err)
		return
	}
	seg.size += total

	s.mu.Lock()
	for _, r := range batch {
		s.where[r.id] = append(s.where[r.id], seg)
	}
	seg.live += len(batch)
	s.mu.Unlock()
	for _, r := range batch {
		r.done <- nil
	}
}

func fail(batch []*request, err error) {
	for _, r := range batch {
		r.done <- err
	}
}

// newSegment creates the next segment file and makes its directory entry
// durable before anything is written to it. Deletions since the last
// directory fsync become durable with it.
func (s *Spool) newSegment() (*segment, error) {
	seq := s.nextSeq
	s.nextSeq++
	path := filepath.Join(s.dir, segName(seq))
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fileErr("create", path, err)
	}
	s.mu.Lock()
	s.dirDirty = false
	s.mu.Unlock()
	if err := syncDir(s.dir); err != nil {
		unix.Close(fd)
		unix.Unlink(path)
		s.log.Error("spool: cannot make new segment durable", "segment", path, "err", err)
		return nil, err
	}
	return &segment{seq: seq, path: path, fd: fd, created: time.Now()}, nil
}

// undoWrite cuts a failed write back to the last acknowledged record so that
// no half record is ever followed by good ones. The size change is made
// durable at once (fsync, not fdatasync: it is metadata only); if either
// step fails the segment is abandoned instead.
func (s *Spool) undoWrite(seg *segment) {
	err := unix.Ftruncate(seg.fd, seg.size)
	if err == nil {
		err = unix.Fsync(seg.fd)
	}
	if err != nil {
		s.log.Error("spool: cannot cut back failed write; segment abandoned", "segment", seg.path, "err", err)
		s.abandon(seg)
	}
}

// abandon seals a segment after an error. The truncation is best effort: it
// spares a restart from finding refused records (they would only be
// duplicates, never losses), and recovery quarantines whatever damage stays.
func (s *Spool) abandon(seg *segment) {
	unix.Ftruncate(seg.fd, seg.size)
	if s.active == seg {
		s.active = nil
	}
	s.seal(seg)
}

// writeAll writes bufs at off, resuming after short writes and EINTR, at
// most iovMax buffers per call. It consumes bufs.
func writeAll(pwritev func(int, [][]byte, int64) (int, error), fd int, bufs [][]byte, off int64) (int64, error) {
	var done int64
	for len(bufs) > 0 {
		n, err := pwritev(fd, bufs[:min(len(bufs), iovMax)], off+done)
		if n > 0 {
			done += int64(n)
			for left := n; left > 0; {
				if left < len(bufs[0]) {
					bufs[0] = bufs[0][left:]
					break
				}
				left -= len(bufs[0])
				bufs = bufs[1:]
			}
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return done, err
		}
		if n <= 0 {
			return done, io.ErrShortWrite
		}
	}
	return done, nil
}
