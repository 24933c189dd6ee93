package store

import (
	"context"
	"testing"
)

// RowSpan: lowest and highest row and the count, for a campaign by name;
// zeros for a campaign that does not exist.
func TestRowSpan(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		cid, _ := campaignWith(t, s, "a@example.jp", "b@example.jp", "c@example.jp")
		camp, err := s.Campaign(ctx, cid)
		if err != nil {
			t.Fatal(err)
		}
		if lo, hi, n, err := s.RowSpan(ctx, camp.Name); err != nil || lo != 1 || hi != 3 || n != 3 {
			t.Errorf("RowSpan(%s) = %d, %d, %d, %v; want 1, 3, 3", camp.Name, lo, hi, n, err)
		}
		if lo, hi, n, err := s.RowSpan(ctx, "no-such"); err != nil || lo != 0 || hi != 0 || n != 0 {
			t.Errorf("RowSpan(no-such) = %d, %d, %d, %v; want zeros", lo, hi, n, err)
		}
	})
}
