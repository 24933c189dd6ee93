package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/protocol"
)

// campaign_counts (schema version 5) holds, per campaign, how many
// recipients are in each group of CampaignGroups, kept by every statement
// that moves a recipient from one group to another, in its transaction:
// the load, suppression at claim, finals, and bounces that replace a
// final. Reading a million-row campaign's results is then a read of a few
// hundred rows, not a walk of the million (issue 13: the dashboard's first
// view; the GROUP BY took 10 s on SQLite, 36 s on MariaDB).
//
// A group is (state, domain, final code, enhanced code, reason, async).
// Pending and claimed rows share the state '' (a claim moves nothing, so
// the claim path writes no count), and rows without a final code share
// the domain '': no page splits those by domain, and a final then moves
// one count out of a single row per campaign instead of one per domain.
// A group that empties keeps its row with n = 0; readers skip it.

// groupKey is one row of campaign_counts.
type groupKey struct {
	campaign         int64
	state            State // '' for pending and claimed
	domain           string
	code             int
	enhanced, reason string
	async            bool
}

// keyOf is the group of a recipient with these columns.
func keyOf(campaign int64, st State, domain string, code int, enhanced, reason string, async bool) groupKey {
	if !st.Final() {
		st = ""
	}
	if code == 0 {
		domain = ""
	}
	return groupKey{campaign, st, domain, code, enhanced, reason, async}
}

// countDelta collects the moves of one transaction, to be written with
// one upsert per group they touch (addCounts), not one per recipient.
type countDelta map[groupKey]int

func (d countDelta) move(from, to groupKey) {
	if from == to {
		return
	}
	d[from]--
	d[to]++
}

// groupedRecipients is what campaign_counts holds, computed from the
// recipients themselves: the migration's fill, and the tests' check.
var groupedRecipients = groupRecipients("")

func groupRecipients(where string) string {
	return `SELECT campaign_id,
	CASE WHEN state IN ('pending', 'claimed') THEN '' ELSE state END,
	CASE WHEN final_code = 0 THEN '' ELSE domain END,
	final_code, final_enhanced, final_reason, final_async, COUNT(*)
	FROM recipients ` + where + `
	GROUP BY campaign_id, CASE WHEN state IN ('pending', 'claimed') THEN '' ELSE state END,
	CASE WHEN final_code = 0 THEN '' ELSE domain END,
	final_code, final_enhanced, final_reason, final_async`
}

// Recount computes a campaign's counts (of recipients and of attempts)
// again from its rows, in one
// transaction: for rows written around the store (a bulk fill of a test
// or a benchmark, a hand repair). It walks the campaign's rows, as the
// schema migration does.
func (s *Store) Recount(ctx context.Context, campaignID int64) error {
	return s.update(ctx, nil, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM campaign_counts WHERE campaign_id = ?`, campaignID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_counts (`+countCols+`) `+
			groupRecipients(`WHERE campaign_id = ?`), campaignID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM campaign_attempt_counts WHERE campaign_id = ?`, campaignID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO campaign_attempt_counts (campaign_id, mx_host, code, n) `+
			groupAttempts(`WHERE campaign_id = ?`), campaignID)
		return err
	})
}

const countCols = `campaign_id, state, domain, final_code, final_enhanced, final_reason, final_async, n`

// addCounts writes d into campaign_counts: one upsert per group, in key
// order, so that two transactions lock shared count rows in one order
// (MySQL), however their batches were made.
func (s *Store) addCounts(ctx context.Context, tx *sql.Tx, d countDelta) error {
	keys := make([]groupKey, 0, len(d))
	for k, n := range d {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		switch {
		case a.campaign != b.campaign:
			return cmpInt(a.campaign, b.campaign)
		case a.state != b.state:
			return strings.Compare(string(a.state), string(b.state))
		case a.domain != b.domain:
			return strings.Compare(a.domain, b.domain)
		case a.code != b.code:
			return cmpInt(int64(a.code), int64(b.code))
		case a.enhanced != b.enhanced:
			return strings.Compare(a.enhanced, b.enhanced)
		case a.reason != b.reason:
			return strings.Compare(a.reason, b.reason)
		case a.async != b.async:
			return cmpInt(int64(boolInt(a.async)), int64(boolInt(b.async)))
		}
		return 0
	})
	row := func(k groupKey) []any {
		return []any{k.campaign, string(k.state), k.domain, k.code, k.enhanced, k.reason, boolInt(k.async), d[k]}
	}
	q := `INSERT INTO campaign_counts (` + countCols + `) VALUES `
	if s.d.rowAtATime {
		rows := make([][]any, len(keys))
		for i, k := range keys {
			rows[i] = row(k)
		}
		return s.eachRow(ctx, tx, q+rowsOf(8, 1)+s.d.addCount, rows)
	}
	for start := 0; start < len(keys); start += chunk {
		part := keys[start:min(start+chunk, len(keys))]
		args := make([]any, 0, len(part)*8)
		for _, k := range part {
			args = append(args, row(k)...)
		}
		if _, err := tx.ExecContext(ctx, q+rowsOf(8, len(part))+s.d.addCount, args...); err != nil {
			return err
		}
	}
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// domainOf is the domain column AddRecipients writes for an address.
func domainOf(email string) string { return protocol.DomainOf(addrKey(email)) }

// CountedGroups is CampaignGroups read from campaign_counts: the same
// answer, from a few rows of an index instead of the campaign's rows.
func (s *Store) CountedGroups(ctx context.Context, campaignID int64) ([]Group, error) {
	return s.groups(ctx, `SELECT domain, final_code, final_enhanced, final_reason, final_async, SUM(n)
		FROM campaign_counts WHERE campaign_id = ? AND final_code <> 0
		GROUP BY domain, final_code, final_enhanced, final_reason, final_async HAVING SUM(n) <> 0`, campaignID)
}

// CountedProgress is Progress read from campaign_counts, and the claimed
// rows counted on the claim index (a few: those being sent now).
func (s *Store) CountedProgress(ctx context.Context, campaignID int64) (map[State]int, error) {
	all, err := s.countedStates(ctx, `WHERE campaign_id = ?`, campaignID)
	if err != nil {
		return nil, err
	}
	out := all[campaignID]
	if out == nil {
		return map[State]int{}, nil
	}
	open := out[""]
	delete(out, "")
	if open == 0 {
		return out, nil
	}
	var claimed int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recipients WHERE campaign_id = ? AND state = ?`,
		campaignID, StateClaimed).Scan(&claimed); err != nil {
		return nil, readErr(err)
	}
	if claimed > 0 {
		out[StateClaimed] = claimed
	}
	if open > claimed {
		out[StatePending] = open - claimed
	}
	return out, nil
}

// CountedStates is every campaign's recipients by final state, read from
// campaign_counts, with the pending and claimed ones together under the
// state "" (telling them apart costs a read of the claim index per
// campaign; see CountedProgress). A campaign with no recipients is not in
// it.
func (s *Store) CountedStates(ctx context.Context) (map[int64]map[State]int, error) {
	return s.countedStates(ctx, ``)
}

func (s *Store) countedStates(ctx context.Context, where string, args ...any) (map[int64]map[State]int, error) {
	return s.statesByCampaign(ctx, `SELECT campaign_id, state, SUM(n) FROM campaign_counts `+where+`
		GROUP BY campaign_id, state HAVING SUM(n) <> 0`, args...)
}

// CountedCodes is Counts and CountsAsync read from campaign_counts: a
// campaign's finals by code, and those of them a bounce set.
func (s *Store) CountedCodes(ctx context.Context, campaignID int64) (finals, async map[int]int, err error) {
	gs, err := s.CountedGroups(ctx, campaignID)
	if err != nil {
		return nil, nil, err
	}
	finals, async = map[int]int{}, map[int]int{}
	for _, g := range gs {
		finals[g.Code] += g.N
		if g.Async {
			async[g.Code] += g.N
		}
	}
	return finals, async, nil
}

// CountedByDomain is CountsByDomain read from campaign_counts, in the
// same order (the engine's, of the same column type).
func (s *Store) CountedByDomain(ctx context.Context, campaignID int64) ([]Count, error) {
	return s.counts(ctx, `SELECT domain, final_code, SUM(n) FROM campaign_counts
		WHERE campaign_id = ? AND final_code <> 0 GROUP BY domain, final_code HAVING SUM(n) <> 0
		ORDER BY domain, final_code`, campaignID)
}

// CountedByReason is CountsByReason read from campaign_counts.
func (s *Store) CountedByReason(ctx context.Context, campaignID int64) ([]ReasonCount, error) {
	gs, err := s.CountedGroups(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	sums := reasonSums{}
	for _, g := range gs {
		sums.add(g.Code, g.Enhanced, g.Reason, g.Async, g.N)
	}
	return sums.sorted(), nil
}

// campaign_attempt_counts (schema version 6) holds each campaign's
// attempts counted by MX host and code (CountsByMX), kept as recordChunk
// inserts them; attempts are never changed or removed.

type attemptKey struct {
	campaign int64
	host     string
	code     int
}

type attemptDelta map[attemptKey]int

// groupedAttempts is what campaign_attempt_counts holds, from the attempts.
var groupedAttempts = groupAttempts("")

func groupAttempts(where string) string {
	return `SELECT campaign_id, mx_host, code, COUNT(*) FROM attempts ` + where + ` GROUP BY campaign_id, mx_host, code`
}

// addAttemptCounts writes d into campaign_attempt_counts, in key order.
func (s *Store) addAttemptCounts(ctx context.Context, tx *sql.Tx, d attemptDelta) error {
	keys := make([]attemptKey, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, func(a, b attemptKey) int {
		switch {
		case a.campaign != b.campaign:
			return cmpInt(a.campaign, b.campaign)
		case a.host != b.host:
			return strings.Compare(a.host, b.host)
		}
		return cmpInt(int64(a.code), int64(b.code))
	})
	args := make([]any, 0, len(keys)*4)
	for _, k := range keys {
		args = append(args, k.campaign, k.host, k.code, d[k])
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO campaign_attempt_counts (campaign_id, mx_host, code, n) VALUES `+
		rowsOf(4, len(keys))+s.d.addAttemptCount, args...)
	return err
}

// CountedByMX is CountsByMX read from campaign_attempt_counts, in the same
// order.
func (s *Store) CountedByMX(ctx context.Context, campaignID int64) ([]Count, error) {
	return s.counts(ctx, `SELECT mx_host, code, n FROM campaign_attempt_counts
		WHERE campaign_id = ? ORDER BY mx_host, code`, campaignID)
}

// CountedAttemptStats is AttemptStats with the attempts counted from
// campaign_attempt_counts; the first and latest are the ends of the
// (campaign, at) index, and the recent ones the attempts since since.
func (s *Store) CountedAttemptStats(ctx context.Context, campaignID int64, since time.Time) (AttemptStats, error) {
	var (
		st          AttemptStats
		first, last int64
	)
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0) FROM campaign_attempt_counts WHERE campaign_id = ?`,
		campaignID).Scan(&st.Attempts)
	if err != nil {
		return st, readErr(err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MIN(at), 0) FROM attempts WHERE campaign_id = ?`,
		campaignID).Scan(&first); err != nil {
		return st, readErr(err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(at), 0) FROM attempts WHERE campaign_id = ?`,
		campaignID).Scan(&last); err != nil {
		return st, readErr(err)
	}
	st.First, st.Last = fromMS(first), fromMS(last)
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN code >= 200 AND code < 300 THEN 1 ELSE 0 END), 0)
		FROM attempts WHERE campaign_id = ? AND at >= ?`, campaignID, ms(since)).Scan(&st.Recent, &st.RecentDelivered)
	return st, readErr(err)
}
