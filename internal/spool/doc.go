// Package spool owns the durable intake log: the one place where an accepted
// message is written to stable storage before the receiver answers 250
// (docs/spec.md §2, last paragraph; docs/conventions.md habit 9). Nothing else in hikyaku writes or reads
// the spool format.
//
// # Format
//
// The spool directory holds append-only segment files named
// seg-<16 hex digits>.log. Each record is a 20-octet header
//
//	"HKSP" | version (1 octet) | 3 reserved octets | body length (uint32 LE) |
//	CRC32C of the body (uint32 LE) | CRC32C of the previous 16 octets (uint32 LE)
//
// followed by the body: the envelope as one JSON line (so `less seg-*.log`
// shows who sent what to whom, docs/conventions.md habit 11) and then the message octets exactly as
// stored. The header has its own checksum so a damaged length is never
// trusted: recovery can tell a torn tail from damage in the middle.
//
// # Durability
//
// Commit hands the encoded record to a single writer goroutine. The writer
// appends every record queued so far with one pwritev, runs one fdatasync for
// the whole batch, and only then wakes the waiting Commits. Sessions that
// commit while an fdatasync is running queue up and share the next one (group
// commit), so durability costs one disk flush per batch, not per message. A
// new segment's directory entry is fsynced before any record in it is
// acknowledged.
//
// A failed write is cut back (ftruncate + fsync) to the last acknowledged
// offset, so no half record is ever followed by later records; if that fails
// too, the segment is abandoned and the next batch opens a new one. A failed
// fdatasync fails the whole batch and abandons the segment: after such an
// error the page cache can no longer be trusted (fsyncgate), so nothing
// written before it is acknowledged unless a later fdatasync on a new file
// succeeds. Running out of space is reported as ErrNoSpace.
//
// # Recovery and the Done contract
//
// Done marks live in memory only. Open returns every valid record of every
// segment as pending, including messages that were reported Done before the
// restart but whose segment had not been deleted yet. CONSUMERS MUST BE
// IDEMPOTENT BY QUEUE ID: receiving a pending message whose ID is already
// queued or delivered must be a no-op. A Commit that failed or was cancelled
// may also come back as pending (it reached the disk before the error); that
// is a duplicate the sender may resend, never a loss.
//
// The spool is an intake log, not the queue: consumers take pending messages
// into their own storage and call Done soon after, so Open can return every
// pending message, data included, in memory.
//
// On Open, a damaged tail of the newest segment (short record, bad checksum,
// zeros) is truncated and logged: only the batch being written at the crash
// can be there, and it was never acknowledged. Any other damage (in the middle
// of a segment, or at the tail of an older segment, which was synced before
// its successor was created) is quarantined: the readable records are copied
// into a fresh segment and synced, then the damaged file is renamed
// seg-<seq>.log.broken and kept for a person to inspect (maddy's
// ".meta_broken" habit), instead of stopping the server.
//
// A sealed segment (full, older than Options.SegmentAge, or abandoned after
// an error) is deleted once every record in it is Done. Only one process may
// use a spool directory at a time (flock on <dir>/lock).
package spool
