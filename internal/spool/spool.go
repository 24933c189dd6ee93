package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Recipient is one accepted RCPT TO.
type Recipient struct {
	Address string `json:"address"`           // as given in RCPT TO (or "postmaster")
	Mailbox string `json:"mailbox,omitempty"` // local delivery target "<domain>/<local-part>", "" if not local
	Relay   string `json:"relay,omitempty"`   // address to send to when relaying (the address itself or a forward target)
	Notify  string `json:"notify,omitempty"`  // DSN NOTIFY (RFC 3461)
	ORCPT   string `json:"orcpt,omitempty"`
}

// Envelope is everything the SMTP transaction said about a message.
type Envelope struct {
	ID         string      `json:"id"`
	From       string      `json:"from"` // reverse-path without brackets; "" = null sender
	Recipients []Recipient `json:"recipients"`
	ReceivedAt time.Time   `json:"received_at"`
	ClientIP   string      `json:"client_ip"`
	Helo       string      `json:"helo"`
	Proto      string      `json:"proto"` // SMTP, ESMTP, ESMTPS, ...
	AuthUser   string      `json:"auth_user,omitempty"`
	SMTPUTF8   bool        `json:"smtputf8,omitempty"`
	Body       string      `json:"body,omitempty"` // 7BIT, 8BITMIME, BINARYMIME
	EnvID      string      `json:"envid,omitempty"`
	Ret        string      `json:"ret,omitempty"`
	Size       int64       `json:"size"`
}

// Message is a spooled message.
type Message struct {
	Envelope
	Data []byte // the message as stored (the receiver's Received header already at the top)
}

// Options tunes a Spool. The zero value is usable.
type Options struct {
	SegmentSize int64 // default 32 MiB
	// SegmentAge seals the open segment this long after it was created, so
	// that a quiet or trickling server still lets its segments be deleted.
	// Default 30s.
	SegmentAge time.Duration
	Logger     *slog.Logger // default slog.Default()
	// OnSync is a metrics hook: one call per fdatasync (failed ones too),
	// with its duration and the number of records it covered. It runs on
	// the writer goroutine, so it must return at once.
	OnSync func(d time.Duration, records int)

	ops *fileOps // tests replace the system calls that can fail
}

const (
	defaultSegmentSize = 32 << 20
	defaultSegmentAge  = 30 * time.Second
)

var (
	// ErrNoSpace reports that the disk (or quota) is full: the receiver
	// answers 452 4.3.1 rather than 451 4.3.0.
	ErrNoSpace = errors.New("spool: no space left on device")
	// ErrClosed reports a Commit after Close.
	ErrClosed = errors.New("spool: closed")
)

// fileOps are the system calls whose failure the tests must be able to fake.
type fileOps struct {
	pwritev   func(fd int, iovs [][]byte, off int64) (int, error)
	fdatasync func(fd int) error
}

// Spool is an open spool directory.
type Spool struct {
	dir  string
	opt  Options
	log  *slog.Logger
	ops  fileOps
	lock *os.File // flock held while open

	reqs    chan *request
	closeMu sync.RWMutex // Commit holds it shared while handing over; Close exclusively
	closed  bool
	stopped chan struct{} // closed when the writer has exited

	// Writer-owned: only the writer goroutine (or Open before it starts)
	// touches these.
	active  *segment
	nextSeq uint64
	iovs    [][]byte

	mu       sync.Mutex
	where    map[string][]*segment // message ID → segments holding a copy not yet Done
	dirDirty bool                  // a segment was deleted since the last directory fsync
	shut     bool                  // Close finished: Done is a no-op
}

// segment is one seg-*.log file.
type segment struct {
	seq     uint64
	path    string
	fd      int   // writer-owned; -1 once closed
	size    int64 // writer-owned; bytes acknowledged (or recovered)
	created time.Time

	live   int  // under Spool.mu: records not yet Done
	sealed bool // under Spool.mu: no record will be added; delete when live == 0
}

// request is one Commit waiting for the writer.
type request struct {
	id   string
	rec  []byte
	done chan error // buffered: the writer never blocks on a Commit that gave up
}

// Open opens (creating it if needed) the spool in dir, recovers it, and
// returns every message found in it as pending — including messages reported
// Done before a restart whose segment still existed (see the package doc:
// consumers are idempotent by ID).
func Open(dir string, opt Options) (s *Spool, pending []*Message, err error) {
	if opt.SegmentSize <= 0 {
		opt.SegmentSize = defaultSegmentSize
	}
	if opt.SegmentAge <= 0 {
		opt.SegmentAge = defaultSegmentAge
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s = &Spool{
		dir:     dir,
		opt:     opt,
		log:     opt.Logger.With("spool", dir),
		ops:     fileOps{pwritev: unix.Pwritev, fdatasync: datasync},
		reqs:    make(chan *request, 1024),
		stopped: make(chan struct{}),
		where:   make(map[string][]*segment),
	}
	if opt.ops != nil {
		s.ops = *opt.ops
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("spool: %w", err)
	}
	if s.lock, err = lockDir(dir); err != nil {
		return nil, nil, err
	}
	pending, err = s.recover()
	if err != nil {
		s.closeActive()
		s.lock.Close()
		return nil, nil, err
	}
	go s.run()
	return s, pending, nil
}

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("spool: %s is in use by another process", dir)
		}
		return nil, fmt.Errorf("spool: locking %s: %w", dir, err)
	}
	return f, nil
}

// Commit stores the message and returns nil only once it is on stable
// storage. If ctx ends first, Commit returns its error but the record may
// still become durable (and come back as pending after a restart). data may
// be reused by the caller as soon as Commit returns.
func (s *Spool) Commit(ctx context.Context, env *Envelope, data []byte) error {
	rec, err := encodeRecord(env, data)
	if err != nil {
		return err
	}
	r := &request{id: env.ID, rec: rec, done: make(chan error, 1)}
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case s.reqs <- r:
		s.closeMu.RUnlock()
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return fmt.Errorf("spool: commit %s: %w", env.ID, ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("spool: commit %s (may still become durable): %w", env.ID, ctx.Err())
	}
}

// Done records that every delivery of message id is durable elsewhere. The
// mark lives in memory only; a sealed segment whose records are all Done is
// deleted. Unknown IDs and repeated calls are ignored.
func (s *Spool) Done(id string) {
	var remove []string
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		return
	}
	for _, seg := range s.where[id] {
		seg.live--
		if seg.live == 0 && seg.sealed {
			remove = append(remove, seg.path)
		}
	}
	delete(s.where, id)
	if len(remove) > 0 {
		s.dirDirty = true // the directory is fsynced lazily: a resurrected segment only repeats Done work
	}
	s.mu.Unlock()
	for _, p := range remove {
		s.removeSegment(p)
	}
}

func (s *Spool) removeSegment(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("spool: cannot delete finished segment", "segment", path, "err", err)
	}
}

// FreeBytes returns the space available to this process in the spool's file
// system, for the RFC 1870 "452 4.3.1" decision on a declared SIZE. If statfs
// fails it logs and returns math.MaxInt64, leaving the decision to the write
// itself (ErrNoSpace): a statfs glitch must not refuse all mail.
func (s *Spool) FreeBytes() int64 {
	var st unix.Statfs_t
	if err := unix.Statfs(s.dir, &st); err != nil {
		s.log.Warn("spool: statfs failed", "err", err)
		return math.MaxInt64
	}
	free := uint64(st.Bavail) * uint64(st.Bsize)
	if free > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(free)
}

// Close waits for queued commits to be written and synced, stops the writer
// and releases the directory. Commit after Close returns ErrClosed; Done
// after Close does nothing. A second Close returns nil.
func (s *Spool) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.closeMu.Unlock()
	<-s.stopped

	s.closeActive()
	s.mu.Lock()
	s.shut = true
	dirty := s.dirDirty
	s.mu.Unlock()
	var err error
	if dirty {
		err = syncDir(s.dir)
	}
	return errors.Join(err, s.lock.Close())
}

// closeActive closes the open segment, deleting it if every record is Done.
func (s *Spool) closeActive() {
	if s.active != nil {
		s.seal(s.active)
		s.active = nil
	}
}

// seal closes a segment's file and marks it sealed; it is deleted now if
// nothing in it is pending.
func (s *Spool) seal(seg *segment) {
	if seg.fd >= 0 {
		unix.Close(seg.fd)
		seg.fd = -1
	}
	s.mu.Lock()
	seg.sealed = true
	empty := seg.live == 0
	if empty {
		s.dirDirty = true
	}
	s.mu.Unlock()
	if empty {
		s.removeSegment(seg.path)
	}
}

// syncDir makes created, renamed and removed directory entries durable.
func syncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("spool: opening directory %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Fsync(fd); err != nil {
		return fmt.Errorf("spool: fsync directory %s: %w", dir, err)
	}
	return nil
}

// fileErr wraps a failed system call on a segment; a full disk or quota
// becomes ErrNoSpace as well.
func fileErr(op, path string, err error) error {
	if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		return fmt.Errorf("%w: %s %s: %w", ErrNoSpace, op, path, err)
	}
	return fmt.Errorf("spool: %s %s: %w", op, path, err)
}
