package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	brokenSuffix = ".broken"
	tmpSuffix    = ".tmp"
)

// parseSegName returns the sequence number of "seg-<16 hex>.log" (and of the
// same name with brokenSuffix, reported by broken).
func parseSegName(name string) (seq uint64, broken, ok bool) {
	base, broken := strings.CutSuffix(name, brokenSuffix)
	hex, found := strings.CutPrefix(base, "seg-")
	hex, found2 := strings.CutSuffix(hex, ".log")
	if !found || !found2 || len(hex) != 16 {
		return 0, false, false
	}
	seq, err := strconv.ParseUint(hex, 16, 64)
	return seq, broken, err == nil
}

// recover scans every segment, repairs or quarantines what it must, and
// returns every intact message once, in file order (segment by segment; the
// order means little once records have been saved from a damaged file). It
// runs in Open before the writer starts, so it may use writer-owned state.
func (s *Spool) recover() ([]*Message, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var seqs []uint64
	dirty := false
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, tmpSuffix) {
			s.log.Warn("spool: removing leftover temporary file", "file", name)
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			dirty = true
			continue
		}
		seq, broken, ok := parseSegName(name)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		s.nextSeq = max(s.nextSeq, seq+1)
		if !broken {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)

	var (
		pending []*Message
		seen    = make(map[string]bool)
		salvage []*request
		broken  []string
	)
	for i, seq := range seqs {
		path := filepath.Join(s.dir, segName(seq))
		buf, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		res := scanSegment(buf)
		newest := i == len(seqs)-1
		quarantine := len(res.damaged) > 0 || (res.tornAt >= 0 && !newest)
		for _, d := range res.damaged {
			s.log.Error("spool: damaged record in the middle of a segment; quarantining the segment",
				"segment", path, "offset", d.off, "length", d.end-d.off, "reason", d.reason)
		}
		if res.tornAt >= 0 {
			if quarantine {
				s.log.Error("spool: damaged tail in a sealed segment; quarantining the segment",
					"segment", path, "offset", res.tornAt, "length", int64(len(buf))-res.tornAt, "reason", res.tornWhy)
			} else {
				// Only the batch being written at the crash can be here, and
				// it was never acknowledged.
				s.log.Warn("spool: truncating torn tail of the newest segment (unacknowledged write)",
					"segment", path, "offset", res.tornAt, "dropped", int64(len(buf))-res.tornAt, "reason", res.tornWhy)
				if err := truncateFile(path, res.tornAt); err != nil {
					return nil, err
				}
			}
		}

		seg := &segment{seq: seq, path: path, fd: -1, size: int64(len(buf)), sealed: true}
		for _, rec := range res.records {
			id := rec.msg.ID
			if quarantine {
				if !seen[id] {
					salvage = append(salvage, &request{id: id, rec: rec.raw, done: make(chan error, 1)})
				}
			} else {
				s.where[id] = append(s.where[id], seg)
				seg.live++
			}
			if !seen[id] {
				seen[id] = true
				pending = append(pending, rec.msg)
				advanceIDs(rec.msg.ID)
			}
		}
		switch {
		case quarantine:
			broken = append(broken, path)
		case seg.live == 0:
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			dirty = true
		}
	}

	// Salvaged records must be durable in a fresh segment before the damaged
	// file is renamed away; a crash in between only duplicates them.
	for len(salvage) > 0 {
		batch := salvage[:min(len(salvage), iovMax)]
		salvage = salvage[len(batch):]
		s.commitBatch(batch)
		for _, r := range batch {
			if err := <-r.done; err != nil {
				return nil, fmt.Errorf("spool: saving records from a damaged segment: %w", err)
			}
		}
	}
	for _, path := range broken {
		if err := os.Rename(path, path+brokenSuffix); err != nil {
			return nil, fmt.Errorf("spool: quarantining %s: %w", path, err)
		}
		s.log.Error("spool: segment quarantined; keep it for inspection, its intact records were saved",
			"segment", path+brokenSuffix)
		dirty = true
	}
	if dirty {
		if err := syncDir(s.dir); err != nil {
			return nil, err
		}
	}
	return pending, nil
}

func truncateFile(path string, size int64) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("spool: opening %s to truncate: %w", path, err)
	}
	err = unix.Ftruncate(fd, size)
	if err == nil {
		err = unix.Fsync(fd)
	}
	err = errors.Join(err, unix.Close(fd))
	if err != nil {
		return fmt.Errorf("spool: truncating %s: %w", path, err)
	}
	return nil
}
