package store

import (
	"context"
	"slices"
	"strings"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// The read side of bounces (issue 12): what `campaign report` and
// `campaign export` show of them, and the counts the intake's metrics may
// want. Read-only, like query.go.

// Reasons the reports give where the final names none.
const (
	ReasonDelivered = "delivered" // a 2xx final
	ReasonUndefined = "undefined" // no reason known for the code
)

// ReasonOf is a final's reason name: the one stored with it (a bounce's,
// or the session result's), else the code table's for its enhanced code,
// else for its code (as the SMTP client derives a reply's); "delivered" for a 2xx, "undefined" when none is
// known, "" for no final (code 0).
func ReasonOf(code int, enhanced, stored string) string {
	switch {
	case code == 0:
		return ""
	case stored != "":
		return stored
	case code >= 200 && code < 300:
		return ReasonDelivered
	}
	if e, ok := codes.LookupEnhanced(enhanced); ok && e.Reason != "" {
		return e.Reason
	}
	if c, ok := codes.LookupCode(code); ok && c.Reason != "" {
		return c.Reason
	}
	return ReasonUndefined
}

// Reason is the recipient's final reason (ReasonOf).
func (r Recipient) Reason() string { return ReasonOf(r.FinalCode, r.FinalEnhanced, r.FinalReason) }

// CountsAsync is Counts for the finals that came from bounces only: how
// many of each final code were set asynchronously.
func (s *Store) CountsAsync(ctx context.Context, campaignID int64) (map[int]int, error) {
	cs, err := s.counts(ctx, `SELECT '', final_code, COUNT(*) FROM recipients
		WHERE campaign_id = ? AND final_code <> 0 AND final_async = 1 GROUP BY final_code`, campaignID)
	if err != nil {
		return nil, err
	}
	out := make(map[int]int, len(cs))
	for _, c := range cs {
		out[c.Code] = c.N
	}
	return out, nil
}

// ReasonCount is one line of CountsByReason: N finals with Code under
// Reason, Async of them from bounces.
type ReasonCount struct {
	Reason string
	Code   int
	N      int
	Async  int
}

// CountsByReason counts a campaign's final codes per reason (ReasonOf),
// in reason and code order. Rows without a final are not in it.
func (s *Store) CountsByReason(ctx context.Context, campaignID int64) ([]ReasonCount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT final_reason, final_code, final_enhanced, final_async, COUNT(*)
		FROM recipients WHERE campaign_id = ? AND final_code <> 0
		GROUP BY final_reason, final_code, final_enhanced, final_async`, campaignID)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	sums := reasonSums{}
	for rows.Next() {
		var (
			reason, enhanced string
			code, n          int
			async            bool
		)
		if err := rows.Scan(&reason, &code, &enhanced, &async, &n); err != nil {
			return nil, readErr(err)
		}
		sums.add(code, enhanced, reason, async, n)
	}
	if err := rows.Err(); err != nil {
		return nil, readErr(err)
	}
	return sums.sorted(), nil
}

// reasonSums adds recipients up by reason name and code, as report --by
// reason shows them.
type reasonSums map[reasonKey]*ReasonCount

type reasonKey struct {
	reason string
	code   int
}

func (s reasonSums) add(code int, enhanced, reason string, async bool, n int) {
	k := reasonKey{ReasonOf(code, enhanced, reason), code}
	c := s[k]
	if c == nil {
		c = &ReasonCount{Reason: k.reason, Code: code}
		s[k] = c
	}
	c.N += n
	if async {
		c.Async += n
	}
}

// sorted is the sums by reason, then code.
func (s reasonSums) sorted() []ReasonCount {
	out := make([]ReasonCount, 0, len(s))
	for _, c := range s {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b ReasonCount) int {
		if c := strings.Compare(a.Reason, b.Reason); c != 0 {
			return c
		}
		return a.Code - b.Code
	})
	return out
}

// Scores returns the error scores of addresses, keyed by the addresses as
// given (an address without a score is absent: 0), for an export page.
func (s *Store) Scores(ctx context.Context, addrs []string) (map[string]codes.Tenths, error) {
	out := make(map[string]codes.Tenths, len(addrs))
	given := make(map[string][]string, len(addrs)) // key → the addresses given for it
	for start := 0; start < len(addrs); start += insertBatch {
		part := addrs[start:min(start+insertBatch, len(addrs))]
		args := make([]any, len(part))
		for i, a := range part {
			k := addrKey(a)
			args[i] = k
			given[k] = append(given[k], a)
		}
		rows, err := s.db.QueryContext(ctx, `SELECT address, score FROM scores WHERE address IN (`+
			placeholders(len(args))+`)`, args...)
		if err != nil {
			return nil, readErr(err)
		}
		for rows.Next() {
			var (
				a     string
				score codes.Tenths
			)
			if err := rows.Scan(&a, &score); err != nil {
				rows.Close()
				return nil, readErr(err)
			}
			for _, g := range given[a] {
				out[g] = score
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, readErr(err)
		}
	}
	return out, nil
}

// BounceStat is one line of BounceStats.
type BounceStat struct {
	Reason  string
	Outcome BounceOutcome // BounceRecorded or BounceNoted
	N       int
	Counted int // of them, weighed against the address
}

// BounceStats counts a campaign's recorded bounces by reason and outcome
// (duplicates are never stored), in that order: for logs and metrics.
func (s *Store) BounceStats(ctx context.Context, campaignID int64) ([]BounceStat, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT reason, outcome, COUNT(*), COALESCE(SUM(counted), 0) FROM bounces
		WHERE campaign_id = ? GROUP BY reason, outcome ORDER BY reason, outcome`, campaignID)
	if err != nil {
		return nil, readErr(err)
	}
	defer rows.Close()
	var out []BounceStat
	for rows.Next() {
		var b BounceStat
		if err := rows.Scan(&b.Reason, &b.Outcome, &b.N, &b.Counted); err != nil {
			return nil, readErr(err)
		}
		out = append(out, b)
	}
	return out, readErr(rows.Err())
}
