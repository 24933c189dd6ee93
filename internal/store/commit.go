package store

import (
	"context"
	"database/sql"
)

// Batch is what a campaign runner's group commit writes at once: final
// dots about to go out, attempts, and final outcomes.
type Batch struct {
	Dots     []int64 // recipients whose final dot is about to be sent (see MarkDot)
	Attempts []Attempt
	Finals   []Final
}

// Commit writes a Batch in one transaction, one disk sync for all of it:
// MarkDot, RecordAttempt and FinishBatch together. finished counts the
// finals written (recipients already finished are skipped, as in
// FinishBatch). On error nothing of the batch is written.
func (s *Store) Commit(ctx context.Context, b Batch) (finished int, err error) {
	err = s.update(ctx, nil, func(tx *sql.Tx) error {
		finished = 0
		now, moved := s.now(), countDelta{}
		for start := 0; start < len(b.Dots); start += chunk {
			ids := b.Dots[start:min(start+chunk, len(b.Dots))]
			if err := s.setState(ctx, tx, ids, `dot_at = ?`, ms(now)); err != nil {
				return err
			}
		}
		for start := 0; start < len(b.Attempts); start += chunk {
			if err := s.recordChunk(ctx, tx, b.Attempts[start:min(start+chunk, len(b.Attempts))], now); err != nil {
				return err
			}
		}
		for start := 0; start < len(b.Finals); start += chunk {
			n, err := s.finishChunk(ctx, tx, b.Finals[start:min(start+chunk, len(b.Finals))], now, moved)
			if err != nil {
				return err
			}
			finished += n
		}
		return s.addCounts(ctx, tx, moved)
	})
	if err != nil {
		finished = 0
	}
	return finished, err
}

// MarkDot records that the final dot of each recipient's current attempt
// is about to go out. From then until the attempt is recorded, the
// outcome is out of the sender's hands: a worker that claims such a
// recipient after a crash finds Recipient.DotAt set and must treat it as
// possibly delivered rather than send it again.
func (s *Store) MarkDot(ctx context.Context, ids ...int64) error {
	_, err := s.Commit(ctx, Batch{Dots: ids})
	return err
}
