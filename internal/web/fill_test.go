package web

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/store"
)

// fillCampaign makes a campaign of n rows straight in the store's tables
// with INSERT … SELECT over a cross join of a 1,000-row number table: a
// million rows in seconds, where the store's own loader (one statement per
// 500 rows, JSON fields, a sync a batch) would take minutes. The rows
// follow a fixed pattern by row number, so a test can say what every count
// must be:
//
//	x%10 in 0..6  sent, 250 2.0.0, reason delivered
//	x%10 == 7     failed, 550 5.1.1 userunknown (its address scored 10, suppressed)
//	x%10 == 8     failed, 452 4.2.2 mailboxfull (scored 1)
//	x%10 == 9     pending, no final yet
//
// domain d{x%200}.test, MX mx{x%50}.test, one attempt per row with a final
// (at = start + x ms).
func fillCampaign(tb testing.TB, dsn string, s *store.Store, name string, n int, start time.Time) int64 {
	tb.Helper()
	ctx := context.Background()
	cid, err := s.CreateCampaign(ctx, store.Campaign{Name: name, ListPath: "list.tsv", Options: []byte(`{}`), State: store.CampaignRunning})
	if err != nil {
		tb.Fatal(err)
	}
	driver, src := "sqlite", strings.TrimPrefix(dsn, "sqlite:")
	if !strings.HasPrefix(dsn, "sqlite:") {
		driver, src = "mysql", dsn
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	cat := func(parts ...string) string {
		if driver == "sqlite" {
			return "(" + strings.Join(parts, " || ") + ")"
		}
		return "CONCAT(" + strings.Join(parts, ", ") + ")"
	}
	x := "(a.n * 1000 + b.n + 1)"
	email := cat("'u'", x, "'@d'", "("+x+" % 200)", "'.test'")
	stmts := []string{
		`DROP TABLE IF EXISTS fill_n`,
		`CREATE TABLE fill_n (n INTEGER NOT NULL PRIMARY KEY)`,
	}
	var vals []string
	for i := 0; i < 1000; i++ {
		vals = append(vals, fmt.Sprintf("(%d)", i))
	}
	stmts = append(stmts, `INSERT INTO fill_n (n) VALUES `+strings.Join(vals, ","))
	stmts = append(stmts, fmt.Sprintf(`INSERT INTO recipients (campaign_id, row_no, email, addr, domain, fields, state,
		owner, lease_until, final_code, final_enhanced, final_text, attempts, dot_at, final_async, final_reason)
		SELECT %d, %s, %s, %s, %s, '{}',
		CASE WHEN %s %% 10 < 7 THEN 'sent' WHEN %s %% 10 < 9 THEN 'failed' ELSE 'pending' END,
		'', 0,
		CASE WHEN %s %% 10 < 7 THEN 250 WHEN %s %% 10 = 7 THEN 550 WHEN %s %% 10 = 8 THEN 452 ELSE 0 END,
		CASE WHEN %s %% 10 < 7 THEN '2.0.0' WHEN %s %% 10 = 7 THEN '5.1.1' WHEN %s %% 10 = 8 THEN '4.2.2' ELSE '' END,
		CASE WHEN %s %% 10 < 9 THEN 'text' ELSE '' END,
		CASE WHEN %s %% 10 < 9 THEN 1 ELSE 0 END, 0, 0,
		CASE WHEN %s %% 10 = 7 THEN 'userunknown' WHEN %s %% 10 = 8 THEN 'mailboxfull' ELSE '' END
		FROM fill_n a CROSS JOIN fill_n b WHERE %s <= %d`,
		cid, x, email, email, cat("'d'", "("+x+" % 200)", "'.test'"),
		x, x, x, x, x, x, x, x, x, x, x, x, x, n))
	stmts = append(stmts, fmt.Sprintf(`INSERT INTO attempts (campaign_id, recipient_id, at, code, enhanced, reply,
		mx_host, ip, phase, duration_ms)
		SELECT campaign_id, id, %d + row_no, final_code, final_enhanced, 'text', %s, '192.0.2.1', 5, 10
		FROM recipients WHERE campaign_id = %d AND final_code <> 0`,
		start.UnixMilli(), cat("'mx'", "(row_no % 50)", "'.test'"), cid))
	stmts = append(stmts, fmt.Sprintf(`INSERT INTO scores (address, score, last_code, updated)
		SELECT addr, CASE WHEN final_code = 550 THEN 10 ELSE 1 END, final_code, %d
		FROM recipients WHERE campaign_id = %d AND state = 'failed'`, start.UnixMilli(), cid))
	stmts = append(stmts, fmt.Sprintf(`INSERT INTO suppressions (address, reason, since)
		SELECT addr, 'score', %d FROM recipients WHERE campaign_id = %d AND final_code = 550`,
		time.Now().Add(time.Minute).UnixMilli(), cid)) // after the campaign's creation: SuppressedBy counts them
	stmts = append(stmts, `DROP TABLE fill_n`)
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			tb.Fatalf("%v\n%s", err, q)
		}
	}
	if driver == "sqlite" {
		if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
			tb.Fatal(err)
		}
	} else {
		for _, t := range []string{"recipients", "attempts", "scores", "suppressions"} {
			if _, err := db.ExecContext(ctx, `ANALYZE TABLE `+t); err != nil {
				tb.Fatal(err)
			}
		}
	}
	// The rows went around the store: its counts are made from them.
	if err := s.Recount(ctx, cid); err != nil {
		tb.Fatal(err)
	}
	return cid
}
