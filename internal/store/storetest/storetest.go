package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// Env names the MySQL/MariaDB server of the tests.
const Env = "HIKYAKU_TEST_MYSQL_DSN"

// Engine opens fresh stores of one kind.
type Engine struct {
	Name  string
	Fresh func(tb testing.TB) string // the DSN of a new empty store
}

// Engines are SQLite and MySQL; MySQL's Fresh skips the test when Env is
// unset.
func Engines() []Engine {
	return []Engine{
		{Name: "sqlite", Fresh: func(tb testing.TB) string { return "sqlite:" + filepath.Join(tb.TempDir(), "status.db") }},
		{Name: "mysql", Fresh: FreshMySQL},
	}
}

// ForEngines runs fn once per engine as a subtest.
func ForEngines(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Fresh(t)) })
	}
}

// FreshMySQL creates database hikyaku_test_<random> on the server of Env
// and drops it when the test ends.
func FreshMySQL(tb testing.TB) string {
	base := os.Getenv(Env)
	if base == "" {
		tb.Skipf("%s not set: MySQL/MariaDB tests skipped (locally: %s='root@tcp(127.0.0.1:3306)/test')", Env, Env)
	}
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		tb.Fatalf("%s: %v", Env, err)
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
