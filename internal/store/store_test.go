package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Opening a store twice (and twice at once, as two nodes starting
// together would) applies each migration exactly once and keeps the data.
func TestOpenMigratesOnce(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() {
				s, err := Open(ctx, dsn, Options{})
				if err == nil {
					err = s.Close()
				}
				errs[i] = err
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatalf("concurrent Open: %v", err)
			}
		}
		s := openT(t, dsn, Options{})
		id, err := s.CreateCampaign(ctx, Campaign{Name: "keep", ListPath: "l.tsv"})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = openT(t, dsn, Options{})
		c, err := s.Campaign(ctx, id)
		if err != nil || c.Name != "keep" || c.State != CampaignLoading {
			t.Fatalf("after reopen: %+v %v", c, err)
		}
		var versions, max int
		if err := s.db.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_version`).Scan(&versions, &max); err != nil {
			t.Fatal(err)
		}
		if versions != len(migrations) || max != len(migrations) {
			t.Errorf("schema_version has %d rows up to %d, want %d", versions, max, len(migrations))
		}
	})
}

func TestCampaigns(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		a, err := s.CreateCampaign(ctx, Campaign{Name: "spring", TemplateHash: "h1", ListPath: "a.tsv",
			Options: []byte(`{"rate":10}`)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.CreateCampaign(ctx, Campaign{Name: "summer", ListPath: "b.tsv"})
		if err != nil {
			t.Fatal(err)
		}
		// A second run of the same command must find the first, not start over.
		if _, err := s.CreateCampaign(ctx, Campaign{Name: "spring"}); !errors.Is(err, ErrExists) {
			t.Errorf("duplicate name: %v, want ErrExists", err)
		}
		if err := s.SetCampaignState(ctx, a, CampaignRunning); err != nil {
			t.Fatal(err)
		}
		// Setting the state it has already is not "not found" (MySQL counts changed rows).
		if err := s.SetCampaignState(ctx, a, CampaignRunning); err != nil {
			t.Errorf("same state again: %v", err)
		}
		if err := s.SetCampaignState(ctx, 999999, CampaignDone); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown campaign: %v, want ErrNotFound", err)
		}
		c, err := s.CampaignByName(ctx, "spring")
		if err != nil || c.ID != a || c.State != CampaignRunning || c.TemplateHash != "h1" ||
			string(c.Options) != `{"rate":10}` || time.Since(c.Created) > time.Minute {
			t.Errorf("CampaignByName: %+v %v", c, err)
		}
		if _, err := s.CampaignByName(ctx, "winter"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown name: %v", err)
		}
		list, err := s.ListCampaigns(ctx)
		if err != nil || len(list) != 2 || list[0].ID != b || list[1].ID != a {
			t.Errorf("ListCampaigns: %+v %v (want newest first)", list, err)
		}
	})
}

// Loading a list again after a crash must add only the missing rows and
// never reset one that was already sent.
func TestAddRecipientsIdempotent(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		id, err := s.CreateCampaign(ctx, Campaign{Name: "load"})
		if err != nil {
			t.Fatal(err)
		}
		rows := func(from, to int) []Recipient {
			var rs []Recipient
			for i := from; i <= to; i++ {
				rs = append(rs, Recipient{Row: int64(i), Email: fmt.Sprintf("User%d@Example.JP", i),
					Fields: map[string]string{"name": fmt.Sprint("名前", i)}})
			}
			return rs
		}
		// 1200 rows: more than one INSERT batch.
		if err := s.AddRecipients(ctx, id, rows(1, 1200)); err != nil {
			t.Fatal(err)
		}
		first := recipient(t, s, id, 1)
		if err := s.Finish(ctx, first.ID, result(250, "2.0.0"), 0); err != nil {
			t.Fatal(err)
		}
		again := rows(1, 1500)
		again[0].Email = "changed@example.jp"
		again = append(again, Recipient{Row: 1501, Email: "not an address", State: StateInvalid,
			FinalCode: 800, FinalEnhanced: "5.1.3", FinalText: "malformed address"})
		if err := s.AddRecipients(ctx, id, again); err != nil {
			t.Fatal(err)
		}
		p, err := s.Progress(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[State]int{StateSent: 1, StatePending: 1499, StateInvalid: 1}
		if fmt.Sprint(p) != fmt.Sprint(want) {
			t.Errorf("Progress = %v, want %v", p, want)
		}
		r := recipient(t, s, id, 1)
		if r.Email != "User1@Example.JP" || r.State != StateSent || r.Fields["name"] != "名前1" {
			t.Errorf("row 1 after reload: %+v", r)
		}
		if err := s.AddRecipients(ctx, id, []Recipient{{Row: 9, State: StateSent}}); err == nil {
			t.Error("a new recipient in state sent was accepted")
		}
	})
}

func TestParseDSN(t *testing.T) {
	cases := []struct {
		name, dsn string
		addr, db  string
		user, pw  string
		param     string // a driver parameter that must come through
	}{
		{name: "URL form with port (the config file's form)", dsn: "mysql://root@127.0.0.1:3306/test",
			addr: "127.0.0.1:3306", db: "test", user: "root"},
		{name: "URL form without port defaults to 3306", dsn: "mysql://u:p%40ss@db.example/camp?timeout=3s",
			addr: "db.example:3306", db: "camp", user: "u", pw: "p@ss", param: "timeout"},
		{name: "driver's native form (what .ci/run sets)", dsn: "root@tcp(127.0.0.1:3306)/test",
			addr: "127.0.0.1:3306", db: "test", user: "root"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseMySQLDSN(c.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Addr != c.addr || cfg.DBName != c.db || cfg.User != c.user || cfg.Passwd != c.pw {
				t.Errorf("got addr %q db %q user %q pw %q", cfg.Addr, cfg.DBName, cfg.User, cfg.Passwd)
			}
			if c.param == "timeout" && cfg.Timeout != 3*time.Second {
				t.Errorf("timeout parameter lost: %v", cfg.Timeout)
			}
		})
	}
	if got := redact("mysql://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("redact kept the password: %s", got)
	}
	if got := redact("u:secret@tcp(h)/db"); strings.Contains(got, "secret") {
		t.Errorf("redact kept the password: %s", got)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	newer := filepath.Join(t.TempDir(), "newer.db")
	s := openT(t, "sqlite:"+newer, Options{})
	if _, err := s.db.Exec(`INSERT INTO schema_version (version, applied) VALUES (99, 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cases := []struct {
		name, dsn string
		code      int
		text      string
	}{
		{name: "nothing listens: the server cannot be reached", code: CodeConnection,
			dsn:  fmt.Sprintf("mysql://root@127.0.0.1:%d/test?timeout=2s", closedPort(t)),
			text: "-101 Status database connection failed: "},
		{name: "same, in the driver's native form", code: CodeConnection,
			dsn:  fmt.Sprintf("root@tcp(127.0.0.1:%d)/test", closedPort(t)),
			text: "-101 Status database connection failed: "},
		{name: "a DSN of no known kind", dsn: "postgres://x@y/z", code: CodeInit,
			text: "-100 Status database could not be initialised: "},
		{name: "URL without a database", dsn: "mysql://root@127.0.0.1:3306/", code: CodeInit},
		{name: "embedded file in a directory that does not exist", code: CodeInit,
			dsn: "sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "status.db")},
		{name: "a schema newer than this binary is not touched", dsn: "sqlite:" + newer, code: CodeInit,
			text: "newer than this hikyaku knows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(ctx, c.dsn, Options{})
			if err == nil {
				s.Close()
			}
			e := wantCode(t, err, c.code)
			if !strings.Contains(e.Error(), c.text) {
				t.Errorf("error %q does not contain %q", e.Error(), c.text)
			}
		})
	}
}

// Every update that fails returns -102 and leaves nothing of itself
// behind; the same call succeeds once the cause is gone.
func TestUpdateFailures(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{LockTimeout: time.Second})
		cid, ids := campaignWith(t, s, "fail@example.jp", "locked@example.jp")

		t.Run("fails after the recipient and score were written", func(t *testing.T) {
			// A trigger makes the suppression insert, the last statement of
			// Finish, fail: the earlier writes must roll back with it.
			trigger := `CREATE TRIGGER no_suppress BEFORE INSERT ON suppressions BEGIN SELECT RAISE(ABORT, 'injected'); END`
			if s.Engine() == "mysql" {
				trigger = `CREATE TRIGGER no_suppress BEFORE INSERT ON suppressions FOR EACH ROW
					SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected'`
			}
			if _, err := s.db.Exec(trigger); err != nil {
				t.Fatal(err)
			}
			err := s.Finish(ctx, ids[0], result(550, "5.1.1"), 10)
			e := wantCode(t, err, CodeUpdate)
			if !strings.HasPrefix(e.Error(), "-102 Status database update failed: ") {
				t.Errorf("text %q", e.Error())
			}
			if r := recipient(t, s, cid, 1); r.State != StatePending || r.FinalCode != 0 {
				t.Errorf("recipient half-finished: %+v", r)
			}
			if sc, _ := s.Score(ctx, "fail@example.jp"); sc != 0 {
				t.Errorf("score %v survived the rollback", sc)
			}
			if _, err := s.db.Exec(`DROP TRIGGER no_suppress`); err != nil {
				t.Fatal(err)
			}
			if err := s.Finish(ctx, ids[0], result(550, "5.1.1"), 10); err != nil {
				t.Fatalf("retry after the cause is gone: %v", err)
			}
			if sup, _ := s.Suppressed(ctx, "fail@example.jp"); !sup {
				t.Error("retry did not suppress")
			}
		})

		t.Run("another process holds the lock past the timeout", func(t *testing.T) {
			other, release := holdLock(t, s, ids[1])
			defer other.Close()
			start := time.Now()
			err := s.Finish(ctx, ids[1], result(250, "2.0.0"), 0)
			wantCode(t, err, CodeUpdate)
			if d := time.Since(start); d < 500*time.Millisecond || d > 20*time.Second {
				t.Errorf("gave up after %v; the lock timeout is 1s", d)
			}
			release()
			if err := s.Finish(ctx, ids[1], result(250, "2.0.0"), 0); err != nil {
				t.Fatalf("retry after the lock is gone: %v", err)
			}
		})

		t.Run("closed store", func(t *testing.T) {
			s2 := openT(t, dsn, Options{})
			s2.Close()
			wantCode(t, s2.Finish(ctx, ids[0], result(250, ""), 0), CodeUpdate)
			_, err := s2.Score(ctx, "x@example.jp")
			wantCode(t, err, CodeConnection)
		})
	})
}

// holdLock opens a second connection, as another process would, and holds
// a write lock that covers recipient id until release is called.
func holdLock(t *testing.T, s *Store, id int64) (*sql.Conn, func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := s.db.Conn(ctx)
	if s.Engine() == "sqlite" {
		// The store's pool has one connection; another process is another
		// handle on the same file.
		var path string
		if err == nil {
			err = conn.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path)
			conn.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", path+"?_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		conn, err = db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var st string
	if err := tx.QueryRowContext(ctx, `SELECT state FROM recipients WHERE id = ?`+s.d.rowLock, id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return conn, func() { tx.Rollback() }
}
