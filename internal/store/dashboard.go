package store

import (
	"context"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// The read-only queries of the web dashboard (internal/web, issue 13) that
// query.go and report.go do not have. The per-address ones read the
// recipients_addr index (schema version 4) and the suppression list's
// primary key; the per-campaign ones walk the campaign's failed rows once,
// which is why the dashboard keeps their answers in a snapshot instead of
// asking on every page.

// AddressResult is one campaign row of an address: where it stands and
// its final, for an address's history.
type AddressResult struct {
	CampaignID    int64
	Campaign      string
	Row           int64
	State         State
	FinalCode     int
	FinalEnhanced string
	FinalText     string
	FinalReason   string // ReasonOf the stored fields
	FinalAsync    bool
	Attempts      int
}

// AddressHistory returns an address's rows in every campaign, newest
// first, at most limit of them.
func (s *Store) AddressHistory(ctx context.Context, addr string, limit int) ([]AddressResult, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.campaign_id, c.name, r.row_no, r.state, r.final_code,
		r.final_enhanced, r.final_text, r.final_reason, r.final_async, r.attempts
		FROM recipients r JOIN campaigns c ON c.id = r.campaign_id
		WHERE r.addr = ? ORDER BY r.id DESC LIMIT ?`, addrKey(addr), limit)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	var out []AddressResult
	for rows.Next() {
		var a AddressResult
		if err := rows.Scan(&a.CampaignID, &a.Campaign, &a.Row, &a.State, &a.FinalCode, &a.FinalEnhanced,
			&a.FinalText, &a.FinalReason, &a.FinalAsync, &a.Attempts); err != nil {
			return nil, readErr(err)
		}
		a.FinalReason = ReasonOf(a.FinalCode, a.FinalEnhanced, a.FinalReason)
		out = append(out, a)
	}
	return out, readErr(rows.Err())
}

// SearchSuppressions pages through the suppression entries whose address
// starts with prefix (lower-cased), in address order after after, at most
// limit: a range of the primary key, never a scan of the list.
func (s *Store) SearchSuppressions(ctx context.Context, prefix, after string, limit int) ([]Suppression, error) {
	lo := addrKey(prefix)
	if a := addrKey(after); a > lo {
		lo = a
	}
	// U+10FFFF encodes to the greatest UTF-8 octets there are: every
	// address with the prefix sorts below prefix+it, byte for byte, as both
	// engines compare these columns.
	hi := addrKey(prefix) + "\U0010FFFF"
	var out []Suppression
	if after == "" && prefix != "" {
		// "> lo" leaves out the address equal to the prefix itself. Read
		// before the range: the embedded store has one connection, which
		// open rows would hold.
		if p, ok, err := s.SuppressionOf(ctx, prefix); err != nil {
			return nil, err
		} else if ok {
			out = append(out, p)
		}
	}
	rows, err := s.db.QueryContext(ctx, suppressionSelect+`WHERE p.address > ? AND p.address < ?
		ORDER BY p.address LIMIT ?`, lo, hi, limit)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanSuppression(rows)
		if err != nil {
			return nil, readErr(err)
		}
		out = append(out, p)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, readErr(rows.Err())
}

// CampaignSuppressions lists the addresses SuppressedBy counts, latest
// listed first, at most limit.
func (s *Store) CampaignSuppressions(ctx context.Context, campaignID int64, limit int) ([]Suppression, error) {
	return s.suppressions(ctx, `SELECT DISTINCT p.address, p.reason, p.since, COALESCE(sc.score, 0)
		FROM recipients r JOIN suppressions p ON p.address = r.addr LEFT JOIN scores sc ON sc.address = r.addr
		WHERE r.campaign_id = ? AND r.state = ?
		AND p.since >= (SELECT created FROM campaigns WHERE id = ?)
		ORDER BY p.since DESC, p.address LIMIT ?`, campaignID, StateFailed, campaignID, limit)
}

// ScoreCount is one line of CampaignScores: N addresses now at Score.
type ScoreCount struct {
	Score codes.Tenths
	N     int
}

// CampaignScores is the spread of the current error scores of a
// campaign's failed addresses (those with a score above 0), lowest first:
// what its failures did to the list's standing.
func (s *Store) CampaignScores(ctx context.Context, campaignID int64) ([]ScoreCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT sc.score, COUNT(DISTINCT r.addr)
		FROM recipients r JOIN scores sc ON sc.address = r.addr
		WHERE r.campaign_id = ? AND r.state = ? AND sc.score > 0
		GROUP BY sc.score ORDER BY sc.score`, campaignID, StateFailed)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	var out []ScoreCount
	for rows.Next() {
		var c ScoreCount
		if err := rows.Scan(&c.Score, &c.N); err != nil {
			return nil, readErr(err)
		}
		out = append(out, c)
	}
	return out, readErr(rows.Err())
}

// SuppressionCount is how many addresses are on the suppression list.
func (s *Store) SuppressionCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM suppressions`).Scan(&n)
	return n, readErr(err)
}

// LatestAttempt is when the campaign's latest attempt started (zero when
// none): the end of the (campaign, at) index, cheap enough for every tick
// of a live page.
func (s *Store) LatestAttempt(ctx context.Context, campaignID int64) (time.Time, error) {
	var at int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(at), 0) FROM attempts WHERE campaign_id = ?`,
		campaignID).Scan(&at)
	return fromMS(at), readErr(err)
}

// Group is one line of CampaignGroups: N finals of one domain with one
// code, enhanced code, stored reason and origin.
type Group struct {
	Domain, Enhanced, Reason string // Reason as stored; ReasonOf gives the report's
	Code                     int
	Async                    bool
	N                        int
}

// CampaignGroups counts a campaign's finals by domain, code, enhanced
// code, stored reason and origin in one pass over its rows: Counts,
// CountsByDomain and CountsByReason are sums of it, for a third of their
// reading.
func (s *Store) CampaignGroups(ctx context.Context, campaignID int64) ([]Group, error) {
	return s.groups(ctx, `SELECT domain, final_code, final_enhanced, final_reason, final_async, COUNT(*)
		FROM recipients WHERE campaign_id = ? AND final_code <> 0
		GROUP BY domain, final_code, final_enhanced, final_reason, final_async`, campaignID)
}

// groups reads rows of (domain, code, enhanced, reason, async, count), as
// CampaignGroups and CountedGroups both select them.
func (s *Store) groups(ctx context.Context, query string, args ...any) ([]Group, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	var out []Group
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.Domain, &g.Code, &g.Enhanced, &g.Reason, &g.Async, &g.N); err != nil {
			return nil, readErr(err)
		}
		out = append(out, g)
	}
	return out, readErr(rows.Err())
}
