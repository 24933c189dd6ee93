package intake

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hikyaku/hikyaku/internal/mailbox"
)

// The journal makes the intake's mail durable (issue 12). A synced file
// and a directory sync per mail cost more than the rest of the intake
// together; instead each batch the router hands over is appended to one
// log segment (data_dir/bounces/journal/seg-N.log) with one fdatasync,
// and the Maildir files are written without a sync. About once a second
// the segments written so far are sealed, the file system is synced once
// (syncfs: every file and rename of theirs is then on disk), and the
// segments are deleted. After a crash, Start writes again into new/ every
// journaled mail whose file is missing or differs, syncs, and deletes the
// segments; the rest is the Maildir as before. A mail is therefore always
// on disk either in a segment or as a synced file, and the spool record
// goes only after the segment holding it was synced.
//
// Record: "HKBJ" | body length (uint32 LE) | CRC32C of the body (uint32
// LE) | body = name length (uint16 LE) | file name in new/ | file data.
// Only the batch being appended at a crash can be torn, and it was not
// acknowledged: reading a segment stops at the first record that does not
// check.
const (
	journalDir   = "journal"
	journalMagic = "HKBJ"
	journalHead  = 12
	// how often the checkpoint seals and syncs, and the segment size
	// that makes it come earlier
	journalEvery   = time.Second
	journalMaxSize = 8 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type journal struct {
	dir string

	mu     sync.Mutex
	f      *os.File // the segment appended to; nil: the next append opens one
	size   int64
	seq    uint64
	sealed []string      // written, closed, not yet synced by a checkpoint
	full   chan struct{} // a segment reached journalMaxSize
}

// journalEntry is one recovered record.
type journalEntry struct {
	name string
	data []byte
}

func openJournal(dir string) (*journal, []journalEntry, []string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, err
	}
	j := &journal{dir: dir, full: make(chan struct{}, 1)}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	var segs []string
	for _, e := range ents {
		var n uint64
		if _, err := fmt.Sscanf(e.Name(), "seg-%016x.log", &n); err != nil || e.Name() != segName(n) {
			continue
		}
		segs = append(segs, filepath.Join(dir, e.Name()))
		j.seq = max(j.seq, n)
	}
	slices.Sort(segs)
	var all []journalEntry
	for _, p := range segs {
		es, err := readSegment(p)
		if err != nil {
			return nil, nil, nil, err
		}
		all = append(all, es...)
	}
	return j, all, segs, nil
}

func segName(n uint64) string { return fmt.Sprintf("seg-%016x.log", n) }

// readSegment reads the records of one segment up to the first one that
// does not check (a torn tail).
func readSegment(path string) ([]journalEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []journalEntry
	for off := 0; len(data)-off >= journalHead; {
		h := data[off : off+journalHead]
		n := int(binary.LittleEndian.Uint32(h[4:8]))
		if string(h[:4]) != journalMagic || n < 2 || n > len(data)-off-journalHead {
			break
		}
		body := data[off+journalHead : off+journalHead+n]
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(h[8:12]) {
			break
		}
		nl := int(binary.LittleEndian.Uint16(body))
		if 2+nl > len(body) {
			break
		}
		out = append(out, journalEntry{name: string(body[2 : 2+nl]), data: body[2+nl:]})
		off += journalHead + n
	}
	return out, nil
}

// append puts the entries into the segment and syncs it: when it returns
// nil they are on stable storage.
func (j *journal) append(es []mailbox.JournalEntry) error {
	size := 0
	for _, e := range es {
		if len(e.Name) > 0xffff || strings.ContainsAny(e.Name, "/\x00") {
			return fmt.Errorf("bounce journal: bad file name %q", e.Name)
		}
		size += journalHead + 2 + len(e.Name) + len(e.Data)
	}
	buf := make([]byte, 0, size)
	for _, e := range es {
		n := 2 + len(e.Name) + len(e.Data)
		start := len(buf)
		buf = append(buf, journalMagic...)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(n))
		buf = append(buf, 0, 0, 0, 0)
		buf = binary.LittleEndian.AppendUint16(buf, uint16(len(e.Name)))
		buf = append(buf, e.Name...)
		buf = append(buf, e.Data...)
		binary.LittleEndian.PutUint32(buf[start+8:], crc32.Checksum(buf[start+journalHead:], castagnoli))
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		if err := j.create(); err != nil {
			return err
		}
	}
	_, err := j.f.Write(buf)
	if err == nil {
		err = unix.Fdatasync(int(j.f.Fd()))
	}
	if err != nil {
		// A failed write or sync leaves the segment in doubt (after a
		// failed fdatasync the page cache cannot be trusted): what it
		// acknowledged before stays, and the next batch goes to a new one.
		j.sealLocked()
		return fmt.Errorf("bounce journal: %w", err)
	}
	j.size += int64(len(buf))
	if j.size >= journalMaxSize {
		select {
		case j.full <- struct{}{}:
		default:
		}
	}
	return nil
}

// create opens the next segment; its directory entry is synced before any
// record in it can be acknowledged.
func (j *journal) create() error {
	j.seq++
	f, err := os.OpenFile(filepath.Join(j.dir, segName(j.seq)), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("bounce journal: %w", err)
	}
	if err := syncPath(j.dir); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("bounce journal: %w", err)
	}
	j.f, j.size = f, 0
	return nil
}

func (j *journal) sealLocked() {
	if j.f == nil {
		return
	}
	j.f.Close()
	j.sealed = append(j.sealed, j.f.Name())
	j.f = nil
}

// seal closes the segment unless it is empty and gives every closed
// segment not yet synced.
func (j *journal) seal() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil && j.size > 0 {
		j.sealLocked()
	}
	out := j.sealed
	j.sealed = nil
	return out
}

// unseal gives back segments a checkpoint could not sync.
func (j *journal) unseal(segs []string) {
	j.mu.Lock()
	j.sealed = append(segs, j.sealed...)
	j.mu.Unlock()
}

// close closes the open segment (kept on disk: Start replays it).
func (j *journal) close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
}

// syncFS makes everything written under dir so far durable: data, new
// files and renames.
func syncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}

func syncPath(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// restore writes the recovered mails whose files are missing or differ:
// into cur/ again when they were read (the store has them), else into
// new/; then syncs them, and only then deletes the segments.
func (in *Intake) restore(es []journalEntry, segs []string) error {
	if len(segs) == 0 {
		return nil
	}
	cur := map[string]string{} // base name → file name in cur/
	if len(es) > 0 {
		ents, err := os.ReadDir(filepath.Join(in.dir, "cur"))
		if err != nil {
			return err
		}
		for _, e := range ents {
			n := e.Name()
			if i := strings.IndexAny(n, ":,"); i >= 0 {
				cur[n[:i]] = n
			}
		}
	}
	rewritten := 0
	for _, e := range es {
		path := filepath.Join(in.dir, "new", e.name)
		if c, ok := cur[e.name]; ok {
			path = filepath.Join(in.dir, "cur", c)
		}
		if same(path, e.data) {
			continue
		}
		tmp := filepath.Join(in.dir, "tmp", e.name+".journal")
		if err := os.WriteFile(tmp, e.data, 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			os.Remove(tmp)
			return err
		}
		rewritten++
	}
	if err := syncFS(in.dir); err != nil {
		return err
	}
	for _, p := range segs {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	in.opt.Logger.Info("bounce journal replayed", "segments", len(segs), "mails", len(es), "rewritten", rewritten)
	return nil
}

// same says the file at path holds exactly data.
func same(path string, data []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() != int64(len(data)) {
		return false
	}
	got, err := io.ReadAll(f)
	return err == nil && bytes.Equal(got, data)
}
