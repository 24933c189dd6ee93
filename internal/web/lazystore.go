package web

import (
	"context"
	"sync"
	"time"

	"github.com/hikyaku/hikyaku/internal/store"
)

// LazyStore opens the status store on first use, and again after a failed
// open (at most every few seconds), so that serve starts and shows its
// other pages while the store is down or not created yet. Its Get is an
// Options.Store; use two for Store and Background.
type LazyStore struct {
	open func(context.Context) (*store.Store, error)
	mu   sync.Mutex
	s    *store.Store
	err  error
	at   time.Time // of the last failed open
}

// NewLazyStore returns a LazyStore that opens with open.
func NewLazyStore(open func(context.Context) (*store.Store, error)) *LazyStore {
	return &LazyStore{open: open}
}

// retryOpen is how long a failed open is answered from memory.
const retryOpen = 5 * time.Second

// Get returns the open store, opening it if need be.
func (l *LazyStore) Get(ctx context.Context) (*store.Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s != nil {
		return l.s, nil
	}
	if l.err != nil && time.Since(l.at) < retryOpen {
		return nil, l.err
	}
	l.s, l.err = l.open(ctx)
	if l.err != nil {
		l.s, l.at = nil, time.Now()
	}
	return l.s, l.err
}

// Close closes the store if it was opened.
func (l *LazyStore) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		return nil
	}
	err := l.s.Close()
	l.s = nil
	return err
}
