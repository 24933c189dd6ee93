package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/hikyaku/hikyaku/internal/codes"
)

// System codes of docs/spec.md §4.4 that the store returns.
const (
	CodeInit       = -100 // status database could not be initialised
	CodeConnection = -101 // status database connection failed
	CodeUpdate     = -102 // status database update failed
)

// DefaultFile is the embedded store's file name, used when the DSN is "";
// main joins it to the data directory and passes "sqlite:" + that path.
const DefaultFile = "status.db"

// DefaultThreshold is the score at which an address is suppressed: 1.0.
const DefaultThreshold codes.Tenths = 10

// Error is the one system-error type (codes.SystemError) under the name
// the store's code and its callers use; a store failure sets Code
// (CodeInit, CodeConnection, CodeUpdate) and Err. A caller seeing
// CodeUpdate pauses and retries the same call or stops resumably: the
// failed transaction left nothing behind.
type Error = codes.SystemError

// Errors that are answers, not failures: they are returned as they are,
// never inside an *Error, because retrying cannot change them.
var (
	// ErrFinished: Finish was called for a recipient that already has its
	// final outcome. Nothing was changed, so the weight is not counted
	// twice. A caller retrying a Finish after -102 treats it as success
	// (the first call committed after all).
	ErrFinished = errors.New("store: recipient already finished")
	// ErrNotFound: no such campaign or recipient.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: a campaign with that name exists already.
	ErrExists = errors.New("store: campaign name already exists")
)

// Options tune a store; the zero value gives the defaults.
type Options struct {
	// Threshold is the score at which an address is suppressed
	// (DefaultThreshold when zero or negative).
	Threshold codes.Tenths
	// LockTimeout is how long a write waits for a lock held by another
	// process or node before it fails with -102 (10s when zero).
	LockTimeout time.Duration
	// Weights replace the code table's weights for RecordBounce, as
	// campaign.weights does for the runner's finals (nil: the table's).
	Weights map[int]codes.Tenths
}

// Store is an open status store. It is safe for concurrent use.
type Store struct {
	db        *sql.DB
	d         *dialect
	threshold codes.Tenths
	weights   map[int]codes.Tenths // Options.Weights
	now       func() time.Time     // replaced by tests that move leases in time

	mu     sync.Mutex
	claims map[int64]claimMemo  // per campaign
	stmts  map[string]*sql.Stmt // one-row statements (dialect.rowAtATime)
}

// Open opens the store named by dsn and brings its schema up to date:
//
//	""                       the embedded store at DefaultFile
//	"sqlite:PATH"            the embedded store at PATH (created if missing)
//	"mysql://user:pw@host:port/db?param=value"
//	"user:pw@tcp(host:port)/db?param=value"   (the driver's own form)
//
// Failures are *Error with CodeInit (bad DSN, file cannot be created,
// migration failed) or CodeConnection (the server cannot be reached or
// refuses the login).
func Open(ctx context.Context, dsn string, opt Options) (*Store, error) {
	if opt.Threshold <= 0 {
		opt.Threshold = DefaultThreshold
	}
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = 10 * time.Second
	}
	var (
		db  *sql.DB
		d   *dialect
		err error
	)
	switch {
	case dsn == "" || strings.HasPrefix(dsn, "sqlite:"):
		db, err = openSQLite(strings.TrimPrefix(dsn, "sqlite:"), opt)
		d = sqliteDialect
	case strings.HasPrefix(dsn, "mysql://") || looksNativeMySQL(dsn):
		db, err = openMySQL(dsn, opt)
		d = mysqlDialect
	default:
		err = fmt.Errorf("DSN %q is neither sqlite:PATH nor mysql://… nor user@tcp(host:port)/db", redact(dsn))
	}
	if err != nil {
		return nil, &Error{Code: CodeInit, Err: err}
	}
	if err := ping(ctx, db, d, opt.LockTimeout); err != nil {
		db.Close()
		code := CodeConnection
		if d == sqliteDialect {
			code = CodeInit // an embedded file that cannot be opened cannot be created
		}
		return nil, &Error{Code: code, Err: err}
	}
	s := &Store{db: db, d: d, threshold: opt.Threshold, weights: opt.Weights, now: time.Now, claims: map[int64]claimMemo{}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, &Error{Code: CodeInit, Err: err}
	}
	return s, nil
}

// ping opens the first connection. A new SQLite connection sets its
// journal mode, which fails at once with SQLITE_BUSY, the busy timeout
// notwithstanding, while another process creates or migrates the file:
// that is retried for up to the lock timeout.
func ping(ctx context.Context, db *sql.DB, d *dialect, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := db.PingContext(ctx)
		var busy interface{ Code() int }
		if err == nil || d != sqliteDialect || !errors.As(err, &busy) || busy.Code()&0xff != 5 || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// eachRow runs the one-row statement query once per row of args, in tx.
func (s *Store) eachRow(ctx context.Context, tx *sql.Tx, query string, rows [][]any) error {
	// Prepared in tx: the embedded store has one connection, which tx holds.
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, args := range rows {
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// Engine names the engine: "sqlite" or "mysql".
func (s *Store) Engine() string { return s.d.name }

// Threshold is the score at which addresses are suppressed.
func (s *Store) Threshold() codes.Tenths { return s.threshold }

func openSQLite(path string, opt Options) (*sql.DB, error) {
	if path == "" {
		path = DefaultFile
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("embedded store path %q holds a '?'", path)
	}
	// WAL lets `campaign status` read while a run writes. synchronous=FULL
	// syncs the log at every commit: a 250 that Finish recorded survives a
	// power cut, so a resumed run never sends it again (docs/conventions.md habit 9).
	// txlock=immediate takes the write lock at BEGIN, so two processes on
	// one file wait for each other instead of failing on a lock upgrade.
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(opt.LockTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer anyway, and in-process callers
	// then queue in database/sql instead of spinning in the busy handler.
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	return db, nil
}

// looksNativeMySQL recognises the driver's own DSN form, which has no
// scheme: [user[:password]@]net(addr)/dbname.
func looksNativeMySQL(dsn string) bool {
	for _, n := range []string{"tcp(", "tcp6(", "unix("} {
		if strings.HasPrefix(dsn, n) || strings.Contains(dsn, "@"+n) {
			return true
		}
	}
	return false
}

func openMySQL(dsn string, opt Options) (*sql.DB, error) {
	cfg, err := parseMySQLDSN(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, ok := cfg.Params["innodb_lock_wait_timeout"]; !ok {
		secs := int(opt.LockTimeout / time.Second)
		cfg.Params["innodb_lock_wait_timeout"] = fmt.Sprint(max(secs, 1))
	}
	cfg.MultiStatements = false
	// Arguments are quoted by the driver (safe for utf8mb4, which it
	// checks): one round trip per statement instead of prepare, execute
	// and close; it tripled FinishBatch's rate.
	cfg.InterpolateParams = true
	// RowsAffected then counts the rows matched, as SQLite does, not only
	// those changed: Extend reports a renewal to the same millisecond.
	cfg.ClientFoundRows = true
	cfg.Logger = discardLogger{} // errors reach the caller; no stray stderr lines
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(5 * time.Minute)
	return db, nil
}

// parseMySQLDSN accepts mysql://user:password@host[:port]/db?params and the
// driver's native form.
func parseMySQLDSN(dsn string) (*mysql.Config, error) {
	if !strings.HasPrefix(dsn, "mysql://") {
		return mysql.ParseDSN(dsn)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("DSN %q: %v", redact(dsn), err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("DSN %q names no host", redact(dsn))
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	if u.Port() == "" {
		cfg.Addr = u.Host + ":3306"
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" || strings.Contains(cfg.DBName, "/") {
		return nil, fmt.Errorf("DSN %q names no database (mysql://user@host:port/DB)", redact(dsn))
	}
	native := cfg.FormatDSN()
	if u.RawQuery != "" {
		sep := "?"
		if strings.Contains(native, "?") {
			sep = "&"
		}
		native += sep + u.RawQuery // the driver parses its own parameters
	}
	return mysql.ParseDSN(native)
}

// redact hides a password in a DSN quoted in an error message.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	if at < 0 {
		return dsn
	}
	head := dsn[:at]
	start := 0
	if i := strings.Index(head, "://"); i >= 0 {
		start = i + 3
	}
	if c := strings.Index(head[start:], ":"); c >= 0 {
		return head[:start+c] + ":xxx" + dsn[at:]
	}
	return dsn
}

type discardLogger struct{}

func (discardLogger) Print(...any) {}

// ms is the stored form of a time: Unix milliseconds, the same integer on
// both engines.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}
