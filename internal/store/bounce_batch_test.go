package store

import (
	"context"
	"testing"
)

// One RecordBounces batch holding the same Key twice, a Key recorded by an
// earlier call, two bounces of one row and rows that do not exist: each
// bounce is counted once, in order, as one call at a time would.
func TestRecordBouncesDuplicates(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		cid, ids := campaignWith(t, s, "a@example.jp", "b@example.jp", "c@example.jp")
		camp, _ := s.Campaign(ctx, cid)
		for _, id := range ids {
			if err := s.Finish(ctx, id, result(250, "2.0.0"), 0); err != nil {
				t.Fatal(err)
			}
		}
		on := func(row int64, b Bounce) Bounce { b.Campaign, b.Row = camp.Name, row; return b }
		unknown := bounceOf(550, "5.1.1", "userunknown", "recipient", "dsn-1")
		// Recorded before the batch: row 3's bounce.
		if got, err := s.RecordBounce(ctx, on(3, unknown)); err != nil || got != BounceRecorded {
			t.Fatalf("earlier bounce: %q, %v", got, err)
		}
		batch := []Bounce{
			on(1, unknown), // new
			on(3, unknown), // recorded by the earlier call
			on(1, unknown), // earlier in this batch
			on(2, bounceOf(552, "5.2.2", "mailboxfull", "recipient", "dsn-2")),
			on(2, unknown), // another key for row 2: kept, not counted again
			on(2, bounceOf(552, "5.2.2", "mailboxfull", "recipient", "dsn-2")), // row 2's first, again
			on(9, unknown), // no such row
			{Campaign: "no-such", Row: 1, Key: "dsn-1", Code: 550},
			on(1, unknown), // a third time
		}
		want := []BounceOutcome{BounceRecorded, BounceDuplicate, BounceDuplicate, BounceRecorded, BounceNoted,
			BounceDuplicate, BounceNoRow, BounceNoRow, BounceDuplicate}
		got, err := s.RecordBounces(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("bounce %d (row %d key %s): %q, want %q", i, batch[i].Row, batch[i].Key, got[i], want[i])
			}
		}
		for _, c := range []struct {
			addr  string
			score int
		}{{"a@example.jp", 10}, {"b@example.jp", 1}, {"c@example.jp", 10}} {
			if score, err := s.Score(ctx, c.addr); err != nil || int(score) != c.score {
				t.Errorf("%s: score %v, %v; want %d tenths, counted once", c.addr, score, err, c.score)
			}
		}
		for i, c := range []struct{ history, final int }{{1, 550}, {2, 552}, {1, 550}} {
			r := recipient(t, s, cid, int64(i+1))
			if r.FinalCode != c.final || !r.FinalAsync {
				t.Errorf("row %d: final %d async %v; want %d async", i+1, r.FinalCode, r.FinalAsync, c.final)
			}
			if hist, err := s.Bounces(ctx, ids[i]); err != nil || len(hist) != c.history {
				t.Errorf("row %d: history %d, %v; want %d", i+1, len(hist), err, c.history)
			}
		}
		// The whole batch again: every bounce a duplicate or norow, nothing moves.
		again, err := s.RecordBounces(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range again {
			w := BounceDuplicate
			if want[i] == BounceNoRow {
				w = BounceNoRow
			}
			if o != w {
				t.Errorf("batch again, bounce %d: %q", i, o)
			}
		}
		if score, _ := s.Score(ctx, "a@example.jp"); score != 10 {
			t.Errorf("score after the batch again %v, want 1", score)
		}
		// A bounce without a Key fails the batch before anything is written.
		if _, err := s.RecordBounces(ctx, []Bounce{on(1, bounceOf(550, "5.1.1", "userunknown", "recipient", "new")), on(1, Bounce{Code: 550})}); err == nil {
			t.Error("a batch with a bounce without a Key was accepted")
		}
		if hist, _ := s.Bounces(ctx, ids[0]); len(hist) != 1 {
			t.Errorf("row 1 history %d after a refused batch, want 1", len(hist))
		}
	})
}
