package store

import (
	"context"
	"database/sql"
)

// The statements of recordBounce, by index into bounceStmts.st.
const (
	bsCampaign = iota
	bsRecipient
	bsHistory
	bsInsert
	bsFinal
	bsSuppress
	bsSuppressReason
	bsRecipientHistory
	bsCount
)

// bounceStmts holds one transaction's statements of recordBounce (the
// store's, prepared once, bound to the transaction on first use and
// closed with it), the campaign ids it has looked up, and the score
// changes it collected: scored once, at the end, in one statement or two.
type bounceStmts struct {
	s         *Store
	tx        *sql.Tx
	st        [bsCount]*sql.Stmt
	campaigns map[string]int64 // name → id; 0: no such campaign
	finals    []Final          // the score changes, in order
	addrs     []string         // their addresses
	moved     countDelta       // what the finals replaced did to campaign_counts
}

func (b *bounceStmts) query(i int) string {
	d := b.s.d
	switch i {
	case bsCampaign:
		return `SELECT id FROM campaigns WHERE name = ?`
	case bsRecipient:
		// Locked first, so that two callers with bounces for one row see
		// each other's (MySQL; SQLite's BEGIN IMMEDIATE already excludes
		// them).
		return `SELECT id, addr, state, final_code, final_async, domain, final_enhanced, final_reason FROM recipients
		WHERE campaign_id = ? AND row_no = ?` + d.rowLock
	case bsHistory:
		// A locking read on MySQL: a plain one would read the snapshot the
		// campaign lookup took, before the row lock, and miss a bounce that
		// a racing caller committed meanwhile.
		return `SELECT COALESCE(SUM(CASE WHEN bounce_key = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(counted), 0) FROM bounces WHERE recipient_id = ?` + d.rowLock
	case bsInsert:
		return `INSERT INTO bounces (campaign_id, recipient_id, bounce_key, at, code,
		enhanced, reply, reason, blame, final_rcpt, original_rcpt, complaint, counted, outcome)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	case bsFinal:
		return `UPDATE recipients SET state = ?, final_code = ?, final_enhanced = ?,
			final_text = ?, final_reason = ?, final_async = 1, owner = '', lease_until = 0 WHERE id = ?`
	case bsSuppress:
		return `INSERT INTO suppressions (address, reason, since) VALUES (?, ?, ?)` + d.ignoreDuplicate("address")
	case bsSuppressReason:
		return `UPDATE suppressions SET reason = ? WHERE address = ? AND reason <> ?`
	case bsRecipientHistory:
		// bsRecipient and bsHistory in one round trip, where the
		// transaction excludes every other writer already (SQLite).
		return `SELECT r.id, r.addr, r.state, r.final_code, r.final_async, r.domain, r.final_enhanced, r.final_reason,
		(SELECT COUNT(*) FROM bounces b WHERE b.recipient_id = r.id AND b.bounce_key = ?),
		(SELECT COALESCE(SUM(b.counted), 0) FROM bounces b WHERE b.recipient_id = r.id)
		FROM recipients r WHERE r.campaign_id = ? AND r.row_no = ?`
	}
	panic("store: no bounce statement")
}

// prepare prepares every statement on the store before the transaction
// starts: the embedded store has one connection, which the transaction
// then holds, so the store could not prepare one inside it.
func (b *bounceStmts) prepare(ctx context.Context) error {
	for i := range bsCount {
		if _, err := b.s.prepared(ctx, b.query(i)); err != nil {
			return err
		}
	}
	return nil
}

func (b *bounceStmts) stmt(ctx context.Context, i int) (*sql.Stmt, error) {
	if b.st[i] != nil {
		return b.st[i], nil
	}
	st, err := b.s.cached(b.query(i)), error(nil)
	if st == nil {
		// Not prepared before the transaction (prepare failed): in it.
		st, err = b.tx.PrepareContext(ctx, b.query(i))
	} else {
		// On the connection that prepared it already, this prepares nothing.
		st = b.tx.StmtContext(ctx, st)
	}
	if err != nil {
		return nil, err
	}
	b.st[i] = st
	return st, nil
}

func (b *bounceStmts) queryRow(ctx context.Context, i int, args ...any) (*sql.Row, error) {
	st, err := b.stmt(ctx, i)
	if err != nil {
		return nil, err
	}
	return st.QueryRowContext(ctx, args...), nil
}

func (b *bounceStmts) exec(ctx context.Context, i int, args ...any) error {
	st, err := b.stmt(ctx, i)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, args...)
	return err
}

// campaign is the id of the campaign named name; ok false when there is
// none. Looked up once per transaction.
func (b *bounceStmts) campaign(ctx context.Context, name string) (id int64, ok bool, err error) {
	if id, seen := b.campaigns[name]; seen {
		return id, id != 0, nil
	}
	row, err := b.queryRow(ctx, bsCampaign, name)
	if err != nil {
		return 0, false, err
	}
	switch err := row.Scan(&id); err {
	case nil:
	case sql.ErrNoRows:
		id = 0
	default:
		return 0, false, err
	}
	b.campaigns[name] = id
	return id, id != 0, nil
}

func (b *bounceStmts) close() {
	for _, st := range b.st {
		if st != nil {
			st.Close()
		}
	}
}
