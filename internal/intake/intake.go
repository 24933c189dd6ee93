package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hikyaku/hikyaku/internal/bounce"
	"github.com/hikyaku/hikyaku/internal/mailbox"
	"github.com/hikyaku/hikyaku/internal/maillog"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/protocol"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/verp"
)

// DirName is the intake's Maildir under data_dir.
const DirName = "bounces"

// MailboxPrefix starts the spool recipient Mailbox of a bounce address:
// MailboxPrefix + the address. No local mailbox name ("domain/local")
// starts with '!', so the router tells the two apart and hands these to
// Deliver.
const MailboxPrefix = "!bounce:"

// Store is the part of the status store the intake uses; *store.Store.
type Store interface {
	RecordBounce(ctx context.Context, b store.Bounce) (store.BounceOutcome, error)
	RowExists(ctx context.Context, campaign string, row int64) (bool, error)
}

// BatchStore is a Store that records many bounces in one transaction
// (*store.Store): the recorder's batches go through it. With a Store that
// is not one, the batch's bounces are recorded one by one.
type BatchStore interface {
	RecordBounces(ctx context.Context, bs []store.Bounce) ([]store.BounceOutcome, error)
}

// RowSpanner is a Store that gives a campaign's row numbers at once
// (*store.Store): Check then asks it once per campaign whose rows have no
// gaps, instead of once per row.
type RowSpanner interface {
	RowSpan(ctx context.Context, campaign string) (lo, hi, n int64, err error)
}

// span is a campaign's rows lo..hi, every one there; lo > hi: not known
// to be without gaps. at is when the store said so.
type span struct {
	lo, hi int64
	at     time.Time
}

// maxSpans bounds the campaigns whose spans are kept.
const maxSpans = 4096

// Verdict is what Check says of a recipient address.
type Verdict int

const (
	NotOurs  Verdict = iota // not a bounce address: the receiver's other rules decide
	Accept                  // a signed VERP address of an existing row, or a complaint address
	Unknown                 // at the VERP domain but forged, malformed or naming no row: 550 5.1.1
	TryLater                // the status store could not be asked: a transient refusal
)

// Options configure an Intake.
type Options struct {
	Dir        string   // the Maildir (data_dir/bounces); created when missing
	Hostname   string   // goes into the Maildir file names
	Domain     string   // campaign.return_path_domain; "" takes no VERP mail
	Complaints []string // bounce.complaint_addresses
	Key        []byte   // the VERP key (data_dir/verp.key)
	Rules      *bounce.Rules
	Store      Store
	Retry      time.Duration // how often mail kept in new/ is read again (default 1m)
	Workers    int           // mails read at once (default 4)
	BatchSize  int           // recipient results recorded in one store transaction at most (default 256)
	BatchWait  time.Duration // how long the recorder waits for more mails to fill a batch (default 2ms)
	SyncFS     bool          // unused: the journal makes the Maildir durable (kept for local.sync's callers)
	Logger     *slog.Logger
	MailLog    *maillog.Log
	Metrics    *metrics.Metrics
	Now        func() time.Time
}

// Counts adds up what the store did with the recipients of some mails.
type Counts struct {
	Recorded, Duplicate, NoRow, Noted int
}

// Add counts one outcome.
func (c *Counts) Add(o store.BounceOutcome) {
	switch o {
	case store.BounceRecorded:
		c.Recorded++
	case store.BounceDuplicate:
		c.Duplicate++
	case store.BounceNoRow:
		c.NoRow++
	default:
		c.Noted++
	}
}

// Plus is the sum of two Counts.
func (c Counts) Plus(d Counts) Counts {
	return Counts{c.Recorded + d.Recorded, c.Duplicate + d.Duplicate, c.NoRow + d.NoRow, c.Noted + d.Noted}
}

// Intake takes bounce mail in. Check and Process are safe for concurrent
// use; Deliver is the router's (queue.RouterOptions.Intake).
type Intake struct {
	opt        Options
	dir        string
	box        string // the Maildir as a mailbox.Store mailbox name
	mb         *mailbox.Store
	domain     string
	complaints map[string]bool

	kick   chan struct{}
	scan   atomic.Bool // the next dispatch lists new/ (start, retry) instead of taking queued
	work   chan string
	read   chan *mail      // read, to be recorded
	fin    chan []recorded // recorded, to be moved to cur/
	stop   chan struct{}
	wg     sync.WaitGroup // dispatch and the readers
	rec    sync.WaitGroup // the recorder
	mu     sync.Mutex
	busy   map[string]bool      // names in new/ handed to a worker
	later  map[string]time.Time // names in new/ that failed, and when to try again
	queued []string             // names Deliver wrote, for the next dispatch
	fresh  map[string][]byte    // their contents, as journaled: read without reading the file

	rowsMu sync.Mutex
	rows   map[string]bool // campaign NUL row of rows known to exist (rows are never deleted)
	spans  map[string]span // by campaign, with a RowSpanner

	// jmu is held shared by each Deliver, from its journal append to its
	// renames into new/, and exclusively by a checkpoint while it seals:
	// the sync after that covers every file of the sealed segments.
	jmu     sync.RWMutex
	jopenMu sync.Mutex
	jour    *journal // opened (and replayed) on first use
}

// maxKnownRows bounds the cache of rows known to exist: at this size it
// starts again empty.
const maxKnownRows = 1 << 17

// New prepares an Intake; Start runs its readers. The Maildir's tmp/,
// new/ and cur/ are created when missing.
func New(opt Options) (*Intake, error) {
	if opt.Retry <= 0 {
		opt.Retry = time.Minute
	}
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 256
	}
	if opt.BatchWait <= 0 {
		opt.BatchWait = 2 * time.Millisecond
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Store == nil {
		return nil, errors.New("intake: no status store")
	}
	if opt.Domain != "" && len(opt.Key) == 0 {
		return nil, errors.New("intake: VERP mail is taken in only with the VERP key")
	}
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	// mailbox.Store writes <root>/<domain>/<local>/{tmp,new,cur}: the
	// Maildir's parent's parent is the root, and the last two names are
	// the mailbox.
	parent := filepath.Dir(dir)
	if parent == dir || filepath.Dir(parent) == parent {
		return nil, fmt.Errorf("intake: %s cannot hold the bounce Maildir (it needs two parent folders)", dir)
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("intake: %w", err)
		}
	}
	in := &Intake{
		opt: opt, dir: dir, box: filepath.Base(parent) + "/" + filepath.Base(dir),
		domain:     strings.ToLower(strings.TrimSuffix(opt.Domain, ".")),
		complaints: map[string]bool{},
		kick:       make(chan struct{}, 1),
		work:       make(chan string),
		read:       make(chan *mail, 2*opt.BatchSize),
		fin:        make(chan []recorded, 4),
		stop:       make(chan struct{}),
		busy:       map[string]bool{},
		fresh:      map[string][]byte{},
		later:      map[string]time.Time{},
		rows:       map[string]bool{},
		spans:      map[string]span{},
	}
	for _, a := range opt.Complaints {
		in.complaints[strings.ToLower(a)] = true
	}
	in.mb = mailbox.NewStore(filepath.Dir(parent), opt.Hostname, mailbox.StoreOptions{Logger: opt.Logger, Journal: in.appendJournal})
	return in, nil
}

// Dir is the Maildir the intake keeps its mail in.
func (in *Intake) Dir() string { return in.dir }

// Check decides on one RCPT address: Accept for a VERP address at the
// return-path domain whose hash verifies and whose row exists, and for a
// complaint address; Unknown for any other address at that domain;
// TryLater when the store cannot say; NotOurs otherwise.
func (in *Intake) Check(ctx context.Context, addr string) Verdict {
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
	lower := strings.ToLower(addr)
	if in.complaints[lower] {
		return Accept
	}
	if _, domain, ok := protocol.SplitAddress(lower); in.domain == "" || !ok || strings.TrimSuffix(domain, ".") != in.domain {
		return NotOurs
	}
	campaign, row, ok := verp.Parse(addr, in.opt.Key)
	if !ok {
		return Unknown
	}
	// A row once seen stays: its next bounces (a DSN and then a complaint,
	// a retransmission) need not wait for the store's one connection.
	rk := campaign + "\x00" + strconv.FormatInt(row, 10)
	in.rowsMu.Lock()
	known := in.rows[rk]
	in.rowsMu.Unlock()
	if known {
		return Accept
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if in.inSpan(ctx, campaign, row) {
		return Accept
	}
	exists, err := in.opt.Store.RowExists(ctx, campaign, row)
	if err != nil {
		in.opt.Logger.Warn("bounce address not checked: status store", "rcpt", addr, "err", err)
		return TryLater
	}
	if !exists {
		return Unknown
	}
	in.rowsMu.Lock()
	if len(in.rows) >= maxKnownRows {
		clear(in.rows)
	}
	in.rows[rk] = true
	in.rowsMu.Unlock()
	return Accept
}

// inSpan says the campaign has the row for certain, from its span: one
// store query per campaign answers every RCPT to its rows. A row outside
// the span (added since, or not there) is the exact query's to decide;
// the span is asked again at most once a second.
func (in *Intake) inSpan(ctx context.Context, campaign string, row int64) bool {
	sp, ok := in.opt.Store.(RowSpanner)
	if !ok {
		return false
	}
	now := in.opt.Now()
	in.rowsMu.Lock()
	s, seen := in.spans[campaign]
	in.rowsMu.Unlock()
	if seen && row >= s.lo && row <= s.hi {
		return true
	}
	if seen && now.Sub(s.at) < time.Second {
		return false
	}
	lo, hi, n, err := sp.RowSpan(ctx, campaign)
	if err != nil {
		return false // RowExists decides, and says what failed
	}
	s = span{lo: 1, hi: 0, at: now}
	if n > 0 && n == hi-lo+1 {
		s.lo, s.hi = lo, hi
	}
	in.rowsMu.Lock()
	if len(in.spans) >= maxSpans {
		clear(in.spans)
	}
	in.spans[campaign] = s
	in.rowsMu.Unlock()
	return row >= s.lo && row <= s.hi
}

// Deliver is the router's hand-off of bounce recipients (Mailbox =
// MailboxPrefix + address): each is written into new/ and synced (one
// sync for the batch) before Deliver returns, then queued for reading.
// With recovering set, a delivery already in new/ or cur/ is not written
// again. One error slot per delivery; nil means durable.
func (in *Intake) Deliver(ds []mailbox.Delivery, recovering bool) []error {
	own := make([]mailbox.Delivery, len(ds))
	for i, d := range ds {
		d.Mailbox = in.box
		if d.EnvelopeTo == "" {
			d.EnvelopeTo = strings.TrimPrefix(ds[i].Mailbox, MailboxPrefix)
		}
		own[i] = d
	}
	in.jmu.RLock()
	errs := in.mb.Deliver(own, recovering)
	in.jmu.RUnlock()
	// Handed to the readers at once: listing new/ for every batch costs
	// as much as the backlog is long.
	in.mu.Lock()
	for i, d := range own {
		name := in.mb.FileName(d)
		if errs[i] == nil {
			in.queued = append(in.queued, name)
		} else {
			delete(in.fresh, name)
		}
	}
	in.mu.Unlock()
	select {
	case in.kick <- struct{}{}:
	default:
	}
	return errs
}

// Start runs the readers and the recorder: new/ is read at once (mail
// kept by an earlier run), after every Deliver, and every Retry.
func (in *Intake) Start() {
	// Mail journaled before a crash is back in new/ before the first read.
	if _, err := in.journal(); err != nil {
		in.opt.Logger.Error("bounce journal not replayed; tried again at the next delivery", "err", err)
	}
	in.wg.Go(in.checkpointer)
	for range in.opt.Workers {
		in.wg.Go(in.worker)
	}
	in.wg.Go(in.dispatch)
	in.rec.Go(in.recorder)
	in.rec.Go(in.finisher)
	in.scan.Store(true)
	in.kick <- struct{}{}
}

// journal opens the journal on first use, after a failure again, and
// replays what an earlier run left in it.
func (in *Intake) journal() (*journal, error) {
	in.jopenMu.Lock()
	defer in.jopenMu.Unlock()
	if in.jour != nil {
		return in.jour, nil
	}
	j, es, segs, err := openJournal(filepath.Join(in.dir, journalDir))
	if err == nil {
		err = in.restore(es, segs)
	}
	if err != nil {
		return nil, fmt.Errorf("bounce journal: %w", err)
	}
	in.jour = j
	return j, nil
}

// appendJournal is the Maildir writer's StoreOptions.Journal. What it
// journals the readers take from memory.
func (in *Intake) appendJournal(es []mailbox.JournalEntry) error {
	j, err := in.journal()
	if err != nil {
		return err
	}
	if err := j.append(es); err != nil {
		return err
	}
	in.mu.Lock()
	for _, e := range es {
		in.fresh[e.Name] = e.Data
	}
	in.mu.Unlock()
	return nil
}

// checkpointer syncs the journal's sealed segments' files every
// journalEvery (sooner when a segment is full), and once more at Stop.
func (in *Intake) checkpointer() {
	t := time.NewTicker(journalEvery)
	defer t.Stop()
	for {
		var full chan struct{}
		in.jopenMu.Lock()
		if in.jour != nil {
			full = in.jour.full
		}
		in.jopenMu.Unlock()
		select {
		case <-in.stop:
			in.checkpoint()
			return
		case <-t.C:
		case <-full:
		}
		in.checkpoint()
	}
}

// checkpoint seals the journal's segment and, once the files of every
// sealed segment are synced, deletes those segments.
func (in *Intake) checkpoint() {
	j, err := in.journal()
	if err != nil {
		in.opt.Logger.Warn("bounce journal unavailable", "err", err)
		return
	}
	in.jmu.Lock()
	segs := j.seal()
	in.jmu.Unlock()
	if len(segs) == 0 {
		return
	}
	if err := syncFS(in.dir); err != nil {
		j.unseal(segs)
		in.opt.Logger.Warn("bounce Maildir not synced; journal segments kept", "err", err)
		return
	}
	for _, p := range segs {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			in.opt.Logger.Warn("bounce journal segment not removed", "file", p, "err", err)
		}
	}
}

// Stop ends the readers after the mails in hand, and the recorder once it
// has recorded what they read; the rest stay in new/.
func (in *Intake) Stop() {
	close(in.stop)
	in.wg.Wait()
	close(in.read)
	in.rec.Wait()
}

// Pending counts the mails in new/: taken in, not yet recorded.
func (in *Intake) Pending() (int, error) {
	ents, err := os.ReadDir(filepath.Join(in.dir, "new"))
	return len(ents), err
}

func (in *Intake) dispatch() {
	t := time.NewTicker(min(in.opt.Retry, 10*time.Second))
	defer t.Stop()
	for {
		select {
		case <-in.stop:
			return
		case <-in.kick:
		case <-t.C:
			in.scan.Store(true)
		}
		var names []string
		if in.scan.Swap(false) {
			// What was queued is in new/ already: the listing has it.
			in.mu.Lock()
			in.queued = nil
			in.mu.Unlock()
			ents, err := os.ReadDir(filepath.Join(in.dir, "new"))
			if err != nil {
				in.opt.Logger.Error("bounce Maildir unreadable", "dir", in.dir, "err", err)
				in.scan.Store(true)
				continue
			}
			for _, e := range ents {
				names = append(names, e.Name())
			}
		} else {
			in.mu.Lock()
			names, in.queued = in.queued, nil
			in.mu.Unlock()
		}
		now := in.opt.Now()
		for _, name := range names {
			if strings.HasPrefix(name, ".") {
				continue
			}
			in.mu.Lock()
			skip := in.busy[name] || now.Before(in.later[name])
			if !skip {
				in.busy[name] = true
			}
			in.mu.Unlock()
			if skip {
				continue
			}
			select {
			case in.work <- name:
			case <-in.stop:
				return
			}
		}
	}
}

func (in *Intake) worker() {
	for {
		select {
		case <-in.stop:
			return
		case name := <-in.work:
			if m := in.readFile(name); m != nil {
				in.read <- m // the recorder runs until the readers have stopped
			}
		}
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// done ends a mail's turn: err nil, it is read (in cur/, or gone);
// otherwise it stays in new/ and is tried again after Retry.
func (in *Intake) done(name string, err error) {
	in.mu.Lock()
	delete(in.busy, name)
	if err != nil {
		in.later[name] = in.opt.Now().Add(in.opt.Retry)
	} else {
		delete(in.later, name)
	}
	in.mu.Unlock()
}

// readFile reads new/name for the recorder. nil: nothing to record (gone
// meanwhile, or unreadable and kept), its turn ended.
func (in *Intake) readFile(name string) *mail {
	path := filepath.Join(in.dir, "new", name)
	in.mu.Lock()
	data, ok := in.fresh[name]
	delete(in.fresh, name)
	in.mu.Unlock()
	var err error
	if !ok || !exists(path) {
		data, err = os.ReadFile(path)
	}
	if errors.Is(err, os.ErrNotExist) {
		in.done(name, nil) // read by another process (bounce import) meanwhile
		return nil
	}
	if err != nil {
		in.opt.Logger.Error("bounce mail unreadable; kept", "file", path, "err", err)
		in.countMail("kept")
		in.done(name, err)
		return nil
	}
	return in.parse(name, data, "")
}

// recorder takes the mails the readers read and records them in batches:
// what has queued up, and what comes within BatchWait, up to BatchSize
// results. It ends when the readers have stopped and the queue is empty.
func (in *Intake) recorder() {
	defer close(in.fin)
	for m := range in.read {
		batch, n := []*mail{m}, len(m.bounces)
		wait := time.NewTimer(in.opt.BatchWait)
	fill:
		for n < in.opt.BatchSize {
			select {
			case m, ok := <-in.read:
				if !ok {
					break fill
				}
				batch, n = append(batch, m), n+len(m.bounces)
			case <-wait.C:
				break fill
			}
		}
		wait.Stop()
		in.recordBatch(batch)
	}
}

// recorded is one mail after its recording: its outcomes, or the error.
type recorded struct {
	m    *mail
	outs []store.BounceOutcome
	err  error
}

// recordBatch records the mails' results in one store call and hands
// each mail to the finisher, which moves it to cur/ while the next batch
// is recorded. When the call fails, the mails are recorded one at a time,
// so that one the store cannot take keeps only itself in new/.
func (in *Intake) recordBatch(batch []*mail) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var all []store.Bounce
	for _, m := range batch {
		all = append(all, m.bounces...)
	}
	done := make([]recorded, 0, len(batch))
	outs, err := in.record(ctx, all)
	if err != nil && len(batch) > 1 {
		for _, m := range batch {
			outs, err := in.record(ctx, m.bounces)
			done = append(done, recorded{m, outs, err})
		}
	} else {
		for _, m := range batch {
			var mine []store.BounceOutcome
			if err == nil {
				mine, outs = outs[:len(m.bounces)], outs[len(m.bounces):]
			}
			done = append(done, recorded{m, mine, err})
		}
	}
	in.fin <- done
}

// finisher ends the turns of recorded mails (see finish) until the
// recorder has stopped.
func (in *Intake) finisher() {
	for done := range in.fin {
		for _, r := range done {
			in.finish(r.m, r.outs, r.err)
		}
	}
}

// finish ends a mail's turn after its results were recorded (err nil:
// reported, moved to cur/) or not (kept in new/ for Retry).
func (in *Intake) finish(m *mail, outs []store.BounceOutcome, err error) {
	path := filepath.Join(in.dir, "new", m.name)
	if err != nil {
		in.opt.Logger.Warn("bounce mail not recorded; kept in new/ and read again later", "file", path, "retry", in.opt.Retry, "err", err)
		in.countMail("kept")
		in.done(m.name, err)
		return
	}
	in.report(m, outs)
	if err := os.Rename(path, filepath.Join(in.dir, "cur", m.name+":2,S")); err != nil && !errors.Is(err, os.ErrNotExist) {
		// Recorded all the same: read again it gives duplicates.
		in.opt.Logger.Error("bounce mail recorded but not moved to cur/", "file", path, "err", err)
	}
	in.countMail("read")
	in.done(m.name, nil)
}

func (in *Intake) countMail(result string) {
	if in.opt.Metrics != nil {
		in.opt.Metrics.BounceMails.WithLabelValues(result).Inc()
	}
}

// Process reads one mail and records every recipient it names (in one
// store transaction with a BatchStore), giving the store's outcomes.
// envelope is the address the mail came to; "" takes it from the trace
// fields (Envelope-To, X-Original-To, Delivered-To). A mail the reader
// cannot read is recorded as -501. The error is the store's: with a Store
// that is not a BatchStore some recipients may be recorded already, and
// processing the same mail again makes those duplicates. name is for the
// logs.
func (in *Intake) Process(ctx context.Context, name string, data []byte, envelope string) (Counts, error) {
	m := in.parse(name, data, envelope)
	outs, err := in.record(ctx, m.bounces)
	if err != nil {
		return Counts{}, err
	}
	return in.report(m, outs), nil
}

// mail is one bounce mail read: its results, and the bounces to record
// for those that name a campaign row.
type mail struct {
	name, envelope string
	kind           bounce.Kind
	results        []bounce.Result
	rows           []int // per result, its bounce in bounces; -1: it names no row
	bounces        []store.Bounce
}

// parse reads one mail into the bounces to record.
func (in *Intake) parse(name string, data []byte, envelope string) *mail {
	if envelope == "" {
		envelope = in.envelopeOf(data)
	}
	sum := sha256.Sum256(senderContent(data))
	key := hex.EncodeToString(sum[:])
	verpOf := func(addr string) (string, int64, bool) { return verp.Parse(addr, in.opt.Key) }
	rep, err := bounce.Read(data, bounce.Options{Rules: in.opt.Rules, Envelope: envelope, VERP: verpOf})
	if err != nil || len(rep.Results) == 0 {
		rep = bounce.Report{Kind: bounce.KindNone, Results: []bounce.Result{{Code: -501, Reason: "undefined", Format: "none"}}}
	}
	envCampaign, envRow, envOK := verp.Parse(envelope, in.opt.Key)
	m := &mail{name: name, envelope: envelope, kind: rep.Kind, results: rep.Results, rows: make([]int, len(rep.Results))}
	for i, r := range rep.Results {
		m.rows[i] = -1
		campaign, row := r.Campaign, r.Row
		if campaign == "" && row == 0 && envOK {
			campaign, row = envCampaign, envRow
		}
		m.results[i].Campaign, m.results[i].Row = campaign, row
		if campaign == "" && row == 0 {
			continue
		}
		at := r.Date
		if at.IsZero() {
			at = in.opt.Now()
		}
		m.rows[i] = len(m.bounces)
		m.bounces = append(m.bounces, store.Bounce{
			Campaign: campaign, Row: row, Key: key + "/" + strings.ToLower(r.Recipient),
			Code: r.Code, Enhanced: r.Status, Text: r.Reply, Reason: r.Reason, Blame: string(r.Blame),
			Final: r.Recipient, Original: r.Original, Complaint: rep.Kind == bounce.KindFeedback, At: at,
		})
	}
	return m
}

// record records bounces: in one call with a BatchStore, else one by one
// (stopping at the first error).
func (in *Intake) record(ctx context.Context, bs []store.Bounce) ([]store.BounceOutcome, error) {
	if len(bs) == 0 {
		return nil, nil
	}
	if b, ok := in.opt.Store.(BatchStore); ok {
		outs, err := b.RecordBounces(ctx, bs)
		if err == nil && len(outs) != len(bs) {
			err = fmt.Errorf("status store gave %d outcomes for %d bounces", len(outs), len(bs))
		}
		if err != nil {
			return nil, fmt.Errorf("recording %d bounces (%s row %d first): %w", len(bs), bs[0].Campaign, bs[0].Row, err)
		}
		return outs, nil
	}
	outs := make([]store.BounceOutcome, len(bs))
	for i, b := range bs {
		o, err := in.opt.Store.RecordBounce(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("recording the bounce of %s row %d: %w", b.Campaign, b.Row, err)
		}
		outs[i] = o
	}
	return outs, nil
}

// report logs and counts what the store did with a mail's results.
func (in *Intake) report(m *mail, outs []store.BounceOutcome) Counts {
	var c Counts
	for i, r := range m.results {
		outcome := store.BounceNoRow
		if j := m.rows[i]; j >= 0 {
			outcome = outs[j]
		}
		c.Add(outcome)
		in.opt.MailLog.Bounce(m.name, m.envelope, r.Recipient, r.Campaign, r.Row, r.Code, r.Status, r.Reason, string(r.Blame), string(m.kind), string(outcome))
		if in.opt.Metrics != nil {
			in.opt.Metrics.Bounces.WithLabelValues(orUndefined(r.Reason), string(m.kind), string(outcome)).Inc()
		}
	}
	return c
}

func orUndefined(s string) string {
	if s == "" {
		return "undefined"
	}
	return s
}

// envelopeOf finds the address the mail came to in its trace fields: the
// first Envelope-To, X-Original-To or Delivered-To that is one of ours,
// else the first Envelope-To.
func (in *Intake) envelopeOf(data []byte) string {
	first := ""
	for _, f := range headerFields(data) {
		switch f.name {
		case "envelope-to", "x-original-to", "delivered-to":
		default:
			continue
		}
		v := strings.TrimSpace(string(f.value(data)))
		v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
		if first == "" && f.name == "envelope-to" {
			first = v
		}
		if in.complaints[strings.ToLower(v)] {
			return v
		}
		if _, _, ok := verp.Parse(v, in.opt.Key); ok {
			return v
		}
	}
	return first
}
