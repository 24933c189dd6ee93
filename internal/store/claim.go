package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Claim gives owner up to n recipients of a campaign to send to, in list
// order, held until now+lease: first claims whose lease ran out (a killed
// worker's, or owner's own from before a restart), then pending rows. A
// recipient whose address is suppressed is not returned; it is set to
// StateSuppressed on the way. An empty result means nothing is claimable
// now (other workers may still hold claims; see Progress).
//
// Owner names one claimer: two goroutines must not share one, because a
// claim is only ever taken from another owner after its lease. On MySQL
// the rows are chosen with SELECT … FOR UPDATE SKIP LOCKED, so workers on
// several nodes take disjoint batches without waiting for each other; on
// SQLite the transaction holds the file's write lock from BEGIN.
func (s *Store) Claim(ctx context.Context, campaignID int64, owner string, n int, lease time.Duration) ([]Recipient, error) {
	if owner == "" || n <= 0 || lease <= 0 {
		return nil, fmt.Errorf("store: Claim needs an owner, n > 0 and a lease (got %q, %d, %v)", owner, n, lease)
	}
	var got []Recipient
	// READ COMMITTED: MySQL's default REPEATABLE READ would also lock the
	// gaps between the rows it picks, and hold up loaders and other nodes.
	opts := &sql.TxOptions{}
	if s.d == mysqlDialect {
		opts.Isolation = sql.LevelReadCommitted
	}
	var (
		memo claimMemo
		now  time.Time
	)
	err := s.update(ctx, opts, func(tx *sql.Tx) error {
		got, memo, now = got[:0], s.memo(campaignID), s.now()
		until := ms(now.Add(lease))
		for len(got) < n {
			want := n - len(got)
			cands, err := s.choose(ctx, tx, campaignID, want, now, &memo)
			if err != nil || len(cands) == 0 {
				return err
			}
			keep, drop, err := s.splitSuppressed(ctx, tx, cands)
			if err != nil {
				return err
			}
			if err := s.setState(ctx, tx, drop, `state = ?, owner = '', lease_until = 0`, StateSuppressed); err != nil {
				return err
			}
			if err := s.addCounts(ctx, tx, suppressedMoves(campaignID, cands, drop)); err != nil {
				return err
			}
			ids := make([]int64, len(keep))
			for i := range keep {
				keep[i].State, keep[i].Owner, keep[i].LeaseUntil = StateClaimed, owner, fromMS(until)
				ids[i] = keep[i].ID
			}
			if err := s.setState(ctx, tx, ids, `state = ?, owner = ?, lease_until = ?`, StateClaimed, owner, until); err != nil {
				return err
			}
			got = append(got, keep...)
			if len(cands) < want {
				break // the campaign has no more
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.remember(campaignID, memo)
	return got, nil
}

// choose selects up to want claimable rows: expired claims first when a
// sweep for them is due, then pending rows, then expired claims if the
// pending rows ran out (see claimMemo for why not a sweep every time).
func (s *Store) choose(ctx context.Context, tx *sql.Tx, campaignID int64, want int, now time.Time, memo *claimMemo) ([]Recipient, error) {
	var cands []Recipient
	swept := false
	sweep := func() error {
		swept, memo.swept = true, now
		more, err := s.candidates(ctx, tx, `state = ? AND lease_until < ?`, want-len(cands), campaignID, StateClaimed, ms(now))
		cands = append(cands, more...)
		return err
	}
	if now.Sub(memo.swept) >= sweepEvery {
		if err := sweep(); err != nil {
			return nil, err
		}
	}
	if len(cands) < want {
		more, err := s.pending(ctx, tx, campaignID, want-len(cands), &memo.front)
		if err != nil {
			return nil, err
		}
		cands = append(cands, more...)
	}
	if len(cands) < want && !swept {
		if err := sweep(); err != nil {
			return nil, err
		}
	}
	return cands, nil
}

// sweepEvery is how often Claim looks for expired claims while pending
// rows remain.
const sweepEvery = time.Second

// claimMemo is what one store handle remembers between claims of a
// campaign, to keep each claim's cost flat over a long list. On MySQL every
// row that leaves a state leaves a delete-marked entry for it in the claim
// index until InnoDB's purge removes it, and a scan that starts before
// them wades through them all (measured: a claim of 100 slowed from 1ms to
// 30ms halfway through 50,000 rows). So the pending scan starts past the
// last row this handle took (rows behind it, from a released claim or
// rows another node locked and let go, are looked for when the rows past
// it run out), and the scan for expired claims, whose range every claimed
// row passes through, runs at most once per sweepEvery until the pending
// rows run out. Leases are minutes; a second's delay in taking one over
// costs nothing.
type claimMemo struct {
	front int64     // the last row taken from the pending range
	swept time.Time // the last scan for expired claims
}

func (s *Store) memo(campaignID int64) claimMemo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims[campaignID]
}

func (s *Store) remember(campaignID int64, m claimMemo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.claims[campaignID]
	m.front = max(m.front, old.front)
	if old.swept.After(m.swept) {
		m.swept = old.swept
	}
	s.claims[campaignID] = m
}

// pending selects up to want pending rows, starting past *from and moving
// it on; rows behind it are looked for when those past it run out.
func (s *Store) pending(ctx context.Context, tx *sql.Tx, campaignID int64, want int, from *int64) ([]Recipient, error) {
	start := *from
	ahead, err := s.candidates(ctx, tx, `state = ? AND row_no > ?`, want, campaignID, StatePending, start)
	if err != nil {
		return nil, err
	}
	if len(ahead) > 0 {
		*from = ahead[len(ahead)-1].Row
	}
	if len(ahead) == want || start == 0 {
		return ahead, nil
	}
	behind, err := s.candidates(ctx, tx, `state = ? AND row_no <= ?`, want-len(ahead), campaignID, StatePending, start)
	if err != nil {
		return nil, err
	}
	return append(behind, ahead...), nil
}

// candidatesQuery is the claim SELECT for rows matching cond.
func (s *Store) candidatesQuery(cond string) string {
	return `SELECT ` + recipientCols + ` FROM recipients` + s.d.claimIndex + `
		WHERE campaign_id = ? AND ` + cond + ` ORDER BY row_no LIMIT ?` + s.d.claimLock
}

// candidates selects up to limit claimable rows, locking them on MySQL.
func (s *Store) candidates(ctx context.Context, tx *sql.Tx, cond string, limit int, args ...any) ([]Recipient, error) {
	args = append(args, limit)
	rows, err := tx.QueryContext(ctx, s.candidatesQuery(cond), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Recipient
	for rows.Next() {
		r, err := scanRecipient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// splitSuppressed parts candidates into those to send and the ids of those
// whose address is on the suppression list.
func (s *Store) splitSuppressed(ctx context.Context, tx *sql.Tx, cands []Recipient) ([]Recipient, []int64, error) {
	keys := make([]any, len(cands))
	for i, r := range cands {
		keys[i] = addrKey(r.Email)
	}
	rows, err := tx.QueryContext(ctx, `SELECT address FROM suppressions WHERE address IN (`+placeholders(len(keys))+`)`, keys...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	sup := map[string]bool{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, nil, err
		}
		sup[a] = true
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(sup) == 0 {
		return cands, nil, nil
	}
	var keep []Recipient
	var drop []int64
	for _, r := range cands {
		if sup[addrKey(r.Email)] {
			drop = append(drop, r.ID)
		} else {
			keep = append(keep, r)
		}
	}
	return keep, drop, nil
}

// suppressedMoves is what setting the dropped candidates to
// StateSuppressed does to campaign_counts.
func suppressedMoves(campaignID int64, cands []Recipient, drop []int64) countDelta {
	d := countDelta{}
	if len(drop) == 0 {
		return d
	}
	dropped := map[int64]bool{}
	for _, id := range drop {
		dropped[id] = true
	}
	for _, r := range cands {
		if dropped[r.ID] {
			dom := domainOf(r.Email)
			d.move(keyOf(campaignID, r.State, dom, r.FinalCode, r.FinalEnhanced, r.FinalReason, r.FinalAsync),
				keyOf(campaignID, StateSuppressed, dom, r.FinalCode, r.FinalEnhanced, r.FinalReason, r.FinalAsync))
			delete(dropped, r.ID) // a candidate twice is set once
		}
	}
	return d
}

// setState runs UPDATE recipients SET <set> WHERE id IN (ids).
func (s *Store) setState(ctx context.Context, tx *sql.Tx, ids []int64, set string, args ...any) error {
	if len(ids) == 0 {
		return nil
	}
	args = append(args, int64Args(ids)...)
	_, err := tx.ExecContext(ctx, `UPDATE recipients SET `+set+` WHERE id IN (`+placeholders(len(ids))+`)`, args...)
	return err
}

// Extend renews owner's claims on ids until now+lease, for a delivery that
// takes longer than the lease. It returns how many it renewed: a claim
// missing from that count was taken over by another worker after its
// lease ran out, and owner must not send to it.
func (s *Store) Extend(ctx context.Context, owner string, ids []int64, lease time.Duration) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int64
	err := s.update(ctx, nil, func(tx *sql.Tx) error {
		args := append([]any{ms(s.now().Add(lease)), owner, StateClaimed}, int64Args(ids)...)
		res, err := tx.ExecContext(ctx, `UPDATE recipients SET lease_until = ?
			WHERE owner = ? AND state = ? AND id IN (`+placeholders(len(ids))+`)`, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// Release hands owner's unfinished claims in a campaign back to pending,
// for a worker that stops cleanly (so others need not wait for the lease)
// or one that restarts under the same name. It returns how many.
func (s *Store) Release(ctx context.Context, campaignID int64, owner string) (int, error) {
	var n int64
	err := s.update(ctx, nil, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recipients SET state = ?, owner = '', lease_until = 0
			WHERE campaign_id = ? AND state = ? AND owner = ?`, StatePending, campaignID, StateClaimed, owner)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
