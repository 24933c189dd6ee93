// Package store owns the status store of bulk campaigns (docs/spec.md §4, §5): the
// campaigns, their recipients and each recipient's claim and final outcome,
// every delivery attempt, the per-address error score and the suppression
// list. It owns the schema and its migrations, and it is the only code that
// writes those tables; the campaign runner, the workers on other nodes,
// the bounce intake, the reports (internal/report) and the dashboard
// (internal/web) go through it.
//
// Two engines hold the same logical schema: an embedded SQLite file
// (modernc.org/sqlite, pure Go, nothing to install) by default, and
// MySQL/MariaDB (github.com/go-sql-driver/mysql) when several nodes share
// one campaign. The engine differences live in dialect.go. The embedded
// file is meant for one sending process (any number of goroutines, each
// claiming under its own owner name); other processes may read it while
// it runs. Several sending nodes share MySQL/MariaDB.
//
// Writes are cheapest in batches: FinishBatch and RecordAttempt(…) commit
// many outcomes with one disk sync and a few statements (BenchmarkFinish).
//
// Errors carry the system codes of docs/spec.md §4.4 as *codes.SystemError
// (store.Error is the same type): -100 the store could not be initialised
// (opened, created or migrated), -101 it could not be reached (or a read
// failed), -102 an update failed. Every update runs in one transaction, so a
// -102 leaves nothing half-done: the caller pauses and retries the same
// call, or stops and resumes later, and nothing is lost or counted twice.
package store
