package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migrations is the schema's history: version i+1 is migrations[i]. A
// released version is never edited; a change is a new entry. Column types
// are tokens the dialect fills ({id}, {name}, {addr}, {short}, {text});
// times are Unix milliseconds and weights integer tenths on both engines.
var migrations = [][]string{
	{
		`CREATE TABLE IF NOT EXISTS campaigns (
			id {id},
			name {name} NOT NULL,
			created BIGINT NOT NULL,
			template_hash {name} NOT NULL,
			list_path {text} NOT NULL,
			options {text} NOT NULL,
			state {short} NOT NULL
		)`,
		`CREATE UNIQUE INDEX campaigns_name ON campaigns (name)`,

		// One row per list row. addr is the lower-cased address that scores
		// and suppressions are keyed by; domain feeds the per-domain report.
		`CREATE TABLE IF NOT EXISTS recipients (
			id {id},
			campaign_id BIGINT NOT NULL,
			row_no BIGINT NOT NULL,
			email {addr} NOT NULL,
			addr {addr} NOT NULL,
			domain {name} NOT NULL,
			fields {text} NOT NULL,
			state {short} NOT NULL,
			owner {name} NOT NULL,
			lease_until BIGINT NOT NULL,
			final_code INTEGER NOT NULL,
			final_enhanced {short} NOT NULL,
			final_text {text} NOT NULL,
			attempts INTEGER NOT NULL
		)`,
		// Makes a resumed load idempotent, and pages the export.
		`CREATE UNIQUE INDEX recipients_row ON recipients (campaign_id, row_no)`,
		// The claim query: pending rows in list order, and the few claimed
		// rows whose lease may have run out.
		`CREATE INDEX recipients_claim ON recipients (campaign_id, state, row_no)`,

		`CREATE TABLE IF NOT EXISTS attempts (
			id {id},
			campaign_id BIGINT NOT NULL,
			recipient_id BIGINT NOT NULL,
			at BIGINT NOT NULL,
			code INTEGER NOT NULL,
			enhanced {short} NOT NULL,
			reply {text} NOT NULL,
			mx_host {name} NOT NULL,
			ip {name} NOT NULL,
			phase INTEGER NOT NULL,
			duration_ms BIGINT NOT NULL
		)`,
		`CREATE INDEX attempts_recipient ON attempts (recipient_id)`,
		`CREATE INDEX attempts_time ON attempts (campaign_id, at)`,

		`CREATE TABLE IF NOT EXISTS scores (
			address {addr} NOT NULL PRIMARY KEY,
			score INTEGER NOT NULL,
			last_code INTEGER NOT NULL,
			updated BIGINT NOT NULL
		)`,

		`CREATE TABLE IF NOT EXISTS suppressions (
			address {addr} NOT NULL PRIMARY KEY,
			reason {text} NOT NULL,
			since BIGINT NOT NULL
		)`,
	},
	{
		// When the final dot of the recipient's current attempt was about
		// to go out (0: not now). A recipient claimed again with this set
		// was left by a run that died waiting for the reply: it may have
		// been delivered, and is not sent again.
		`ALTER TABLE recipients ADD COLUMN dot_at BIGINT NOT NULL DEFAULT 0`,
	},
	{
		// Bounce reading (issue 12, bounce.go). final_async: the final
		// outcome came from a bounce mail after the session (1), not from
		// the session itself (0). final_reason: the final's reason name
		// (the bounce's, or the session result's; '' when none was known).
		`ALTER TABLE recipients ADD COLUMN final_async INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE recipients ADD COLUMN final_reason {name} NOT NULL DEFAULT ''`,
		// Every bounce read for a recipient, the history beside attempts.
		// bounce_key makes recording idempotent; counted marks the one
		// bounce, if any, whose weight went into the address's score.
		`CREATE TABLE IF NOT EXISTS bounces (
			id {id},
			campaign_id BIGINT NOT NULL,
			recipient_id BIGINT NOT NULL,
			bounce_key {addr} NOT NULL,
			at BIGINT NOT NULL,
			code INTEGER NOT NULL,
			enhanced {short} NOT NULL,
			reply {text} NOT NULL,
			reason {name} NOT NULL,
			blame {short} NOT NULL,
			final_rcpt {addr} NOT NULL,
			original_rcpt {addr} NOT NULL,
			complaint INTEGER NOT NULL,
			counted INTEGER NOT NULL,
			outcome {short} NOT NULL
		)`,
		`CREATE UNIQUE INDEX bounces_key ON bounces (recipient_id, bounce_key)`,
		`CREATE INDEX bounces_campaign ON bounces (campaign_id, reason)`,
	},
	{
		// The dashboard's history of one address across campaigns
		// (dashboard.go). addr never changes after the load, so the
		// index costs the load one entry a row and the sends nothing.
		`CREATE INDEX recipients_addr ON recipients (addr)`,
	},
	{
		// Each campaign's recipients counted by group, kept as they move
		// (counts.go), so that the dashboard reads a campaign's results
		// without walking its rows. Filled here from the rows there are;
		// the DELETE first makes the fill safe to repeat on MySQL, where
		// the CREATEs commit by themselves and the fill may run twice.
		`CREATE TABLE IF NOT EXISTS campaign_counts (
			campaign_id BIGINT NOT NULL,
			state {short} NOT NULL,
			domain {name} NOT NULL,
			final_code INTEGER NOT NULL,
			final_enhanced {short} NOT NULL,
			final_reason {name} NOT NULL,
			final_async INTEGER NOT NULL,
			n BIGINT NOT NULL
		)`,
		`CREATE UNIQUE INDEX campaign_counts_key ON campaign_counts
			(campaign_id, state, domain, final_code, final_enhanced, final_reason, final_async)`,
		`DELETE FROM campaign_counts`,
		`INSERT INTO campaign_counts (` + countCols + `) ` + groupedRecipients,
	},
	{
		// Each campaign's attempts counted by MX host and code, kept as
		// they are recorded (counts.go): the dashboard's by-MX table and
		// attempt count without walking the attempts. Filled as version 5.
		`CREATE TABLE IF NOT EXISTS campaign_attempt_counts (
			campaign_id BIGINT NOT NULL,
			mx_host {name} NOT NULL,
			code INTEGER NOT NULL,
			n BIGINT NOT NULL
		)`,
		`CREATE UNIQUE INDEX campaign_attempt_counts_key ON campaign_attempt_counts (campaign_id, mx_host, code)`,
		`DELETE FROM campaign_attempt_counts`,
		`INSERT INTO campaign_attempt_counts (campaign_id, mx_host, code, n) ` + groupedAttempts,
	},
}

// migrate brings the schema to len(migrations). Each version is applied in
// one transaction with its version row. SQLite's DDL is transactional;
// MySQL commits each DDL statement by itself, so there every statement is
// written to succeed when repeated, and a named lock keeps two nodes from
// migrating at once.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return &Error{Code: CodeConnection, Err: err}
	}
	defer conn.Close()
	if s.d == mysqlDialect {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK('hikyaku_store_migrate', 60)`).Scan(&got); err != nil {
			return err
		}
		if got.Int64 != 1 {
			return fmt.Errorf("another node holds the migration lock for over 60s")
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT RELEASE_LOCK('hikyaku_store_migrate')`)
	}
	if _, err := conn.ExecContext(ctx, s.ddl(`CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER NOT NULL PRIMARY KEY,
		applied BIGINT NOT NULL
	)`)); err != nil {
		return fmt.Errorf("creating schema_version: %w", err)
	}
	for {
		var have int
		if err := conn.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this hikyaku knows (%d)", have, len(migrations))
		}
		if have == len(migrations) {
			return nil
		}
		if err := s.applyMigration(ctx, conn, have+1); err != nil {
			return fmt.Errorf("schema version %d: %w", have+1, err)
		}
	}
}

func (s *Store) applyMigration(ctx context.Context, conn *sql.Conn, version int) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Another process may have applied it between our read and BEGIN
	// (SQLite's BEGIN IMMEDIATE waits for it; MySQL's named lock excludes it).
	var done int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version WHERE version = ?`, version).Scan(&done); err != nil {
		return err
	}
	if done > 0 {
		return tx.Commit()
	}
	for _, stmt := range migrations[version-1] {
		if _, err := tx.ExecContext(ctx, s.ddl(stmt)); err != nil && !s.d.ignorableDDL(err) {
			return fmt.Errorf("%w\n%s", err, s.ddl(stmt))
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied) VALUES (?, ?)`,
		version, ms(s.now())); err != nil {
		return err
	}
	return tx.Commit()
}

// ddl turns a schema statement into the engine's text.
func (s *Store) ddl(stmt string) string {
	out := s.d.types.Replace(stmt)
	if strings.HasPrefix(out, "CREATE TABLE") {
		out += s.d.tableOptions
	}
	if s.d.indexIfNotExists {
		out = strings.Replace(out, "CREATE UNIQUE INDEX ", "CREATE UNIQUE INDEX IF NOT EXISTS ", 1)
		out = strings.Replace(out, "CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
	}
	return out
}
