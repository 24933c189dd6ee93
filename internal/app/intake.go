package app

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/intake"
	"github.com/hikyaku/hikyaku/internal/maillog"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/store"
)

// NewIntake builds the bounce intake of serve and bounce import: the
// Maildir data_dir/bounces, the VERP key (created when missing, as a
// campaign run would), the bounce rules and [bounce]. mlog and m may be
// nil.
func NewIntake(cfg *config.Config, st intake.Store, logger *slog.Logger, mlog *maillog.Log, m *metrics.Metrics) (*intake.Intake, error) {
	key, err := LoadVERPKey(cfg)
	if err != nil {
		return nil, err
	}
	rules, err := LoadBounceRules(cfg)
	if err != nil {
		return nil, err
	}
	return intake.New(intake.Options{
		Dir: filepath.Join(cfg.DataDir, intake.DirName), Hostname: cfg.Hostname,
		Domain: cfg.Campaign.ReturnPathDomain, Complaints: cfg.Bounce.ComplaintAddresses, Key: key,
		Rules: rules, Store: st, Retry: cfg.Bounce.Retry.D(), SyncFS: cfg.Local.Sync == "syncfs",
		Logger: logger, MailLog: mlog, Metrics: m,
	})
}

// LazyStore opens the status store on first use and again after a failed
// open, so that serve starts, and keeps bounce mail, while the store is
// down: RCPT answers 451 and kept mail is read again later. RCPT's row
// checks go through a store of their own: the embedded store has one
// connection, and a check queued behind the readers' commits (one sync
// each) would hold up the SMTP session.
type LazyStore struct {
	cfg    *config.Config
	mu     sync.Mutex
	rd, wr *store.Store
}

// NewLazyStore is a LazyStore of cfg's status store; nothing is opened yet.
func NewLazyStore(cfg *config.Config) *LazyStore { return &LazyStore{cfg: cfg} }

func (l *LazyStore) get(ctx context.Context, read bool) (*store.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := &l.wr
	if read {
		p = &l.rd
	}
	if *p != nil {
		return *p, nil
	}
	st, err := OpenBounceStore(ctx, l.cfg)
	if err != nil {
		return nil, err
	}
	*p = st
	return st, nil
}

// RecordBounces records a batch in one transaction (intake.BatchStore).
func (l *LazyStore) RecordBounces(ctx context.Context, bs []store.Bounce) ([]store.BounceOutcome, error) {
	st, err := l.get(ctx, false)
	if err != nil {
		return nil, err
	}
	return st.RecordBounces(ctx, bs)
}

// RecordBounce records one bounce.
func (l *LazyStore) RecordBounce(ctx context.Context, b store.Bounce) (store.BounceOutcome, error) {
	st, err := l.get(ctx, false)
	if err != nil {
		return "", err
	}
	return st.RecordBounce(ctx, b)
}

// RowExists tells whether a campaign row exists, for RCPT.
func (l *LazyStore) RowExists(ctx context.Context, campaign string, row int64) (bool, error) {
	st, err := l.get(ctx, true)
	if err != nil {
		return false, err
	}
	return st.RowExists(ctx, campaign, row)
}

// RowSpan gives a campaign's lowest and highest row and their count, so
// the intake answers RCPT for a campaign without gaps from memory.
func (l *LazyStore) RowSpan(ctx context.Context, campaign string) (lo, hi, n int64, err error) {
	st, err := l.get(ctx, true)
	if err != nil {
		return 0, 0, 0, err
	}
	return st.RowSpan(ctx, campaign)
}

// Close closes what was opened.
func (l *LazyStore) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, st := range []*store.Store{l.rd, l.wr} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
