package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hikyaku/hikyaku/internal/codes"
	"github.com/hikyaku/hikyaku/internal/outcome"
)

func TestReports(t *testing.T) {
	forEngines(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn, Options{})
		cid, ids := campaignWith(t, s, "a@docomo.ne.jp", "b@docomo.ne.jp", "c@EZweb.ne.jp", "d@ezweb.ne.jp", "e@nx.example")
		if err := s.AddRecipients(ctx, cid, []Recipient{{Row: 6, Email: "bad", State: StateInvalid, FinalCode: 800}}); err != nil {
			t.Fatal(err)
		}
		base := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
		mx := func(code int, host string) outcome.Result {
			return outcome.Result{Code: code, Enhanced: "x", Text: "reply", Host: host, IP: "192.0.2.1", Phase: codes.PhaseRcpt}
		}
		attempts := []Attempt{
			{RecipientID: ids[0], At: at(0), Result: mx(451, "mx1.docomo"), Duration: 1500 * time.Millisecond},
			{RecipientID: ids[0], At: at(5), Result: mx(250, "mx2.docomo")},
			{RecipientID: ids[1], At: at(0), Result: mx(550, "mx1.docomo")},
			{RecipientID: ids[2], At: at(1), Result: mx(250, "mx.ezweb")},
			{RecipientID: ids[3], At: at(1), Result: mx(250, "mx.ezweb")},
			{RecipientID: ids[4], At: at(6), Result: outcome.Own(700, "")},
		}
		if err := s.RecordAttempt(ctx, attempts...); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordAttempt(ctx, Attempt{RecipientID: 987654}); !errors.Is(err, ErrNotFound) {
			t.Errorf("attempt for unknown recipient: %v", err)
		}
		finals := []Final{
			{RecipientID: ids[0], Result: mx(250, "mx2.docomo")},
			{RecipientID: ids[1], Result: mx(550, "mx1.docomo"), Weight: 10},
			{RecipientID: ids[2], Result: mx(250, "mx.ezweb")},
			{RecipientID: ids[3], Result: mx(250, "mx.ezweb")},
			{RecipientID: ids[4], Result: outcome.Own(700, ""), Weight: 10},
		}
		if _, err := s.FinishBatch(ctx, finals); err != nil {
			t.Fatal(err)
		}

		counts, err := s.Counts(ctx, cid)
		if err != nil || fmt.Sprint(counts) != "map[250:3 550:1 700:1 800:1]" {
			t.Errorf("Counts = %v, %v", counts, err)
		}
		byDomain, err := s.CountsByDomain(ctx, cid)
		want := "[{ 800 1} {docomo.ne.jp 250 1} {docomo.ne.jp 550 1} {ezweb.ne.jp 250 2} {nx.example 700 1}]"
		if err != nil || fmt.Sprint(byDomain) != want {
			t.Errorf("CountsByDomain = %v, %v\nwant %s", byDomain, err, want)
		}
		byMX, err := s.CountsByMX(ctx, cid)
		want = "[{ 700 1} {mx.ezweb 250 2} {mx1.docomo 451 1} {mx1.docomo 550 1} {mx2.docomo 250 1}]"
		if err != nil || fmt.Sprint(byMX) != want {
			t.Errorf("CountsByMX = %v, %v\nwant %s", byMX, err, want)
		}
		tl, err := s.Timeline(ctx, cid, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range tl {
			got = append(got, fmt.Sprintf("%s %d×%d", b.Start.UTC().Format("15:04"), b.Code, b.N))
		}
		want = "[09:00 250×2 09:00 451×1 09:00 550×1 09:05 250×1 09:05 700×1]"
		if fmt.Sprint(got) != want {
			t.Errorf("Timeline = %v\nwant %s", got, want)
		}
		r := recipient(t, s, cid, 1)
		if r.Attempts != 2 || r.State != StateSent || r.Owner != "" || !r.LeaseUntil.IsZero() {
			t.Errorf("recipient 1: %+v", r)
		}
		var dur, phase int64
		var ip string
		if err := s.db.QueryRow(`SELECT duration_ms, phase, ip FROM attempts WHERE recipient_id = ? AND code = 451`,
			ids[0]).Scan(&dur, &phase, &ip); err != nil || dur != 1500 || phase != int64(codes.PhaseRcpt) || ip != "192.0.2.1" {
			t.Errorf("stored attempt: %d %d %q %v", dur, phase, ip, err)
		}
		page, err := s.Recipients(ctx, cid, 4, 10)
		if err != nil || len(page) != 2 || page[0].Row != 5 || page[1].Row != 6 {
			t.Errorf("Recipients after row 4: %+v, %v", page, err)
		}
	})
}
