package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

// chunk bounds how many rows one statement handles: the CASE lists and
// placeholder counts below stay small on both engines.
const chunk = 200

// Attempt is one delivery attempt for one recipient.
type Attempt struct {
	RecipientID int64
	At          time.Time      // when it started; now when zero
	Result      outcome.Result // code, enhanced code, reply text, phase, MX host, IP
	Duration    time.Duration
}

// RecordAttempt records attempts and counts them on their recipients, all
// in one transaction; a recorded attempt clears its recipient's MarkDot. An unknown recipient gives ErrNotFound and records
// nothing.
func (s *Store) RecordAttempt(ctx context.Context, as ...Attempt) error {
	return s.update(ctx, nil, func(tx *sql.Tx) error {
		now := s.now()
		for start := 0; start < len(as); start += chunk {
			if err := s.recordChunk(ctx, tx, as[start:min(start+chunk, len(as))], now); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) recordChunk(ctx context.Context, tx *sql.Tx, as []Attempt, now time.Time) error {
	times := map[int64]int{} // attempts per recipient in this chunk
	var ids []int64
	for _, a := range as {
		if times[a.RecipientID] == 0 {
			ids = append(ids, a.RecipientID)
		}
		times[a.RecipientID]++
	}
	campaign := map[int64]int64{}
	rows, err := tx.QueryContext(ctx, `SELECT id, campaign_id FROM recipients WHERE id IN (`+placeholders(len(ids))+`)`, int64Args(ids)...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, cid int64
		if err := rows.Scan(&id, &cid); err != nil {
			rows.Close()
			return err
		}
		campaign[id] = cid
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	args := make([]any, 0, len(as)*10)
	for _, a := range as {
		cid, ok := campaign[a.RecipientID]
		if !ok {
			return fmt.Errorf("%w: recipient %d", ErrNotFound, a.RecipientID)
		}
		at, r := a.At, a.Result
		if at.IsZero() {
			at = now
		}
		args = append(args, cid, a.RecipientID, ms(at), r.Code, r.Enhanced, r.Text, r.Host, r.IP,
			int(r.Phase), a.Duration.Milliseconds())
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO attempts (campaign_id, recipient_id, at, code, enhanced,
		reply, mx_host, ip, phase, duration_ms) VALUES `+rowsOf(10, len(as)), args...); err != nil {
		return err
	}
	counted := attemptDelta{}
	for _, a := range as {
		counted[attemptKey{campaign[a.RecipientID], a.Result.Host, a.Result.Code}]++
	}
	if err := s.addAttemptCounts(ctx, tx, counted); err != nil {
		return err
	}
	// Usually every recipient has one attempt here: one UPDATE.
	byTimes := map[int][]int64{}
	for _, id := range ids {
		byTimes[times[id]] = append(byTimes[times[id]], id)
	}
	for n, ids := range byTimes {
		if _, err := tx.ExecContext(ctx, `UPDATE recipients SET attempts = attempts + ?, dot_at = 0 WHERE id IN (`+
			placeholders(len(ids))+`)`, append([]any{n}, int64Args(ids)...)...); err != nil {
			return err
		}
	}
	return nil
}

// Final is a recipient's final outcome and the weight its code adds to the
// address's score (docs/spec.md §4: the configured weight of Result.Code).
type Final struct {
	RecipientID int64
	Result      outcome.Result
	Weight      codes.Tenths
}

// Finish records a recipient's final outcome, in one transaction: the
// recipient becomes StateSent (2xx) or StateFailed and its claim ends; a
// 2xx resets the address's score to 0, anything else adds weight to it;
// a score at or over the threshold puts the address on the suppression
// list. A recipient that already has its final outcome gives ErrFinished
// and nothing changes, so a weight is counted once per recipient however
// often Finish is called (a worker that lost its lease finishing late, a
// retry after -102 whose first try had committed).
func (s *Store) Finish(ctx context.Context, recipientID int64, final outcome.Result, weight codes.Tenths) error {
	return s.update(ctx, nil, func(tx *sql.Tx) error {
		moved := countDelta{}
		done, err := s.finishChunk(ctx, tx, []Final{{RecipientID: recipientID, Result: final, Weight: weight}}, s.now(), moved)
		if err == nil && done == 0 {
			return ErrFinished
		}
		if err != nil {
			return err
		}
		return s.addCounts(ctx, tx, moved)
	})
}

// FinishBatch is Finish for many recipients in one transaction, which
// costs one commit (one disk sync) and a few statements instead of that
// many per recipient: the way to write thousands of outcomes a second.
// Recipients already finished, and repeats of an id, are skipped; done
// counts the others. An unknown id gives ErrNotFound; any failure leaves
// none of the batch written.
func (s *Store) FinishBatch(ctx context.Context, fs []Final) (done int, err error) {
	err = s.update(ctx, nil, func(tx *sql.Tx) error {
		done = 0
		now, moved := s.now(), countDelta{}
		for start := 0; start < len(fs); start += chunk {
			n, err := s.finishChunk(ctx, tx, fs[start:min(start+chunk, len(fs))], now, moved)
			if err != nil {
				return err
			}
			done += n
		}
		return s.addCounts(ctx, tx, moved)
	})
	if err != nil {
		done = 0
	}
	return done, err
}

// finishChunk writes up to chunk outcomes with a handful of statements
// whatever their number, and returns how many it wrote. What they do to
// campaign_counts goes into moved, for the caller to write with
// addCounts last in the transaction: every commit of a campaign updates
// its count of unfinished rows, a row that MySQL then keeps locked until
// the commit, so it is taken as late as can be; and the whole batch's
// count rows are then locked in one order.
func (s *Store) finishChunk(ctx context.Context, tx *sql.Tx, fs []Final, now time.Time, moved countDelta) (int, error) {
	ids := make([]int64, len(fs))
	for i, f := range fs {
		ids[i] = f.RecipientID
	}
	// Locked (on MySQL) before anything is decided, so that two workers
	// finishing one recipient cannot both see it unfinished.
	type current struct {
		key    string
		state  State
		domain string
		group  groupKey // where campaign_counts has it now
	}
	found := map[int64]current{}
	rows, err := tx.QueryContext(ctx, `SELECT id, addr, state, campaign_id, domain, final_code, final_enhanced,
		final_reason, final_async FROM recipients WHERE id IN (`+
		placeholders(len(ids))+`)`+s.d.rowLock, int64Args(ids)...)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var (
			id, cid          int64
			c                current
			code             int
			enhanced, reason string
			async            bool
		)
		if err := rows.Scan(&id, &c.key, &c.state, &cid, &c.domain, &code, &enhanced, &reason, &async); err != nil {
			rows.Close()
			return 0, err
		}
		c.group = keyOf(cid, c.state, c.domain, code, enhanced, reason, async)
		found[id] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	var (
		todo []Final
		keys []string
		seen = map[int64]bool{}
	)
	for _, f := range fs {
		c, ok := found[f.RecipientID]
		if !ok {
			return 0, fmt.Errorf("%w: recipient %d", ErrNotFound, f.RecipientID)
		}
		if c.state.Final() || seen[f.RecipientID] {
			continue
		}
		seen[f.RecipientID] = true
		todo, keys = append(todo, f), append(keys, c.key)
		// setFinals leaves final_async as it was.
		moved.move(c.group, keyOf(c.group.campaign, finalState(f), c.domain, f.Result.Code, f.Result.Enhanced,
			f.Result.Reason, c.group.async))
	}
	if len(todo) == 0 {
		return 0, nil
	}
	if err := s.setFinals(ctx, tx, todo); err != nil {
		return 0, err
	}
	return len(todo), s.score(ctx, tx, todo, keys, now)
}

// setFinals writes the outcomes onto the recipients in one UPDATE.
func (s *Store) setFinals(ctx context.Context, tx *sql.Tx, todo []Final) error {
	if s.d.rowAtATime {
		rows := make([][]any, len(todo))
		for i, f := range todo {
			rows[i] = []any{finalState(f), f.Result.Code, f.Result.Enhanced, f.Result.Text, f.Result.Reason, f.RecipientID}
		}
		return s.eachRow(ctx, tx, `UPDATE recipients SET state = ?, final_code = ?, final_enhanced = ?,
			final_text = ?, final_reason = ?, owner = '', lease_until = 0 WHERE id = ?`, rows)
	}
	var b strings.Builder
	args := make([]any, 0, len(todo)*11)
	b.WriteString("UPDATE recipients SET ")
	column := func(name string, value func(Final) any) {
		b.WriteString(name + " = CASE id")
		for _, f := range todo {
			b.WriteString(" WHEN ? THEN ?")
			args = append(args, f.RecipientID, value(f))
		}
		b.WriteString(" END, ")
	}
	column("state", func(f Final) any { return finalState(f) })
	column("final_code", func(f Final) any { return f.Result.Code })
	column("final_enhanced", func(f Final) any { return f.Result.Enhanced })
	column("final_text", func(f Final) any { return f.Result.Text })
	column("final_reason", func(f Final) any { return f.Result.Reason })
	b.WriteString("owner = '', lease_until = 0 WHERE id IN (" + placeholders(len(todo)) + ")")
	for _, f := range todo {
		args = append(args, f.RecipientID)
	}
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return err
}

func finalState(f Final) State {
	if f.Result.Delivered() {
		return StateSent
	}
	return StateFailed
}

// score applies the outcomes to their addresses' scores and suppresses
// those that reach the threshold.
func (s *Store) score(ctx context.Context, tx *sql.Tx, todo []Final, keys []string, now time.Time) error {
	// One address twice in a batch: its outcomes must apply in order (550
	// then 250 leaves 0, 250 then 550 leaves 1.0), which the set-wise
	// statements below do not promise. Rare; do those one by one.
	if len(todo) > 1 {
		sorted := slices.Clone(keys)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) < len(keys) {
			for i := range todo {
				if err := s.score(ctx, tx, todo[i:i+1], keys[i:i+1], now); err != nil {
					return err
				}
			}
			return nil
		}
	}
	type add struct {
		key string
		f   Final
	}
	var (
		adds   []add
		resets = map[int][]any{} // addresses by the 2xx code that reset them
	)
	for i, f := range todo {
		switch {
		case f.Result.Delivered():
			resets[f.Result.Code] = append(resets[f.Result.Code], keys[i])
		case f.Weight != 0:
			adds = append(adds, add{keys[i], f})
		}
	}
	for code, ks := range resets {
		// No row means a score of 0 already; nothing to insert.
		if _, err := tx.ExecContext(ctx, `UPDATE scores SET score = 0, last_code = ?, updated = ?
			WHERE address IN (`+placeholders(len(ks))+`)`, append([]any{code, ms(now)}, ks...)...); err != nil {
			return err
		}
	}
	if len(adds) == 0 {
		return nil
	}
	// In key order, so that two batches lock shared rows in one order.
	slices.SortFunc(adds, func(a, b add) int { return strings.Compare(a.key, b.key) })
	args := make([]any, 0, len(adds)*4)
	keyArgs := make([]any, 0, len(adds)+1)
	last := map[string]outcome.Result{}
	for _, a := range adds {
		args = append(args, a.key, int(a.f.Weight), a.f.Result.Code, ms(now))
		keyArgs = append(keyArgs, a.key)
		last[a.key] = a.f.Result
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO scores (address, score, last_code, updated) VALUES `+
		rowsOf(4, len(adds))+s.d.addScore, args...); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT address, score FROM scores WHERE address IN (`+
		placeholders(len(keyArgs))+`) AND score >= ?`, append(keyArgs, int(s.threshold))...)
	if err != nil {
		return err
	}
	var sup []any
	for rows.Next() {
		var key string
		var score codes.Tenths
		if err := rows.Scan(&key, &score); err != nil {
			rows.Close()
			return err
		}
		reason := fmt.Sprintf("score %s reached threshold %s (last %s)", score, s.threshold, resultCode(last[key]))
		sup = append(sup, key, reason, ms(now))
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(sup) == 0 {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO suppressions (address, reason, since) VALUES `+
		rowsOf(3, len(sup)/3)+s.d.ignoreDuplicate("address"), sup...)
	return err
}

func resultCode(r outcome.Result) string {
	if r.Enhanced == "" {
		return fmt.Sprint(r.Code)
	}
	return fmt.Sprintf("%d %s", r.Code, r.Enhanced)
}
