package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hikyaku/hikyaku/internal/outcome"
)

const mysqlEnv = "HIKYAKU_TEST_MYSQL_DSN"

// engine opens fresh, empty stores of one kind. Every test runs once per
// engine: SQLite always, MariaDB when HIKYAKU_TEST_MYSQL_DSN is set.
type engine struct {
	name string
	// fresh returns the DSN of a new empty database, removed after the test.
	fresh func(tb testing.TB) string
}

func engines() []engine {
	return []engine{
		{name: "sqlite", fresh: func(tb testing.TB) string {
			return "sqlite:" + filepath.Join(tb.TempDir(), "status.db")
		}},
		{name: "mysql", fresh: freshMySQL},
	}
}

// forEngines runs fn as a subtest per engine.
func forEngines(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) { fn(t, e.fresh(t)) })
	}
}

// freshMySQL creates database hikyaku_test_<random> on the server named by
// HIKYAKU_TEST_MYSQL_DSN and drops it when the test ends, so runs never see
// each other's rows and leave nothing behind.
func freshMySQL(tb testing.TB) string {
	base := os.Getenv(mysqlEnv)
	if base == "" {
		tb.Skipf("%s not set: MySQL/MariaDB store tests skipped (locally: %s='root@tcp(127.0.0.1:3306)/test')", mysqlEnv, mysqlEnv)
	}
	cfg, err := parseMySQLDSN(base)
	if err != nil {
		tb.Fatalf("%s: %v", mysqlEnv, err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatal(err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "hikyaku_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		admin.Close()
		tb.Fatalf("creating test database on %s: %v", base, err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			tb.Errorf("dropping %s: %v", name, err)
		}
		admin.Close()
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

func openT(tb testing.TB, dsn string, opt Options) *Store {
	tb.Helper()
	s, err := Open(context.Background(), dsn, opt)
	if err != nil {
		tb.Fatalf("Open(%s): %v", dsn, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// campaignWith creates a campaign with one recipient per address (rows
// 1…n) and returns its id and the recipients' ids in row order.
func campaignWith(tb testing.TB, s *Store, addrs ...string) (int64, []int64) {
	tb.Helper()
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	id, err := s.CreateCampaign(ctx, Campaign{Name: "c-" + hex.EncodeToString(b[:]), ListPath: "list.tsv"})
	if err != nil {
		tb.Fatal(err)
	}
	rs := make([]Recipient, len(addrs))
	for i, a := range addrs {
		rs[i] = Recipient{Row: int64(i + 1), Email: a, Fields: map[string]string{"name": fmt.Sprint("n", i+1)}}
	}
	if err := s.AddRecipients(ctx, id, rs); err != nil {
		tb.Fatal(err)
	}
	var ids []int64
	for after := int64(0); ; {
		page, err := s.Recipients(ctx, id, after, 1000)
		if err != nil {
			tb.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			ids = append(ids, r.ID)
			after = r.Row
		}
	}
	if len(ids) != len(addrs) {
		tb.Fatalf("campaign has %d recipients, want %d", len(ids), len(addrs))
	}
	return id, ids
}

func recipient(tb testing.TB, s *Store, campaignID, row int64) Recipient {
	tb.Helper()
	rs, err := s.Recipients(context.Background(), campaignID, row-1, 1)
	if err != nil || len(rs) != 1 || rs[0].Row != row {
		tb.Fatalf("recipient row %d: %v %v", row, rs, err)
	}
	return rs[0]
}

func result(code int, enhanced string) outcome.Result {
	return outcome.Result{Code: code, Enhanced: enhanced, Text: fmt.Sprintf("%d %s test reply", code, enhanced)}
}

func wantCode(tb testing.TB, err error, code int) *Error {
	tb.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		tb.Fatalf("error %v (%T), want *Error with code %d", err, err, code)
	}
	return e
}
