package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"github.com/hikyaku/hikyaku/internal/outcome"
	"github.com/hikyaku/hikyaku/internal/store/storetest"
)

// forEngines runs fn as a subtest per engine: SQLite always, MariaDB when
// HIKYAKU_TEST_MYSQL_DSN is set (storetest).
func forEngines(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	storetest.ForEngines(t, fn)
}

func openT(tb testing.TB, dsn string, opt Options) *Store {
	tb.Helper()
	s, err := Open(context.Background(), dsn, opt)
	if err != nil {
		tb.Fatalf("Open(%s): %v", dsn, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// campaignWith creates a campaign with one recipient per address (rows
// 1…n) and returns its id and the recipients' ids in row order.
func campaignWith(tb testing.TB, s *Store, addrs ...string) (int64, []int64) {
	tb.Helper()
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	id, err := s.CreateCampaign(ctx, Campaign{Name: "c-" + hex.EncodeToString(b[:]), ListPath: "list.tsv"})
	if err != nil {
		tb.Fatal(err)
	}
	rs := make([]Recipient, len(addrs))
	for i, a := range addrs {
		rs[i] = Recipient{Row: int64(i + 1), Email: a, Fields: map[string]string{"name": fmt.Sprint("n", i+1)}}
	}
	if err := s.AddRecipients(ctx, id, rs); err != nil {
		tb.Fatal(err)
	}
	var ids []int64
	for after := int64(0); ; {
		page, err := s.Recipients(ctx, id, after, 1000)
		if err != nil {
			tb.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			ids = append(ids, r.ID)
			after = r.Row
		}
	}
	if len(ids) != len(addrs) {
		tb.Fatalf("campaign has %d recipients, want %d", len(ids), len(addrs))
	}
	return id, ids
}

func recipient(tb testing.TB, s *Store, campaignID, row int64) Recipient {
	tb.Helper()
	rs, err := s.Recipients(context.Background(), campaignID, row-1, 1)
	if err != nil || len(rs) != 1 || rs[0].Row != row {
		tb.Fatalf("recipient row %d: %v %v", row, rs, err)
	}
	return rs[0]
}

func result(code int, enhanced string) outcome.Result {
	return outcome.Result{Code: code, Enhanced: enhanced, Text: fmt.Sprintf("%d %s test reply", code, enhanced)}
}

func wantCode(tb testing.TB, err error, code int) *Error {
	tb.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		tb.Fatalf("error %v (%T), want *Error with code %d", err, err, code)
	}
	return e
}
