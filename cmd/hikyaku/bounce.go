package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/hikyaku/hikyaku/internal/bounce"
	"github.com/hikyaku/hikyaku/internal/config"
	"github.com/hikyaku/hikyaku/internal/intake"
	"github.com/hikyaku/hikyaku/internal/maillog"
	"github.com/hikyaku/hikyaku/internal/metrics"
	"github.com/hikyaku/hikyaku/internal/store"
	"github.com/hikyaku/hikyaku/internal/verp"
)

// bounceRulesFile is the rules file bounce.rules defaults to, under
// data_dir, when it exists.
const bounceRulesFile = "bounce-rules.txt"

func runBounce(args []string, stdout, stderr io.Writer) error {
	return subcommand("bounce", args, map[string]func([]string) error{
		"parse":  func(a []string) error { return runBounceParse(a, stdout, stderr) },
		"import": func(a []string) error { return runBounceImport(a, stdout, stderr) },
	}, stderr)
}

// runBounceParse prints what the bounce reader reads from each message of
// the inputs, one line per recipient.
func runBounceParse(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bounce parse", "bounce parse [--config FILE] [--json] FILE…|-  (messages, mbox files, Maildir or other folders; - is stdin)", stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "one JSON object per recipient: the reader's result and the file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("bounce parse needs at least one FILE, folder or - (stdin)")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	rules, err := loadBounceRules(cfg)
	if err != nil {
		return err
	}
	// Saved mail may have come to any address: campaign and row are shown
	// as the address says, unverified (never recorded from here).
	opt := bounce.Options{Rules: rules, VERP: verp.ParseUnverified}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	var failed []string
	for _, in := range fs.Args() {
		err := bounce.Open(in, func(src bounce.Source) error {
			rep, err := bounce.Read(src.Data, opt)
			if err != nil || len(rep.Results) == 0 {
				rep = bounce.Report{Kind: bounce.KindNone, Results: []bounce.Result{{Code: -501, Reason: "undefined", Format: "none"}}}
			}
			for _, r := range rep.Results {
				if *asJSON {
					if err := enc.Encode(parseLine{File: src.Name, Kind: rep.Kind, Result: r}); err != nil {
						return err
					}
					continue
				}
				if _, err := fmt.Fprintln(stdout, strings.Join([]string{src.Name, dash(r.Recipient), strconv.Itoa(r.Code),
					dash(r.Status), dash(r.Reason), dash(string(r.Blame)), dash(r.Command), dash(oneLine(r.Reply))}, "\t")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			if isWriteError(err) {
				return err
			}
			fmt.Fprintf(stderr, "hikyaku: bounce parse: %v\n", err)
			failed = append(failed, in)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("bounce parse: %d of %d inputs could not be read: %s", len(failed), fs.NArg(), strings.Join(failed, ", "))
	}
	return nil
}

// parseLine is one JSON line of bounce parse.
type parseLine struct {
	File string      `json:"file"`
	Kind bounce.Kind `json:"kind"`
	bounce.Result
}

// isWriteError tells an error writing the output (a closed pipe) from one
// reading the inputs: bounce.Open returns the callback's errors as they are.
func isWriteError(err error) bool {
	var pe *fs.PathError
	return errors.Is(err, os.ErrClosed) || errors.As(err, &pe) && pe.Op == "write"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// runBounceImport feeds saved mails through the intake's path: read, and
// each recipient recorded against its campaign row. Idempotent.
func runBounceImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bounce import", "bounce import [--config FILE] FILE…|-  (saved bounce mails: messages, mbox files, Maildir or other folders)", stderr)
	cfgPath := configFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("bounce import needs at least one FILE, folder or - (stdin)")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := openBounceStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	logger := newLogger(cfg, stderr)
	in, err := newIntake(cfg, st, logger, nil, nil)
	if err != nil {
		return err
	}
	var total intake.Counts
	mails := 0
	var failed []string
	for _, path := range fs.Args() {
		err := bounce.Open(path, func(src bounce.Source) error {
			c, err := in.Process(ctx, src.Name, src.Data, "")
			if err != nil {
				return storeFailure{err}
			}
			mails++
			total = total.Plus(c)
			return nil
		})
		var sf storeFailure
		if errors.As(err, &sf) {
			return fmt.Errorf("bounce import stopped after %d mails (%s): %w", mails, countsText(total), sf.err)
		}
		if err != nil {
			fmt.Fprintf(stderr, "hikyaku: bounce import: %v\n", err)
			failed = append(failed, path)
		}
	}
	fmt.Fprintf(stdout, "%d mails: %s\n", mails, countsText(total))
	if len(failed) > 0 {
		return fmt.Errorf("bounce import: %d of %d inputs could not be read: %s", len(failed), fs.NArg(), strings.Join(failed, ", "))
	}
	return nil
}

// storeFailure stops an import: the status store failed.
type storeFailure struct{ err error }

func (e storeFailure) Error() string { return e.err.Error() }

func countsText(c intake.Counts) string {
	return fmt.Sprintf("recorded %d, duplicate %d, norow %d, noted %d", c.Recorded, c.Duplicate, c.NoRow, c.Noted)
}

// loadBounceRules loads bounce.rules: the file it names, else
// data_dir/bounce-rules.txt when that exists, else the built-in rules.
func loadBounceRules(cfg *config.Config) (*bounce.Rules, error) {
	if p := cfg.Bounce.Rules; p != "" {
		rs, err := bounce.LoadRules(p)
		if err != nil {
			return nil, fmt.Errorf("bounce.rules: %w", err)
		}
		return rs, nil
	}
	rs, err := bounce.LoadRules(filepath.Join(cfg.DataDir, bounceRulesFile))
	switch {
	case err == nil:
		return rs, nil
	case errors.Is(err, fs.ErrNotExist):
		return bounce.Default(), nil
	}
	return nil, fmt.Errorf("bounce rules: %w", err)
}

// openBounceStore opens the status store with the weights of
// campaign.weights, which RecordBounce applies.
func openBounceStore(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	weights, err := cfg.CampaignWeights()
	if err != nil {
		return nil, err
	}
	dsn := cfg.Store.DSN
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(cfg.DataDir, store.DefaultFile)
	}
	if path, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, &store.Error{Code: store.CodeInit, Err: err}
		}
	}
	return store.Open(ctx, dsn, store.Options{Threshold: cfg.CampaignThreshold(), Weights: weights})
}

// newIntake builds the bounce intake of serve and bounce import: the
// Maildir data_dir/bounces, the VERP key (created when missing, as a
// campaign run would), the bounce rules and [bounce].
func newIntake(cfg *config.Config, st intake.Store, logger *slog.Logger, mlog *maillog.Log, m *metrics.Metrics) (*intake.Intake, error) {
	key, err := loadVERPKey(cfg)
	if err != nil {
		return nil, err
	}
	rules, err := loadBounceRules(cfg)
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

// lazyStore opens the status store on first use and again after a failed
// open, so that serve starts, and keeps bounce mail, while the store is
// down: RCPT answers 451 and kept mail is read again later. RCPT's row
// checks go through a store of their own: the embedded store has one
// connection, and a check queued behind the readers' commits (one sync
// each) would hold up the SMTP session.
type lazyStore struct {
	cfg    *config.Config
	mu     sync.Mutex
	rd, wr *store.Store
}

func (l *lazyStore) get(ctx context.Context, read bool) (*store.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := &l.wr
	if read {
		p = &l.rd
	}
	if *p != nil {
		return *p, nil
	}
	st, err := openBounceStore(ctx, l.cfg)
	if err != nil {
		return nil, err
	}
	*p = st
	return st, nil
}

func (l *lazyStore) RecordBounces(ctx context.Context, bs []store.Bounce) ([]store.BounceOutcome, error) {
	st, err := l.get(ctx, false)
	if err != nil {
		return nil, err
	}
	return st.RecordBounces(ctx, bs)
}

func (l *lazyStore) RecordBounce(ctx context.Context, b store.Bounce) (store.BounceOutcome, error) {
	st, err := l.get(ctx, false)
	if err != nil {
		return "", err
	}
	return st.RecordBounce(ctx, b)
}

func (l *lazyStore) RowExists(ctx context.Context, campaign string, row int64) (bool, error) {
	st, err := l.get(ctx, true)
	if err != nil {
		return false, err
	}
	return st.RowExists(ctx, campaign, row)
}

func (l *lazyStore) Close() error {
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
