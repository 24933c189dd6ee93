package mailbox

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Delivery is one message for one local mailbox.
type Delivery struct {
	Mailbox    string // "<domain>/<local-part>"
	QueueID    string
	Index      int       // recipient index in the message: (QueueID, Index) names the delivery uniquely
	ReturnPath string    // envelope sender, "" = null sender → "Return-Path: <>"
	EnvelopeTo string    // the recipient address as given in RCPT TO
	ReceivedAt time.Time // for a stable file name
	Data       []byte    // message as spooled (our Received header already first)
}

// StoreOptions configure a Store.
type StoreOptions struct {
	DefaultQuota int64               // bytes, for users whose Quota is 0; 0 = unlimited
	Logger       *slog.Logger        // nil = slog.Default()
	OnSync       func(time.Duration) // time one Deliver spent making its batch durable (file and directory syncs)
	// SyncFS makes a batch durable with one syncfs(2) instead of one
	// fsync per file: much cheaper when the file system is mostly ours,
	// slower when other programs keep it busy (see syncMode).
	SyncFS bool
	// Journal, when set, makes a batch durable in place of the file and
	// directory syncs: it gets every message Deliver is about to write
	// (after the replay checks, before any file is written) and must have
	// them on stable storage when it returns nil. The files are then
	// written and renamed into new/ without a sync: the journal's owner
	// syncs them later and, after a crash, writes again from its records
	// whatever did not reach the disk. One append and one sync of a shared
	// log per batch cost far less than a synced file and a directory sync
	// per message. An error fails the whole batch and nothing is written.
	Journal func(ms []JournalEntry) error
}

// JournalEntry is one message file as StoreOptions.Journal gets it: the
// file new/Name of mailbox Mailbox holds exactly Data.
type JournalEntry struct {
	Mailbox, Name string
	Data          []byte
}

// Store delivers into Maildir folders under root:
// <root>/<domain>/<local-part>/{tmp,new,cur}.
type Store struct {
	root string
	host string // sanitised for file names
	opt  StoreOptions
	log  *slog.Logger
	sync syncMode
	now  func() time.Time

	mkMu  sync.Mutex // serialises first-time directory creation and its syncs
	ready sync.Map   // mailbox key → struct{}: its directories exist durably

	mu    sync.Mutex
	boxes map[string]*box
}

// NewStore returns a Store delivering under root (normally
// <data_dir>/mail); hostname goes into the file names.
func NewStore(root, hostname string, opt StoreOptions) *Store {
	s := &Store{root: root, opt: opt, log: opt.Logger, sync: syncParallel, now: time.Now, boxes: map[string]*box{}}
	if opt.SyncFS {
		s.sync = syncFS
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	// Maildir names use ':' for flags; qmail's convention encodes '/' and
	// ':' in the host part, and ',' too, as Maildir++ uses it for sizes.
	s.host = strings.NewReplacer("/", `\057`, ":", `\072`, ",", `\054`).Replace(hostname)
	if s.host == "" {
		s.host = "localhost"
	}
	return s
}

// job is one delivery on its way through Deliver.
type job struct {
	i      int
	box    string
	base   string
	f      *os.File
	size   int64
	buf    []byte // the whole file, rendered before the journal gets it (StoreOptions.Journal)
	err    error
	done   bool // finished: durable, a replay no-op, or failed
	placed bool // renamed into new/
}

// Deliver stores each delivery durably and returns one error slot per
// delivery (nil = on stable storage). With recovering set, a delivery whose
// file already sits in new/ or cur/ (its name is deterministic) is a no-op,
// so replaying a batch after a crash never duplicates mail.
//
// The order keeps both durability and few syncs for a whole batch: write
// every file to tmp/, sync them all, rename each into new/, then sync each
// touched new/ directory once. A file reaches new/ only complete and
// synced; a failure leaves at most a file in tmp/, removed on the way out.
// Deliver does not check quotas: the session does at RCPT, and mail that
// was accepted must be stored.
func (s *Store) Deliver(ds []Delivery, recovering bool) []error {
	errs := make([]error, len(ds))
	jobs := make([]*job, 0, len(ds))
	seen := make(map[string]bool, len(ds))
	var boxes []string
	for i := range ds {
		d := &ds[i]
		if err := s.check(d); err != nil {
			errs[i] = err
			continue
		}
		j := &job{i: i, box: d.Mailbox, base: s.fileName(d)}
		if k := j.box + "/" + j.base; seen[k] {
			j.done = true // the same delivery twice in one batch
		} else {
			seen[k] = true
		}
		if !containsStr(boxes, j.box) {
			boxes = append(boxes, j.box)
		}
		jobs = append(jobs, j)
	}
	for _, b := range boxes {
		err := s.ensure(b)
		var names map[string]bool
		if err == nil && recovering {
			names, err = s.existing(b)
		}
		for _, j := range jobs {
			if j.box != b || j.done {
				continue
			}
			if err != nil {
				j.err, j.done = err, true
			} else if names[j.base] {
				j.done = true
				// A tmp copy left by the crash would linger forever.
				os.Remove(filepath.Join(s.dir(b, "tmp"), j.base))
				s.log.Info("delivery already in the mailbox; replay skipped",
					"queue_id", ds[j.i].QueueID, "index", ds[j.i].Index, "mailbox", b, "file", j.base)
			}
		}
	}

	if s.opt.Journal != nil {
		s.journaled(jobs, ds, boxes)
		return s.report(ds, jobs, errs)
	}
	wrote := false
	for _, j := range jobs {
		if !j.done {
			s.write(j, &ds[j.i])
			wrote = wrote || j.f != nil
		}
	}
	start := time.Now()
	s.syncFiles(jobs)
	syncTime := time.Since(start)

	for _, b := range boxes {
		s.place(b, jobs)
	}
	start = time.Now()
	s.syncNewDirs(boxes, jobs)
	syncTime += time.Since(start)
	if s.opt.OnSync != nil && wrote {
		s.opt.OnSync(syncTime)
	}
	return s.report(ds, jobs, errs)
}

// journaled is Deliver with StoreOptions.Journal: the rendered messages go
// to the journal first, then into new/ unsynced.
func (s *Store) journaled(jobs []*job, ds []Delivery, boxes []string) {
	var todo []*job
	var entries []JournalEntry
	for _, j := range jobs {
		if j.done {
			continue
		}
		head, pieces, size := s.render(j.box, &ds[j.i])
		j.buf = make([]byte, 0, size)
		j.buf = append(j.buf, head...)
		for _, p := range pieces {
			j.buf = append(j.buf, p...)
		}
		todo = append(todo, j)
		entries = append(entries, JournalEntry{Mailbox: j.box, Name: j.base, Data: j.buf})
	}
	if len(todo) == 0 {
		return
	}
	if err := s.opt.Journal(entries); err != nil {
		for _, j := range todo {
			j.err, j.done = err, true
		}
		return
	}
	for _, j := range todo {
		s.write(j, &ds[j.i])
	}
	for _, b := range boxes {
		s.place(b, jobs)
	}
}

// report turns the jobs' failures into Deliver's error slots, logged.
func (s *Store) report(ds []Delivery, jobs []*job, errs []error) []error {
	for _, j := range jobs {
		if j.err != nil {
			errs[j.i] = fmt.Errorf("delivery of %s#%d to %s: %w", ds[j.i].QueueID, ds[j.i].Index, j.box, j.err)
			s.log.Error("local delivery failed", "queue_id", ds[j.i].QueueID, "index", ds[j.i].Index,
				"mailbox", j.box, "err", j.err.Error())
		}
	}
	return errs
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// check refuses what would escape the mail root, break the file name, or
// inject a header line. The session has validated all of it; this is the
// last line of defence before paths and headers are built.
func (s *Store) check(d *Delivery) error {
	dom, local, ok := strings.Cut(d.Mailbox, "/")
	bad := func(p string) bool {
		return p == "" || p == "." || p == ".." || strings.ContainsAny(p, "/\x00")
	}
	if !ok || bad(dom) || bad(local) {
		return fmt.Errorf("delivery of %s#%d: %q is not a mailbox name of the form domain/local-part", d.QueueID, d.Index, d.Mailbox)
	}
	if d.QueueID == "" || len(d.QueueID) > 128 || strings.ContainsAny(d.QueueID, "/:, \t\r\n\x00") || d.Index < 0 {
		return fmt.Errorf("delivery to %s: queue id %q index %d cannot name a file", d.Mailbox, d.QueueID, d.Index)
	}
	if strings.ContainsAny(d.ReturnPath+d.EnvelopeTo, "\r\n\x00") {
		return fmt.Errorf("delivery of %s#%d to %s: the envelope addresses contain a line break", d.QueueID, d.Index, d.Mailbox)
	}
	return nil
}

// FileName is the name Deliver gives the delivery's file in new/.
func (s *Store) FileName(d Delivery) string { return s.fileName(&d) }

// fileName is deterministic, so that a replay finds an earlier copy:
// <unix>.<QueueID>_<Index>.<hostname>.
func (s *Store) fileName(d *Delivery) string {
	return strconv.FormatInt(d.ReceivedAt.Unix(), 10) + "." + d.QueueID + "_" + strconv.Itoa(d.Index) + "." + s.host
}

func (s *Store) dir(box string, sub string) string {
	return filepath.Join(s.root, filepath.FromSlash(box), sub)
}

// ensure creates the mailbox's directories on first delivery and syncs the
// parent of each one it creates, so the new/ that later renames are synced
// into is itself reachable after a crash.
func (s *Store) ensure(box string) error {
	if _, ok := s.ready.Load(box); ok {
		return nil
	}
	s.mkMu.Lock()
	defer s.mkMu.Unlock()
	if _, ok := s.ready.Load(box); ok {
		return nil
	}
	parents := map[string]bool{}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := mkdirTracked(s.dir(box, sub), parents); err != nil {
			return fmt.Errorf("cannot create the mailbox directory: %w", err)
		}
	}
	for p := range parents {
		if err := syncDir(p); err != nil {
			return err
		}
	}
	s.ready.Store(box, struct{}{})
	return nil
}

// mkdirTracked is os.MkdirAll that records the parent of every directory
// it creates.
func mkdirTracked(dir string, parents map[string]bool) error {
	err := os.Mkdir(dir, 0o700)
	switch {
	case err == nil:
		parents[filepath.Dir(dir)] = true
		return nil
	case errors.Is(err, fs.ErrExist):
		if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
			return nil
		}
		return err
	case errors.Is(err, fs.ErrNotExist) && filepath.Dir(dir) != dir:
		if err := mkdirTracked(filepath.Dir(dir), parents); err != nil {
			return err
		}
		return mkdirTracked(dir, parents)
	}
	return err
}

// existing returns the base names of the messages in new/ and cur/. A name
// in cur/ carries ":2,FLAGS" (and maybe Maildir++ ",S=size"); the base is
// what comes before.
func (s *Store) existing(box string) (map[string]bool, error) {
	names := map[string]bool{}
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(s.dir(box, sub))
		if err != nil {
			return nil, fmt.Errorf("cannot list the mailbox: %w", err)
		}
		for _, e := range ents {
			n := e.Name()
			if i := strings.IndexAny(n, ":,"); i >= 0 {
				n = n[:i]
			}
			names[n] = true
		}
	}
	return names, nil
}

// write puts the message into tmp/ with the trace fields on top and any
// Return-Path of its header section removed. The file stays open for sync.
func (s *Store) write(j *job, d *Delivery) {
	path := filepath.Join(s.dir(j.box, "tmp"), j.base)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		// Someone removed the mailbox since we created it: again.
		s.ready.Delete(j.box)
		if err = s.ensure(j.box); err == nil {
			f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		}
	}
	if err != nil {
		j.err, j.done = err, true
		return
	}
	if j.buf != nil {
		// Journaled: durable already, so written and closed at once.
		_, err = f.Write(j.buf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			j.err, j.done = err, true
		}
		j.size = int64(len(j.buf))
		return
	}
	head, pieces, size := s.render(j.box, d)
	if size <= 256<<10 {
		// One write for the common small message.
		buf := make([]byte, 0, size)
		buf = append(buf, head...)
		for _, p := range pieces {
			buf = append(buf, p...)
		}
		_, err = f.Write(buf)
	} else {
		_, err = f.Write(head)
		for _, p := range pieces {
			if err == nil {
				_, err = f.Write(p)
			}
		}
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		j.err, j.done = err, true
		return
	}
	j.f, j.size = f, size
}

// render is a delivery's file: the trace fields, then the message without
// any Return-Path of its header section; size is their length.
func (s *Store) render(box string, d *Delivery) (head []byte, pieces [][]byte, size int64) {
	eol := lineEnding(d.Data)
	rp := strings.TrimSuffix(strings.TrimPrefix(d.ReturnPath, "<"), ">")
	head = traceFields(rp, MailboxAddress(box), d.EnvelopeTo, s.now(), eol)
	pieces = withoutReturnPath(d.Data)
	size = int64(len(head))
	for _, p := range pieces {
		size += int64(len(p))
	}
	return head, pieces, size
}

// place renames the synced files of one mailbox into new/ and counts them
// in its usage, under the mailbox lock so that a usage walk sees each file
// exactly once.
func (s *Store) place(box string, jobs []*job) {
	b := s.box(box)
	b.mu.Lock()
	defer b.mu.Unlock()
	tmp, nw := s.dir(box, "tmp"), s.dir(box, "new")
	for _, j := range jobs {
		if j.box != box || j.done {
			continue
		}
		from, to := filepath.Join(tmp, j.base), filepath.Join(nw, j.base)
		err := renameNoReplace(from, to)
		switch {
		case errors.Is(err, fs.ErrExist):
			// Already there: a replay without recovering set, or a
			// resend of the same (QueueID, Index). One copy is enough.
			os.Remove(from)
			j.done = true
		case err != nil:
			os.Remove(from)
			j.err, j.done = err, true
		default:
			j.placed = true
			if b.known {
				b.usage += j.size
			}
		}
	}
}

// renameNoReplace moves a file without ever overwriting one, so a message
// already delivered under that name is kept, not clobbered.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EEXIST) {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: fs.ErrExist}
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	// The file system has no RENAME_NOREPLACE: qmail's link-then-unlink.
	if err := os.Link(from, to); err != nil {
		return err
	}
	os.Remove(from)
	return nil
}

// syncNewDirs syncs each new/ that received a file, once, making the
// renames durable. A failure fails every delivery placed there.
func (s *Store) syncNewDirs(boxes []string, jobs []*job) {
	var touched []string
	for _, b := range boxes {
		for _, j := range jobs {
			if j.box == b && j.placed {
				touched = append(touched, b)
				break
			}
		}
	}
	errs := make([]error, len(touched))
	parallel(len(touched), func(k int) { errs[k] = syncDir(s.dir(touched[k], "new")) })
	for k, b := range touched {
		if errs[k] == nil {
			continue
		}
		for _, j := range jobs {
			if j.box == b && j.placed {
				j.err = errs[k]
			}
		}
	}
}
