// Package intake owns taking in the mail that comes back to campaigns
// (issue 12): it tells the receiver at RCPT which addresses are bounce
// addresses (signed VERP addresses of rows that exist, at
// campaign.return_path_domain, and the feedback-loop complaint
// addresses), keeps every such mail durably in a Maildir
// (data_dir/bounces) before it reads it, reads it with the bounce reader
// (internal/bounce) and records each bounced recipient in the status
// store (internal/store) against its campaign row.
//
// Nothing is lost: a mail is durable in the intake's journal
// (journal.go: one append and one fdatasync per batch the router hands
// over) before the spool record is reclaimed, and its file in new/,
// written without a sync, is synced (one syncfs a second) before the
// journal forgets it; it leaves new/ (for cur/, flag S) only once every
// recipient it names is recorded. Deliver hands each mail to the readers
// with its contents, so new/ is listed only at start and on retries. The
// readers hand what they read to one recorder, which records the results
// of many mails in one store transaction (a store with RecordBounces:
// BatchStore); a finisher moves each mail of the batch only after that
// transaction committed. A mail the store cannot take now stays
// in new/ and is read again at start and every Options.Retry; a mail the
// reader cannot make sense of is recorded as -501. Recording is
// idempotent (the key is the SHA-256 of the mail as its sender sent it
// and the recipient), so a replay after a crash, the same mail read
// twice, or `hikyaku bounce import` of a mail serve already took changes
// nothing.
package intake
