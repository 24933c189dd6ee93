package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// update runs fn in one transaction and commits it. A deadlock the engine
// broke by rolling us back is retried at once (a few times); any other
// failure rolls back and returns *Error{CodeUpdate}. The answers fn may
// return (ErrFinished, ErrNotFound, ErrExists, or an *Error) are returned as
// they are, after the rollback.
func (s *Store) update(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	var err error
	for try := 0; try < 4; try++ {
		err = s.runTx(ctx, opts, fn)
		if err == nil || isAnswer(err) || !s.d.retryable(err) {
			break
		}
	}
	if err == nil || isAnswer(err) {
		return err
	}
	return &Error{Code: CodeUpdate, Err: err}
}

func (s *Store) runTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func isAnswer(err error) bool {
	var e *Error
	return errors.Is(err, ErrFinished) || errors.Is(err, ErrNotFound) ||
		errors.Is(err, ErrExists) || errors.As(err, &e)
}

// readErr wraps a failed read: the store could not be queried.
func readErr(err error) error {
	if err == nil || isAnswer(err) {
		return err
	}
	return &Error{Code: CodeConnection, Err: err}
}

// placeholders returns "?, ?, …" for n arguments.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func int64Args(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

// rowsOf returns n rows of cols placeholders for a multi-row VALUES.
func rowsOf(cols, n int) string {
	row := "(" + placeholders(cols) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}
