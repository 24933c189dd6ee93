package store

import (
	"context"
	"time"
)

// Counts returns how many of a campaign's recipients ended in each final
// code (invalid rows included with the loader's code). Recipients without
// a final code yet, and suppressed ones, are not in it; see Progress.
func (s *Store) Counts(ctx context.Context, campaignID int64) (map[int]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT final_code, COUNT(*) FROM recipients
		WHERE campaign_id = ? AND final_code <> 0 GROUP BY final_code`, campaignID)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	out := map[int]int{}
	for rows.Next() {
		var code, n int
		if err := rows.Scan(&code, &n); err != nil {
			return nil, readErr(err)
		}
		out[code] = n
	}
	return out, readErr(rows.Err())
}

// Progress returns how many of a campaign's recipients are in each state:
// the runner is done when none is pending or claimed.
func (s *Store) Progress(ctx context.Context, campaignID int64) (map[State]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM recipients
		WHERE campaign_id = ? GROUP BY state`, campaignID)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	out := map[State]int{}
	for rows.Next() {
		var st State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, readErr(err)
		}
		out[st] = n
	}
	return out, readErr(rows.Err())
}

// Count is one line of a grouped report: N results with Code under Key (a
// destination domain or an MX host name).
type Count struct {
	Key  string
	Code int
	N    int
}

// CountsByDomain counts a campaign's final codes per destination domain.
func (s *Store) CountsByDomain(ctx context.Context, campaignID int64) ([]Count, error) {
	return s.counts(ctx, `SELECT domain, final_code, COUNT(*) FROM recipients
		WHERE campaign_id = ? AND final_code <> 0 GROUP BY domain, final_code ORDER BY domain, final_code`, campaignID)
}

// CountsByMX counts a campaign's attempts per MX host and code; an attempt
// that reached no host (a DNS failure, say) is under "".
func (s *Store) CountsByMX(ctx context.Context, campaignID int64) ([]Count, error) {
	return s.counts(ctx, `SELECT mx_host, code, COUNT(*) FROM attempts
		WHERE campaign_id = ? GROUP BY mx_host, code ORDER BY mx_host, code`, campaignID)
}

func (s *Store) counts(ctx context.Context, q string, args ...any) ([]Count, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Key, &c.Code, &c.N); err != nil {
			return nil, readErr(err)
		}
		out = append(out, c)
	}
	return out, readErr(rows.Err())
}

// Bucket is one line of a timeline: N attempts ending in Code that started
// in [Start, Start+bucket).
type Bucket struct {
	Start time.Time
	Code  int
	N     int
}

// Timeline counts a campaign's attempts per code in time buckets of the
// given width (a minute when zero or less), oldest first.
func (s *Store) Timeline(ctx context.Context, campaignID int64, bucket time.Duration) ([]Bucket, error) {
	width := bucket.Milliseconds()
	if width <= 0 {
		width = time.Minute.Milliseconds()
	}
	rows, err := s.db.QueryContext(ctx, `SELECT at `+s.d.intDiv+` ? AS b, code, COUNT(*) FROM attempts
		WHERE campaign_id = ? GROUP BY b, code ORDER BY b, code`, width, campaignID)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	var out []Bucket
	for rows.Next() {
		var (
			b int64
			x Bucket
		)
		if err := rows.Scan(&b, &x.Code, &x.N); err != nil {
			return nil, readErr(err)
		}
		x.Start = time.UnixMilli(b * width)
		out = append(out, x)
	}
	return out, readErr(rows.Err())
}
