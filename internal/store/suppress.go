package store

import (
	"context"
	"database/sql"

	"github.com/hikyaku/hikyaku/internal/codes"
)

// Score returns an address's error score (0 when it has none).
func (s *Store) Score(ctx context.Context, addr string) (codes.Tenths, error) {
	var score codes.Tenths
	err := s.db.QueryRowContext(ctx, `SELECT score FROM scores WHERE address = ?`, addrKey(addr)).Scan(&score)
	if err == sql.ErrNoRows {
		return 0, nil
	}
	return score, readErr(err)
}

// Suppressed says whether an address is on the suppression list.
func (s *Store) Suppressed(ctx context.Context, addr string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM suppressions WHERE address = ?`, addrKey(addr)).Scan(&n)
	return n > 0, readErr(err)
}

// Suppress puts an address on the suppression list by hand or for an
// unsubscribe request; reason says which. An address already there keeps
// its first reason.
func (s *Store) Suppress(ctx context.Context, addr, reason string) error {
	return s.update(ctx, nil, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO suppressions (address, reason, since) VALUES (?, ?, ?)`+
			s.d.ignoreDuplicate("address"), addrKey(addr), reason, ms(s.now()))
		return err
	})
}

// Unsuppress takes an address off the suppression list and resets its
// score, so that one more soft failure does not suppress it again at once.
// It says whether the address was listed.
func (s *Store) Unsuppress(ctx context.Context, addr string) (bool, error) {
	var n int64
	err := s.update(ctx, nil, func(tx *sql.Tx) error {
		key := addrKey(addr)
		res, err := tx.ExecContext(ctx, `DELETE FROM suppressions WHERE address = ?`, key)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE scores SET score = 0, updated = ? WHERE address = ?`, ms(s.now()), key)
		return err
	})
	return n > 0, err
}
