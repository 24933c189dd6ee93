package campaign

import (
	"context"
	"io"
	"strconv"

	"github.com/hikyaku/hikyaku/internal/campaign/tsv"
	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/store"
)

// loadBatch is how many rows one store transaction adds: large enough that
// a million rows cost a thousand commits, small enough that a kill loses
// little work.
const loadBatch = 1000

// LoadResult says what Load did.
type LoadResult struct {
	Rows    int // data rows in the list
	Skipped int // rows already in the store from an earlier, interrupted load
	Invalid int // rows recorded as invalid (800) this time
}

// Load reads the list into the store as the campaign's recipients. Row
// numbers are the data rows' order (1, 2, …; blank lines do not count),
// so that a load resumed after a kill skips exactly the rows the store
// already has (AddRecipients also ignores a row it has, should the list
// have grown). Unusable rows are recorded as invalid with code 800 and
// their problem as text; they are reported, never fatal. The reader's own
// errors (-8, -9, -10) are returned as they are.
func Load(ctx context.Context, st *store.Store, campaignID int64, r *tsv.Reader, onRow func(LoadResult)) (LoadResult, error) {
	var res LoadResult
	prog, err := st.Progress(ctx, campaignID)
	if err != nil {
		return res, err
	}
	have := 0
	for _, n := range prog {
		have += n
	}
	batch := make([]store.Recipient, 0, loadBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := st.AddRecipients(ctx, campaignID, batch); err != nil {
			return err
		}
		batch = batch[:0]
		if onRow != nil {
			onRow(res)
		}
		return nil
	}
	addr800, _ := codes.LookupCode(800)
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		res.Rows++
		if res.Rows <= have {
			res.Skipped++
			continue
		}
		rc := store.Recipient{Row: int64(res.Rows), Email: row.Email, Fields: row.Fields}
		if row.Problem != "" {
			rc.State, rc.FinalCode, rc.FinalEnhanced = store.StateInvalid, 800, addr800.Status
			rc.FinalText = "line " + strconv.Itoa(row.Line) + ": " + row.Problem
			res.Invalid++
		}
		batch = append(batch, rc)
		if len(batch) == loadBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	return res, flush()
}
