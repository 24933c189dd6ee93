package store

import (
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// dialect is everything that differs between the engines. The rest of the
// package writes one SQL text for both.
type dialect struct {
	name string
	// types fills the column-type tokens of the schema in migrate.go.
	types *strings.Replacer
	// tableOptions ends every CREATE TABLE.
	tableOptions string
	// indexIfNotExists: the engine has CREATE INDEX IF NOT EXISTS. MySQL
	// has not (MariaDB has); there, "duplicate key name" is ignored instead.
	indexIfNotExists bool
	// claimLock ends the claim SELECT: MySQL locks the rows and skips those
	// another node is claiming; SQLite's write lock, taken at BEGIN, already
	// excludes every other writer.
	claimLock string
	// claimIndex follows "FROM recipients" in the claim SELECTs. MariaDB
	// otherwise picks recipients_row on campaign_id alone and filters
	// row_no > front row by row, so each claim walked every row already
	// sent (measured: 42-54 ms a claim 300,000 rows into a list, 0.20 ms
	// with the hint; sends fell from ~1900/s to ~1100/s over a 400k run).
	claimIndex string
	// rowLock ends a SELECT of a row the transaction then updates.
	rowLock string
	// addScore ends a multi-row INSERT INTO scores (address, score,
	// last_code, updated): an address that has a row gets the score added
	// to it instead.
	addScore string
	// addCount ends a multi-row INSERT INTO campaign_counts: a group that
	// has a row gets n added to it instead.
	addCount string
	// addAttemptCount is addCount for campaign_attempt_counts.
	addAttemptCount string
	// ignoreDuplicate ends an INSERT that is a no-op when the key exists;
	// %s is the key column it may name.
	ignoreDuplicate func(keyCol string) string
	// intDiv is integer division of two integer expressions.
	intDiv string
	// retryable says a failed transaction was rolled back by the engine to
	// break a deadlock and may run again at once.
	retryable func(error) bool
	// ignorableDDL says a migration statement failed only because what it
	// creates exists already.
	ignorableDDL func(error) bool
	// rowAtATime: updating many rows is cheaper as one prepared one-row
	// statement run per row than as one statement naming them all. So it
	// is in SQLite, in process, where a statement built for its batch
	// costs more to prepare than the rows to update (measured: preparing
	// was a third of a campaign's commits); not with a server, where each
	// statement is a round trip.
	rowAtATime bool
}

var sqliteDialect = &dialect{
	name: "sqlite",
	types: strings.NewReplacer(
		"{id}", "INTEGER PRIMARY KEY", // the rowid: no separate index
		"{name}", "TEXT",
		"{addr}", "TEXT",
		"{short}", "TEXT",
		"{text}", "TEXT",
	),
	indexIfNotExists: true,
	addScore: ` ON CONFLICT (address) DO UPDATE SET score = scores.score + excluded.score,
		last_code = excluded.last_code, updated = excluded.updated`,
	addCount: ` ON CONFLICT (campaign_id, state, domain, final_code, final_enhanced, final_reason, final_async)
		DO UPDATE SET n = campaign_counts.n + excluded.n`,
	addAttemptCount: ` ON CONFLICT (campaign_id, mx_host, code) DO UPDATE SET n = campaign_attempt_counts.n + excluded.n`,
	ignoreDuplicate: func(string) string { return " ON CONFLICT DO NOTHING" },
	intDiv:          "/",
	retryable:       func(error) bool { return false },
	ignorableDDL:    func(error) bool { return false },
	rowAtATime:      true,
}

var mysqlDialect = &dialect{
	name: "mysql",
	types: strings.NewReplacer(
		"{id}", "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
		"{name}", "VARCHAR(255)",
		// Addresses compare byte for byte: the store lower-cases them
		// itself, and a case-insensitive collation would fold more than Go.
		"{addr}", "VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
		"{short}", "VARCHAR(32)",
		"{text}", "MEDIUMTEXT",
	),
	tableOptions: " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
	claimLock:    " FOR UPDATE SKIP LOCKED",
	claimIndex:   " FORCE INDEX (recipients_claim)",
	rowLock:      " FOR UPDATE",
	addScore: ` ON DUPLICATE KEY UPDATE score = score + VALUES(score),
		last_code = VALUES(last_code), updated = VALUES(updated)`,
	addCount:        ` ON DUPLICATE KEY UPDATE n = n + VALUES(n)`,
	addAttemptCount: ` ON DUPLICATE KEY UPDATE n = n + VALUES(n)`,
	ignoreDuplicate: func(key string) string { return " ON DUPLICATE KEY UPDATE " + key + " = " + key },
	intDiv:          "DIV",
	retryable:       func(err error) bool { return mysqlErrno(err) == 1213 }, // ER_LOCK_DEADLOCK
	ignorableDDL: func(err error) bool {
		n := mysqlErrno(err)
		return n == 1050 || n == 1060 || n == 1061 // table exists, duplicate column name, duplicate key name
	},
}

func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}
