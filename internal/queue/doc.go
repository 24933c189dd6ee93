// Package queue owns what happens to a message after the spool made it
// durable: the Router hands each one to its local mailboxes, to the
// bounce intake (recipients at bounce and complaint addresses, through
// RouterOptions.Intake) and to the relay queue, then tells the spool it
// may reclaim the record; the Store keeps the relay queue (a SQLite
// database, queue/queue.db, each message's envelope and per-recipient
// status as JSON) that internal/delivery works through.
package queue
