package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// This file holds the read-only queries of `hikyaku campaign
// list|status|report|export|suppress` that report.go does not: each is one
// or two statements over an index, so they stay cheap on lists of millions
// and never block a running campaign (WAL readers on SQLite, plain
// consistent reads on MySQL).

// ProgressAll is Progress for every campaign at once, keyed by campaign
// id (one scan of the claim index instead of one query per campaign). A
// campaign with no recipients is not in it.
func (s *Store) ProgressAll(ctx context.Context) (map[int64]map[State]int, error) {
	return s.statesByCampaign(ctx, `SELECT campaign_id, state, COUNT(*) FROM recipients
		GROUP BY campaign_id, state`)
}

// statesByCampaign reads rows of (campaign id, state, count), as
// ProgressAll and CountedStates both select them, into one map per
// campaign.
func (s *Store) statesByCampaign(ctx context.Context, query string, args ...any) (map[int64]map[State]int, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	out := map[int64]map[State]int{}
	for rows.Next() {
		var (
			id int64
			st State
			n  int
		)
		if err := rows.Scan(&id, &st, &n); err != nil {
			return nil, readErr(err)
		}
		if out[id] == nil {
			out[id] = map[State]int{}
		}
		out[id][st] = n
	}
	return out, readErr(rows.Err())
}

// AttemptStats sums up a campaign's attempts.
type AttemptStats struct {
	Attempts    int       // every attempt so far
	First, Last time.Time // when the first and the latest attempt started; zero when none
	// Recent counts the attempts that started at or after the since given
	// to AttemptStats, RecentDelivered those of them that got a 2xx: the
	// current send rate.
	Recent, RecentDelivered int
}

// AttemptStats counts a campaign's attempts, when they started, and how
// many started at or after since. Both statements read the (campaign, at)
// index; only the recent attempts' rows are visited for their codes.
func (s *Store) AttemptStats(ctx context.Context, campaignID int64, since time.Time) (AttemptStats, error) {
	var (
		st          AttemptStats
		first, last int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(MIN(at), 0), COALESCE(MAX(at), 0)
		FROM attempts WHERE campaign_id = ?`, campaignID).Scan(&st.Attempts, &first, &last)
	if err != nil {
		return st, readErr(err)
	}
	st.First, st.Last = fromMS(first), fromMS(last)
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN code >= 200 AND code < 300 THEN 1 ELSE 0 END), 0)
		FROM attempts WHERE campaign_id = ? AND at >= ?`, campaignID, ms(since)).Scan(&st.Recent, &st.RecentDelivered)
	return st, readErr(err)
}

// SuppressedBy counts the addresses a campaign's results put on the
// suppression list: addresses of its failed recipients that were listed
// at or after the campaign was created. An address listed in that time
// for another reason (another campaign's result, a hand entry) is counted
// too; the count is exact when one campaign runs at a time.
func (s *Store) SuppressedBy(ctx context.Context, campaignID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT r.addr) FROM recipients r
		JOIN suppressions p ON p.address = r.addr
		WHERE r.campaign_id = ? AND r.state = ?
		AND p.since >= (SELECT created FROM campaigns WHERE id = ?)`,
		campaignID, StateFailed, campaignID).Scan(&n)
	return n, readErr(err)
}

// LastAttempt is where a recipient's latest attempt went.
type LastAttempt struct {
	At     time.Time
	Code   int
	MXHost string // "" when it reached no host (a DNS failure, an invalid address)
	IP     string
}

// LastAttempts returns the latest attempt of each recipient in ids that
// has one, for an export page: one indexed query per few hundred ids.
func (s *Store) LastAttempts(ctx context.Context, ids []int64) (map[int64]LastAttempt, error) {
	out := make(map[int64]LastAttempt, len(ids))
	type seen struct {
		at, id int64
	}
	latest := map[int64]seen{}
	for start := 0; start < len(ids); start += insertBatch {
		part := ids[start:min(start+insertBatch, len(ids))]
		rows, err := s.db.QueryContext(ctx, `SELECT recipient_id, id, at, code, mx_host, ip FROM attempts
			WHERE recipient_id IN (`+placeholders(len(part))+`)`, int64Args(part)...)
		if err != nil {
			return nil, readErr(err)
		}
		for rows.Next() {
			var (
				rid, id, at int64
				a           LastAttempt
			)
			if err := rows.Scan(&rid, &id, &at, &a.Code, &a.MXHost, &a.IP); err != nil {
				rows.Close()
				return nil, readErr(err)
			}
			if old, ok := latest[rid]; ok && (old.at > at || old.at == at && old.id > id) {
				continue
			}
			latest[rid] = seen{at, id}
			a.At = fromMS(at)
			out[rid] = a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, readErr(err)
		}
	}
	return out, nil
}

// Suppression is one entry of the suppression list, with the address's
// current error score (0 when it has none, as after a hand entry).
type Suppression struct {
	Address string // lower-cased, as the list is keyed
	Reason  string
	Since   time.Time
	Score   codes.Tenths
}

const suppressionSelect = `SELECT p.address, p.reason, p.since, COALESCE(c.score, 0)
	FROM suppressions p LEFT JOIN scores c ON c.address = p.address `

// Suppressions pages through the suppression list in address order: the
// entries after the address after ("" for the first page), at most limit.
func (s *Store) Suppressions(ctx context.Context, after string, limit int) ([]Suppression, error) {
	return s.suppressions(ctx, suppressionSelect+`WHERE p.address > ? ORDER BY p.address LIMIT ?`,
		addrKey(after), limit)
}

// suppressions reads Suppression rows, as Suppressions and
// CampaignSuppressions both select them.
func (s *Store) suppressions(ctx context.Context, query string, args ...any) ([]Suppression, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	var out []Suppression
	for rows.Next() {
		p, err := scanSuppression(rows)
		if err != nil {
			return nil, readErr(err)
		}
		out = append(out, p)
	}
	return out, readErr(rows.Err())
}

// SuppressionOf returns an address's entry on the suppression list; ok is
// false when it is not listed.
func (s *Store) SuppressionOf(ctx context.Context, addr string) (p Suppression, ok bool, err error) {
	p, err = scanSuppression(s.db.QueryRowContext(ctx, suppressionSelect+`WHERE p.address = ?`, addrKey(addr)))
	if err == sql.ErrNoRows {
		return Suppression{}, false, nil
	}
	if err != nil {
		return Suppression{}, false, readErr(err)
	}
	return p, true, nil
}

func scanSuppression(sc interface{ Scan(...any) error }) (Suppression, error) {
	var (
		p     Suppression
		since int64
	)
	if err := sc.Scan(&p.Address, &p.Reason, &since, &p.Score); err != nil {
		return p, err
	}
	p.Since = fromMS(since)
	return p, nil
}
