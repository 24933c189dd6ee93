package store

import (
	"context"
	"database/sql"
)

// prepared is query prepared on the store, once (database/sql prepares it
// again on each connection that runs it, once), kept in s.stmts until the
// store closes: the bounce intake runs the same few statements thousands
// of times a second, and parsing one costs more than running it. Not to
// be called inside a transaction of the embedded store, whose one
// connection the transaction holds.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := s.cached(query); st != nil {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if had := s.stmts[query]; had != nil {
		st.Close()
		return had, nil
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// cached is query's statement if prepared gave it before, else nil.
func (s *Store) cached(query string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stmts[query]
}
